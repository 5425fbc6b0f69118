"""Where an update's time goes (docs/performance.md): python docs/percall.py [--repeats R]

Times, at the assignment's sizes (K = 80, m = 100, tau = 25, batch 1, float64), the single calls
a NumPy update is made of, the two step-by-step loops of the NumPy backend, its four
whole-chunk matrix products, its AdaGrad, a whole update, and torch's equivalents of the
calls where torch is installed. Each figure is the fastest of R repeats of a short loop (about
0.2 ms) of calls, the rows taking turns: other work on a shared machine only ever adds time, and
a short loop often runs undisturbed; the median repeat is printed beside it.
"""

import argparse
import itertools
import sys
import time
from pathlib import Path
from statistics import median

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backends.numpy_backend import NumpyBackend  # noqa: E402
from common.contract import Layout, Optimizer  # noqa: E402
from common.weights import init_theta  # noqa: E402

ADAGRAD = Optimizer("adagrad", 0.1)  # clipping (11) and AdaGrad (12), the classic handout

K, M, TAU = 80, 100, 25


def per_call(rows, repeats: int) -> list[tuple[float, float]]:
    """Microseconds per call of each row's fn: the fastest and the median of `repeats` loops of
    `calls` calls. The rows take turns, so that a busy moment of the machine hits all of them."""
    times = [[] for _ in rows]
    for _ in range(repeats):
        for (_, fn, calls), t in zip(rows, times):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            t.append((time.perf_counter() - t0) / calls * 1e6)
    return [(min(t), median(t)) for t in times]


def numpy_rows(rng):
    layout = Layout(K, M)
    backend = NumpyBackend(layout)
    theta, mem = init_theta(layout, 0.01, seed=1), np.zeros(layout.size)
    U, W, V, b, c = layout.views(theta)
    x, y = rng.integers(0, K, (TAU, 1)), rng.integers(0, K, (TAU, 1))
    h0 = np.zeros((M, 1))
    a, h, out = rng.standard_normal((M, 1)), rng.standard_normal((M, 1)), np.empty((M, 1))
    A, H = rng.standard_normal((TAU, M, 1)), np.empty((TAU + 1, M, 1))
    Hc, Hr = rng.standard_normal((M, TAU)), rng.standard_normal((TAU, M))
    G = rng.standard_normal((K, TAU))
    _, cache = backend.forward(theta, x, y, h0)
    g = backend.backward(theta, cache)
    chunks = itertools.cycle([(rng.integers(0, K, (TAU, 1)), rng.integers(0, K, (TAU, 1))) for _ in range(64)])
    theta_a, mem_a, out_p = (
        theta.copy(),
        mem.copy(),
        np.empty_like(theta),
    )  # AdaGrad's own copies: its repeats must not train the step's weights

    def forward_loop():
        hh = H[0]
        for a_in, h_next in zip(A, H[1:]):
            hh = np.tanh(W.dot(hh) + a_in, out=h_next)

    def backward_loop():
        da = A[-1]
        for vg, d in zip(A[-2::-1], A[-2::-1]):
            da = np.multiply(vg + W.T.dot(da), d, out=out)

    return [
        ("numpy: np.tanh on 100 numbers (out=)", lambda: np.tanh(a, out=out), 200),
        ("numpy: a + b, 100 numbers", lambda: a + h, 200),
        ("numpy: np.multiply on 100 numbers (out=)", lambda: np.multiply(a, h, out=out), 200),
        ("numpy: W.dot(h), 100 x 100 by 100 x 1", lambda: W.dot(h), 200),
        ("numpy backend: forward loop, 25 steps (1)-(2)", forward_loop, 4),
        ("numpy backend: backward loop, 24 steps (8)-(9)", backward_loop, 4),
        ("numpy: V @ [h_1..h_25], 80 x 100 by 100 x 25", lambda: V @ Hc, 20),
        ("numpy: G @ H^T, 80 x 25 by 25 x 100", lambda: G @ Hr, 20),
        ("numpy: G^T @ V, 25 x 80 by 80 x 100", lambda: G.T @ V, 20),
        ("numpy: dA @ H^T, 100 x 25 by 25 x 100", lambda: Hc @ Hr, 20),
        (
            f"numpy backend: AdaGrad + clip, {layout.size:,} parameters",
            lambda: backend.update(theta_a, mem_a, g, ADAGRAD, 1),
            2000,
        ),
        (f"numpy: np.sqrt on {layout.size:,} numbers (out=)", lambda: np.sqrt(mem_a, out=out_p), 3),
        ("numpy backend: one whole update (step)", lambda: backend.step(theta, mem, *next(chunks), h0, ADAGRAD, 1), 1),
    ]


def torch_rows(rng):
    try:
        import torch
    except ImportError:
        return []
    W = torch.tensor(rng.standard_normal((M, M)) * 0.01)
    h, a = torch.tensor(rng.standard_normal((M, 1))), torch.tensor(rng.standard_normal((M, 1)))
    out = torch.empty((M, 1), dtype=torch.float64)
    return [
        ("torch: addmm(a, W, h, out=), 100 x 100", lambda: torch.addmm(a, W, h, out=out), 200),
        ("torch: tanh_ on 100 numbers", lambda: out.tanh_(), 200),
        ("torch: mul(out=) on 100 numbers", lambda: torch.mul(a, h, out=out), 200),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=400)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    print(f"K = {K}, m = {M}, tau = {TAU}, batch 1, float64; microseconds per call, {args.repeats} repeats")
    print(f"{'what':<58}{'fastest':>10}{'median':>10}")
    rows = numpy_rows(rng) + torch_rows(rng)
    for (what, _, _), (fastest, mid) in zip(rows, per_call(rows, args.repeats)):
        print(f"{what:<58}{fastest:>10.2f}{mid:>10.2f}")


if __name__ == "__main__":
    main()
