"""A run folder has one writer, and every run can be resumed or reused (issue 15, docs: runs.md#the-run-folder).

Real processes: a second `--resume` while the first trains, kill -9 before the first checkpoint,
and Ctrl-C (a real SIGINT) in each phase of a run's life, from the imports to the final summary.
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest

from common.run import checkpoint
from tests.conftest import assert_one_line_error, cli

ROOT = os.path.dirname(os.path.dirname(__file__))
ARGS = ["--hidden", "16", "--seq-length", "10", "--updates", "60", "--checkpoint-every", "25", "--sample-every", "20"]
SAME = ("history.csv", "samples.txt", "best_sample.txt", "sampling_table.md")  # byte for byte as one go

# Runs cli.py as `python cli.py ...` does, after arranging a SIGINT (Ctrl-C) in one phase of the run:
# the call-th call of owner.attr sends it to this very process, then goes on as usual.
CTRL_C = r"""
import importlib, os, runpy, signal, sys
phase, owner, attr, call = sys.argv[1:5]

def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)

class Imports:  # Ctrl-C while `import numpy` runs, before cli.py has done anything
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            sys.meta_path.remove(self)
            ctrl_c()

if phase == "imports":
    sys.meta_path.insert(0, Imports())
else:
    module, _, cls = owner.partition(":")
    where = importlib.import_module(module)
    where = getattr(where, cls) if cls else where
    original, calls = getattr(where, attr), []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == int(call):
            ctrl_c()
        return original(*args, **kwargs)

    setattr(where, attr, wrapper)
