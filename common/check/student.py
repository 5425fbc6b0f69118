"""A student's `loss, grads[, h_tau] = loss_and_grads(U, W, V, b, c, X, Y, h0)` seen as a backend (docs: check.md).

The function gets copies of our arrays in the handout's notation: U (m, K), W (m, m), V (K, m),
b (m, 1), c (K, 1), h0 (m, 1), and X, Y one-hot (K, tau) (or (tau, K), or index vectors (tau,)).
`--vectors 1d` makes b, c, h0 (and h_tau) vectors (m,), (K,); `--convention rows` hands every
parameter transposed, for code that computes h @ W (docs: check.md#shapes). What it returns is
read before it is used (`Function.read`): loss a number, grads a mapping with keys U, W, V, b, c
in the parameters' shapes (anything np.asarray takes: NumPy arrays, CPU torch tensors), h_tau.
Anything else is one BadInput line saying what came back. Subclassing the reference gives the
rest of the contract (the update, sampling), so our training loop can run on their gradients.
"""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from backends.numpy_backend import NumpyBackend
from common.check import isolate
from common.check.place import guarded
from common.contract import NAMES, Layout, Params
from common.errors import BadInput

INPUTS = ("onehot-cols", "onehot-rows", "indices")
LOSSES = ("sum", "mean")
VECTORS = ("2d", "1d")
CONVENTIONS = ("cols", "rows")


class NotWritten(BadInput):
    """Their function raises NotImplementedError: a notebook's exercise not done yet."""


def written(fn, spec: str):
    """fn, with NotImplementedError turned into NotWritten."""

    def call(*args):
        try:
            return fn(*args)
        except NotImplementedError:
            raise NotWritten(f"{spec} is not written yet (it raises NotImplementedError)") from None

    return call


class Returned(NamedTuple):
    """What one call gave back, read: the cache of forward."""

    grad: np.ndarray  # flat, the gradient of the summed loss (the contract's)
    h_tau: np.ndarray | None  # (m, 1), or None when the function returns only loss, grads
    loss: float  # as returned (their reduction)


def shapes(layout: Layout, vectors: str, convention: str) -> dict[str, tuple]:
    """The shapes their function takes and returns: U, W, V, b, c and h (h0, h_tau)."""
    ours = layout.shapes | {"h": (layout.m, 1)}
    out = {n: s[::-1] if convention == "rows" else s for n, s in ours.items()}
    if vectors == "1d":
        out |= {n: (ours[n][0],) for n in ("b", "c", "h")}
    return out


