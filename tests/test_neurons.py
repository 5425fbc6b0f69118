"""The neurons command: features by hand, a planted unit found, a self-contained page a browser colours."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

import backends
from cli import app
from common.contract import Layout, Params
from common.run.checkpoint import load_model, read_checkpoint, save_model
from common.tools import neurons, neurons_html
from common.weights import init_theta
from tests.test_docs import chromium

runner = CliRunner()
HAND = 'Ab "cd" e.\nF'


@pytest.mark.parametrize(
    "name, expected",
    [
        ("quotes", [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]),
        ("line", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1]),
        ("word", [1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 1]),
        ("word-position", [1, 2, 0, 0, 1, 2, 0, 0, 1, 0, 0, 1]),
        ("capital", [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ("sentence-end", [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0]),
        ("space", [0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]),
    ],
)
def test_each_feature_on_a_string_worked_by_hand(name, expected):
    assert neurons.features(HAND, [name])[:, 0].tolist() == expected


def test_curly_quotes_open_and_close():
    assert neurons.in_quotes("\u201ca\u201d b \u201d").tolist() == [1, 1, 0, 0, 0, 0, 0]


def test_correlations_are_pearsons_r():
    rng = np.random.default_rng(0)
    H, F = rng.standard_normal((50, 4)), rng.standard_normal((50, 3))  # (T, m), (T, F)
    R = neurons.correlations(H, F)
    assert R.shape == (4, 3)
    assert np.allclose(R, np.corrcoef(H.T, F.T)[:4, 4:])
    assert (neurons.correlations(H, np.ones((50, 1))) == 0).all()  # a flat feature: r = 0, not NaN


@pytest.mark.parametrize("sign", [1, -1])
def test_pick_finds_the_unit_planted_to_track_quotes(text, sign):
    passage = text[:400].replace(" a ", ' "a ').replace(" it ", ' it" ')  # some quotations
    quotes = neurons.in_quotes(passage)
    assert 0 < quotes.mean() < 1
    rng = np.random.default_rng(1)
    H = np.tanh(rng.standard_normal((len(passage), 12)))  # (T, m)
    H[:, 7] = sign * (0.8 * quotes - 0.4) + 0.3 * rng.standard_normal(len(passage))
    picks = {n: (u, r) for n, u, r, _ in neurons.pick(H, passage, ["quotes", "line"])}
    assert picks["quotes"][0] == 7 and sign * picks["quotes"][1] > 0.7


def test_the_readout_of_all_units_sees_a_feature_spread_over_two():
    rng = np.random.default_rng(3)
    H = rng.standard_normal((400, 5))  # (T, m)
    F = np.stack([H[:, 0] + H[:, 1], rng.standard_normal(400)], axis=1)  # (T, 2): spread, and unrelated
    single = np.abs(neurons.correlations(H, F)).max(axis=0)
    whole = neurons.probe(H, F)
    assert single[0] < 0.8 and whole[0] > 0.99  # no one unit holds it; the units together do
    assert abs(whole[1]) < 0.2  # held out: noise is not fitted into a correlation


def word_model(chars: str, unit: int, m: int = 6) -> Params:
    """A model whose unit `unit` is +0.96 after a letter and -0.96 after anything else."""
    K = len(chars)
    rng = np.random.default_rng(2)
    U = 0.3 * rng.standard_normal((m, K))
    U[unit] = [2.0 if ch.isalpha() else -2.0 for ch in chars]
    W = 0.1 * rng.standard_normal((m, m))
    W[unit], W[:, unit] = 0, 0
    return Params(U, W, rng.standard_normal((K, m)), np.zeros((m, 1)), np.zeros((K, 1)))


def test_bits_per_character_is_the_backends_loss(corpus):
    layout = Layout(corpus.K, 6)
    theta = init_theta(layout, 0.3, seed=4)
    p, ids, h0 = layout.unpack(theta), corpus.ids[:80], np.linspace(-0.5, 0.5, 6)
    H = neurons.activations(p, ids, ids[:0], h0)  # (T, m)
    loss, _ = backends.load("numpy", layout, "float64").forward(theta, ids[:-1, None], ids[1:, None], h0[:, None])
    assert neurons.bits_per_char(p, H, ids) == pytest.approx(loss / (79 * np.log(2)), rel=1e-12)


@pytest.fixture
def model_file(tmp_path, corpus):
    path = tmp_path / "best.npz"
    save_model(path, word_model(corpus.chars, unit=4), {"chars": corpus.chars, "hidden": 6, "dtype": "float64"})
    return path


def test_the_command_finds_the_letter_unit_and_writes_a_self_contained_page(tmp_path, model_file, corpus_file):
    r = runner.invoke(app, ["neurons", str(tmp_path), "--data", str(corpus_file), "--length", "900", "--show", "500"])
    assert r.exit_code == 0, r.output
    word = [line.split() for line in r.output.splitlines() if line.startswith("word ")]
    assert word[0][1] == "4" and float(word[0][2]) > 0.99, r.output
    page = (tmp_path / "neurons.html").read_text(encoding="utf-8")
    assert not re.search(r"https?:|src=|href=|url\(|@import", page)  # nothing fetched from anywhere
    picks = len(re.findall('class="passage"', page))
    assert picks == len(neurons.FEATURES) - 1  # the tiny text has no quotation
    assert page.count("<span class=") - 11 == 500 * picks  # one span per character per unit, 11 in the scale


def test_h_starts_where_the_model_was_saved_best_by_default_and_the_last_on_request(tmp_path, corpus_file):
    run = tmp_path / "run"
    args = ["train", "--data", str(corpus_file), "--hidden", "8", "--updates", "30", "--sample-every", "0", "--out"]
    assert runner.invoke(app, [*args, str(run)]).exit_code == 0
    best = load_model(run / "best.npz")
    params, meta, h0, origin = neurons.model(run)  # the default: best.npz, as `sample` reads
    assert np.array_equal(h0, best.h[:, 0]) and np.array_equal(params.W, best.params.W)
    assert origin.startswith(f"{run / 'best.npz'}: the best model (update ") and origin.endswith("the h saved with it")
    saved = read_checkpoint(run / "checkpoint.npz")[0]
    params, meta, h0, origin = neurons.model(run, "last")
    assert np.array_equal(h0, saved["h"][:, 0]) and "checkpoint.npz: the latest parameters (update 30" in origin
    assert np.array_equal(params.W, load_model(run / "checkpoint.npz", "last")[0].W)  # the h's own parameters
    save_model(run / "best.npz", best.params, best.meta)  # a model file with no h, as version 1 wrote them
    params, meta, h0, origin = neurons.model(run)
    assert not h0.any() and origin.endswith("from h = 0")
    for which, name in (("best", "best.npz"), ("last", "checkpoint.npz")):
        r = runner.invoke(app, ["neurons", str(run), "--text", "the model", "--which", which])
        said = " ".join(r.stderr.split())  # one line, wrapped at 80 columns
        assert r.exit_code == 0 and said.count("read ") == 1 and said.startswith(f"read {run / name}: "), r.stderr


def test_the_warm_up_is_the_text_before_the_passage(tmp_path):
    data = tmp_path / "t.txt"
    data.write_text("abcdefgh")
    assert neurons.passage(data, None, 3, 2) == ("t.txt", "abc", "de")
    assert neurons.passage(None, "xyz", 0, 100) == ("--text", "xyz", "xyz")  # nothing before: itself


@pytest.mark.slow
def test_a_browser_colours_the_expected_characters(tmp_path):
    passage = 'He said "yes" and\nleft "now".'
    quotes = neurons.in_quotes(passage)
    H = np.zeros((len(passage), 3))  # (T, m)
    H[:, 1] = 0.9 * quotes - 0.02  # red inside quotes; outside |h| rounds to level 0: white
    H[:, 2] = -0.7  # blue everywhere
    picks = [("quotes", 1, 1.0, 1.0), ("space", 2, 0.0, 0.0)]
    counter = """<pre id="count"></pre><script>
      const n = [...document.querySelectorAll('.passage')].map(d => [...d.children]).map(spans => [
        spans.filter(s => getComputedStyle(s).backgroundColor !== 'rgba(0, 0, 0, 0)').length,
        spans.filter(s => getComputedStyle(s).textDecorationLine === 'underline').length]);
      document.getElementById('count').textContent = n.join(';');</script></body>"""
    page = tmp_path / "page.html"
    page.write_text(neurons_html.page("t", "note", passage, H, picks).replace("</body>", counter), encoding="utf-8")
    dom = chromium("--dump-dom", page.as_uri(), tmp=tmp_path).stdout
    count = re.search(r'<pre id="count">([0-9,;]+)</pre>', dom)
    assert count, dom[-2000:]
    coloured, underlined = int(quotes.sum()), int(quotes.sum())  # unit 1: red and underlined inside quotes
    everywhere, spaces = len(passage), passage.count(" ")  # unit 2: blue everywhere, spaces underlined
    assert count.group(1) == f"{coloured},{underlined};{everywhere},{spaces}"
    shot = tmp_path / "page.png"
    chromium(f"--screenshot={shot}", "--window-size=900,500", page.as_uri(), tmp=tmp_path)
    assert shot.stat().st_size > 5_000


@pytest.mark.parametrize(
    "args, message",
    [
        (["nowhere", "--text", "ab"], "does not exist"),
        (["{run}"], "exactly one of --data"),
        (["{run}", "--text", "ab", "--data", "{data}"], "exactly one of --data"),
        (["{run}", "--text", "a\u00e9b"], "not in the model's vocabulary"),
        (["{run}", "--data", "{data}", "--start", "99999999"], "nothing to show"),
        (["{run}", "--text", "ab", "--length", "1"], "--length >= 2"),
        (["{run}", "--text", "ab", "--feature", "colour"], "colour"),
        (["{run}", "--text", "ab", "--show", "0"], "--show"),
        (["{run}", "--text", "ab", "--out", "{run}/no/such/dir/x.html"], "cannot write"),
        (["{data}", "--text", "ab"], "not a model file"),
    ],
)
def test_bad_input_is_one_line(tmp_path, model_file, corpus_file, args, message):
    args = [a.format(run=tmp_path, data=corpus_file) for a in args]
    r = runner.invoke(app, ["neurons", *args])
    assert r.exit_code != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], r.stderr
