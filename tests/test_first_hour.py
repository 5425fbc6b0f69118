"""The first hour of a new user (issue 15): the program outside its environment, `char-rnn`, the progress
line on narrow terminals, and `sample` and `neurons` saying which model file they read."""

import io
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from common.run.progress import ProgressBar, line, loss_text
from tests.conftest import cli

ROOT = os.path.dirname(os.path.dirname(__file__))


def test_outside_its_environment_the_program_says_in_one_line_how_to_get_it():
    # -S: no site-packages, so no typer and no numpy: a python3 that is not the project's
    r = subprocess.run([sys.executable, "-S", "-I", "cli.py", "train"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("error: typer is not installed") and "make train" in r.stderr


def test_char_rnn_is_the_same_program_as_python_cli_py(tmp_path):
    (script,) = entry_points(group="console_scripts", name="char-rnn")
    assert script.value == "cli:app"
    installed = Path(sys.executable).with_name("char-rnn")  # pip install -e . (make test) wrote it
    ours = subprocess.run([installed, "backends"], cwd=tmp_path, capture_output=True, text=True)
    theirs = subprocess.run([sys.executable, "cli.py", "backends"], cwd=ROOT, capture_output=True, text=True)
    assert ours.returncode == 0 and ours.stdout == theirs.stdout and "numpy" in ours.stdout


def test_the_progress_line_at_80_and_60_columns_keeps_whole_numbers_and_a_bar():
    at = {w: line(w, 3_000, 30_000, 2, 61.437, 1 / 25, 1371.2) for w in (140, 80, 60)}
    assert [len(s) for s in at.values()] == [140, 80, 60]
    bar = "(━+)(─+)"  # done, to do: at least 10 columns in all
    assert re.fullmatch(
        rf"update +3,000/30,000  epoch 2  smooth loss +61.44 \(2.457 nats, 3.545 bits/char\)  {bar}  "
        r"1,371 updates/s  0:00:20 left",
        at[140],
    )
    assert re.fullmatch(rf"update +3,000/30,000  epoch 2  smooth loss +61.44  {bar}  1,371/s  0:00:20", at[80])
    assert re.fullmatch(rf" 3,000/30,000  loss +61.44  {bar}  0:00:20", at[60])  # fewer fields, as narrow
    for s in at.values():
        done, todo = re.search(bar, s).groups()
        assert len(done + todo) >= 10 and len(done) == round(len(done + todo) / 10)  # 3,000 of 30,000


@given(
    st.integers(0, 10**8),
    st.integers(1, 10**8),
    st.integers(1, 10**4),
    st.floats(0, 1e300),
    st.floats(0, 1e6),
    st.sampled_from([60, 80]),
)
def test_the_progress_line_fits_or_wraps_but_never_cuts_a_number(update, total, epoch, smooth, rate, width):
    update = min(update, total)
    s = line(width, update, total, epoch, smooth, 1 / 25, rate)
    assert f"{update:,}/{total:,}" in s and loss_text(smooth) in s  # whole, wherever they are
    assert len(s) <= width or " ━" not in s  # too wide only when even the plainest line is: no bar then


def test_a_terminal_of_60_columns_shows_the_line_whole():
    from rich.console import Console

    for width in (80, 60):
        screen = io.StringIO()
        console = Console(file=screen, width=width, force_terminal=True, color_system=None)
        with ProgressBar(0, 30_000, 1 / 25, console=console) as bar:
            bar.sample(1, 109.1, "a sample")
            bar.progress(12_345, 30_000, 1, 58.25)
        last = re.split(r"\r|\n|\x1b\[[0-9;?]*[A-Za-z]", screen.getvalue())
        shown = [s for s in last if "12,345/30,000" in s]
        assert shown and all(len(s) <= width and "58.25" in s for s in shown), shown


def test_sample_and_neurons_read_best_npz_by_default_and_say_so(tmp_path, corpus_file):
    out = tmp_path / "run"
    args = ("--hidden", 8, "--seq-length", 10, "--updates", 30, "--sample-every", 0, "--out", out)
    assert cli("train", "--data", corpus_file, *args).exit_code == 0
    for command in (["sample", out, "--length", 20], ["neurons", out, "--text", "the model"]):
        for which, name, what in (("best", "best.npz", "the best model"), ("last", "checkpoint.npz", "the latest")):
            r = cli(*command, "--which", which)
            said = " ".join(r.stderr.split())  # one line, wrapped at 80 columns
            assert r.exit_code == 0 and said.startswith("read ") and said.count("read ") == 1, r.output
            assert said.startswith(f"read {out / name}: {what}") and "(update " in said, said
        default = " ".join(cli(*command).stderr.split())
        assert default.startswith(f"read {out / 'best.npz'}: the best model"), default
