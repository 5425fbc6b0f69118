"""How long `bench` and `launches` will run, estimated before they start (docs: performance.md#estimates).

An update does about flops(K, m, B, tau) floating-point operations (common/tools/sweep.py),
mostly products of an (m, m) matrix with an (m, B) block. Their rate on this machine, now, is
timed on one such product of a size past the caches, so a busy machine shows in the estimate.
The estimate is a floor (overheads come on top): it is shown first, and a command that would
run past LIMIT_S is refused with the size option to lower.
"""

import functools
import itertools
import time

import numpy as np

from common.errors import BadInput
from common.run.progress import clock
from common.tools.bench import WARMUP
from common.tools.sweep import flops

LIMIT_S = 600  # ten minutes: past this, refuse and say what to lower
DEFAULTS = {"--hidden": 100, "--seq-length": 25, "--batch-size": 1}  # the sizes an option is measured against


@functools.cache
def rate(B: int, dtype: str = "float64", n: int = 1024, repeats: int = 5) -> float:
    """Flops per second of NumPy's product of an (n, n) matrix with an (n, B) block, the median of a few."""
    rng = np.random.default_rng(0)
    W, h = rng.standard_normal((n, n)).astype(dtype), rng.standard_normal((n, min(B, 256))).astype(dtype)
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        W @ h  # (n, B)
        times.append(time.perf_counter() - t0)
    return 2 * n * n * h.shape[1] / float(np.median(times[1:]))  # the first warms the BLAS up


def update_seconds(K: int, m: int, B: int, tau: int, dtype: str = "float64") -> float:
    """Seconds one training update takes here, at least: its flops at the rate of its products."""
    return flops(K, m, B, tau) / rate(B, dtype)


def bench_seconds(K: int, grid: dict, dtypes: list[str], contenders: int, updates: int, rounds: int, budget) -> float:
    """What `bench` will take, at least: every contender's warm-up and rounds at every point of its grid."""
    total = 0.0
    for dtype, m, B, tau in itertools.product(dtypes, grid["m"], grid["B"], grid["tau"]):
        t = update_seconds(K, m, B, tau, dtype)
        n = updates if budget is None else max(1, min(updates, int(budget / t)))  # a sweep's rounds last budget
        total += contenders * (WARMUP + rounds * n) * t
    return total


def announce(seconds: float, sizes: dict[str, int], say) -> None:
    """Say the estimate; refuse past LIMIT_S, naming the size (of sizes: option -> value) furthest above its default."""
    say(f"estimated time: at least {clock(seconds)} (the flops to do, at this machine's speed now)")
    if seconds > LIMIT_S:
        option = max(sizes, key=lambda o: sizes[o] / DEFAULTS[o])
        raise BadInput(
            f"this would run for at least {clock(seconds)}, past {LIMIT_S // 60} minutes; "
            f"lower {option} (now {sizes[option]:,})"
        )
