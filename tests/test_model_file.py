"""Model files (common/run/checkpoint.py): safe to load, clear errors when damaged."""

import json
import zipfile

import numpy as np
import pytest

from common.contract import NAMES, Layout, Params
from common.errors import BadInput
from common.run import checkpoint, npzfile


def model(layout: Layout) -> Params:
    rng = np.random.default_rng(0)
    return Params(*(rng.standard_normal(layout.shapes[n]) for n in NAMES))


META = {"chars": "abcdef", "hidden": 3, "dtype": "float64"}


def test_round_trip(tmp_path):
    layout = Layout(6, 3)
    p = model(layout)
    checkpoint.save_model(tmp_path / "m.npz", p, META)
    q, meta, h, x_next = checkpoint.load_model(tmp_path / "m.npz")
    assert meta["chars"] == "abcdef" and meta["kind"] == "model" and meta["version"] == npzfile.VERSION and h is None
    for a, b in zip(p, q):
        assert np.array_equal(a, b)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_save_replaces_atomically(tmp_path):
    layout = Layout(6, 3)
    path = tmp_path / "m.npz"
    checkpoint.save_model(path, model(layout), META)
    checkpoint.save_model(path, model(layout), META | {"note": 2})
    assert checkpoint.load_model(path).meta["note"] == 2


def write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def meta_blob(meta):
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


@pytest.mark.parametrize(
    "damage, message",
    [
        ("missing", "does not exist"),
        ("empty", "not a model file"),
        ("random", "not a model file"),
        ("truncated", "not a readable model file|damaged|not a model file"),
        ("pickle", "pickled objects"),
        ("no-meta", "no readable metadata"),
        ("newer", "format version 99"),
        ("missing-array", "lacks the array W"),
        ("wrong-shape", "expected float"),
    ],
)
def test_damaged_files_get_one_clear_error(tmp_path, damage, message):
    layout = Layout(6, 3)
    path = tmp_path / "m.npz"
    good = {n: a for n, a in zip(NAMES, model(layout))}
    meta = {"format": npzfile.FORMAT, "version": 1, "kind": "model", **META}
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "random":
        path.write_bytes(np.random.default_rng(0).bytes(500))
    elif damage == "truncated":
        checkpoint.save_model(path, model(layout), META)
        path.write_bytes(path.read_bytes()[:300])
    elif damage == "pickle":
        write_npz(path, meta=meta_blob(meta), W=np.array([object()], dtype=object), **{n: good[n] for n in "UVbc"})
    elif damage == "no-meta":
        write_npz(path, **good)
    elif damage == "newer":
        write_npz(path, meta=meta_blob(meta | {"version": 99}), **good)
    elif damage == "missing-array":
        write_npz(path, meta=meta_blob(meta), **{n: good[n] for n in "UVbc"})
    elif damage == "wrong-shape":
        write_npz(path, meta=meta_blob(meta), **(good | {"V": np.zeros((3, 3))}))
    with pytest.raises(BadInput, match=message):
        checkpoint.load_model(path)
    assert damage == "missing" or path.exists()


def test_a_zip_that_is_not_ours(tmp_path):
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(BadInput):
        checkpoint.load_model(path)