sys.argv = ["cli.py", *sys.argv[5:]]
runpy.run_path("cli.py", run_name="__main__")
"""

# phase -> (what is patched, which call, exit status, the one stderr line (None: silent, as Ctrl-C ends any
# Unix tool), the update the folder stops at (None: no folder made))
PHASES = {
    "imports": ("-", "-", 1, 130, None, None),
    "reading the text": ("common.run.inputs", "read_text", 1, 130, None, None),
    "building the backend": ("backends", "load", 1, 130, None, None),
    "starting the progress line": ("common.run.progress:ProgressBar", "__init__", 1, 130, "at update 0:", 0),
    "the first update": ("backends.numpy_backend:NumpyBackend", "step", 1, 130, "at update 1:", 1),
    "writing a checkpoint": ("common.run.checkpoint", "save_checkpoint", 1, 130, "at update 25:", 25),
    "writing the summary": ("common.run.files:Run", "write_summary", 1, 130, "at update 25:", 25),
    "writing the final summary": ("common.run.files:Run", "write_summary", 3, 0, None, 60),
}


def python(*args, timeout=120):
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def rows(out) -> list[int]:
    return [int(line.split(",")[0]) for line in (out / "history.csv").read_text().splitlines()[1:]]


@pytest.fixture(scope="module")
def one_go(tmp_path_factory):
    """The run of ARGS done in one go, uninterrupted: what every stopped and resumed run must equal."""
    from tests.conftest import make_text

    tmp = tmp_path_factory.mktemp("one-go")
    data = tmp / "tiny.txt"
    data.write_text(make_text(), encoding="utf-8")
    assert cli("train", "--data", data, *ARGS, "--out", tmp / "run").exit_code == 0
    return data, tmp / "run"


def assert_same_run(out, one_go):
    for name in SAME:
        assert (out / name).read_bytes() == (one_go / name).read_bytes(), name


@pytest.mark.slow
def test_a_second_writer_is_refused_and_the_first_writes_each_update_once(tmp_path, one_go):
    data, _ = one_go
    out = tmp_path / "run"
    assert cli("train", "--data", data, *ARGS, "--out", out).exit_code == 0
    first = subprocess.Popen(
        [sys.executable, "cli.py", "train", "--resume", str(out), "--updates", "10000000", "--checkpoint-every", "500"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    end = time.time() + 60
    while (out / "lock").read_text().strip() != str(first.pid):  # the first writer holds the folder
        assert time.time() < end and first.poll() is None, "the first --resume never took the lock"
        time.sleep(0.05)
    second = python("cli.py", "train", "--resume", out, "--updates", 10**7, timeout=60)
    assert second.returncode == 2 and second.stderr.count("\n") == 1, second.stderr
    assert f"is being written by process {first.pid}" in second.stderr
    assert_one_line_error(cli("train", "--data", data, "--out", out), 2, f"by process {first.pid}")
    for reader in (
        ["sample", out, "--length", 20],
        ["neurons", out, "--text", "the model", "--out", tmp_path / "n.html"],
    ):
        assert cli(*reader).exit_code == 0  # readers take no lock, and find whole files
    time.sleep(1.0)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=60) == 130, first.stderr.read()
    update = checkpoint.read_checkpoint(out / "checkpoint.npz")[1]["update"]
    assert update > 60 and rows(out) == list(range(1, update + 1))  # each update once, in order
    r = cli("train", "--resume", out, "--updates", update)  # the lock went with the process; it finishes the run
    assert r.exit_code == 0 and json.loads((out / "summary.json").read_text())["status"] == "completed", r.output


@pytest.mark.slow
def test_a_run_killed_before_its_first_checkpoint_resumes_to_the_same_run(tmp_path, one_go):
    data, reference = one_go
    out = tmp_path / "run"
    kill = (
        "import os, signal, sys, runpy\n"
        "from backends.numpy_backend import NumpyBackend\n"
        "step = NumpyBackend.step\n"
        "def killed(self, theta, *a):\n"
        "    if a[5] == 10: os.kill(os.getpid(), signal.SIGKILL)  # the 10th update: no checkpoint yet\n"
        "    return step(self, theta, *a)\n"
        "NumpyBackend.step = killed\n"
        "sys.argv = ['cli.py', *sys.argv[1:]]\n"
        "runpy.run_path('cli.py', run_name='__main__')\n"
    )
    r = python("-c", kill, "train", "--data", data, *ARGS, "--out", out)
    assert r.returncode == -signal.SIGKILL and not (out / "checkpoint.npz").exists()
    assert {p.name for p in out.iterdir()} == {"lock", "settings.json"}
    r = cli("train", "--data", data, *ARGS, "--out", out)  # the message sends the user to a command that works
    assert_one_line_error(r, 2, f"already holds a run; continue it with --resume {out}")
    r = cli("train", "--resume", out)
    assert r.exit_code == 0 and f"resuming {out} at update 0" in r.output, r.output
    assert_same_run(out, reference)


def test_an_empty_folder_is_sent_to_the_command_that_works(tmp_path, corpus_file):
    out = tmp_path / "run"
    out.mkdir()
    assert_one_line_error(cli("train", "--resume", out), 2, f"start a run there with --out {out}")
    assert cli("train", "--data", corpus_file, *ARGS, "--out", out).exit_code == 0


@pytest.mark.slow
@pytest.mark.parametrize("phase", list(PHASES))
def test_ctrl_c_in_any_phase_is_no_traceback_and_the_run_resumes_to_the_same_end(tmp_path, one_go, phase):
    data, reference = one_go
    owner, attr, call, code, said, update = PHASES[phase]
    out = tmp_path / "run"
    r = python("-c", CTRL_C, phase, owner, attr, call, "train", "--data", data, *ARGS, "--out", out)
    assert r.returncode == code and "Traceback" not in r.stderr, r.stderr
    if said is None:
        assert r.stderr == "", r.stderr
    else:
        assert r.stderr.count("\n") == 1 and re.search(said, r.stderr.strip()), r.stderr
    if update is None:
        assert not out.exists()  # stopped before the folder was claimed: nothing to clean up
        return
    at = checkpoint.read_checkpoint(out / "checkpoint.npz")[1]["update"] if update else 0
    assert at == update and rows(out) == list(range(1, update + 1))
    if code:  # the line says how to go on, with this very python: run that command as it stands
        command = shlex.split(r.stderr.split("Resume with: ")[1])
        assert subprocess.run(command, cwd=ROOT, capture_output=True, timeout=120).returncode == 0, command
    assert_same_run(out, reference)
