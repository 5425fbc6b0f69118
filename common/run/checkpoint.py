"""What a model file and a checkpoint hold, in one place: written from and read back into State.

Both are .npz files of plain arrays plus JSON meta (common/run/npzfile.py: safe to load, never
half-written). Format version 3 (docs: runs.md#checkpoints): mem is the optimizer's state, n
long for AdaGrad, 2n for Adam. Versions 1 and 2 still load (as AdaGrad); version 1's missing
hidden state is read as h = 0.

    model       U, W, V, b, c (natural shapes); h (m, 1): the hidden state the model reached,
                and meta x_next: the character that followed it. What `sample` needs.
    checkpoint  theta, mem, h (m, B), best_theta, best_h (m, 1), losses, smooths, and meta: the
                run's config (every setting), counters, samples, timings. Enough to continue exactly.
"""

import datetime
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from common.contract import NAMES, Backend, Optimizer, Params, opt_state_size
from common.errors import BadInput
from common.rng import PURPOSES
from common.run.npzfile import expect, layout_of, load, save
from common.run.progress import loss_text
from common.run.train import State


class Model(NamedTuple):
    """What sampling needs: parameters, meta, and where to go on from (h (m, 1), its next character)."""

    params: Params
    meta: dict
    h: np.ndarray | None  # None: a version-1 file, which saved no hidden state
    x_next: int | None


def save_model(path: Path, p: Params, meta: dict, h: np.ndarray | None = None, x_next: int | None = None) -> None:
    """A trained model: U, W, V, b, c, the hidden state h (m, 1) it reached, and meta."""
    arrays = dict(zip(NAMES, p)) | ({} if h is None else {"h": h})
    save(path, arrays, {"kind": "model", **meta} | ({} if x_next is None else {"x_next": x_next}))


def model_file(path: Path, which: str = "best") -> Path:
    """The file a model is read from: path itself, or a run folder's best.npz (else checkpoint.npz) or checkpoint."""
    if not path.is_dir():
        return path
    files = ["checkpoint.npz"] if which == "last" else ["best.npz", "checkpoint.npz"]
    found = [path / f for f in files if (path / f).exists()]
    if not found:
        raise BadInput(f"{path} holds no {' or '.join(files)}; is it a run folder?")
    return found[0]


def load_model(path: Path, which: str = "best") -> Model:
    """A model file, or the best ("best") or latest ("last") model of a checkpoint."""
    arrays, meta = load(path)
    layout = layout_of(meta, path)
    if meta.get("kind") == "checkpoint":
        arrays, meta = read_checkpoint(path, arrays, meta)
        if which == "best":
            return Model(layout.unpack(arrays["best_theta"]), meta, arrays.get("best_h"), meta.get("best_x_next"))
        return Model(layout.unpack(arrays["theta"]), meta, arrays["h"][:, :1], meta.get("x_next"))
    if which != "best":
        raise BadInput(f"{path} is a model file: it holds only the best model; --which last needs a checkpoint")
    params = Params(*(expect(arrays, n, layout.shapes[n], None, path) for n in NAMES))
    h = expect(arrays, "h", (layout.m, 1), None, path) if "h" in arrays else None
    return Model(params, meta, h, meta.get("x_next"))


def describe(path: Path, model: Model, which: str = "best") -> str:
    """Which parameters a reader took from path, and from which update: for its one line on stderr."""
    meta = model.meta
    if which == "last":
        what, update, loss = "the latest parameters", meta.get("update"), meta.get("smooth")
    elif meta.get("kind") == "checkpoint":
        what, update, loss = "its best model", meta.get("best_update"), meta.get("best_smooth")
    else:
        what, update, loss = "the best model", meta.get("update"), meta.get("smooth_loss")
    known = isinstance(update, int) and isinstance(loss, float)
    return f"{path}: {what}" + (f" (update {update:,}, smooth loss {loss_text(loss)})" if known else "")


