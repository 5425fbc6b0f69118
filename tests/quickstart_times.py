"""The README's durations of the quickstart, measured once (not a test): python tests/quickstart_times.py

A fresh clone of this repository's last commit in a temporary folder and an empty pip cache;
then each target of `make train` and `make test` is timed on its own: the install (its .venv
stamp), then the command itself. Prints the README's table rows.
"""

import os
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = [("make train", ".venv/base", "train"), ("make test", ".venv/installed", "test")]  # (command, install, run)


def timed(command: list[str], cwd: Path, env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def shown(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="quickstart-"))
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = os.environ | {"PIP_CACHE_DIR": str(tmp / "pip-cache")}  # empty: every package is fetched
    print(
        f"fresh clone in {clone}, {os.cpu_count()} cores\n| command | installing | then | in all |\n|---|---|---|---|"
    )
    for command, install, run in STEPS:
        a = timed(["make", install], clone, env)
        b = timed(["make", run], clone, env)
        print(f"| `{command}` | {shown(a)} | {shown(b)} | {shown(a + b)} |", flush=True)


if __name__ == "__main__":
    main()
