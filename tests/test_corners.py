"""The last corners (issue 25): every run finishable, every refusal harmless, stdout's failures said.

Where a signal or a file descriptor is involved the command runs as a real process: a SIGHUP to
a training process, Ctrl-C just after the last update, stdout on /dev/full or closed.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import cli, make_text

ROOT = os.path.dirname(os.path.dirname(__file__))
SMALL = ["--hidden", "8", "--seq-length", "10", "--sample-every", "0"]

# train, with a Ctrl-C (a real SIGINT to itself) arriving after its last update, before its final sample
LATE_CTRL_C = """
import os, signal, sys
from common.run import lifecycle
train = lifecycle.train
def late(*args):
    state = train(*args)
    os.kill(os.getpid(), signal.SIGINT)
    return state
lifecycle.train = late
sys.argv[0] = "cli.py"
import cli
cli.app()
"""


def run(*args, stdout=subprocess.PIPE, cwd=ROOT) -> subprocess.CompletedProcess:
    """cli.py as a real process."""
    command = [sys.executable, os.path.join(ROOT, "cli.py"), *map(str, args)]
    return subprocess.run(command, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)


def status(out) -> str:
    return json.loads((out / "summary.json").read_text())["status"]


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(make_text(), encoding="utf-8")
    return path


def test_ctrl_c_after_the_last_update_is_finished_by_resume(tmp_path, data):
    out = tmp_path / "run"
    args = ["train", "--data", data, *SMALL, "--updates", "30", "--out", out]
    r = subprocess.run(
        [sys.executable, "-c", LATE_CTRL_C, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 130 and "Finish it with: " in r.stderr, r.stderr
    assert status(out) == "interrupted" and not (out / "best_sample.txt").exists()
    again = r.stderr.split("Finish it with: ")[1].split()[2:]  # the command it names, run as it says
    r = run(*again)
    assert r.returncode == 0 and "wrote" in r.stdout, r.stderr
    assert status(out) == "completed" and (out / "best_sample.txt").exists() and (out / "sampling_table.md").exists()
    settings = (out / "settings.json").read_bytes()
    r = run("train", "--resume", out)  # complete: said, and nothing written
    assert r.returncode == 0 and "already at update 30 of 30" in r.stdout
    assert (out / "settings.json").read_bytes() == settings


def test_sighup_stops_a_run_between_two_updates_as_sigterm_does(tmp_path, data):
    out = tmp_path / "run"
    args = ["train", "--data", data, *SMALL, "--updates", "10000000", "--checkpoint-every", "50", "--out", out]
    p = subprocess.Popen(
        [sys.executable, "cli.py", *map(str, args)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    end = time.time() + 60
    while not (out / "checkpoint.npz").exists():
        assert time.time() < end and p.poll() is None, "no checkpoint in 60 s"
        time.sleep(0.05)
    p.send_signal(signal.SIGHUP)
    assert p.wait(timeout=60) == 128 + signal.SIGHUP
    assert "interrupted at update" in p.stderr.read().decode() and status(out) == "interrupted"


def test_a_refused_resume_writes_nothing(tmp_path, data):
    out = tmp_path / "run"
    assert run("train", "--data", data, *SMALL, "--updates", "20", "--out", out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for args, message in (
        (["--updates", "5"], "at update 20, past the 5 of --updates 5"),
        (["--hidden", "9"], "--hidden 9 differs"),
        (["--eta", "0.5"], "add --force"),
    ):
        r = run("train", "--resume", out, *args)
        assert r.returncode == 2 and message in r.stderr, r.stderr
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the lock keeps its writer's id too
    mine = tmp_path / "mine"
    mine.mkdir()
    for where, arg in ((mine, ""), (tmp_path, mine)):  # --resume '' is the current folder
        r = run("train", "--resume", arg, cwd=where) if arg == "" else run("train", "--resume", arg)
        assert r.returncode == 2 and "holds no run to resume" in r.stderr, r.stderr
    assert list(mine.iterdir()) == []


def test_force_without_resume_is_refused_and_h_is_help(tmp_path, data):
    r = cli("train", "--data", data, "--force", "--out", tmp_path / "new")
    assert r.exit_code == 2 and "--force goes with --resume" in r.stderr and not (tmp_path / "new").exists()
    for args in (["-h"], ["train", "-h"], ["sample", "-h"]):
        r = cli(*args)
        assert r.exit_code == 0 and "Usage:" in r.output, r.output


@pytest.mark.parametrize("where", ["/dev/full", "closed"])
def test_sample_and_backends_say_that_stdout_lost_their_output(tmp_path, data, where):
    out = tmp_path / "run"
    assert run("train", "--data", data, *SMALL, "--updates", "20", "--out", out).returncode == 0
    for args in (["sample", out], ["backends"]):
        if where == "closed":  # >&-
            r = subprocess.run(
                f"{sys.executable} cli.py {' '.join(map(str, args))} >&-",
                shell=True,
                cwd=ROOT,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
            )
        else:
            with open(where, "w") as full:
                r = run(*args, stdout=full)
        errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        assert r.returncode == 1 and len(errors) == 1 and "stdout" in errors[0], r.stderr
        assert "Traceback" not in r.stderr


def test_train_to_a_full_stdout_saves_its_run_then_says_so(tmp_path, data):
    out = tmp_path / "run"
    with open("/dev/full", "w") as full:
        r = run("train", "--data", data, *SMALL, "--updates", "20", "--out", out, stdout=full)
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].startswith("error: the output was lost"), r.stderr
    assert "Traceback" not in r.stderr and status(out) == "completed"


def test_a_broken_pipe_is_one_line(tmp_path, data):
    out = tmp_path / "run"
    assert run("train", "--data", data, *SMALL, "--updates", "20", "--out", out).returncode == 0
    r, w = os.pipe()
    os.close(r)  # no reader: every write is EPIPE
    with os.fdopen(w, "w") as pipe:
        p = run("sample", out, "--length", "100", stdout=pipe)
    assert p.returncode == 1 and "stdout is a broken pipe" in p.stderr and "Traceback" not in p.stderr, p.stderr


OWN = """
from backends.numpy_backend import NumpyBackend


