"""The contract every backend implements, and where the parameters live (docs: backends.md).

All five parameters live in one flat vector theta, laid out as [U^T, W, V, b, c]; U, W, V, b
and c are views into it. One vector means AdaGrad and clipping are a handful of whole-vector
operations (one fused kernel on a GPU) instead of five of each, and a checkpoint or a transfer
between host and device is one copy. Storing U transposed makes each column U[:, k] (the
embedding of character k) contiguous, so the gather U x_t and the scatter-add of dU read and
write whole rows.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import numpy as np

from common.errors import BadInput

A = TypeVar("A")
Array = Any  # a numpy.ndarray, cupy.ndarray or torch.Tensor, depending on the backend

ADAGRAD_EPS = 1e-8  # eqs. (12), (18): keeps the division finite before a weight has a gradient
CLIP = 5.0  # eq. (11): each gradient entry is clipped to [-CLIP, CLIP] before the update
OPTIMIZERS = ("adagrad", "adam")
DTYPES = ("float64", "float32")
NAMES = ("U", "W", "V", "b", "c")


class Params(NamedTuple, Generic[A]):
    """The five parameters (docs: model.md#parameters), as views into theta or host copies."""

    U: A  # (m, K) input-to-hidden
    W: A  # (m, m) hidden-to-hidden
    V: A  # (K, m) hidden-to-output
    b: A  # (m, 1) hidden bias
    c: A  # (K, 1) output bias


@dataclass(frozen=True)
class Layout:
    """The shapes of U, W, V, b, c for K characters and m hidden units, and their place in theta."""

    K: int
    m: int

    @property
    def shapes(self) -> dict[str, tuple[int, int]]:
        K, m = self.K, self.m
        return {"U": (m, K), "W": (m, m), "V": (K, m), "b": (m, 1), "c": (K, 1)}

    @property
    def size(self) -> int:
        """Number of scalars in theta."""
        return self._ends[-1]

    @cached_property
    def _ends(self) -> list[int]:
        return np.cumsum([0] + [r * c for r, c in self.shapes.values()]).tolist()

    def slices(self) -> dict[str, slice]:
        """Where each parameter's entries sit in theta (U as U^T, row after row)."""
        e = self._ends
        return {name: slice(e[i], e[i + 1]) for i, name in enumerate(NAMES)}

    def views(self, theta: Array) -> Params:
        """U, W, V, b, c as views into theta; works for numpy, cupy and torch alike."""
        K, m, e = self.K, self.m, self._ends
        return Params(
            U=theta[e[0] : e[1]].reshape(K, m).T,  # stored as U^T: column k of U is contiguous
            W=theta[e[1] : e[2]].reshape(m, m),
            V=theta[e[2] : e[3]].reshape(K, m),
            b=theta[e[3] : e[4]].reshape(m, 1),
            c=theta[e[4] : e[5]].reshape(K, 1),
        )

    def pack(self, p: Params) -> np.ndarray:
        """Host parameters -> a new theta (host)."""
        for name, a in zip(NAMES, p):
            if a.shape != self.shapes[name]:
                raise ValueError(f"{name} has shape {a.shape}, expected {self.shapes[name]}")
        return np.concatenate([p.U.T.ravel(), p.W.ravel(), p.V.ravel(), p.b.ravel(), p.c.ravel()])

    def unpack(self, theta: np.ndarray) -> Params:
        """A host theta -> host copies of U, W, V, b, c (ordinary C-ordered arrays)."""
        return Params(*(np.ascontiguousarray(a) for a in self.views(theta)))


@dataclass(frozen=True)
class Optimizer:
    """The update rule and its hyperparameters (docs: optimizers.md)."""

    name: str = "adagrad"  # "adagrad" (eqs. 11-12) or "adam" (eqs. 16-18)
    eta: float = 0.1
    clip: float | None = CLIP  # None: no clipping
    beta1: float = 0.9  # Adam only
    beta2: float = 0.999  # Adam only
    eps: float = ADAGRAD_EPS  # 1e-8 for both

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise BadInput(f"--optimizer must be one of {', '.join(OPTIMIZERS)} (got {self.name!r})")


def opt_state_size(opt: Optimizer, n: int) -> int:
    """Length of the optimizer state for n parameters: AdaGrad's M (n), or Adam's [m; v] (2n)."""
    return n if opt.name == "adagrad" else 2 * n


class Backend(Protocol):
    """One array library's implementation of the RNN (docs: backends.md).

    x and y are host integer arrays of shape (tau, B): column j is stream j, x[t] its inputs
    and y[t] its targets at step t. theta, state (the optimizer's: AdaGrad's M, or Adam's [m; v])
    and h live on the backend's device, made by `to_device`. Losses are Python floats summed over
    t and the B streams (eq. 5), times `scale` in step (1 / tau: the mean loss).
    """

    name: str
    dtype: str  # "float64" or "float32"
    device: str  # "cpu", "cuda:0", ...
    layout: Layout
    OPTIONS: tuple[str, ...]  # the keyword options its constructor takes, e.g. ("device", "grad")

    @staticmethod
    def why_not(**options) -> str | None:
        """None when this backend can run here with these options, else why not (GPU, driver)."""
        ...

    def to_device(self, a: np.ndarray) -> Array:
        """A copy of a host float array on the device, in this backend's dtype."""
        ...

    def to_host(self, a: Array) -> np.ndarray:
        """A host copy of a device array."""
        ...

    def copy(self, a: Array) -> Array:
        """A copy of a device array on the same device: no transfer, no wait (the best model, docs: gpu.md)."""
        ...

    def forward(self, theta: Array, x: np.ndarray, y: np.ndarray, h0: Array) -> tuple[float, Any]:
        """Eqs. (1)-(5): the loss of one chunk from h0 (m, B), and what backward needs (its H[-1] is h_tau)."""
        ...

    def backward(self, theta: Array, cache: Any) -> Array:
        """Eqs. (6)-(10), BPTT through the whole chunk: the flat, unclipped gradient of the loss."""
        ...

    def update(self, theta: Array, state: Array, grad: Array, opt: Optimizer, t: int) -> None:
        """In place: clip grad (eq. 11) unless opt.clip is None, then AdaGrad (eq. 12, state = M,
        length n) or Adam (eqs. 16-18, state = [m; v], length 2n); t = 1, 2, ... counts updates."""
        ...

    def step(
        self,
        theta: Array,
        state: Array,
        x: np.ndarray,
        y: np.ndarray,
        h0: Array,
        opt: Optimizer,
        t: int,
        scale: float = 1.0,
    ) -> tuple[float, Array]:
        """One training update on the gradient of scale * L: scale * L and h_tau (m, B)."""
        ...

    def predict(self, theta: Array, h: Array, x: int) -> tuple[Array, np.ndarray]:
        """One step of eqs. (1)-(3) for one stream: h_t (m, 1) and the logits o_t (K,) on the host."""
        ...
