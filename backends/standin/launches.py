"""What one training update asks of a GPU, counted on the stand-in (docs: gpu.md#launches).

At batch 1 each kernel launch costs a few microseconds however little it computes, so the
number of launches per update predicts the CuPy backend's speed there better than its FLOPs.
The stand-in tallies them as CuPy would issue them (backends/standin/arrays.py says how).
Run it: python cli.py launches
"""

from collections import Counter

import numpy as np

from backends import standin
from backends.standin import arrays, kernels
from backends.standin.compile import CompileError
from common.contract import Layout, Optimizer
from common.errors import BadInput
from common.weights import init_theta

COLUMNS = [  # (heading, tally kinds summed)
    ("custom", ("custom",)),
    ("elementwise", ("elementwise",)),
    ("reduction", ("reduction",)),
    ("cuBLAS", ("cublas",)),
    ("launches", ("custom", "elementwise", "reduction", "cublas")),
    ("H2D", ("h2d",)),
    ("H2D bytes", ("h2d_bytes",)),
    ("D2H", ("d2h",)),
    ("D2H bytes", ("d2h_bytes",)),
    ("syncs", ("sync",)),
]


def per_update(kernels_name: str, dtype: str, K: int = 80, m: int = 100, B: int = 1, tau: int = 25) -> Counter:
    """The tally of one `step` (forward, BPTT, clip, AdaGrad) after a first, warm-up step."""
    from backends.cupy_backend import CupyBackend

    layout = Layout(K, m)
    backend = CupyBackend(layout, dtype, kernels=kernels_name)
    theta = backend.to_device(init_theta(layout, 0.01, seed=1))
    mem, h = backend.to_device(np.zeros(layout.size)), backend.to_device(np.zeros((m, B)))
    x = np.random.default_rng(0).integers(0, K, (tau + 1, B))
    for _ in range(2):  # the first compiles and allocates; the second is what training repeats
        arrays.tally.clear()
        _, h = backend.step(theta, mem, x[:-1], x[1:], h, Optimizer("adagrad", 0.1), 1)
    return Counter(arrays.tally)


def table(m: int = 100, tau: int = 25, B: int = 1, K: int = 80) -> list[str]:
    """The launch-count table, one line per (kernels, dtype)."""
    if min(m, tau, B, K) < 1:
        raise BadInput("--hidden, --seq-length and --batch-size must be at least 1")
    saved, kernels.ORDERS = kernels.ORDERS, ["forward"]  # counts do not depend on the thread order
    try:
        with standin.installed():
            rows = [(k, d, per_update(k, d, K, m, B, tau)) for k in ("plain", "fused") for d in ("float64", "float32")]
    except CompileError as e:
        raise BadInput(str(e)) from None
    finally:
        kernels.ORDERS = saved
    lines = [
        f"per training update (forward, BPTT, clip, AdaGrad), K={K}, m={m}, B={B}, tau={tau}, "
        "counted on the CPU stand-in (docs: gpu.md)",
        f"{'kernels':<8}{'dtype':<9}" + "".join(f"{h:>12}" for h, _ in COLUMNS),
    ]
    for k, d, tally in rows:
        lines.append(f"{k:<8}{d:<9}" + "".join(f"{sum(tally[c] for c in kinds):>12,}" for _, kinds in COLUMNS))
    return lines
