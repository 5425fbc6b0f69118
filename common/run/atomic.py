"""Writing a file so that a crash at any moment leaves the old file or the new one (docs: runs.md#checkpoints).

The new bytes go to a temporary file in the same folder, which is flushed, fsynced and renamed
over the old one; the folder is then fsynced, so that the rename itself is on disk. Every file
of a run is written this way (history.csv only grows, by whole fsynced rows: see `append`).
A full disk is one clear WriteFailed naming the file and the free space, not a traceback.
"""

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from common.errors import WriteFailed

_umask = os.umask(0)
os.umask(_umask)
MODE = 0o666 & ~_umask  # what open() would give: every file of a run gets the same mode


@contextmanager
def reported(path: Path) -> Iterator[None]:
    """An OSError while writing path becomes one WriteFailed line with the free space."""
    try:
        yield
    except OSError as e:
        try:
            free = f"{shutil.disk_usage(Path(path).parent).free / 2**20:,.1f} MiB free there"
        except OSError:
            free = "free space unknown"
        raise WriteFailed(f"cannot write {path}: {e.strerror or e} ({free})") from None


def write(path: Path, fill: Callable[[BinaryIO], None]) -> None:
    """Replace path atomically with what fill(file) writes."""
    path = Path(path)
    with reported(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, MODE)  # mkstemp's 0600 would make .npz files unlike the rest
            with os.fdopen(fd, "wb") as f:
                fill(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        sync_folder(path.parent)


def write_text(path: Path, text: str) -> None:
    """Replace a UTF-8 text file atomically."""
    write(path, lambda f: f.write(text.encode("utf-8")))


def append(path: Path, text: str) -> None:
    """Append text to path and make it durable before returning."""
    with reported(path), open(path, "a", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def sync_folder(folder: Path) -> None:
    """fsync a folder: the names created, renamed or removed in it are then on disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
