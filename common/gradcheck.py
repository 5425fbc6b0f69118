"""The gradient check: BPTT against centred differences and autograd, through the contract (docs: gradcheck.md).

The loss checked is scale * L: scale = 1 the classic handout's sum, scale = 1 / tau the 2025
handout's mean. For every entry theta_i of every parameter, the numerical gradient is

    n_i = (L(theta + h e_i) - L(theta - h e_i)) / (2 h)        (eq. 14)

and it is compared with the analytic (unclipped) gradient a of Backend.backward by

    rel_error          = ||a - n|| / max(SAFE, ||a|| + ||n||)   (eq. 15, per parameter)
    max_elem_rel_error = max_i |a_i - n_i| / max(SAFE, |a_i| + |n_i|)
    max_abs_error      = max_i |a_i - n_i|
"""

from dataclasses import asdict, dataclass

import numpy as np

from common.contract import Backend, Layout

SAFE = 1e-6  # floor of every denominator: entries whose gradient is ~0 do not divide by ~0
TOLERANCE = 1e-6  # a correct float64 implementation measures 1e-10 to 1e-7 at m = 5


@dataclass(frozen=True)
class Errors:
    rel_error: float
    max_elem_rel_error: float
    max_abs_error: float


def numerical_gradient(
    backend: Backend, theta: np.ndarray, x, y, h0: np.ndarray, h: float, scale: float = 1.0
) -> np.ndarray:
    """Eq. (14) of scale * L for every entry of theta (host, float64), each loss from Backend.forward."""
    n = np.empty_like(theta)
    h0 = backend.to_device(h0)
    for i in range(theta.size):
        old = theta[i]
        theta[i] = old + h
        plus, _ = backend.forward(backend.to_device(theta), x, y, h0)
        theta[i] = old - h
        minus, _ = backend.forward(backend.to_device(theta), x, y, h0)
        theta[i] = old
        n[i] = scale * (plus - minus) / (2 * h)
    return n


def errors(a: np.ndarray, n: np.ndarray) -> Errors:
    """Eq. (15) and the elementwise figures, for one parameter."""
    diff = np.abs(a - n)
    return Errors(
        rel_error=float(np.linalg.norm(a - n) / max(SAFE, np.linalg.norm(a) + np.linalg.norm(n))),
        max_elem_rel_error=float(np.max(diff / np.maximum(SAFE, np.abs(a) + np.abs(n)))),
        max_abs_error=float(diff.max()),
    )


def compare(layout: Layout, a: np.ndarray, n: np.ndarray) -> dict[str, Errors]:
    """Eq. (15) and the elementwise figures for each parameter (U, W, V, b, c) of two flat gradients."""
    return {name: errors(a[s], n[s]) for name, s in layout.slices().items()}


def analytic_gradient(backend: Backend, theta: np.ndarray, x, y, h0: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """The backend's gradient of scale * L at theta (host, float64)."""
    on_device = backend.to_device(theta)
    _, cache = backend.forward(on_device, x, y, backend.to_device(h0))
    return scale * backend.to_host(backend.backward(on_device, cache)).astype(np.float64)


def check(
    backend: Backend, theta: np.ndarray, x, y, h0: np.ndarray, h: float = 1e-4, scale: float = 1.0
) -> dict[str, Errors]:
    """Per parameter (U, W, V, b, c), the errors of the analytic gradient at theta (host)."""
    theta = np.array(theta, dtype=np.float64)
    a = analytic_gradient(backend, theta, x, y, h0, scale)
    n = numerical_gradient(backend, theta, x, y, h0, h, scale)
    return compare(backend.layout, a, n)


def check_autograd(
    backend: Backend, theta: np.ndarray, x, y, h0: np.ndarray, scale: float = 1.0
) -> dict[str, Errors] | None:
    """The errors against torch.autograd (the second oracle, the 2025 handout's), or None without torch."""
    import backends

    if backends.why_not("torch", device="cpu") is not None:
        return None
    oracle = backends.load("torch", backend.layout, "float64", device="cpu", grad="autograd")
    theta = np.array(theta, dtype=np.float64)
    a = analytic_gradient(backend, theta, x, y, h0, scale)
    n = analytic_gradient(oracle, theta, x, y, h0, scale)
    return compare(backend.layout, a, n)


def passed(result: dict[str, Errors], tolerance: float = TOLERANCE) -> bool:
    return all(e.rel_error < tolerance for e in result.values())


def as_json(backend: Backend, result: dict[str, Errors], tolerance: float = TOLERANCE) -> dict:
    return {
        "backend": backend.name,
        "dtype": backend.dtype,
        "params": {name: asdict(e) for name, e in result.items()},
        "passed": passed(result, tolerance),
    }
