"""A student's `loss, grads[, h_tau] = loss_and_grads(U, W, V, b, c, X, Y, h0)` seen as a backend (docs: check.md).

The function gets copies of our arrays in the handout's notation: U (m, K), W (m, m), V (K, m),
b (m, 1), c (K, 1), h0 (m, 1), and X, Y one-hot (K, tau) (or (tau, K), or index vectors (tau,)).
What it returns is read before it is used: loss a number, grads a dict with keys U, W, V, b, c in
the parameters' shapes (anything np.asarray takes: NumPy arrays, CPU torch tensors), h_tau (m, 1).
Anything else is one BadInput line saying what came back. Subclassing the reference gives the
rest of the contract (the update, sampling), so our training loop can run on their gradients.
"""

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from backends import own
from backends.numpy_backend import NumpyBackend
from common.contract import NAMES, Layout, Params
from common.errors import BadInput

INPUTS = ("onehot-cols", "onehot-rows", "indices")
LOSSES = ("sum", "mean")


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


class Function(NumpyBackend):
    """Their function as a backend: forward calls it, backward hands back the gradient it returned."""

    name = "yours"

    def __init__(self, fn, spec: str, layout: Layout, inputs: str = "onehot-cols", loss: str = "sum", path=None):
        super().__init__(layout, "float64")
        if inputs not in INPUTS or loss not in LOSSES:
            raise BadInput(f"--inputs must be one of {', '.join(INPUTS)} and --loss one of {', '.join(LOSSES)}")
        path = own.split(spec)[0] if path is None else path  # the file whose lines name where it raised
        self.fn, self.spec, self.inputs, self.loss = own.guarded(written(fn, spec), path, spec), spec, inputs, loss

    def encode(self, ids: np.ndarray) -> np.ndarray:
        """Indices (tau,) -> X in the layout their function takes."""
        if self.inputs == "indices":
            return ids.copy()
        X = np.zeros((self.layout.K, len(ids)))  # (K, tau)
        X[ids, np.arange(len(ids))] = 1
        return X if self.inputs == "onehot-cols" else np.ascontiguousarray(X.T)

    def forward(self, theta, x, y, h0):
        """Their function on one stream: the summed loss (their mean times tau) and what it returned."""
        if x.shape[1] != 1:
            raise BadInput("a function of one's own is checked on one stream (batch size 1)")
        U, W, V, b, c = self.layout.unpack(theta)  # copies: their function may change them
        out = self.fn(U, W, V, b, c, self.encode(x[:, 0]), self.encode(y[:, 0]), np.array(h0))
        loss, grads, h_tau = self.read(out)
        k = len(x) if self.loss == "mean" else 1  # the contract's loss is the sum
        return k * loss, Returned(k * self.layout.pack(Params(**grads)), h_tau)

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
        """loss, grads, h_tau as float64 host values, checked; one BadInput line for anything else."""
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
        raw = {n: grads[n] for n in NAMES} | ({"h_tau": out[2]} if len(out) == 3 else {})
        shapes = self.layout.shapes | {"h_tau": (self.layout.m, 1)}
        arrays = {n: self.array(a, f"grads[{n!r}]" if n in NAMES else n, shapes[n]) for n, a in raw.items()}
        return float(loss), {n: arrays[n] for n in NAMES}, arrays.get("h_tau")

    def array(self, value, what: str, shape: tuple) -> np.ndarray:
        """value as a float64 array of this shape (a loss: one number), or one BadInput line."""
        try:
            a = np.asarray(value)
            a = a.astype(np.float64)
        except (TypeError, ValueError, RuntimeError) as e:
            raise BadInput(f"{self.spec} returned {what} that is not an array of numbers ({e})") from None
        if shape == () and a.size == 1:
            return a.reshape(())
        if a.shape != shape:
            raise BadInput(f"{self.spec} returned {what} of shape {a.shape}; expected {shape}")
        return a


def kind(value) -> str:
    """A short description of what came back, for an error line."""
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"
