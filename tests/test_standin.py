"""The CPU stand-in for CuPy makes GPU bugs visible (docs: gpu.md): each check, shown failing."""

import numpy as np
import pytest
from typer.testing import CliRunner

from backends.standin import arrays, kernels
from backends.standin.kernels import LaunchError, RaceError
from cli import app

SOURCE = r"""
extern "C" __global__ void copy_shifted(const double* a, double* out, int n) {
    extern __shared__ __align__(16) unsigned char smem[];
    double* s = reinterpret_cast<double*>(smem);
    const int i = threadIdx.x;
    if (i < n) s[i] = a[i];
    __syncthreads();
    if (i < n) out[i] = s[(i + 1) % n];
}
extern "C" __global__ void racy_shift(const double* a, double* out, int n) {
    extern __shared__ __align__(16) unsigned char smem[];
    double* s = reinterpret_cast<double*>(smem);
    const int i = threadIdx.x;
    s[i] = a[i];
    out[i] = s[(i + 1) % n];  // no barrier: the neighbour may not have written yet
}
extern "C" __global__ void divergent(double* out) {
    if (threadIdx.x < 16) {
        __syncthreads();
    } else {
        __syncthreads();
    }
    out[threadIdx.x] = 1;
}
extern "C" __global__ void early_exit(double* out) {
    if (threadIdx.x == 0) return;
    __syncthreads();
    out[threadIdx.x] = 1;
}
extern "C" __global__ void shared_overrun(int n) {
    extern __shared__ double s[];
    s[threadIdx.x + n] = 0;
}
extern "C" __global__ void global_overrun(double* out, int n) {
    out[threadIdx.x + n] = 0;
}
extern "C" __global__ void arrival(long long* out) {
    static long long next = 0;  // counts the threads in the order they first run
    out[blockIdx.x * blockDim.x + threadIdx.x] = next++;
}
"""


@pytest.fixture
def cp(standin_cupy):
    return standin_cupy


def kernel(name):
    return kernels.RawKernel(SOURCE, name)


def test_fresh_memory_is_poison_and_host_arrays_do_not_mix(cp):
    assert np.isnan(cp.asnumpy(cp.empty((3, 4), dtype=np.float32))).all()
    assert (cp.asnumpy(cp.empty(5, dtype=np.int64)) == np.iinfo(np.int64).min).all()
    a = cp.asarray(np.arange(4.0))
    with pytest.raises(TypeError, match="host numpy.ndarray"):
        a + np.ones(4)
    assert cp.asnumpy(a * 2).tolist() == [0, 2, 4, 6]


def test_a_correct_kernel_runs_in_every_order(cp, monkeypatch):
    monkeypatch.setattr(kernels, "ORDERS", ["forward", "reverse", "random:1", "random:2"])
    a, out = cp.asarray(np.arange(40.0)), cp.empty(40, dtype=np.float64)
    kernel("copy_shifted")((1,), (64,), (a, out, np.int32(40)), shared_mem=40 * 8)
    assert cp.asnumpy(out).tolist() == [*range(1, 40), 0]


