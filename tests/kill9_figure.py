"""The kill -9 figure of docs/runs.md, measured once (not a test): python tests/kill9_figure.py [kills] [updates].

A run is killed with SIGKILL at random moments (kills times), each time its checkpoint is loaded
and the run resumed; at the end its history, samples and final sample are compared byte for byte
with the same run done in one go.
"""

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.errors import BadInput  # noqa: E402
from common.run import checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--hidden", "32", "--sample-every", "5000", "--checkpoint-every", "1000"]


def train(*args) -> subprocess.Popen:
    cmd = [sys.executable, str(ROOT / "cli.py"), "train", *map(str, args)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def main(kills: int = 20, updates: int = 300_000) -> None:
    tmp, rng = Path(tempfile.mkdtemp(prefix="kill9-")), random.Random(0)
    one_go, killed = tmp / "one-go", tmp / "killed"
    reference = train(*ARGS, "--updates", updates, "--out", one_go)
    p, unloadable, t0 = train(*ARGS, "--updates", updates, "--out", killed), 0, time.time()
    for k in range(kills):
        time.sleep(rng.uniform(1.0, 20.0))
        if p.poll() is not None:
            break
        p.kill()
        p.wait()
        try:
            update = checkpoint.read_checkpoint(killed / "checkpoint.npz")[1]["update"]
        except BadInput as e:
            unloadable, update = unloadable + 1, f"unloadable: {e}"
        print(f"kill {k + 1}: checkpoint at update {update}", flush=True)
        p = train("--resume", killed, "--updates", updates)
    p.wait()
    reference.wait()
    same = {
        f: (one_go / f).read_bytes() == (killed / f).read_bytes()
        for f in ("history.csv", "samples.txt", "best_sample.txt")
    }
    rows = len((killed / "history.csv").read_text().splitlines()) - 1
    print(
        f"{kills} kills over {time.time() - t0:.0f} s, {rows:,} rows; unloadable checkpoints: {unloadable}; "
        f"byte-identical to the run in one go: {same}; folders in {tmp}"
    )


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
