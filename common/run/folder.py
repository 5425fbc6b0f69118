"""Reserving a new run's folder atomically, so that runs started at once never share one (docs: runs.md)."""

import datetime
import os
from pathlib import Path

from common.errors import BadInput
from common.run import atomic

CLAIM = "summary.json"  # created exclusively: whoever creates it owns the folder


def reserve(out: Path | None) -> Path:
    """Create and claim a new run folder: out, or runs/<date>-<time>[-k] when out is None."""
    if out is not None:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise BadInput(f"{out} already exists and is not an empty folder; choose another --out (or --resume it)")
        if claim(out):
            return out
        raise BadInput(f"{out} was just taken by another run; choose another --out")
    stem = Path("runs") / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for k in range(1, 10_000):
        out = stem if k == 1 else stem.with_name(f"{stem.name}-{k}")
        if not out.exists() and claim(out):
            return out
    raise BadInput(f"no free run folder next to {stem}; give one with --out")


def claim(out: Path) -> bool:
    """Make out (if need be) and create its CLAIM file exclusively; False if another run got there first."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out / CLAIM, os.O_CREAT | os.O_EXCL | os.O_WRONLY, atomic.MODE)
    except FileExistsError:
        return False
    except OSError as e:
        raise BadInput(f"cannot create the run folder {out}: {e.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write('{"status": "starting"}\n')
    atomic.sync_folder(out)
    return True
