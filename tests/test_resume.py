"""Runs that survive: checkpoints, exact resume, signals, kill -9, damaged files (issue: runs)."""

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.numpy_backend import NumpyBackend
from common.contract import Layout
from common.errors import BadInput, TrainingStopped
from common.run import checkpoint, npzfile
from common.run.checkpoint import restore
from common.run.config import Config
from common.run.files import Run
from common.run.train import start, train
from common.weights import init_theta
from tests.conftest import BlowsUp, cli, skip_unless_runnable

ROOT = os.path.dirname(os.path.dirname(__file__))
SMALL = ["--hidden", "16", "--seq-length", "10", "--sample-every", "40", "--checkpoint-every", "25"]


def train_cli(data, out, *args):
    r = cli("train", "--data", data, *SMALL, "--out", out, *args)
    assert r.exit_code == 0, r.output
    return r


def history(out):
    return (out / "history.csv").read_text()


def test_checkpoint_holds_everything_to_continue(tmp_path, corpus_file, corpus):
    out = tmp_path / "run"
    train_cli(corpus_file, out, "--updates", 60)
    arrays, meta = checkpoint.read_checkpoint(out / "checkpoint.npz")
    assert meta["kind"] == "checkpoint" and meta["version"] == npzfile.VERSION and meta["update"] == 60
    assert meta["chars"] == corpus.chars and meta["dtype"] == "float64" and meta["hidden"] == 16
    assert meta["config"]["seq_length"] == 10
    assert meta["corpus"]["sha256"] == hashlib.sha256(corpus_file.read_bytes()).hexdigest()
    assert meta["rng"]["seed"] == 1 and meta["epoch"] == 0 and meta["offset"] == 600
    assert len(meta["samples"]) == 2 and meta["best_update"] <= 60
    assert arrays["h"].shape == (16, 1) and arrays["losses"].shape == (60,)
    assert np.isfinite(arrays["theta"]).all() and (arrays["mem"] > 0).any()


def test_resume_is_exact_bit_for_bit(tmp_path, corpus_file):
    one_go, resumed = tmp_path / "a", tmp_path / "b"
    train_cli(corpus_file, one_go, "--updates", 230)
    train_cli(corpus_file, resumed, "--updates", 95)
    r = cli("train", "--resume", resumed, "--updates", 230)
    assert r.exit_code == 0 and "resuming" in r.output
    assert history(one_go) == history(resumed)  # row for row, every bit
    assert (one_go / "samples.txt").read_text() == (resumed / "samples.txt").read_text()
    assert (one_go / "best_sample.txt").read_text() == (resumed / "best_sample.txt").read_text()
    for which in ("best", "last"):
        a = checkpoint.load_model(one_go / "checkpoint.npz", which).params
        b = checkpoint.load_model(resumed / "checkpoint.npz", which).params
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_resume_after_a_stop_between_updates(tmp_path, corpus):
    """The stop path (what SIGINT triggers): saved between two updates, resumed exactly."""
    cfg = Config(hidden=16, seq_length=10, updates=120, sample_every=40)
    layout = Layout(corpus.K, 16)

    def fresh(out):
        backend = NumpyBackend(layout)
        state = start(backend, init_theta(layout, cfg.sigma, cfg.seed), 1)
        return backend, state, Run(out, corpus, cfg, backend, None)

    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    backend, state, folder = fresh(tmp_path / "a")
    train(backend, corpus, cfg, state)
    straight = state.losses

    backend, state, folder = fresh(tmp_path / "b")
    train(backend, corpus, cfg, state, save=lambda s: folder.save(s, "running"), stop=lambda: state.update >= 77)
    assert state.update == 77
    arrays, meta = checkpoint.read_checkpoint(tmp_path / "b" / "checkpoint.npz")
    backend = NumpyBackend(layout)
    state = restore(backend, arrays, meta)
    train(backend, corpus, cfg, state)
    assert state.losses == straight


def test_torch_resume_agrees_to_1e_12(tmp_path, corpus_file):
    skip_unless_runnable("torch", {"device": "cpu"})
    a, b = tmp_path / "a", tmp_path / "b"
    train_cli(corpus_file, a, "--updates", 150, "--backend", "torch", "--device", "cpu")
    train_cli(corpus_file, b, "--updates", 70, "--backend", "torch", "--device", "cpu")
    assert cli("train", "--resume", b, "--updates", 150).exit_code == 0  # the run's backend by default
    la, lb = (np.loadtxt(p / "history.csv", delimiter=",", skiprows=1) for p in (a, b))
    np.testing.assert_allclose(lb, la, rtol=1e-12)
    assert json.loads((b / "summary.json").read_text())["backend"]["name"] == "torch"


