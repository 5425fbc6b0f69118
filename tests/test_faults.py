"""Bad input and faults (issue 10): each gets one line naming the problem, and nothing saved is lost."""

import errno
import json
import os
import socket
import subprocess
import sys

import pytest

from common.run import checkpoint
from common.run.progress import loss_text
from tests.conftest import assert_one_line_error, cli, skip_unless_runnable

ROOT = os.path.dirname(os.path.dirname(__file__))
TINY = ["--hidden", "8", "--seq-length", "10", "--sample-every", "0"]


def python(*args, cwd=ROOT, timeout=120):
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_runs_started_at_once_each_get_their_own_folder(tmp_path, corpus_file):
    cmd = [sys.executable, os.path.join(ROOT, "cli.py"), "train", "--data", str(corpus_file), *TINY, "--updates", "5"]
    runs = [
        subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in runs]
    assert all(code == 0 for code, _, _ in results), [err for _, _, err in results]
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 8 and len({out.splitlines()[-1].split("wrote ")[-1] for _, out, _ in results}) == 8
    for folder in folders:
        assert json.loads((folder / "summary.json").read_text())["status"] == "completed"
        assert len((folder / "history.csv").read_text().splitlines()) == 1 + 5


def test_every_setting_is_kept_on_resume_unless_given(tmp_path, corpus_file):
    out = tmp_path / "run"
    args = ["--checkpoint-every", 7, "--sample-every", 13, "--out", out]
    assert cli("train", "--data", corpus_file, *TINY[:4], *args, "--updates", 20).exit_code == 0
    assert cli("train", "--resume", out, "--updates", 40).exit_code == 0
    config = json.loads((out / "summary.json").read_text())["config"]
    assert config["checkpoint_every"] == 7 and config["sample_every"] == 13
    assert [u for u, _, _ in checkpoint.read_checkpoint(out / "checkpoint.npz")[1]["samples"]] == [1, 13, 26, 39]
    assert cli("train", "--resume", out, "--updates", 50, "--checkpoint-every", 5).exit_code == 0
    assert json.loads((out / "summary.json").read_text())["config"]["checkpoint_every"] == 5


WRITES = {"history.csv": 2, "samples.txt": 2, "best.npz": 2, "checkpoint.npz": 2, "summary.json": 3}
WRITES |= {"best_sample.txt": 1, "loss.png": 1}  # the k-th fsync of that file fails


@pytest.mark.parametrize("name, k", WRITES.items())
def test_a_full_disk_is_one_line_and_the_last_checkpoint_stays(tmp_path, corpus_file, monkeypatch, name, k):
    fsync, seen = os.fsync, []

    def full(fd):
        if name in os.path.basename(os.readlink(f"/proc/self/fd/{fd}")):
            seen.append(fd)
            if len(seen) >= k:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "run"
    r = cli("train", "--data", corpus_file, *TINY, "--updates", 60, "--checkpoint-every", 25, "--out", out)
    monkeypatch.setattr(os, "fsync", fsync)
    assert_one_line_error(r, 1, f"cannot write {out / name}: No space left on device")
    assert "MiB free there" in r.stderr
    if (out / "checkpoint.npz").exists():
        assert checkpoint.read_checkpoint(out / "checkpoint.npz")[1]["update"] in (25, 50, 60)
    assert not list(out.glob(".*.tmp"))  # the half-written temporary file is gone