class {name}(NumpyBackend):
    def {method}(self, *args):
        out = super().{method}(*args)
        return {bad}
"""
WRONG = [  # (method, what it returns instead, the line that says so)
    ("forward", "out[0]", "forward returned a float; expected two values"),
    ("forward", "'x', out[1]", "forward returned the loss that is not an array of numbers"),
    ("backward", "out[:-1]", "backward returned the gradient of shape"),
    ("step", "out[0], out[1][:, :1].T", "step returned h_tau of shape"),
    ("predict", "out[0], out[1][:3]", "predict returned the logits o of shape (3,)"),
]


@pytest.mark.parametrize("method, bad, message", WRONG, ids=[f"{m}: {b}" for m, b, _ in WRONG])
def test_what_a_backend_class_returns_is_checked_in_every_command(tmp_path, data, method, bad, message):
    mine = tmp_path / "mine.py"
    mine.write_text(OWN.format(name="Mine", method=method, bad=bad))
    out = tmp_path / "run"
    assert cli("train", "--data", data, *SMALL, "--updates", "20", "--out", out).exit_code == 0
    spec = f"{mine}:Mine"
    command = {  # a command that calls the method
        "forward": ["gradcheck", "--data", data],
        "backward": ["gradcheck", "--data", data],
        "step": ["train", "--data", data, *SMALL, "--updates", "5", "--out", tmp_path / "r2"],
        "predict": ["sample", out],
    }[method]
    r = cli(*command, "--backend", spec)
    last = r.stderr.strip().splitlines()[-1]
    assert r.exit_code == 2 and last.startswith(f"error: {spec}.{method} returned") and message in last, r.output
    assert "Traceback" not in r.output


TEMPLATE = os.path.join(ROOT, "docs", "examples", "rnn.py")  # a correct student file, for `check`
COMMANDS = {  # every registered command, small; {data}, {run}, {tmp} filled in
    "train": ["train", "--data", "{data}", *SMALL, "--updates", "30", "--out", "{tmp}/new"],
    "gradcheck": ["gradcheck", "--data", "{data}"],
    "check": ["check", TEMPLATE, "--data", "{data}"],
    "sample": ["sample", "{run}", "--length", "20"],
    "bench": ["bench", "--data", "{data}", "--backend", "numpy", "--updates", "2", "--rounds", "2", "--hidden", "8"],
    "backends": ["backends"],
    "neurons": ["neurons", "{run}", "--text", "the model learns", "--out", "{tmp}/n.html"],
    "launches": ["launches", "--hidden", "8"],
    "grade": ["grade", TEMPLATE, "--out", "{tmp}/graded"],
}


def model_text(command: str, lines: list[str]) -> set[int]:
    """The lines of lines that are text a model generated (exempt from 80 columns)."""
    if command == "sample":
        return set(range(len(lines)))
    if command == "train":  # the final sample: between its heading and the closing line
        start = next((i for i, line in enumerate(lines) if line.startswith("--- 1,000 characters")), len(lines))
        end = next((i for i, line in enumerate(lines) if line.startswith("best smooth loss")), len(lines))
        return set(range(start + 1, end))
    return set()


def registered() -> list[str]:
    import cli

    return [c.name or c.callback.__name__ for c in cli.app.registered_commands]


def test_every_registered_command_has_a_row_here():
    assert set(registered()) <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_fits_80_columns(tmp_path, data, command):
    from typer.testing import CliRunner

    import cli as cli_module

    run_folder = tmp_path / "run"
    assert cli("train", "--data", data, *SMALL, "--updates", "20", "--out", run_folder).exit_code == 0
    args = [a.format(data=data, run=run_folder, tmp=tmp_path) for a in COMMANDS[command]]
    r = CliRunner().invoke(cli_module.app, args, env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    for k, stream in enumerate((r.stdout, r.stderr)):
        lines = stream.replace(str(tmp_path), "/tmp/x").splitlines()  # a path as short as a user's own
        exempt = model_text(command, lines) if k == 0 else set()
        wide = [line for i, line in enumerate(lines) if len(line) > 80 and i not in exempt]  # error lines too
        assert not wide, "\n".join(wide)


def test_the_estimate_refuses_past_ten_minutes_naming_the_size_to_lower(monkeypatch):
    from common.errors import BadInput
    from common.tools import duration

    said = []
    duration.announce(599.0, {"--hidden": 100, "--seq-length": 25, "--batch-size": 1}, said.append)
    assert said == ["estimated time: at least 0:09:59 (the flops to do, at this machine's speed now)"]
    with pytest.raises(BadInput, match=r"at least 0:20:00, past 10 minutes; lower --seq-length \(now 2,000\)"):
        duration.announce(1200.0, {"--hidden": 1000, "--seq-length": 2000, "--batch-size": 1}, said.append)
    monkeypatch.setattr(duration, "rate", lambda B, dtype="float64": 1e9)  # a machine of 1 Gflop/s
    assert duration.update_seconds(80, 100, 1, 25) == pytest.approx(2 * (74 * 100**2 + 75 * 80 * 100) / 1e9)


@pytest.mark.parametrize(
    "args, option",
    [
        (["launches", "--hidden", "4096", "--seq-length", "2000"], "--seq-length"),  # 1e14 flops: hours
        (["bench", "--hidden", "4096", "--backend", "numpy"], "--hidden"),  # 40 rounds of 50 updates, 2 dtypes
    ],
)
def test_launches_and_bench_say_the_estimate_first_and_refuse_long_work_at_once(args, option):
    t0 = time.perf_counter()
    r = cli(*args)
    assert r.exit_code == 2 and r.stdout.startswith("estimated time: at least "), r.output
    assert f"past 10 minutes; lower {option}" in r.stderr and time.perf_counter() - t0 < 120


def test_gradcheck_says_what_it_checks_on_a_terminal_before_its_result(tmp_path, data):
    import pty

    leader, follower = pty.openpty()
    p = subprocess.Popen(
        [sys.executable, "cli.py", "gradcheck", "--data", str(data), "--hidden", "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    first = os.read(leader, 200).decode()
    assert first.startswith("checking handout (1 of 3)"), first
    out, _ = p.communicate(timeout=300)
    os.close(leader)
    assert p.returncode == 0 and "PASSED" in out
