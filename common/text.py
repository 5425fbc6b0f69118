"""The checks a training text gets before it is read (docs: data.md).

They sit beside common/data.py (which reads and encodes a text) and could move into it.
"""

import stat
from pathlib import Path

from common.data import Corpus, read_corpus
from common.errors import BadInput

KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
KINDS += ((stat.S_ISSOCK, "a socket"),)


def read_text(path: Path) -> Corpus:
    """read_corpus(path), refusing what is not a regular file before reading, and a text with one character."""
    try:
        mode = Path(path).stat().st_mode  # stat never blocks, where open() on a FIFO waits for a writer
    except OSError:
        mode = None  # read_corpus says what is wrong (it does not exist, no permission)
    for is_kind, kind in KINDS if mode is not None else ():
        if is_kind(mode):
            raise BadInput(f"data path {path} is {kind}, not a regular file; refusing to read it")
    return check_vocabulary(read_corpus(path))


def check_vocabulary(corpus: Corpus) -> Corpus:
    """A text with fewer than 2 distinct characters has nothing to learn: every prediction is certain."""
    if corpus.K < 2:
        raise BadInput(f"{corpus.name} has {corpus.K} distinct character(s); a model needs at least 2 to learn")
    return corpus
