"""Model files and checkpoints: safe to load from a stranger, never half-written (docs: runs.md).

A file is a NumPy .npz archive of plain arrays plus one array "meta" holding UTF-8 JSON. It is
read with allow_pickle=False, so loading runs no code. Writing goes to a temporary file in the
same folder, which is flushed, fsynced and then renamed over the old one: a crash at any moment
leaves either the old file or the new one, never a mix.

Two kinds:
    model       U, W, V, b, c (their natural shapes) and the vocabulary: what `sample` needs
    checkpoint  everything needed to continue training exactly (see checkpoint_arrays)
"""

import json
import math
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from common.contract import DTYPES, NAMES, Layout, Params
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
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as e:
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


def layout_of(meta: dict, path: Path) -> Layout:
    """The sizes a file's metadata declares."""
    try:
        K, m = len(meta["chars"]), int(meta["hidden"])
        assert isinstance(meta["chars"], str) and K >= 1 and m >= 1 and meta.get("dtype") in DTYPES
    except (KeyError, TypeError, ValueError, AssertionError):
        raise BadInput(f"{path}: its metadata lacks a valid vocabulary, hidden size or dtype") from None
    return Layout(K=K, m=m)


def expect(arrays: dict, key: str, shape: tuple, dtype: str | None, path: Path) -> np.ndarray:
    """arrays[key], checked for presence, shape and a float dtype (dtype, when given)."""
    a = arrays.get(key)
    if a is None:
        raise BadInput(f"{path} lacks the array {key}")
    if a.shape != shape or a.dtype.kind != "f" or (dtype is not None and a.dtype != np.dtype(dtype)):
        raise BadInput(f"{path}: {key} is {a.dtype}{a.shape}, expected {dtype or 'float'}{shape}")
    if not np.isfinite(a).all():
        raise BadInput(f"{path}: {key} holds NaN or infinite values")
    return a


def save_model(path: Path, p: Params, meta: dict) -> None:
    """A trained model: U, W, V, b, c and meta (vocabulary, hidden size, dtype, origin)."""
    save(path, dict(zip(NAMES, p)), {"kind": "model", **meta})


def load_model(path: Path, which: str = "best") -> tuple[Params, dict]:
    """The parameters of a model file, or the best ("best") or latest ("last") of a checkpoint."""
    arrays, meta = load(path)
    layout = layout_of(meta, path)
    if meta.get("kind") == "checkpoint":
        arrays, meta = read_checkpoint(path, arrays, meta)
        return layout.unpack(arrays["best_theta" if which == "best" else "theta"]), meta
    if which != "best":
        raise BadInput(f"{path} is a model file: it holds only the best model; --which last needs a checkpoint")
    return Params(*(expect(arrays, n, layout.shapes[n], None, path) for n in NAMES)), meta


def save_checkpoint(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    save(path, arrays, {"kind": "checkpoint", **meta})


def read_checkpoint(path: Path, arrays: dict | None = None, meta: dict | None = None) -> tuple[dict, dict]:
    """A checkpoint's arrays and meta, every array checked against what meta declares."""
    if arrays is None:
        arrays, meta = load(path)
    if meta.get("kind") != "checkpoint":
        raise BadInput(f"{path} is a {meta.get('kind', 'model')} file, not a checkpoint")
    layout = layout_of(meta, path)
    try:
        update, B, dtype = int(meta["update"]), int(meta["config"]["batch_size"]), meta["dtype"]
        for key in ("smooth", "best_smooth"):
            assert math.isfinite(meta[key])
        assert 1 <= int(meta["best_update"]) <= update and isinstance(meta["samples"], list)
    except (KeyError, TypeError, ValueError, AssertionError):
        raise BadInput(f"{path}: its metadata is incomplete or inconsistent") from None
    n = layout.size
    checked = {
        "theta": expect(arrays, "theta", (n,), dtype, path),
        "mem": expect(arrays, "mem", (n,), dtype, path),
        "best_theta": expect(arrays, "best_theta", (n,), dtype, path),
        "h": expect(arrays, "h", (layout.m, B), dtype, path),
        "losses": expect(arrays, "losses", (update,), "float64", path),
        "smooths": expect(arrays, "smooths", (update,), "float64", path),
    }
    return checked, meta
