"""Every input that several commands take, checked in one place before any work (docs: runs.md#bad-input).

The text (common/data.py reads it; here it is also weighed against the memory), the sizes m, tau
and B with the memory a model of those sizes needs, and the numbers of the hyperparameters
(--seed is `natural`: numpy's SeedSequence takes no negative one). A command that runs a model
on a text makes one call, `checked`; each refusal is one BadInput line that names the option and
what it must be.
"""

import math
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common.contract import Layout
from common.data import Corpus, Streams, builtin_corpus, read_text
from common.errors import BadInput

PARAMETER_COPIES = 6  # theta, the optimizer's state, the gradient, the best model, the initial draw, a host copy
BYTES_PER_CHAR = 24  # reading a text: its bytes, the str, UTF-32 codes, indices and their copies (22 measured)


def checked(
    data: Path | None,
    hidden: int | Sequence[int] = 100,
    seq_length: int | Sequence[int] = 25,
    batch_size: int | Sequence[int] = 1,
    dtype: str = "float64",
) -> Corpus:
    """The text a model of these sizes runs on (None: Python's docs), once every size, the text and the memory
    pass. Each size is one value, or several (a benchmark's grid): every combination is checked."""
    sizes(hidden, seq_length, batch_size)
    corpus = text(data)
    for tau in each(seq_length):
        for B in each(batch_size):
            Streams(corpus.ids, tau, B)  # one line if the text is too short for a chunk of every stream
    fits(corpus.K, max(each(hidden)), max(each(seq_length)), max(each(batch_size)), dtype)
    return corpus


def text(path: Path | None) -> Corpus:
    """A UTF-8 text with at least 2 distinct characters, refused before reading if it cannot fit in memory."""
    if path is None:
        return builtin_corpus()
    try:
        size = Path(path).stat().st_size if Path(path).is_file() else 0  # a FIFO or device: read_text says
    except OSError:
        size = 0  # read_text says what is wrong
    have = available()
    if have is not None and BYTES_PER_CHAR * size > have:
        raise BadInput(
            f"data file {path} is {size / 2**30:,.1f} GiB; reading it needs about {BYTES_PER_CHAR * size / 2**30:,.1f} "
            f"GiB of memory, and this machine has {have / 2**30:,.1f} GiB available"
        )
    return read_text(path)


def sizes(hidden: int | Sequence[int], seq_length: int | Sequence[int], batch_size: int | Sequence[int]) -> None:
    """--hidden, --seq-length and --batch-size (one value or several): positive integers."""
    for flag, values in (("--hidden", hidden), ("--seq-length", seq_length), ("--batch-size", batch_size)):
        for value in each(values):
            positive(flag, value)


def fits(K: int, hidden: int, seq_length: int, batch_size: int, dtype: str = "float64") -> None:
    """One BadInput line, with the estimate, when a model of these sizes cannot fit in memory."""
    layout = Layout(K, hidden)
    need, have = estimate(layout, seq_length, batch_size, np.dtype(dtype).itemsize), available()
    if have is not None and need > have:
        raise BadInput(
            f"--hidden {hidden} needs about {need / 2**30:,.1f} GiB of memory ({layout.size:,} parameters, "
            f"{PARAMETER_COPIES} copies); this machine has {have / 2**30:,.1f} GiB available"
        )


def estimate(layout: Layout, tau: int, B: int, itemsize: int) -> int:
    """Bytes a training run needs, about: parameter-sized arrays and the activations of one chunk."""
    activations = tau * B * (3 * layout.m + 3 * layout.K)  # a, h, dh; o, p, g: each (m or K, tau, B)
    return 8 * PARAMETER_COPIES * layout.size + itemsize * activations


def available() -> int | None:
    """Bytes of memory this machine can give now (Linux's MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def output(flag: str, path: Path, suffixes: Sequence[str] = ()) -> None:
    """A file a command is to write, checked before the work that makes it: a file there is overwritten;
    a folder, a device, a missing or unwritable folder, a name too long, a suffix not in suffixes are refused."""
    path = Path(path)
    if kind(flag, path) == "folder":
        raise BadInput(f"{flag} {path} is a folder; give a file name")
    if kind(flag, path) == "other":
        raise BadInput(f"{flag} {path} is a device or a pipe, not a file; give a file name")
    if suffixes and path.suffix.lower() not in suffixes:
        some = ", ".join(suffixes[:3])
        raise BadInput(f"{flag} {path}: cannot write a {path.suffix or 'suffix-less'} file; name it {some}, ...")
    if kind(flag, path.parent) != "folder":
        raise BadInput(f"cannot write {path}: the folder {path.parent} does not exist")
    writable(flag, path.parent)
    if kind(flag, path) == "file" and not os.access(path, os.W_OK):
        raise BadInput(f"{flag} {path} cannot be written: permission denied")


def output_folder(flag: str, path: Path, what: str) -> None:
    """A folder (what: "the run folder") a command is to make or write into, checked before the work: the
    nearest folder that exists must take a new file, and no name on the way may be a file or too long."""
    path = Path(path)
    if kind(flag, path) not in ("folder", None):
        raise BadInput(f"{path} is a file, not a folder; choose another {flag}")
    above = path
    while kind(flag, above) is None and above != above.parent:
        above = above.parent
    if kind(flag, above) != "folder":
        raise BadInput(f"cannot create {what} {path}: {above} is a file, not a folder")
    try:
        writable(flag, above)
    except BadInput as e:
        raise BadInput(f"cannot create {what} {path}: {str(e).split(': ', 1)[1]}") from None


def kind(flag: str, path: Path) -> str | None:
    """'folder', 'file' (regular), 'other' (a device, a FIFO, a socket), or None when nothing is there."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:  # a name too long, a loop of links, no permission to look
        raise BadInput(f"{flag} {path}: {e.strerror}") from None
    return "folder" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def writable(flag: str, folder: Path) -> None:
    """One BadInput line unless a new file can be made in folder (tried: read-only disks and /proc say no)."""
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as e:
        raise BadInput(f"{flag}: cannot write in {folder}: {e.strerror}") from None


def positive(flag: str, value: int) -> None:
    if value < 1:
        raise BadInput(f"{flag} must be a positive integer (got {value})")


def natural(flag: str, value: int) -> None:
    if value < 0:
        raise BadInput(f"{flag} must be zero or positive (got {value})")


def positive_number(flag: str, value: float) -> None:
    """A finite number above 0: nan and inf are refused too (a learning rate of inf trains nothing)."""
    if not (math.isfinite(value) and value > 0):
        raise BadInput(f"{flag} must be a positive number (got {value})")


def each(values: int | Sequence[int]) -> list[int]:
    return [values] if isinstance(values, int) else list(values)
