"""The file container of models and checkpoints: safe to load from a stranger (docs: runs.md#checkpoints).

A file is a NumPy .npz archive of plain arrays plus one array "meta" holding UTF-8 JSON. It is
read with allow_pickle=False, so loading runs no code, and written atomically (common/run/atomic.py).
What a model and a checkpoint hold is common/run/checkpoint.py.
"""

import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from common.contract import DTYPES, Layout
from common.errors import BadInput
from common.run import atomic

FORMAT = "char-rnn"
VERSION = 3  # 2: the best model's hidden state, every setting; 3: Adam's state [m; v] (2n) may be saved


def save(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write arrays and meta to path atomically."""
    meta = {"format": FORMAT, "version": VERSION, **meta}
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    atomic.write(Path(path), lambda f: np.savez(f, meta=blob, **arrays))


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