def test_checkpoints_cross_backends(tmp_path, corpus_file):
    """numpy -> torch -> numpy: each leg starts from the last one's exact state."""
    skip_unless_runnable("torch", {"device": "cpu"})
    ref, run = tmp_path / "ref", tmp_path / "run"
    train_cli(corpus_file, ref, "--updates", 61)
    train_cli(corpus_file, run, "--updates", 30)
    assert cli("train", "--resume", run, "--updates", 31, "--backend", "torch", "--device", "cpu").exit_code == 0
    assert json.loads((run / "summary.json").read_text())["backend"]["name"] == "torch"
    assert cli("train", "--resume", run, "--updates", 61, "--backend", "numpy").exit_code == 0
    ours, theirs = (np.loadtxt(p / "history.csv", delimiter=",", skiprows=1) for p in (run, ref))
    np.testing.assert_array_equal(ours[:30], theirs[:30])
    np.testing.assert_allclose(ours[30:], theirs[30:], rtol=1e-10)  # one torch update: rounding only, then chaos
    r = cli("sample", run, "--backend", "torch", "--device", "cpu", "--length", 50)
    assert r.exit_code == 0 and len(r.output) >= 50


def test_resume_to_a_new_total_and_refusals(tmp_path, corpus_file, text):
    out = tmp_path / "run"
    train_cli(corpus_file, out, "--updates", 40)
    r = cli("train", "--resume", out)
    assert r.exit_code == 0 and "already at update 40" in r.output
    assert cli("train", "--resume", out, "--epochs", 1).exit_code == 0
    assert len(history(out).splitlines()) == 1 + json.loads((out / "summary.json").read_text())["updates_per_epoch"]
    other = tmp_path / "other.txt"
    other.write_text(text.upper())
    cases = [
        (["--data", other], "the data differs from the run's"),
        (["--hidden", "17"], "--hidden 17 differs from the run's 16"),
        (["--dtype", "float32"], "--dtype float32 differs from the run's float64"),
        (["--batch-size", "2"], "--batch-size 2 differs"),
        (["--eta", "0.05", "--epochs", "2"], "add --force"),
        (["--out", tmp_path / "x"], "--out does not go with --resume"),
    ]
    for args, message in cases:
        r = cli("train", "--resume", out, *args)
        assert r.exit_code == 2 and message in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)
    r = cli("train", "--resume", out, "--eta", "0.05", "--epochs", "2", "--force")
    assert r.exit_code == 0 and json.loads((out / "summary.json").read_text())["config"]["eta"] == 0.05


def test_a_non_finite_loss_keeps_the_last_good_checkpoint(tmp_path, corpus):
    cfg = Config(hidden=16, seq_length=10, updates=100, sample_every=0, checkpoint_every=25)
    layout = Layout(corpus.K, 16)
    backend = BlowsUp(layout, at=61)
    state = start(backend, init_theta(layout, cfg.sigma, 0), 1)
    folder = Run(tmp_path, corpus, cfg, backend, None)
    with pytest.raises(TrainingStopped):
        train(backend, corpus, cfg, state, save=lambda s: folder.save(s, "running"))
    folder.finish(state, "stopped", None)
    arrays, meta = checkpoint.read_checkpoint(tmp_path / "checkpoint.npz")
    assert meta["update"] == 50 and np.isfinite(arrays["theta"]).all()
    assert len(history(tmp_path).splitlines()) == 1 + 60  # the good updates are all recorded
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "stopped"


def spawn(data, out, *args):
    cmd = [sys.executable, "cli.py", "train", "--data", str(data), *SMALL, "--out", str(out), *map(str, args)]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, seconds=30):
    end = time.time() + seconds
    while not path.exists():
        assert time.time() < end, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_save_and_exit_cleanly(tmp_path, corpus_file, sig, code):
    out = tmp_path / "run"
    p = spawn(corpus_file, out, "--updates", 10**7)
    wait_for(out / "checkpoint.npz")
    time.sleep(0.3)
    p.send_signal(sig)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == code, stderr
    assert "interrupted at update" in stderr and "--resume" in stderr and "Traceback" not in stderr
    arrays, meta = checkpoint.read_checkpoint(out / "checkpoint.npz")
    assert len(history(out).splitlines()) == 1 + meta["update"]  # history and checkpoint agree
    assert json.loads((out / "summary.json").read_text())["status"] == "interrupted"
    r = cli("train", "--resume", out, "--updates", meta["update"] + 20)
    assert r.exit_code == 0, r.output


