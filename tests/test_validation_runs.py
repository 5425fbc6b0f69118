"""--validation, --validate-every, --best-by and --order in a run (docs: handouts.md, data.md#validation)."""

import json

import numpy as np
import pytest

import backends
from backends.numpy_backend import NumpyBackend
from common.contract import Layout
from common.data import split
from common.run import checkpoint, npzfile
from common.run.config import Config, parts
from common.run.train import start, train
from common.run.validation import validation_loss
from common.weights import init_theta
from tests.conftest import assert_one_line_error, cli

RUN = ("--hidden", 8, "--sample-every", 0, "--validation", 0.2, "--validate-every", 20)


def train_cli(corpus_file, out, *args):
    r = cli("train", "--data", corpus_file, "--out", out, *RUN, *args)
    assert r.exit_code == 0, r.output
    return r


def rows(path):
    return [line.split(",") for line in path.read_text().splitlines()[1:]]


def test_validation_loss_every_n_updates_is_the_held_out_loss(tmp_path, corpus_file, corpus):
    out = tmp_path / "run"
    train_cli(corpus_file, out, "--updates", 60, "--checkpoint-every", 60)
    table = rows(out / "validation.csv")
    assert [int(r[0]) for r in table] == [1, 20, 40, 60]
    assert float(table[0][1]) > float(table[-1][1])  # it learns something that carries to unseen text
    arrays, _ = npzfile.load(out / "checkpoint.npz")
    net = backends.load("numpy", Layout(corpus.K, 8), "float64")
    held = split(corpus.ids, 0.2, 25)[1]
    assert float(table[-1][1]) == validation_loss(net, arrays["theta"], held).per_char
    per_char = checkpoint.read_checkpoint(out / "checkpoint.npz")[1]["validations"][-1][1]
    assert float(table[-1][1]) == per_char
    summary = json.loads((out / "summary.json").read_text())["results"]["per_char"]
    smooth = float(rows(out / "history.csv")[-1][2])  # the summed loss of the classic preset
    assert summary["validation_loss"] == per_char and summary["smooth_loss"] == smooth / 25
    assert summary["smooth_bits"] == pytest.approx(smooth / 25 / np.log(2), rel=1e-15)


def test_best_by_validation_and_shuffled_resume_exactly(tmp_path, corpus_file):
    one_go, split_run = tmp_path / "a", tmp_path / "b"
    extra = ("--best-by", "validation", "--order", "shuffled", "--preset", "2025")
    train_cli(corpus_file, one_go, "--updates", 100, *extra)
    train_cli(corpus_file, split_run, "--updates", 45, *extra)
    assert cli("train", "--resume", split_run, "--updates", 100).exit_code == 0
    for name in ("history.csv", "validation.csv"):
        assert (one_go / name).read_text() == (split_run / name).read_text()
    table = rows(one_go / "validation.csv")
    best = min(table, key=lambda r: float(r[1]))
    model, meta = npzfile.load(one_go / "best.npz")
    assert meta["update"] == int(best[0])  # the best model is the one of the lowest validation loss
    a, b = checkpoint.load_model(one_go / "best.npz").params, checkpoint.load_model(split_run / "best.npz").params
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


class Recording(NumpyBackend):
    """Records the h0 and inputs of every step."""

    def __init__(self, layout, dtype="float64"):
        super().__init__(layout, dtype)
        self.h0s, self.xs = [], []

    def step(self, theta, state, x, y, h0, *args):
        self.h0s.append(np.array(h0)), self.xs.append(x.copy())
        return super().step(theta, state, x, y, h0, *args)


@pytest.mark.parametrize("order", ["sequential", "shuffled"])
def test_shuffled_chunks_start_from_h_zero_in_the_drawn_order(corpus, order):
    cfg = Config(hidden=6, updates=30, sample_every=0, checkpoint_every=0, order=order, seed=3)
    net = Recording(Layout(corpus.K, 6))
    train(net, corpus, cfg, start(net, init_theta(net.layout, 0.01, 3), 1))
    streams = parts(cfg, corpus.ids)[0]
    assert all(np.array_equal(x, streams.chunk(streams.visit(0, i))[0]) for i, x in enumerate(net.xs))
    zeros = [not h.any() for h in net.h0s]
    assert zeros == ([True] * 30 if order == "shuffled" else [True] + [False] * 29)
    visited = [streams.visit(0, i) for i in range(30)]
    assert (visited == list(range(30))) == (order == "sequential")


@pytest.mark.parametrize(
    "args, message",
    [
        (("--validation", 0.6), "--validation must be a fraction in (0, 0.5] of the text (got 0.6)"),
        (("--validation", -0.1), "--validation must be a fraction in (0, 0.5]"),
        (("--validation", 0.0005), "shorter than one chunk"),
        (("--validation", 0, "--best-by", "validation"), "--best-by validation needs a held-out part"),
        (("--order", "random"), "--order must be one of sequential, shuffled"),
        (("--best-by", "loss"), "--best-by must be one of smooth, validation"),
        (("--validation", 0.1, "--validate-every", 0), "--validate-every must be a positive integer"),
    ],
)
def test_bad_validation_options(tmp_path, corpus_file, args, message):
    r = cli("train", "--data", corpus_file, "--out", tmp_path / "run", "--updates", 5, *args)
    assert_one_line_error(r, 2, message)
    assert not (tmp_path / "run").exists()


def test_resuming_with_another_validation_is_refused(tmp_path, corpus_file):
    out = tmp_path / "run"
    train_cli(corpus_file, out, "--updates", 10)
    r = cli("train", "--resume", out, "--updates", 20, "--validation", 0.3)
    assert_one_line_error(r, 2, "--validation 0.3 differs from the run's 0.2")
