"""train --preset classic|2025 and one option per difference (docs: handouts.md)."""

import numpy as np
import pytest

import backends
from common.contract import Layout, Optimizer
from common.data import Streams, read_corpus
from common.run import checkpoint, npzfile
from common.weights import init_theta
from tests.conftest import assert_one_line_error, cli


def train(corpus_file, out, *args):
    r = cli("train", "--data", corpus_file, "--out", out, "--hidden", 8, "--sample-every", 0, *args)
    assert r.exit_code == 0, r.output
    return r


def history(out) -> str:
    return (out / "history.csv").read_text()


def test_classic_is_the_default_bit_for_bit(tmp_path, corpus_file):
    """No --preset, --preset classic, and each classic value spelled out: one run; and it is the loop of before."""
    runs = [tmp_path / k for k in "abc"]
    train(corpus_file, runs[0], "--updates", 40)
    train(corpus_file, runs[1], "--updates", 40, "--preset", "classic")
    spelled = ("--optimizer", "adagrad", "--loss", "sum", "--clip", 5, "--init", "classic", "--eta", 0.1)
    train(corpus_file, runs[2], "--updates", 40, *spelled)
    assert history(runs[0]) == history(runs[1]) == history(runs[2])
    # the loop before presets: AdaGrad(0.1), clipping at 5, the summed loss, N(0, 0.01^2) weights
    corpus = read_corpus(corpus_file)
    layout = Layout(corpus.K, 8)
    net = backends.load("numpy", layout, "float64")
    theta, mem, h = init_theta(layout, 0.01, 1), np.zeros(layout.size), np.zeros((8, 1))
    streams, losses = Streams(corpus.ids, 25, 1), []
    for t in range(1, 41):
        loss, h = net.step(theta, mem, *streams.chunk(t - 1), h, Optimizer("adagrad", 0.1), t)
        losses.append(loss)
    rows = [line.split(",") for line in history(runs[0]).splitlines()[1:]]
    assert [float(r[1]) for r in rows] == losses


def test_2025_resolves_and_records_every_value(tmp_path, corpus_file):
    out = tmp_path / "run"
    train(corpus_file, out, "--updates", 20, "--preset", "2025")
    cfg = checkpoint.read_checkpoint(out / "checkpoint.npz")[1]["config"]
    assert (cfg["preset"], cfg["optimizer"], cfg["loss"], cfg["clip"], cfg["init"], cfg["eta"]) == (
        "2025",
        "adam",
        "mean",
        0.0,
        "2025",
        0.001,
    )
    arrays, _ = npzfile.load(out / "checkpoint.npz")
    assert arrays["mem"].shape == (2 * arrays["theta"].size,)  # Adam's [m; v]
    first = float(history(out).splitlines()[1].split(",")[1])
    assert first < 2 * np.log(25)  # the mean loss: about ln K per character, not tau times it
    loss = train(corpus_file, tmp_path / "one", "--updates", 20, "--preset", "2025", "--loss", "sum")
    assert loss.exit_code == 0 and float(history(tmp_path / "one").splitlines()[1].split(",")[1]) > 10 * first


def test_adam_resume_is_exact_bit_for_bit(tmp_path, corpus_file):
    one_go, split = tmp_path / "a", tmp_path / "b"
    train(corpus_file, one_go, "--updates", 90, "--preset", "2025")
    train(corpus_file, split, "--updates", 37, "--preset", "2025")
    r = cli("train", "--resume", split, "--updates", 90)
    assert r.exit_code == 0, r.output
    assert history(one_go) == history(split)
    a, _ = npzfile.load(one_go / "checkpoint.npz")
    b, _ = npzfile.load(split / "checkpoint.npz")
    assert np.array_equal(a["theta"], b["theta"]) and np.array_equal(a["mem"], b["mem"])


def test_a_version_2_checkpoint_resumes_as_adagrad(tmp_path, corpus_file):
    out = tmp_path / "run"
    train(corpus_file, out, "--updates", 30)
    arrays, meta = npzfile.load(out / "checkpoint.npz")
    for key in ("preset", "optimizer", "loss", "clip", "init", "beta1", "beta2", "eps"):
        del meta["config"][key]
    npzfile.save(out / "checkpoint.npz", arrays, meta | {"version": 2})
    r = cli("train", "--resume", out, "--updates", 40)
    assert r.exit_code == 0, r.output
    assert checkpoint.read_checkpoint(out / "checkpoint.npz")[1]["config"]["optimizer"] == "adagrad"