def save_checkpoint(path: Path, backend: Backend, state: State, meta: dict, chunks: int) -> None:
    """Everything that lets training continue exactly where state stands; meta describes the run."""
    arrays = {
        "theta": backend.to_host(state.theta),
        "mem": backend.to_host(state.mem),
        "h": backend.to_host(state.h),  # (m, B) the hidden state carried into the next chunk
        "best_theta": backend.to_host(state.best_theta),  # the best model's one copy to the host
        "best_h": backend.to_host(state.best_h),  # (m, 1)
        "losses": np.array(state.losses, dtype=np.float64),
        "smooths": np.array(state.smooths, dtype=np.float64),
    }
    seq_length = meta["config"]["seq_length"]
    meta = meta | {
        "kind": "checkpoint",
        "update": state.update,
        "epoch": state.update // chunks,  # epochs done; the next chunk is update % chunks of this epoch
        "offset": (state.update % chunks) * seq_length,  # where in each stream the next chunk starts
        "smooth": state.smooth,
        "best_smooth": state.best_smooth,
        "best_update": state.best_update,
        "best_x_next": state.best_x_next,
        "best_validation": state.best_validation if math.isfinite(state.best_validation) else None,
        "validations": state.validations,
        "x_next": state.x_next,
        "samples": state.samples,
        "seconds": state.seconds,
        "wall": state.wall,
        "rng": {
            "generator": "PCG64",
            "seed": meta["config"]["seed"],
            "streams": "SeedSequence([seed, purpose, key])",
            "purposes": PURPOSES,
        },
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    save(path, arrays, meta)


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
        for key in ("x_next", "best_x_next"):
            assert 0 <= int(meta.get(key, 0)) < layout.K
    except (KeyError, TypeError, ValueError, AssertionError):
        raise BadInput(f"{path}: its metadata is incomplete or inconsistent") from None
    n, m = layout.size, layout.m
    optimizer = Optimizer(meta["config"].get("optimizer", "adagrad"))  # versions 1 and 2: AdaGrad
    checked = {
        "theta": expect(arrays, "theta", (n,), dtype, path),
        "mem": expect(arrays, "mem", (opt_state_size(optimizer, n),), dtype, path),
        "best_theta": expect(arrays, "best_theta", (n,), dtype, path),
        "h": expect(arrays, "h", (m, B), dtype, path),
        "losses": expect(arrays, "losses", (update,), "float64", path),
        "smooths": expect(arrays, "smooths", (update,), "float64", path),
    }
    if meta["version"] >= 2:
        checked["best_h"] = expect(arrays, "best_h", (m, 1), dtype, path)
    return checked, meta


def restore(backend: Backend, arrays: dict, meta: dict) -> State:
    """The training state a checkpoint holds, on backend's device (version 1: the best h is 0)."""
    m = backend.layout.m
    return State(
        theta=backend.to_device(arrays["theta"]),
        mem=backend.to_device(arrays["mem"]),
        h=backend.to_device(arrays["h"]),
        update=int(meta["update"]),
        smooth=float(meta["smooth"]),
        best_theta=backend.to_device(arrays["best_theta"]),
        best_smooth=float(meta["best_smooth"]),
        best_update=int(meta["best_update"]),
        best_h=backend.to_device(arrays["best_h"] if "best_h" in arrays else np.zeros((m, 1))),
        best_x_next=int(meta.get("best_x_next", 0)),
        best_validation=float(meta.get("best_validation") or math.inf),
        validations=[(int(u), float(v)) for u, v in meta.get("validations", [])],
        x_next=int(meta.get("x_next", 0)),
        losses=arrays["losses"].tolist(),
        smooths=arrays["smooths"].tolist(),
        samples=[(int(u), float(s), str(t)) for u, s, t in meta["samples"]],
        seconds=float(meta.get("seconds", 0.0)),
        wall=float(meta.get("wall", meta.get("seconds", 0.0))),
    )
