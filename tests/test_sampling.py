"""Choosing characters from logits (common/sampling.py)."""

import string
from pathlib import Path

import numpy as np
import pytest

from common.contract import Layout
from common.rng import stream
from common.sampling import choose, sample
from common.weights import init_theta
from tests.conftest import cli


def test_temperature_zero_and_near_zero_are_greedy():
    o = np.array([0.1, 2.0, -1.0, 1.99])
    for u in (0.0, 0.3, 0.999):
        assert choose(o, u, temperature=0) == 1
        assert choose(o, u, temperature=1e-6) == 1


def test_inverse_cdf_follows_the_softmax():
    o = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    # u in [0, .1) -> 0, [.1, .3) -> 1, [.3, .6) -> 2, [.6, 1) -> 3
    assert [choose(o, u) for u in (0.0, 0.09, 0.11, 0.29, 0.31, 0.59, 0.61, 0.999)] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_frequencies_match_probabilities():
    p = np.array([0.5, 0.25, 0.125, 0.125])
    u = np.random.default_rng(0).random(40_000)
    counts = np.bincount([choose(np.log(p), v) for v in u], minlength=4)
    np.testing.assert_allclose(counts / len(u), p, atol=0.01)


def test_top_p_keeps_the_smallest_set_reaching_p():
    p = np.array([0.05, 0.5, 0.3, 0.15])
    o = np.log(p)
    picked = {choose(o, u, top_p=0.7) for u in np.linspace(0, 0.999, 200)}
    assert picked == {1, 2}  # 0.5 + 0.3 >= 0.7
    assert {choose(o, u, top_p=0.5) for u in np.linspace(0, 0.999, 50)} == {1}
    for u in np.linspace(0, 0.999, 50):  # top_p = 1 is plain sampling
        assert choose(o, u, top_p=1.0) == choose(o, u)


def test_temperature_sharpens_and_flattens():
    o = np.log(np.array([0.7, 0.2, 0.1]))
    u = np.random.default_rng(1).random(20_000)
    cold = np.bincount([choose(o, v, temperature=0.5) for v in u], minlength=3) / len(u)
    hot = np.bincount([choose(o, v, temperature=2.0) for v in u], minlength=3) / len(u)
    assert cold[0] > 0.7 > hot[0]
    np.testing.assert_allclose(cold, [0.49, 0.04, 0.01] / np.float64(0.54), atol=0.02)


def test_sample_is_reproducible_for_a_seed(make_backend, corpus):
    layout = Layout(corpus.K, 12)
    backend = make_backend(layout)
    theta = backend.to_device(init_theta(layout, 0.5, seed=0))
    h = backend.to_device(np.zeros((12, 1)))

    def draw(seed):
        return sample(backend, theta, h, [1, 2, 3], 300, stream(seed, "cli-sample"))

    a, b, c = draw(5), draw(5), draw(6)
    assert a == b and a != c and len(a) == 300 and max(a) < corpus.K


@pytest.mark.parametrize("purpose", ["weights", "sample", "final-sample"])
def test_streams_are_independent_per_purpose_and_key(purpose):
    first = stream(3, purpose, 1).random(4)
    assert np.array_equal(first, stream(3, purpose, 1).random(4))
    assert not np.array_equal(first, stream(3, purpose, 2).random(4))
    assert not np.array_equal(first, stream(4, purpose, 1).random(4))


GOBLET = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "goblet_book.txt"
READABLE = set(string.ascii_letters + " \n.,;:'\"!?-")  # letters, spaces, the text's punctuation


def readable(text: str) -> float:
    return sum(c in READABLE for c in text) / len(text)


@pytest.mark.slow
def test_a_short_goblet_model_writes_letters_and_spaces(tmp_path):
    """3,000 updates: from the saved h (with or without --prime, best or last) the text reads.

    From h = 0 (--from-zero) the same model wrote tabs, digits and accented letters on one machine
    (0.13-0.17 readable) and plain English on another (0.999): which attractor h = 0 falls into
    depends on the trajectory, and the trajectory on the machine's BLAS (docs: determinism.md).
    So --from-zero is only required to run here.
    """
    if not GOBLET.is_file():
        pytest.skip(f"{GOBLET} is not here (the copyrighted corpus is never shipped)")
    out = tmp_path / "run"
    args = ("--updates", 3000, "--sample-every", 0, "--checkpoint-every", 0, "--out", out)
    assert cli("train", "--data", GOBLET, *args).exit_code == 0
    assert readable((out / "best_sample.txt").read_text(encoding="utf-8")) > 0.9
    for prime in ([], ["--prime", "Harry looked at the "]):
        for which in ("best", "last"):
            r = cli("sample", out, "--length", 1000, "--which", which, *prime)
            assert r.exit_code == 0 and readable(r.stdout) > 0.9, r.stdout
        old = cli("sample", out, "--length", 1000, "--from-zero", *prime)
        assert old.exit_code == 0 and len(old.stdout) >= 1000