@pytest.mark.parametrize(
    "args, message",
    [
        (("--preset", "2024"), "unknown preset '2024'; choose one of: classic, 2025"),
        (("--preset", "2025", "--optimizer", "adagrad", "--beta1", 0.8), "--beta1 and --beta2 belong to Adam"),
        (("--optimizer", "sgd"), "--optimizer must be one of adagrad, adam"),
        (("--loss", "max"), "--loss must be one of sum, mean"),
        (("--init", "xavier"), "--init must be one of classic, 2025"),
        (("--clip", -1), "--clip must be positive, or 0 for no clipping"),
        (("--preset", "2025", "--beta2", 1.0), "--beta2 must be in [0, 1)"),
    ],
)
def test_bad_handout_options(tmp_path, corpus_file, args, message):
    r = cli("train", "--data", corpus_file, "--out", tmp_path / "run", "--updates", 5, *args)
    assert_one_line_error(r, 2, message)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (("--preset", "2025"), "--preset 2025 differs from the run's classic; a resumed run keeps its --preset"),
        (("--optimizer", "adam"), "--optimizer adam differs from the run's adagrad"),
        (("--loss", "mean"), "--loss mean differs from the run's sum"),
    ],
)
def test_resuming_with_another_handout_is_refused(tmp_path, corpus_file, args, message):
    out = tmp_path / "run"
    train(corpus_file, out, "--updates", 10)
    assert_one_line_error(cli("train", "--resume", out, "--updates", 20, *args), 2, message)


def test_gradcheck_2025_checks_the_mean_loss_at_m_10_and_against_autograd():
    import json

    r = cli("gradcheck", "--preset", "2025", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)["regimes"][0]  # the handout's own point
    assert (d["regime"], d["preset"], d["loss"], d["passed"]) == ("handout", "2025", "mean", True)
    if backends.why_not("torch", device="cpu") is None:
        assert d["autograd"]["passed"] and max(e["rel_error"] for e in d["autograd"]["params"].values()) < 1e-12
    table = cli("gradcheck", "--preset", "2025")
    assert "m=10" in table.output and "mean loss" in table.output and "against centred differences" in table.output
    assert_one_line_error(cli("gradcheck", "--preset", "2024"), 2, "unknown preset '2024'")


def test_2025_samples_before_training_and_every_run_writes_a_sampling_table(tmp_path, corpus_file):
    from common.rng import stream
    from common.run.report import SETTINGS, TABLE_LENGTH
    from common.sampling import sample

    new, old = tmp_path / "new", tmp_path / "old"
    train(corpus_file, new, "--updates", 30, "--preset", "2025", "--sample-every", 10)
    train(corpus_file, old, "--updates", 30, "--sample-every", 10)
    assert (new / "samples.txt").read_text().startswith("--- before the first update ---\n")
    assert (old / "samples.txt").read_text().startswith("--- update 1, smooth loss")
    table = (new / "sampling_table.md").read_text()
    paragraphs = table.split("```text\n")[1:]
    assert len(paragraphs) == len(SETTINGS) == 6
    model = checkpoint.load_model(new / "best.npz")
    corpus = read_corpus(corpus_file)
    net = backends.load("numpy", Layout(corpus.K, 8), "float64")
    theta = net.to_device(Layout(corpus.K, 8).pack(model.params))
    for (label, temperature, top_p), text in zip(SETTINGS, paragraphs):
        ids = sample(net, theta, model.h, [model.x_next], TABLE_LENGTH, stream(1, "sampling-table"), temperature, top_p)
        assert label in table and text.split("\n```")[0] == corpus.decode(ids)
    assert len(set(paragraphs)) > 1  # the settings change the text


def test_bench_times_adam_beside_adagrad(tmp_path):
    import json

    out = tmp_path / "bench.json"
    args = ("bench", "--backend", "numpy", "--dtype", "float64", "--updates", 3, "--rounds", 1, "--no-yardstick")
    r = cli(*args, "--optimizer", "adagrad", "--optimizer", "adam", "--json", out)
    assert r.exit_code == 0, r.output
    rows = {d["name"]: d["ms_per_update"] for d in json.loads(out.read_text())}
    assert set(rows) == {"numpy/adagrad", "numpy/adam"}
    assert f"Adam / AdaGrad = {rows['numpy/adam'] / rows['numpy/adagrad']:.3f}" in r.output
    plain = cli(*args)
    assert plain.exit_code == 0 and "\nnumpy " in plain.output and "Adam / AdaGrad" not in plain.output
    assert_one_line_error(cli(*args, "--optimizer", "sgd"), 2, "--optimizer must be one of adagrad, adam (got 'sgd')")
