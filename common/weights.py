"""Initial parameters, drawn on the host so every backend starts from the same numbers.

Two initialisations (docs: optimizers.md#initialisation): the classic handout's U, W, V ~ N(0,
sigma^2), and the 2025 handout's, scaled to the fan-in of each product: U ~ N(0, 1/(2K)),
W ~ N(0, 1/(2m)) (h_t's two inputs, U x_t and W h_{t-1}, share the variance), V ~ N(0, 1/m).
Both draw U, W, V in that order from the same seeded stream; b = c = 0.
"""

import numpy as np

from common.contract import Layout, Params
from common.rng import stream

INITS = ("classic", "2025")


def init_std(layout: Layout, init: str, sigma: float = 0.01) -> dict[str, float]:
    """The standard deviation of U, W and V under each initialisation."""
    K, m = layout.K, layout.m
    if init == "classic":
        return {"U": sigma, "W": sigma, "V": sigma}
    return {"U": (1 / (2 * K)) ** 0.5, "W": (1 / (2 * m)) ** 0.5, "V": (1 / m) ** 0.5}


def init_theta(layout: Layout, sigma: float, seed: int, init: str = "classic") -> np.ndarray:
    """U, W, V ~ N(0, std^2) drawn in that order, b = c = 0 (docs: model.md#initialisation)."""
    rng = stream(seed, "weights")
    shapes, std = layout.shapes, init_std(layout, init, sigma)
    U, W, V = (std[name] * rng.standard_normal(shapes[name]) for name in "UWV")
    b, c = np.zeros(shapes["b"]), np.zeros(shapes["c"])
    return layout.pack(Params(U, W, V, b, c))  # float64; backends cast to their dtype