def test_orders_are_what_they_say(cp, monkeypatch):
    seen = {}
    for order in ("forward", "reverse", "random:3"):
        monkeypatch.setattr(kernels, "ORDERS", [order])
        out = cp.empty(64, dtype=np.int64)
        kernel("arrival")((2,), (32,), (out,))
        seen[order] = cp.asnumpy(out) - cp.asnumpy(out).min()
    assert seen["forward"].tolist() == list(range(64))  # block 0's threads, then block 1's
    assert seen["reverse"].tolist() == list(range(63, -1, -1))  # block 1's last thread first
    assert sorted(seen["random:3"]) == list(range(64))
    assert set(np.argsort(seen["random:3"])[:32] // 32) == {0, 1}  # the first 32 to run come from both blocks


def test_a_missing_barrier_is_a_race(cp):
    a, out = cp.asarray(np.arange(32.0)), cp.empty(32, dtype=np.float64)
    with pytest.raises(RaceError, match="racy_shift: out differs between runs"):
        kernel("racy_shift")((1,), (32,), (a, out, np.int32(32)), shared_mem=32 * 8)


@pytest.mark.parametrize(
    "name, message", [("divergent", "divergent barriers"), ("early_exit", "thread 0 exited while thread")]
)
def test_every_thread_must_reach_the_same_barrier(cp, name, message):
    with pytest.raises(LaunchError, match=message):
        kernel(name)((1,), (32,), (cp.empty(32, dtype=np.float64),))


def test_overruns_are_caught(cp):
    with pytest.raises(LaunchError, match="wrote byte 256 of a 256-byte dynamic shared memory"):
        kernel("shared_overrun")((1,), (32,), (np.int32(32),), shared_mem=256)
    with pytest.raises(arrays.OverrunError, match="past the end of its 256-byte allocation"):
        kernel("global_overrun")((1,), (32,), (cp.empty(32, dtype=np.float64), np.int32(1)))


def test_launches_an_h100_would_refuse(cp):
    k = kernel("copy_shifted")
    a, out = cp.asarray(np.arange(8.0)), cp.empty(8, dtype=np.float64)
    n = np.int32(8)
    refused = {
        "more than 1024 threads": lambda: k((1,), (1025,), (a, out, n)),
        "49153 bytes of dynamic shared memory, 49152 allowed": lambda: k((1,), (32,), (a, out, n), shared_mem=49153),
        "needs numpy.int32 (CuPy passes a Python int as 64 bits)": lambda: k((1,), (32,), (a, out, 8)),
        "needs numpy.int32": lambda: k((1,), (32,), (a, out, np.int64(8))),
        "needs a C-contiguous float64 array, got float32": lambda: k((1,), (32,), (a.astype(np.float32), out, n)),
        "needs a C-contiguous float64 array, got float64 (16,)": lambda: k((1,), (32,), (a[::2], out, n)),
        "must be a device array, got ndarray": lambda: k((1,), (32,), (np.arange(8.0), out, n)),
        "2 arguments for 3 parameters": lambda: k((1,), (32,), (a, out)),
    }
    for message, launch in refused.items():
        with pytest.raises(LaunchError, match=message.replace("(", r"\(").replace(")", r"\)")):
            launch()
    with pytest.raises(LaunchError, match="above the 232448 allowed"):
        k.max_dynamic_shared_size_bytes = 232449
    k.max_dynamic_shared_size_bytes = 100_000  # the opt-in: now 100,000 bytes may be asked for
    k((1,), (32,), (a, out, n), shared_mem=100_000)
    assert cp.asnumpy(out).tolist() == [*range(1, 8), 0]


def test_an_adam_elementwise_kernel_runs_unchanged(cp):
    """Several inputs and in-out outputs, scalar parameters, fmin/fmax/sqrt/pow: as CuPy compiles them."""
    adam = cp.ElementwiseKernel(
        "T lr, T beta1, T beta2, T eps, T clip, T t",
        "T g, T theta, T m, T v",
        "g = fmin(fmax(g, -clip), clip); m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g * g;"
        "theta -= lr * (m / (1 - pow(beta1, t))) / (sqrt(v / (1 - pow(beta2, t))) + eps);",
        "adam",
    )
    rng = np.random.default_rng(0)
    for dtype, rtol in (("float64", 1e-15), ("float32", 1e-6)):
        g0, th0, m0, v0 = (rng.standard_normal(50).astype(dtype) * 3 for _ in range(4))
        v0 = np.abs(v0)
        g, th, m, v = (cp.asarray(a) for a in (g0, th0, m0, v0))
        adam(1e-3, 0.9, 0.999, 1e-8, 5.0, 3, g, th, m, v)
        gc = np.clip(g0, -5, 5)
        m1 = 0.9 * m0 + (1 - 0.9) * gc
        v1 = 0.999 * v0 + (1 - 0.999) * gc * gc
        th1 = th0 - 1e-3 * (m1 / (1 - 0.9**3)) / (np.sqrt(v1 / (1 - 0.999**3)) + 1e-8)
        for got, want in ((g, gc), (m, m1), (v, v1), (th, th1)):
            assert cp.asnumpy(got).dtype == dtype
            np.testing.assert_allclose(cp.asnumpy(got), want, rtol=rtol, atol=rtol)  # values near 1


def test_elementwise_outputs_may_be_strided_and_inputs_broadcast(cp):
    add = cp.ElementwiseKernel("T a, T b", "T c", "c = a + b", "add")
    out = cp.asarray(np.zeros((4, 6)))
    add(cp.asarray(np.arange(4.0).reshape(4, 1) * np.ones((4, 3))), 10, out[:, ::2])
    assert cp.asnumpy(out)[:, ::2].tolist() == [[10 + r] * 3 for r in range(4)] and not cp.asnumpy(out)[:, 1::2].any()


def test_the_stand_in_is_never_picked_up_by_accident():
    """Without the fixture, `cupy` is the real one (or none): the CLI's no-GPU answer is unchanged."""
    import sys

    assert "backends.standin" not in getattr(sys.modules.get("cupy"), "__name__", "")
    r = CliRunner().invoke(app, ["backends"])
    assert "cupy   available" not in r.output


def test_the_docs_quote_the_counted_launches(standin_cupy):
    """docs/gpu.md shows `python cli.py launches` as it prints today; backends.md quotes its totals."""
    from pathlib import Path

    from backends.standin import launches

    lines = launches.table()
    docs = Path(__file__).resolve().parent.parent / "docs"
    assert all(line in (docs / "gpu.md").read_text() for line in lines)
    rows = {tuple(line.split()[:2]): [int(v.replace(",", "")) for v in line.split()[2:]] for line in lines[2:]}
    plain, fused = rows["plain", "float64"], rows["fused", "float64"]
    assert fused[0] == 4 and plain[0] == 0  # rnn_forward, softmax_xent, rnn_backward, rnn_adagrad_clip
    assert f"{plain[4]} plain, {fused[4]} fused" in (docs / "backends.md").read_text()
    assert fused[4] * 5 < plain[4] and fused[-1] == plain[-1] == 1  # one sync: the loss