@pytest.mark.slow
def test_kill_9_at_random_moments_never_breaks_the_checkpoint(tmp_path, corpus_file):
    out = tmp_path / "run"
    rng = random.Random(0)
    p = spawn(corpus_file, out, "--updates", 10**7, "--checkpoint-every", 7)
    wait_for(out / "checkpoint.npz")
    deadline = time.time() + 60
    for kill in range(6):
        if kill:  # resume the killed run, then kill it again
            p = subprocess.Popen(
                [
                    sys.executable,
                    "cli.py",
                    "train",
                    "--resume",
                    str(out),
                    "--updates",
                    str(10**7),
                    "--checkpoint-every",
                    "7",
                    "--sample-every",
                    "40",
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        time.sleep(rng.uniform(0.8, 2.5))
        p.kill()  # SIGKILL: no handler runs
        p.communicate()
        arrays, meta = checkpoint.read_checkpoint(out / "checkpoint.npz")  # loads, every time
        rows = history(out).splitlines()
        assert len(rows) - 1 >= meta["update"]  # history may run ahead; resume trims it
        assert time.time() < deadline
    r = cli("train", "--resume", out, "--updates", meta["update"] + 10)
    assert r.exit_code == 0, r.output
    assert len(history(out).splitlines()) == 1 + meta["update"] + 10
    assert not list(out.glob(".*.tmp"))  # what a killed write left behind is cleaned up on resume


def damage(path, how):
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "random":
        path.write_bytes(random.Random(1).randbytes(4000))
    else:
        arrays, meta = npzfile.load(path)
        meta.pop("format"), meta.pop("version")
        if how == "missing-array":
            arrays.pop("mem")
        elif how == "wrong-shape":
            arrays["h"] = np.zeros((3, 3))
        elif how == "newer-version":
            npzfile.VERSION, old = 99, npzfile.VERSION
            try:
                npzfile.save(path, arrays, meta)
            finally:
                npzfile.VERSION = old
            return
        elif how == "pickle":
            arrays["mem"] = np.array([{"a": 1}], dtype=object)
            blob = np.frombuffer(json.dumps({"format": "char-rnn", "version": 1, **meta}).encode(), np.uint8)
            with open(path, "wb") as f:
                np.savez(f, meta=blob, **arrays)
            return
        npzfile.save(path, arrays, meta)


@pytest.mark.parametrize(
    "how, message",
    [
        ("truncated", "not a model file|not a readable|damaged"),
        ("empty", "not a model file"),
        ("random", "not a model file"),
        ("missing-array", "lacks the array mem"),
        ("wrong-shape", re.escape("h is float64(3, 3), expected float64(16, 1)")),
        ("newer-version", "format version 99"),
        ("pickle", "pickled objects"),
    ],
)
def test_damaged_checkpoints_get_one_clear_line(tmp_path, corpus_file, how, message):
    out = tmp_path / "run"
    train_cli(corpus_file, out, "--updates", 30)
    damage(out / "checkpoint.npz", how)
    for args in (["train", "--resume", out, "--updates", 40], ["sample", out / "checkpoint.npz", "--which", "last"]):
        r = cli(*args)
        assert r.exit_code == 2, (how, args, r.output)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("error:") and "Traceback" not in r.output
        assert re.search(message, r.stderr), r.stderr


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    from tests.conftest import make_text

    folder = tmp_path_factory.mktemp("ckpt")
    data = folder / "t.txt"
    data.write_text(make_text(300))
    train_cli(data, folder / "run", "--updates", 30)
    return (folder / "run" / "checkpoint.npz").read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_byte_level_damage_is_a_clear_error_or_harmless(tmp_path, good_checkpoint, data):
    raw = bytearray(good_checkpoint)
    kind = data.draw(st.sampled_from(["flip", "cut", "splice"]))
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] ^= data.draw(st.integers(1, 255))
    elif kind == "cut":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        i = data.draw(st.integers(0, len(raw)))
        raw[i:i] = data.draw(st.binary(min_size=1, max_size=64))
    path = tmp_path / "c.npz"
    path.write_bytes(bytes(raw))
    try:
        arrays, meta = checkpoint.read_checkpoint(path)
    except BadInput:
        return  # the one clear line
    assert meta["kind"] == "checkpoint" and np.isfinite(arrays["theta"]).all()  # or it is still a valid one


def test_sample_is_reproducible_and_temperature_zero_is_greedy(tmp_path, corpus_file, corpus):
    out = tmp_path / "run"
    train_cli(corpus_file, out, "--updates", 200)
    a = cli("sample", out, "--seed", 3, "--length", 120).stdout
    assert a == cli("sample", out, "--seed", 3, "--length", 120).stdout
    assert a != cli("sample", out, "--seed", 4, "--length", 120).stdout
    assert a == cli("sample", out, "--seed", 3, "--length", 120, "--top-p", 1.0).stdout  # top-p = 1 is plain
    model = checkpoint.load_model(out / "best.npz")
    b = NumpyBackend(Layout(corpus.K, 16))
    theta, prime = b.layout.pack(model.params), [corpus.chars.index(ch) for ch in "The"]

    def argmax_path(h, ids):
        for x in ids[:-1]:
            h, _ = b.predict(theta, h, x)
        x, path = ids[-1], []
        for _ in range(60):
            h, o = b.predict(theta, h, x)
            x = int(np.argmax(o))
            path.append(x)
        return "The" + corpus.decode(path)

    for first, h, ids in (([], model.h, [model.x_next, *prime]), (["--from-zero"], np.zeros((16, 1)), prime)):
        greedy = cli("sample", out, *first, "--temperature", 0, "--prime", "The", "--length", 60).stdout
        assert greedy == cli("sample", out, *first, "--temperature", 1e-9, "--prime", "The", "--length", 60).stdout
        assert greedy == argmax_path(h, ids) + "\n"  # the argmax path, from the saved h (default) or from 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--length", "0"], "--length must be a positive integer"),
        (["--temperature", "-1"], "--temperature must be zero or positive"),
        (["--top-p", "1.5"], "--top-p must be in (0, 1]"),
        (["--prime", "\u20ac"], "not in the model's vocabulary"),
        (["--which", "last", "--backend", "numpy"], None),
    ],
)
def test_sample_bad_input(tmp_path, corpus_file, args, message):
    out = tmp_path / "run"
    train_cli(corpus_file, out, "--updates", 30)
    r = cli("sample", out, *args)
    if message is None:
        assert r.exit_code == 0
        return
    assert r.exit_code == 2 and message in r.stderr and r.stderr.count("\n") == 1