def test_sizes_that_cannot_fit_are_refused_before_allocating(tmp_path, corpus_file):
    r = cli("train", "--data", corpus_file, "--hidden", 100_000, "--out", tmp_path / "run")
    assert_one_line_error(r, 2, "--hidden 100000 needs about")
    assert "GiB of memory" in r.stderr and not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_data_that_is_not_a_regular_file_is_refused_without_reading(tmp_path, kind):
    path = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer forever
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
    else:
        path = "/dev/zero"  # endless
    r = python("cli.py", "train", "--data", path, "--out", tmp_path / "run", timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not a regular file" in r.stderr, r.stderr
    assert not (tmp_path / "run").exists()


def test_a_text_of_one_distinct_character_is_refused(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("a" * 1000)
    r = cli("train", "--data", path, "--out", tmp_path / "run")
    assert_one_line_error(r, 2, "has 1 distinct character(s)")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, message", [(["--sigma", 2], "--sigma 2 is far above"), (["--eta", 3], "--eta 3")])
def test_hyperparameters_far_outside_sense_warn_once_and_go_on(tmp_path, corpus_file, args, message):
    r = cli("train", "--data", corpus_file, *TINY, *args, "--updates", 30, "--out", tmp_path / "run")
    assert r.exit_code == 0, r.output
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and message in warnings[0]


def test_a_non_finite_loss_says_one_line_and_nothing_before_it(tmp_path, corpus_file):
    code = (
        "import sys, backends, cli; from tests.conftest import BlowsUp\n"
        "backends.load = lambda name, layout, dtype, **o: BlowsUp(layout, dtype, at=40)\n"
        "cli.app(sys.argv[1:])"
    )
    r = python("-c", code, "train", "--data", corpus_file, *TINY, "--updates", 60, "--out", tmp_path / "run")
    assert r.returncode == 1 and r.stderr.startswith("error: the loss became") and r.stderr.count("\n") == 1, r.stderr
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "stopped"


def test_huge_losses_print_short():
    assert loss_text(61.437) == "61.44" and loss_text(1e300) == "1e+300" and loss_text(5.6e8) == "5.6e+08"


def test_wall_time_counts_every_process_of_a_resumed_run(tmp_path, corpus_file):
    out = tmp_path / "run"
    assert cli("train", "--data", corpus_file, *TINY, "--updates", 200, "--out", out).exit_code == 0
    first = json.loads((out / "summary.json").read_text())["timings"]
    assert cli("train", "--resume", out, "--updates", 210).exit_code == 0
    then = json.loads((out / "summary.json").read_text())["timings"]
    assert then["wall_s"] >= then["train_s"] and then["wall_s"] > first["wall_s"]


def test_a_moved_corpus_is_named_with_the_flag_that_fixes_it(tmp_path, corpus_file):
    out = tmp_path / "run"
    assert cli("train", "--data", corpus_file, *TINY, "--updates", 20, "--out", out).exit_code == 0
    corpus_file.rename(tmp_path / "moved.txt")
    assert_one_line_error(cli("train", "--resume", out, "--updates", 30), 2, "give the same text with --data PATH")
    assert cli("train", "--resume", out, "--updates", 30, "--data", tmp_path / "moved.txt").exit_code == 0


def test_every_file_of_a_run_has_the_same_mode(tmp_path, corpus_file):
    out = tmp_path / "run"
    assert cli("train", "--data", corpus_file, *TINY, "--updates", 20, "--out", out).exit_code == 0
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in out.iterdir()}
    assert len(set(modes.values())) == 1 and "best.npz" in modes, modes


def test_sample_names_what_it_looked_for_and_ends_its_line(tmp_path, corpus_file):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(cli("sample", tmp_path / "empty"), 2, "holds no best.npz or checkpoint.npz")
    out = tmp_path / "run"
    assert cli("train", "--data", corpus_file, *TINY, "--updates", 20, "--out", out).exit_code == 0
    r = cli("sample", out, "--length", 30)
    assert r.exit_code == 0 and r.stdout.endswith("\n") and not r.stdout.endswith("\n\n")


def test_boolean_flags_read_as_flags_in_help():
    for command in ("train", "sample", "gradcheck"):
        r = cli(command, "--help")
        lines = [line for line in r.output.splitlines() if "--help" not in line]  # Typer's own
        assert r.exit_code == 0 and not [line for line in lines if "<bool>" in line or "--no-" in line]


def test_the_backend_options_are_kept_on_resume(tmp_path, corpus_file):
    skip_unless_runnable("torch", {"device": "cpu", "grad": "autograd"})
    out, options = tmp_path / "run", ["--backend", "torch", "--device", "cpu", "--grad", "autograd"]
    assert cli("train", "--data", corpus_file, *TINY, *options, "--updates", 10, "--out", out).exit_code == 0
    assert cli("train", "--resume", out, "--updates", 20).exit_code == 0
    meta = checkpoint.read_checkpoint(out / "checkpoint.npz")[1]
    assert meta["update"] == 20 and meta["backend"]["options"] == {"device": "cpu", "grad": "autograd"}
