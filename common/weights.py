"""Initial parameters, drawn on the host so every backend starts from the same numbers."""

import numpy as np

from common.contract import Layout, Params
from common.rng import stream


def init_theta(layout: Layout, sigma: float, seed: int) -> np.ndarray:
    """U, W, V ~ N(0, sigma^2) drawn in that order, b = c = 0 (docs: model.md#initialisation)."""
    rng = stream(seed, "weights")
    shapes = layout.shapes
    U, W, V = (sigma * rng.standard_normal(shapes[name]) for name in "UWV")
    b, c = np.zeros(shapes["b"]), np.zeros(shapes["c"])
    return layout.pack(Params(U, W, V, b, c))  # float64; backends cast to their dtype