class Function(NumpyBackend):
    """Their function as a backend: forward calls it, backward hands back the gradient it returned."""

    name = "yours"

    def __init__(
        self,
        fn,
        spec: str,
        layout: Layout,
        inputs: str = "onehot-cols",
        loss: str = "sum",
        path: Path | None = None,
        vectors: str = "2d",
        convention: str = "cols",
        timeout: float | None = None,
    ):
        super().__init__(layout, "float64")
        for option, value, allowed in (
            ("--inputs", inputs, INPUTS),
            ("--loss", loss, LOSSES),
            ("--vectors", vectors, VECTORS),
            ("--convention", convention, CONVENTIONS),
        ):
            if value not in allowed:
                raise BadInput(f"{option} must be one of {', '.join(allowed)}, not {value!r}")
        self.raw, self.spec, self.path = fn, spec, path
        self.fn = guarded(written(fn, spec), path, spec)
        self.inputs, self.loss, self.vectors, self.convention, self.timeout = inputs, loss, vectors, convention, timeout
        self.shapes = shapes(layout, vectors, convention)
        self.calls = 0
        self.float32 = False  # an array came back in float32
        self.on_call: Callable[[int], None] = lambda calls: None

    def encode(self, ids: np.ndarray) -> np.ndarray:
        """Indices (tau,) -> X in the layout their function takes."""
        if self.inputs == "indices":
            return ids.copy()
        X = np.zeros((self.layout.K, len(ids)))  # (K, tau)
        X[ids, np.arange(len(ids))] = 1
        return X if self.inputs == "onehot-cols" else np.ascontiguousarray(X.T)

    def theirs(self, a: np.ndarray, name: str) -> np.ndarray:
        """One of our arrays (cols, 2-D) in their convention: a copy."""
        return np.array(a.T if self.convention == "rows" else a).reshape(self.shapes[name])

    def ours(self, a: np.ndarray, name: str) -> np.ndarray:
        """One of their arrays (already of their shape) in ours."""
        shape = self.layout.shapes[name] if name in NAMES else (self.layout.m, 1)
        flipped = shape[::-1] if self.convention == "rows" else shape
        a = a.reshape(flipped)
        return a.T if self.convention == "rows" else a

    def forward(self, theta, x, y, h0):
        """Their function on one stream: the summed loss (their mean times tau) and what it returned."""
        if x.shape[1] != 1:
            raise BadInput("a function of one's own is checked on one stream (batch size 1)")
        args = [self.theirs(a, n) for a, n in zip(self.layout.unpack(theta), NAMES)]  # copies: they may change them
        with isolate.deadline(self.timeout, f"{self.spec} did not return"):
            out = self.fn(*args, self.encode(x[:, 0]), self.encode(y[:, 0]), self.theirs(h0, "h"))
        self.calls += 1
        self.on_call(self.calls)
        loss, grads, h_tau = self.read(out)
        k = len(x) if self.loss == "mean" else 1  # the contract's loss is the sum
        return k * loss, Returned(k * self.layout.pack(Params(**grads)), h_tau, loss)

    def backward(self, theta, cache: Returned):
        return cache.grad.copy()

    def step(self, theta, state, x, y, h0, opt, t, scale=1.0):
        """One update of our optimizer on their gradient; their h_tau goes on to the next chunk."""
        loss, cache = self.forward(theta, x, y, h0)
        if cache.h_tau is None:
            raise BadInput(f"{self.spec} returns no h_tau; training carries it: return loss, grads, h_tau")
        self.update(theta, state, scale * cache.grad, opt, t)
        return scale * loss, cache.h_tau

    def read(self, out) -> tuple[float, dict, np.ndarray | None]:
        """loss, grads, h_tau as float64 host values in our shapes, checked; one BadInput line for anything else."""
        if not isinstance(out, tuple | list) or len(out) not in (2, 3):
            raise BadInput(f"{self.spec} returned {kind(out)}; expected loss, grads or loss, grads, h_tau")
        loss = self.array(out[0], "the loss", ())
        grads = out[1]
        if not isinstance(grads, Mapping):
            raise BadInput(f"{self.spec} returned grads as {kind(grads)}; expected a dict with keys U, W, V, b, c")
        missing = [n for n in NAMES if n not in grads]
        if missing:
            keys = ", ".join(map(str, grads)) or "none"
            raise BadInput(f"{self.spec} returned grads without {', '.join(missing)} (its keys: {keys})")
        raw = {}
        for n in NAMES:
            try:
                raw[n] = grads[n]
            except Exception as e:  # their Mapping's __getitem__
                raise BadInput(f"{self.spec} returned grads whose [{n!r}] raised {type(e).__name__}: {e}") from None
        raw |= {"h": out[2]} if len(out) == 3 else {}
        arrays = {n: self.array(a, f"grads[{n!r}]" if n in NAMES else "h_tau", self.shapes[n]) for n, a in raw.items()}
        h_tau = self.ours(arrays["h"], "h") if "h" in arrays else None
        return float(loss), {n: self.ours(arrays[n], n) for n in NAMES}, h_tau

    def array(self, value, what: str, shape: tuple) -> np.ndarray:
        """value as a float64 array of this shape (a loss: one number), or one BadInput line."""
        try:
            a = np.asarray(value)
            if np.iscomplexobj(a):
                raise BadInput(
                    f"{self.spec} returned {what} of complex numbers: a loss and its gradients are real "
                    "(a log or square root of a negative number, or a complex dtype, makes them complex)"
                )
            self.float32 |= a.dtype == np.float32
            a = a.astype(np.float64)
        except BadInput:
            raise
        except Exception as e:  # an __array__ of theirs that raises, a loss too large for a float, ...
            raise BadInput(f"{self.spec} returned {what} that is not an array of numbers ({e})") from None
        if shape == () and a.size == 1:
            return a.reshape(())
        if a.shape != shape:
            raise BadInput(f"{self.spec} returned {what} of shape {a.shape}; expected {shape}")
        return a

    def other(self, vectors: str, convention: str) -> "Function":
        """The same function read with other --vectors and --convention."""
        return Function(
            self.raw, self.spec, self.layout, self.inputs, self.loss, self.path, vectors, convention, self.timeout
        )


def kind(value) -> str:
    """A short description of what came back, for an error line."""
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"
