"""A run folder has one writer: a new run claims its folder, and a writer locks it (docs: runs.md#the-run-folder).

`train` and `train --resume` hold an exclusive flock on the folder's `lock` file for their whole
life, and write their process id into it once they will write the folder (`sign`): a refused
resume leaves the lock as it found it. The kernel drops a flock when its process ends, however
it ends, so kill -9 never leaves a stale lock behind. Readers (`sample`, `neurons`) take no lock:
every file they read is replaced atomically (common/run/atomic.py). A new run claims a folder by
locking it while it is empty (but for the lock file), so runs started at once never share one.
"""

import datetime
import fcntl
import os
from pathlib import Path

from common.errors import BadInput
from common.run import atomic

LOCK = "lock"
RUNS = "runs"  # where a run goes without --out: runs/<date>-<time>
RESUMABLE = ("checkpoint.npz", "settings.json")  # either lets `train --resume` go on


class Taken(BadInput):
    """A folder another run holds or has written: not free for a new run."""


def reserve(out: Path | None) -> tuple[Path, int]:
    """A new run's folder, claimed: out, or runs/<date>-<time>[-k] when out is None; and its lock."""
    if out is not None:
        if out.exists() and not out.is_dir():
            raise BadInput(f"{out} is a file, not a folder; choose another --out")
        return out, claim(out)
    stem = Path(RUNS) / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for k in range(1, 10_000):
        out = stem if k == 1 else stem.with_name(f"{stem.name}-{k}")
        if out.is_dir() or not out.exists():
            try:
                return out, claim(out)
            except Taken:
                continue
    raise BadInput(f"no free run folder next to {stem}; give one with --out")


def claim(out: Path) -> int:
    """Make out if need be and lock it, if it is empty (but for a lock file); else Taken says what to do."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"cannot create the run folder {out}: {e.strerror}") from None
    fd = lock(out)
    if any(p.name != LOCK for p in out.iterdir()):
        os.close(fd)
        if any((out / f).exists() for f in RESUMABLE):
            raise Taken(f"{out} already holds a run; continue it with --resume {out}, or choose another --out")
        raise Taken(f"{out} already exists and is not an empty folder; choose another --out")
    return sign(fd)


def lock(out: Path) -> int:
    """An exclusive lock on out/lock; Taken while another process holds it."""
    try:
        fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, atomic.MODE)
    except OSError as e:
        raise BadInput(f"cannot write in the run folder {out}: {e.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        who = f"process {pid}" if pid.isdigit() else "another process"
        raise Taken(f"{out} is being written by {who} (train or --resume); wait for it to end, or stop it") from None
    return fd


def sign(fd: int) -> int:
    """Write this process's id into the lock held on fd: the folder's writer from now on."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
