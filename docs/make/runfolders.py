"""The training runs on goblet_book.txt that the docs quote, made by the commands the pages show.

Each run is one `python cli.py train` command; a script that needs it calls `ensure`, which runs the
command unless a completed run folder of that name is already under the runs folder (so several
scripts share one run, and a run is made once). `--sample-every 0` leaves the trajectory as it is
(sampling draws from its own random stream) and is added only to the seeds' runs.
"""

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from common.data import read_corpus  # noqa: E402
from docs.make import provenance  # noqa: E402

RUNS = ROOT / "runs" / "docs"
SEEDS = range(13)
COMMANDS = {  # name: the options after `python cli.py train --data goblet_book.txt`
    "classic": [],
    **{f"classic-seed{s}": ["--seed", str(s), "--sample-every", "0"] for s in SEEDS if s != 1},
    "2025": ["--preset", "2025", "--updates", "150000"],
    "2025-validation": "--preset 2025 --validation 0.1 --validate-every 5000 --order shuffled --best-by validation "
    "--updates 150000".split(),
}


def command(name: str) -> str:
    """The command as a page shows it."""
    return " ".join(["python cli.py train --data goblet_book.txt", *COMMANDS[name]])


def ensure(name: str, data: Path) -> Path:
    """The run folder of that name, trained now if it is not there yet."""
    folder = RUNS / name
    done = folder / "summary.json"
    if done.is_file() and json.loads(done.read_text()).get("status") == "completed":
        return folder
    if folder.exists():
        sys.exit(f"{folder} exists but is not a completed run: remove it, or finish it with --resume")
    print(f"training {name}: {command(name)}", flush=True)
    args = [sys.executable, "cli.py", "train", "--data", str(data), *COMMANDS[name], "--out", str(folder)]
    subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return folder


def short(values) -> list[float]:
    """Six significant digits: all a page or a figure shows, at a third of the size in JSON."""
    return [float(f"{v:.6g}") for v in values]


def summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def losses(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every update's loss and smooth loss, from history.csv."""
    with (folder / "history.csv").open() as f:
        rows = [(float(r["loss"]), float(r["smooth_loss"])) for r in csv.DictReader(f)]
    raw, smooth = np.array(rows).T
    return raw, smooth


def validation(folder: Path) -> list[tuple[int, float]]:
    """(update, validation loss per character) from validation.csv."""
    with (folder / "validation.csv").open() as f:
        return [(int(r["update"]), float(r["loss_per_char"])) for r in csv.DictReader(f)]


def measured(record: Callable[[Path], dict], saved: Path, usage: str) -> dict:
    """A script's numbers: {"provenance", "run": record(goblet_book.txt)} for the path on the command
    line, or, with --plot, the numbers it saved before. JSON types either way (string keys)."""
    if sys.argv[1:] == ["--plot"]:
        return json.loads(saved.read_text())
    if len(sys.argv) != 2:
        sys.exit(usage)
    data = Path(sys.argv[1])
    return json.loads(json.dumps({"provenance": provenance.record(read_corpus(data)), "run": record(data)}))