def test_model_file_and_run_folder_paths(tmp_path, corpus_file):
    out = tmp_path / "run"
    train_cli(corpus_file, out, "--updates", 30)
    assert cli("sample", out / "best.npz", "--length", 10).exit_code == 0
    r = cli("sample", out / "best.npz", "--which", "last")
    assert r.exit_code == 2 and "needs a checkpoint" in r.stderr
    with zipfile.ZipFile(tmp_path / "x.npz", "w") as z:
        z.writestr("a.txt", "hello")
    r = cli("sample", tmp_path / "x.npz")
    assert r.exit_code == 2 and r.stderr.startswith("error:")


def test_a_version_1_checkpoint_still_resumes_and_samples(tmp_path, corpus_file):
    """Version 1 saved no hidden state with the best model and no checkpoint interval: both get defaults."""
    out = tmp_path / "run"
    train_cli(corpus_file, out, "--updates", 30)
    arrays, meta = npzfile.load(out / "checkpoint.npz")
    del arrays["best_h"], meta["x_next"], meta["best_x_next"], meta["config"]["checkpoint_every"]
    npzfile.save(out / "checkpoint.npz", arrays, meta | {"version": 1})
    (out / "best.npz").unlink()
    assert checkpoint.load_model(out / "checkpoint.npz").h is None
    assert cli("sample", out, "--length", 20).exit_code == 0  # from h = 0, as version 1 did
    r = cli("train", "--resume", out, "--updates", 40)
    assert r.exit_code == 0, r.output
    assert checkpoint.read_checkpoint(out / "checkpoint.npz")[1]["config"]["checkpoint_every"] == 10_000
