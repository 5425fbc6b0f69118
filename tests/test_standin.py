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
extern "C" __global__ void own_shared(double* out) {
    extern __shared__ double s[];
    if (threadIdx.x == 0) s[0] = blockIdx.x;
    __syncthreads();
    out[blockIdx.x * blockDim.x + threadIdx.x] = s[0];  // each block sees its own shared memory
}
extern "C" __global__ void across_blocks(double* flag, double* out) {
    if (blockIdx.x == 0 && threadIdx.x == 0) flag[0] = 1;
    __syncthreads();  // a barrier orders the threads of one block, never two blocks
    if (blockIdx.x == 1 && threadIdx.x == 0) out[0] = flag[0];
}
extern "C" __global__ void max_of_written(const double* a, double* out, int n) {
    extern __shared__ double red[];
    if (threadIdx.x < n) red[threadIdx.x] = a[threadIdx.x];  // the others write nothing
    __syncthreads();
    if (threadIdx.x == 0) {
        double mx = red[0];
        for (int k = 1; k < blockDim.x; ++k) mx = fmax(mx, red[k]);  // reads entries nobody wrote
        out[0] = mx;
    }
}
extern "C" __global__ void __launch_bounds__(64) bounded(double* out) {
    out[threadIdx.x] = 1;
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


def test_each_block_has_its_own_shared_memory_however_blocks_interleave(cp, monkeypatch):
    monkeypatch.setattr(kernels, "ORDERS", ["forward", "reverse", "random:1", "random:2"])
    out = cp.empty(8 * 32, dtype=np.float64)
    kernel("own_shared")((8,), (32,), (out,), shared_mem=8)
    assert cp.asnumpy(out).tolist() == [b for b in range(8) for _ in range(32)]


def test_blocks_that_talk_between_barriers_race(cp):
    """Block 1 reads what block 0 writes before a barrier: right when block 0 runs first, not when it runs last."""
    flag, out = cp.asarray(np.zeros(1)), cp.asarray(np.zeros(1))
    with pytest.raises(RaceError, match="across_blocks: out differs between runs forward .* and reverse"):
        kernel("across_blocks")((2,), (32,), (flag, out))


def test_a_max_over_entries_nobody_wrote_shows_with_a_finite_poison(cp, monkeypatch):
    """fmax(NaN, x) = x: with NaN in the unwritten entries the max is right; with 1.4e306 it is not."""
    a, out = cp.asarray(np.arange(40.0)), cp.empty(1, dtype=np.float64)
    monkeypatch.setattr(kernels, "POISONS", {"nan": 0xFF})
    kernel("max_of_written")((1,), (64,), (a, out, np.int32(40)), shared_mem=64 * 8)
    assert cp.asnumpy(out).tolist() == [39.0]  # the old stand-in: NaN everywhere, and the bug passes
    monkeypatch.undo()
    with pytest.raises(
        RaceError, match=r"out differs between runs forward \(poison nan\) and reverse \(poison \+huge\)"
    ):
        kernel("max_of_written")((1,), (64,), (a, out, np.int32(40)), shared_mem=64 * 8)


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
    with pytest.raises(LaunchError, match=r"more threads than the kernel's __launch_bounds__\(64\)"):
        kernel("bounded")((1,), (65,), (cp.empty(65, dtype=np.float64),))
    k.max_dynamic_shared_size_bytes = 100_000  # the opt-in: now 100,000 bytes may be asked for
    k((1,), (32,), (a, out, n), shared_mem=100_000)
    assert cp.asnumpy(out).tolist() == [*range(1, 8), 0]


def test_a_static_shared_array_is_refused():
    """One C++ static would be shared by every interleaved block: only extern __shared__ runs here."""
    from backends.standin.compile import CompileError

    source = 'extern "C" __global__ void k(double* out) { __shared__ double s[32]; s[0] = 1; out[0] = s[0]; }'
    with pytest.raises(CompileError, match="static __shared__"):
        kernels.RawKernel(source, "k")


def test_copies_from_pinned_memory_do_not_wait(cp):
    """ndarray.set from pinned host memory is asynchronous; from pageable memory CUDA may wait; get waits."""
    pinned = np.frombuffer(cp.cuda.alloc_pinned_memory(8 * 4), np.float64)
    device = cp.empty(4, dtype=np.float64)
    arrays.tally.clear()
    device.set(pinned)
    assert (arrays.tally["h2d"], arrays.tally["sync"]) == (1, 0)
    device.set(np.zeros(4))
    assert (arrays.tally["h2d"], arrays.tally["sync"]) == (2, 1)
    device.get(out=pinned)
    assert (arrays.tally["d2h"], arrays.tally["sync"]) == (1, 2)


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
    """docs/gpu.md shows `python cli.py launches` as it prints (docs/make/gpu_tables.py); backends.md its totals."""
    from pathlib import Path

    from backends.standin import launches

    lines = launches.table()
    docs = Path(__file__).resolve().parent.parent / "docs"
    assert all(line in (docs / "make" / "gpu_launches.md").read_text() for line in lines), (
        "run: python docs/make/gpu_tables.py launches"
    )
    assert '--8<-- "docs/make/gpu_launches.md"' in (docs / "gpu.md").read_text()
    rows = {tuple(line.split()[:2]): [int(v.replace(",", "")) for v in line.split()[2:]] for line in lines[2:-1]}
    plain, fused, persistent = (rows[k, "float64"] for k in ("plain", "fused", "persistent"))
    assert fused[0] == 4 and plain[0] == 0  # rnn_forward, softmax_xent, rnn_backward, rnn_adagrad_clip
    assert persistent[:5] == [1, 0, 0, 0, 1] and persistent[-2] == 1  # one launch, one sync (the loss)
    assert f"{plain[4]} plain, {fused[4]} fused, {persistent[4]} persistent" in (docs / "backends.md").read_text()
    assert fused[4] * 5 < plain[4] and fused[-2] == plain[-2] == 3  # the loss, and bincount's two checks
    assert persistent[-1] < fused[-1] < plain[-1]  # the estimated microseconds


def test_launches_counts_with_the_default_texts_K(monkeypatch):
    """Issue 25: `python cli.py launches` takes the K of the text `train` and `bench` use without --data."""
    from backends.standin import launches
    from common.data import builtin_corpus

    asked = []
    monkeypatch.setattr(launches, "table", lambda m, tau, B, K: asked.append(K) or ["heading", f"K={K}", "note"])
    monkeypatch.setattr(launches, "numpy_line", lambda m, tau, B, K: asked.append(K) or "numpy")
    r = CliRunner().invoke(app, ["launches"])
    assert r.exit_code == 0 and f"\nK={builtin_corpus().K}\n" in r.output and r.output.endswith("\nnumpy\n"), r.output
    assert asked == [builtin_corpus().K] * 2
