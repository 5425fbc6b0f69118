"""What one update would cost on an H100: estimated from the stand-in's counts, not measured (docs: gpu.md#speed-model).

    microseconds = launches x LAUNCH + copies x COPY + syncs x SYNC + the dependent chain + memory traffic

Every constant below says on which GPU it was measured; one whose source names no GPU, or
names another than an H100, is marked as an assumption. CuPy's own Python overhead per call
(argument checks, the kernel cache, the memory pool: host time before each launch) is not in
the estimate: no measurement of it on a named GPU with CuPy 14 was found. It adds to every one
of the plain variant's ~200 calls and the fused's ~21, once to the persistent's: their
estimates are lower bounds, and the persistent's is the least affected.

The chain is the latency of the 2 tau dependent matrix-vector products inside the
recurrence kernels (with --kernels plain those are launches, already counted). The traffic is
what one block moves alone: its global reads at one block's bandwidth (Little's law: one 8-byte
load in flight per thread, each waiting an L2 latency) and, for the persistent kernel, the shared
memory its bulk phases read (one operand of every multiply-add; the other is a broadcast). The
library kernels' own traffic (cuBLAS, elementwise, reductions: one to a few megabytes per update,
a few microseconds at most at an H100's 2 TB/s) is left out.
Run it: python -m backends.standin.speed
"""

import time
from dataclasses import dataclass

import numpy as np

from common.contract import Layout, Optimizer
from common.weights import init_theta

GPU_BENCHES = "te42kyfo/gpu-benches on GitHub (Ernst et al.)"
KOKKOS = "kokkos/kokkos pull request 3151 (2020), which names no GPU"


@dataclass(frozen=True)
class Constant:
    value: float
    unit: str
    source: str


CONSTANTS = {
    "LAUNCH": Constant(3.4, "us", f"assumption: {KOKKOS}: raw CUDA launches, 3.36 to 3.54 us each"),
    "SYNC": Constant(5.6, "us", f"assumption: {KOKKOS}: Kokkos parallel_for, 9.9 us with a fence, 4.3 without"),
    "COPY": Constant(3.4, "us", "assumption: a small copy is one command in the stream, as a launch is"),
    "CLOCK": Constant(1.755, "GHz", f"{GPU_BENCHES}, gpu-latency/h100_pcie.txt: an H100 PCIe at 1755 MHz"),
    "SHARED_LATENCY": Constant(34, "cycles", f"{GPU_BENCHES}, gpu-latency/h100_pcie.txt: an H100 L1 hit, 34.2 cycles"),
    "L2_LATENCY": Constant(265, "cycles", f"{GPU_BENCHES}, gpu-latency/h100_pcie.txt: an H100 L2 hit, 265 cycles"),
    "FMA_LATENCY": Constant(8, "cycles", f"assumption: {GPU_BENCHES}, README (cuda-incore): DFMA 8 cycles on a V100"),
    "MATH_LATENCY": Constant(112, "cycles", "assumption: tanh, exp or log as long as a DDIV, 112 cycles (V100, ibid.)"),
    "BARRIER": Constant(34, "cycles", "assumption: one __syncthreads() as long as one shared-memory round trip"),
    "SHARED_BANDWIDTH": Constant(128, "bytes/cycle", f"assumption: {GPU_BENCHES}, README (gpu-cache): 128 B/cycle/SM"),
}
C = {name: c.value for name, c in CONSTANTS.items()}
FUSED_THREADS = 128  # threads of rnn_forward and rnn_backward at m = 100 (one per hidden unit, whole warps)


@dataclass(frozen=True)
class Estimate:
    launches: float  # microseconds, each term
    copies: float
    syncs: float
    chain: float
    traffic: float

    @property
    def total(self) -> float:
        return self.launches + self.copies + self.syncs + self.chain + self.traffic


def cycles(n: float) -> float:
    """Microseconds of n cycles."""
    return n / (C["CLOCK"] * 1e3)


def estimate(kernels: str, counts: dict, K: int, m: int, B: int, tau: int, itemsize: int) -> Estimate:
    """The estimated microseconds per update of one variant, from its counted launches, copies and syncs."""
    fma, shared, barrier, math = C["FMA_LATENCY"], C["SHARED_LATENCY"], C["BARRIER"], C["MATH_LATENCY"]
    launches = counts["launches"] * C["LAUNCH"]
    copies = (counts["H2D"] + counts["D2H"]) * C["COPY"]
    syncs = counts["syncs"] * C["SYNC"]
    chain = traffic = 0.0
    one_block = lambda threads: threads * 8 / C["L2_LATENCY"]  # noqa: E731  bytes/cycle, Little's law
    if kernels == "fused":  # a thread's whole dot product per step; each kernel loads W with one block
        step = m * fma + shared + 2 * barrier
        chain = cycles(tau * (step + math) + tau * step)
        traffic = cycles(2 * m * m * itemsize / one_block(FUSED_THREADS))
    elif kernels == "persistent":
        from backends.cupy_persistent import MAX_THREADS, threads_per_row

        Q, cols, n = threads_per_row(m, B), tau * B, 2 * K * m + m * m + m + K
        threads = min(MAX_THREADS, Q * B * m)
        step = -(-m // Q) * fma + Q * fma + 2 * shared + 2 * barrier  # partial sums, then one thread adds them
        softmax = 2 * K * fma + 3 * math + cols * fma + 6 * barrier  # max, exp, sum, log, divide; the loss
        chain = cycles(tau * (step + math) + (tau - 1) * step + softmax)
        # eq. (3) and V^T g_t; dW, dV, db, dc; dU (each step adds da_t to one row of dU^T only)
        bulk = (2 * cols * K * m + cols * (n - K * m) + cols * m) * itemsize
        global_bytes = (m * m + K * m + cols * m + 4 * n) * itemsize  # W, V, U x_t in; theta and M in and out
        traffic = cycles(bulk / C["SHARED_BANDWIDTH"] + global_bytes / one_block(threads))
    return Estimate(launches, copies, syncs, chain, traffic)


def numpy_microseconds(K: int, m: int, B: int, tau: int, rounds: int = 7, updates: int = 50) -> tuple[float, ...]:
    """The NumPy backend's measured microseconds per update here: the fastest, median and slowest round."""
    from backends.numpy_backend import NumpyBackend

    layout = Layout(K, m)
    backend = NumpyBackend(layout)
    theta, mem, h = init_theta(layout, 0.01, seed=1), np.zeros(layout.size), np.zeros((m, B))
    x = np.random.default_rng(0).integers(0, K, (tau + 1, B))
    opt, times = Optimizer(), []
    for _ in range(rounds + 1):  # the first round warms up
        t0 = time.perf_counter()
        for _update in range(updates):
            _, h = backend.step(theta, mem, x[:-1], x[1:], h, opt, 1)
        times.append((time.perf_counter() - t0) / updates * 1e6)
    fastest, *_, slowest = sorted(times[1:])
    return fastest, float(np.median(times[1:])), slowest


if __name__ == "__main__":
    print("constants of the estimate (an H100; each with its source):")
    for name, c in CONSTANTS.items():
        print(f"  {name:<17}{c.value:>8g} {c.unit:<12}{c.source}")
