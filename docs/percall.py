"""Where an update's time goes (docs/performance.md): python docs/percall.py [--repeats R] [--markdown PATH]

Times, at the assignment's sizes (K = 80, m = 100, tau = 25, batch 1, float64), the single calls
a NumPy update is made of, the two step-by-step loops of the NumPy backend, its four
whole-chunk matrix products, its AdaGrad, a whole update, and, where torch is installed, the
torch backend's calls, loops and update the same way (its threads set by its rule). Each figure
is the median of R repeats of a short loop (about 0.2 ms) of calls, the rows taking turns so
that a busy moment hits all of them, with the interquartile range of the repeats beside it.
The first rows, one call on a single number, are what a call costs whatever its size.
"""

import argparse
import contextlib
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backends.numpy_backend import NumpyBackend  # noqa: E402
from common.contract import Layout, Optimizer  # noqa: E402
from common.tools.bench import spread  # noqa: E402
from common.weights import init_theta  # noqa: E402

ADAGRAD = Optimizer("adagrad", 0.1)  # clipping (11) and AdaGrad (12), the classic handout

K, M, TAU = 80, 100, 25


def per_call(rows, repeats: int) -> list[tuple[float, float, float]]:
    """Microseconds per call of each row's fn: the median and quartiles of `repeats` loops of
    `calls` calls. The rows take turns, so that a busy moment of the machine hits all of them."""
    times = [[] for _ in rows]
    for _ in range(repeats):
        for (_, fn, calls), t in zip(rows, times):
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            t.append((time.perf_counter() - t0) / calls * 1e6)
    return [spread(t) for t in times]


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

    one, one_out = np.ones(1), np.empty(1)
    return [
        ("numpy: np.tanh on 1 number (out=)", lambda: np.tanh(one, out=one_out), 200),
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
    from backends.torch_backend import TorchBackend

    layout = Layout(K, M)
    backend = TorchBackend(layout, "float64", device="cpu")
    theta, mem = backend.to_device(init_theta(layout, 0.01, seed=1)), backend.to_device(np.zeros(layout.size))
    h0 = backend.to_device(np.zeros((M, 1)))
    chunks = itertools.cycle([(rng.integers(0, K, (TAU, 1)), rng.integers(0, K, (TAU, 1))) for _ in range(64)])
    backend.step(theta, mem, *next(chunks), h0, ADAGRAD, 1)  # its workspace, and its threads by its rule
    ws = backend._workspace(TAU, 1)
    W = backend.layout.views(theta).W
    WT = W.T
    one, a = torch.ones(1, dtype=torch.float64), torch.tensor(rng.standard_normal((M, 1)))
    h, d = ws.h, ws.d

    def forward_loop():
        for h_prev, h_next in zip(h, h[1:]):
            h_next.addmm_(W, h_prev).tanh_()

    def backward_loop():
        for da_t, da_next, d_t in zip(ws.da[-2::-1], ws.da[::-1], d[-2::-1]):
            da_t.addmm_(WT, da_next).mul_(d_t)

    return [
        ("torch: tanh_ on 1 number", lambda: one.tanh_(), 200),
        ("torch: h.addmm_(W, h_prev), 100 x 100 by 100 x 1", lambda: h[1].addmm_(W, h[0]), 200),
        ("torch: tanh_ on 100 numbers", lambda: h[1].tanh_(), 200),
        ("torch: mul_ on 100 numbers", lambda: a.mul_(d[0]), 200),
        ("torch backend: forward loop, 25 steps (1)-(2)", forward_loop, 4),
        ("torch backend: backward loop, 24 steps (8)-(9)", backward_loop, 4),
        ("torch backend: one whole update (step)", lambda: backend.step(theta, mem, *next(chunks), h0, ADAGRAD, 1), 1),
    ]


def no_autograd():
    """torch.inference_mode, as the torch backend's step runs its calls (nothing where torch is not installed)."""
    try:
        import torch
    except ImportError:
        return contextlib.nullcontext()
    return torch.inference_mode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=400)
    ap.add_argument("--markdown", type=Path, help="also write the table here, as Markdown")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    print(f"K = {K}, m = {M}, tau = {TAU}, batch 1, float64; microseconds per call, {args.repeats} repeats")
    print(f"{'what':<58}{'median':>10}{'q1':>10}{'q3':>10}")
    rows = numpy_rows(rng) + torch_rows(rng)
    with no_autograd():
        times = per_call(rows, args.repeats)
    table = ["| what | µs per call, median | interquartile range |", "|---|---:|---:|"]
    for (what, _, _), (mid, q1, q3) in zip(rows, times):
        print(f"{what:<58}{mid:>10.2f}{q1:>10.2f}{q3:>10.2f}")
        table.append(f"| {what} | {mid:.2f} | {q1:.2f}-{q3:.2f} |")
    if args.markdown:
        args.markdown.write_text("\n".join(table) + "\n", encoding="utf-8")
        print(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
