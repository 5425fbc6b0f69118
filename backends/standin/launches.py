"""What one training update asks of a GPU, counted on the stand-in (docs: gpu.md#launches).

At batch 1 each kernel launch costs a few microseconds however little it computes, so the
number of launches per update predicts the CuPy backend's speed there better than its FLOPs.
The stand-in tallies them as CuPy 14 issues them (backends/standin/arrays.py says how); the last
column turns the counts into estimated microseconds on an H100 (backends/standin/speed.py).
Run it: python cli.py launches
"""

import textwrap
from collections import Counter

import numpy as np

from backends import standin
from backends.standin import arrays, kernels, speed
from backends.standin.compile import CompileError
from common.contract import Layout, Optimizer
from common.data import builtin_corpus
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
KERNELS = ("plain", "fused", "persistent")
# the work of `launches` in NumPy updates: numpy_line's 8 rounds of 50, and the stand-in's 2 steps of each
# kernels and dtype, each some 3 to 30 times a NumPy update's time (measured at m = 128 and 512)
UPDATES = 8 * 50 + 2 * len(KERNELS) * 2 * 10


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


def table(m: int = 100, tau: int = 25, B: int = 1, K: int | None = None) -> list[str]:
    """The launch-count table, one line per (kernels, dtype), with the estimated microseconds (sizes checked by
    the caller: common/run/inputs.py); K None: the built-in text's."""
    K = K or builtin_corpus().K
    saved, kernels.ORDERS = kernels.ORDERS, ["forward"]  # counts do not depend on the thread order
    rows = []
    try:
        with standin.installed():
            for k in KERNELS:
                for d in ("float64", "float32"):
                    try:
                        rows.append((k, d, per_update(k, d, K, m, B, tau)))
                    except BadInput as e:  # the persistent kernel does not fit: say so in its row
                        rows.append((k, d, str(e)))
    except CompileError as e:
        raise BadInput(str(e)) from None
    finally:
        kernels.ORDERS = saved
    lines = [
        f"per training update (forward, BPTT, clip, AdaGrad), K={K}, m={m}, B={B}, tau={tau}, "
        "counted on the CPU stand-in (docs: gpu.md)",
        f"{'kernels':<11}{'dtype':<9}" + "".join(f"{h:>12}" for h, _ in COLUMNS) + f"{'est. us':>10}",
    ]
    for k, d, tally in rows:
        if isinstance(tally, str):
            lines.append(f"{k:<11}{d:<9}  {tally.removeprefix('--kernels persistent ')}")
            continue
        counts = {h: sum(tally[c] for c in kinds) for h, kinds in COLUMNS}
        us = speed.estimate(k, counts, K, m, B, tau, np.dtype(d).itemsize).total
        lines.append(f"{k:<11}{d:<9}" + "".join(f"{v:>12,}" for v in counts.values()) + f"{us:>10,.0f}")
    lines.append(
        "est. us: estimated microseconds per update on an H100, from these counts and the constants of "
        "backends/standin/speed.py; an estimate, not a measurement (docs: gpu.md#speed-model)"
    )
    return lines


def fit(lines: list[str], width: int = 80) -> list[str]:
    """table's lines for a terminal `width` columns wide: its prose wrapped, and its columns cut into blocks
    that fit, each with the kernels and dtype of its rows."""
    if max(map(len, lines[1:-1])) <= width:
        return lines
    key, widths = 20, [12] * len(COLUMNS) + [10]  # kernels and dtype; COLUMNS and est. us
    edges = [key + sum(widths[:i]) for i in range(len(widths) + 1)]  # where each column starts, and the end
    counted = [line for line in lines[1:-1] if len(line) == edges[-1]]  # the heading and the rows of counts
    blocks, first = [], 0
    for i in range(1, len(edges)):
        if key + edges[i] - edges[first] > width:
            blocks.append((edges[first], edges[i - 1]))
            first = i - 1
    blocks.append((edges[first], edges[-1]))
    out = textwrap.wrap(lines[0], width)
    for a, b in blocks:
        out += [line[:key] + line[a:b] for line in counted]
    out += [textwrap.fill(line, width) for line in lines[1:-1] if line not in counted]  # a kernel that does not fit
    return out + textwrap.wrap(lines[-1], width)


def numpy_line(m: int = 100, tau: int = 25, B: int = 1, K: int | None = None) -> str:
    """The NumPy backend's time per update on this machine, measured now, for the same sizes."""
    K = K or builtin_corpus().K
    fastest, median, slowest = speed.numpy_microseconds(K, m, B, tau)
    return (
        f"numpy, measured on this machine now: {median:,.0f} us per update (median of 7 rounds of 50 updates; "
        f"fastest {fastest:,.0f}, slowest {slowest:,.0f})"
    )
