"""The text: read and check it, its vocabulary, and the chunks training walks (docs: data.md)."""

import hashlib
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.errors import BadInput
from common.rng import stream

BUILTIN_NAME = "python-docs"
ORDERS = ("sequential", "shuffled")
KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
KINDS += ((stat.S_ISSOCK, "a socket"),)


@dataclass(frozen=True)
class Corpus:
    """A text, its sorted vocabulary and its characters as indices into it."""

    name: str  # the file's name, or BUILTIN_NAME
    text: str
    sha256: str  # of the file's bytes (of the UTF-8 text for the built-in corpus)
    chars: str = field(init=False)  # the vocabulary: sorted unique characters
    ids: np.ndarray = field(init=False, repr=False)  # (N,) index of each character of text

    def __post_init__(self) -> None:
        chars = "".join(sorted(set(self.text)))  # sorted: the same indices on every run
        object.__setattr__(self, "chars", chars)
        object.__setattr__(self, "ids", encode(self.text, chars))

    @property
    def K(self) -> int:
        return len(self.chars)

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in ids)


def encode(text: str, chars: str) -> np.ndarray:
    """Characters -> their indices in the sorted vocabulary chars."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # (N,) code points
    vocab = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32)  # (K,) sorted
    ids = np.searchsorted(vocab, codes).clip(max=len(vocab) - 1)
    missing = set(np.unique(codes[vocab[ids] != codes]).tolist())
    if missing:
        shown = "".join(sorted(map(chr, missing)))
        raise BadInput(f"characters not in the model's vocabulary: {shown!r}")
    return ids.astype(np.intp)


def read_corpus(path: str | Path) -> Corpus:
    """Read a UTF-8 text file (never the locale's encoding); one clear error for anything else."""
    path = Path(path)
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise BadInput(f"data file {path} does not exist") from None
    except OSError as e:  # a name too long, a loop of links
        raise BadInput(f"cannot read data file {path}: {e.strerror}") from None
    if path.is_dir():
        raise BadInput(f"data path {path} is a directory, not a text file")
    try:
        mode = path.stat().st_mode  # stat never blocks, where open() on a FIFO waits for a writer
    except OSError:
        mode = None  # read_bytes says what is wrong (no permission)
    for is_kind, kind in KINDS if mode is not None else ():
        if is_kind(mode):
            raise BadInput(f"data path {path} is {kind}, not a regular file; refusing to read it")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise BadInput(f"cannot read {path}: {e.strerror}") from None
    if not raw:
        raise BadInput(f"data file {path} is empty")
    try:
        text = raw.decode("utf-8")  # bytes as they are: no newline translation
    except UnicodeDecodeError as e:
        raise BadInput(f"{path} is not valid UTF-8: byte {e.start} (0x{raw[e.start]:02x})") from None
    return Corpus(name=path.name, text=text, sha256=hashlib.sha256(raw).hexdigest())


def read_text(path: str | Path) -> Corpus:
    """A training text: read_corpus(path), refusing a text with fewer than 2 distinct characters."""
    return check_vocabulary(read_corpus(path))


def check_vocabulary(corpus: Corpus) -> Corpus:
    """A text with fewer than 2 distinct characters has nothing to learn: every prediction is certain."""
    if corpus.K < 2:
        raise BadInput(f"{corpus.name} has {corpus.K} distinct character(s); a model needs at least 2 to learn")
    return corpus


BORDER = re.compile(r"[-=+*|~^_:]{3,}[-=+*|~^_: ]*")  # a table's border or a title's underline
SENTENCE_END = re.compile(r"[.:;?!][\"')\]]*$")  # how a paragraph of prose ends


def builtin_corpus() -> Corpus:
    """The prose of Python's own reference documentation (pydoc_data): on every machine, offline, free to use."""
    from pydoc_data.topics import topics

    text = prose(topics[key] for key in sorted(topics))
    return Corpus(BUILTIN_NAME, text, hashlib.sha256(text.encode("utf-8")).hexdigest())


def prose(topics) -> str:
    """The paragraphs of prose of pydoc topics, without indentation, runs of spaces or repeats (docs: data.md#prose).

    A paragraph (lines between blank lines) is dropped if it holds a table (a `|` or a border line),
    an interactive session (`>>>`, `...`), does not end like a sentence (a code listing, a grammar
    rule, a signature), or has two lines or more and was kept before (topics overlap); a title keeps
    its words and loses its underline.
    """
    kept, seen = [], set()
    for topic in topics:
        for paragraph in re.split(r"\n\s*\n", topic):
            lines = [re.sub(" {2,}", " ", line.strip()) for line in paragraph.split("\n") if line.strip()]
            if not lines or any("|" in line or line.startswith((">>>", "...")) for line in lines):
                continue
            title = len(lines) == 2 and BORDER.fullmatch(lines[1])
            lines = [line for line in lines if not BORDER.fullmatch(line)]
            text = "\n".join(lines)
            if not lines or not (title or SENTENCE_END.search(lines[-1])) or text in seen:
                continue
            kept.append(text)
            if len(lines) > 1:
                seen.add(text)
    return "\n\n".join(kept) + "\n"


def split(ids: np.ndarray, fraction: float, tau: int) -> tuple[np.ndarray, np.ndarray]:
    """(training part, validation part): the last `fraction` of the text is held out (docs: data.md#validation)."""
    if not 0 < fraction <= 0.5:
        raise BadInput(f"--validation must be a fraction in (0, 0.5] of the text (got {fraction})")
    held = int(len(ids) * fraction)
    if held < tau + 1:
        raise BadInput(
            f"--validation {fraction} holds out {held} of {len(ids)} characters, shorter than one chunk "
            f"(seq_length {tau} + 1); hold out a larger fraction or use a longer text"
        )
    return ids[:-held], ids[-held:]


class Streams:
    """The corpus cut into B contiguous streams, walked in chunks of tau (docs: data.md#batches).

    Stream j is ids[j*L : (j+1)*L] with L = N // B. Chunk i feeds inputs ids[e : e+tau] and
    targets ids[e+1 : e+tau+1] of every stream, e = i * tau; the last chunk that does not fit
    is dropped. B = 1 is the assignment's walk through the whole text. Each epoch visits the
    chunks in order ("sequential") or in an order drawn for that epoch from the seed's own stream
    ("shuffled"), so that a resumed run visits them in the same order.
    """

    def __init__(self, ids: np.ndarray, tau: int, B: int, order: str = "sequential", seed: int = 0):
        if order not in ORDERS:
            raise BadInput(f"--order must be one of {', '.join(ORDERS)} (got {order!r})")
        N = len(ids)
        if tau + 1 > N:
            raise BadInput(f"the text has {N} characters; seq_length {tau} needs at least {tau + 1}")
        L = N // B
        if tau + 1 > L:
            raise BadInput(
                f"batch size {B} cuts the {N} characters into streams of {L}, shorter than one "
                f"sequence ({tau} + 1); use a batch size of at most {N // (tau + 1)}"
            )
        self.tau, self.B, self.order, self.seed = tau, B, order, seed
        self._epoch_order: tuple[int, np.ndarray] | None = None  # (epoch, its permutation), the last asked for
        self.chunks = (L - 1) // tau  # updates per epoch
        self.streams = ids[: B * L].reshape(B, L)  # (B, L)

    def chunk(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs x and targets y of chunk i, each (tau, B)."""
        e = i * self.tau
        window = self.streams[:, e : e + self.tau + 1].T  # (tau + 1, B)
        return window[:-1], window[1:]

    def visit(self, epoch: int, i: int) -> int:
        """The chunk visited i-th in epoch (0-based both): i itself, or the epoch's permutation of it."""
        if self.order == "sequential":
            return i
        if self._epoch_order is None or self._epoch_order[0] != epoch:
            self._epoch_order = (epoch, stream(self.seed, "order", epoch).permutation(self.chunks))
        return int(self._epoch_order[1][i])
