"""Files that hold a model: safe to load from a stranger, never half-written (docs: runs.md).

A file is a NumPy .npz archive of plain arrays plus one array "meta" holding UTF-8 JSON. It is
read with allow_pickle=False, so loading runs no code. Writing goes to a temporary file in the
same folder, which is flushed, fsynced and then renamed over the old one: a crash at any moment
leaves either the old file or the new one, never a mix.
"""

import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from common.contract import NAMES, Layout, Params
from common.errors import BadInput

FORMAT = "char-rnn"
VERSION = 1


def save(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write arrays and meta to path atomically."""
    path = Path(path)
    meta = {"format": FORMAT, "version": VERSION, **meta}
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, meta=blob, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def load(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by save; anything else is one clear BadInput."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    if not zipfile.is_zipfile(path):
        raise BadInput(f"{path} is not a model file (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise BadInput(f"{path} holds pickled objects; refusing to load it") from None
        raise BadInput(f"{path} is damaged: {e}") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise BadInput(f"{path} is not a readable model file ({type(e).__name__}: {e})") from None
    blob = arrays.pop("meta", None)
    try:
        meta = json.loads(blob.tobytes().decode("utf-8"))
        assert isinstance(meta, dict)
    except Exception:
        raise BadInput(f"{path} has no readable metadata; it is not a {FORMAT} file") from None
    if meta.get("format") != FORMAT:
        raise BadInput(f"{path} is not a {FORMAT} file")
    if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise BadInput(f"{path} has format version {meta.get('version')}; this program reads up to {VERSION}")
    return arrays, meta


def params_arrays(p: Params, prefix: str = "") -> dict[str, np.ndarray]:
    """{"U": U, ...} (names prefixed with prefix) for save."""
    return {prefix + name: a for name, a in zip(NAMES, p)}


def read_params(arrays: dict, layout: Layout, path: Path, prefix: str = "") -> Params:
    """Params from loaded arrays, each checked for presence, shape and a float dtype."""
    out = []
    for name in NAMES:
        key = prefix + name
        a = arrays.get(key)
        if a is None:
            raise BadInput(f"{path} lacks the array {key}")
        if a.shape != layout.shapes[name] or a.dtype.kind != "f":
            raise BadInput(f"{path}: {key} is {a.dtype}{a.shape}, expected float{layout.shapes[name]}")
        out.append(a)
    return Params(*out)


def save_model(path: Path, p: Params, meta: dict) -> None:
    """A trained model: U, W, V, b, c and meta (vocabulary, sizes, dtype, where it came from)."""
    save(path, params_arrays(p), {"kind": "model", **meta})


def load_model(path: Path) -> tuple[Params, dict]:
    """Parameters and meta of a model file, or of the best model inside a checkpoint."""
    arrays, meta = load(path)
    try:
        layout = Layout(K=len(meta["chars"]), m=int(meta["hidden"]))
    except (KeyError, TypeError, ValueError):
        raise BadInput(f"{path}: its metadata lacks the vocabulary or the hidden size") from None
    prefix = "best_" if meta.get("kind") == "checkpoint" else ""
    return read_params(arrays, layout, path, prefix), meta
