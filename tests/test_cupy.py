"""The CuPy backend: run on the CPU stand-in in every test run, and on a GPU where there is one.

Each test that computes takes `cupy_here`: "standin" runs the real CUDA source on the CPU
(backends/standin, docs: gpu.md) and always runs; "gpu" (marked gpu) runs the same checks
through the real CuPy and skips with the reason where there is no GPU.
"""

import importlib.util
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import backends
from backends.standin import compare, kernels, mutants
from cli import app
from common import gradcheck
from common.contract import Layout, Optimizer
from common.data import Corpus, Streams
from common.sampling import sample
from common.weights import init_theta
from tests.conftest import make_text, skip_unless_runnable

runner = CliRunner()
needs_cupy = pytest.mark.skipif(importlib.util.find_spec("cupy") is None, reason="cupy is not installed")
TOLERANCE = {"float64": mutants.TOLERANCE, "float32": 1e-5}  # normwise, well-conditioned weights: gpu.md


@pytest.fixture(params=["standin", pytest.param("gpu", marks=pytest.mark.gpu)])
def cupy_here(request):
    """The stand-in installed, or (marked gpu) the real CuPy on a GPU."""
    if request.param == "gpu":
        skip_unless_runnable("cupy", {})  # the reason names no kernels: these tests use fused and persistent
        return None
    return request.getfixturevalue("standin_cupy")


def shared_need(kernels_name: str, K: int, m: int, B: int, tau: int, dtype: str) -> int:
    """Bytes of shared memory per block a case needs: the persistent kernel's whole update, or fused W in shared."""
    from backends.cupy_persistent import shared_bytes

    size = np.dtype(dtype).itemsize
    return shared_bytes(m, K, tau, B, size) if kernels_name == "persistent" else (m * m + m) * size


def skip_unless_it_fits(kernels_name: str, K: int, m: int, B: int, tau: int, dtype: str) -> None:
    """Skip, with both figures, a case needing more shared memory per block than this GPU (or the stand-in) allows."""
    import cupy  # the stand-in where it is installed

    limit = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["sharedMemPerBlockOptin"]
    need = shared_need(kernels_name, K, m, B, tau, dtype)
    if need > limit:
        pytest.skip(
            f"{kernels_name} {dtype} m={m} K={K} B={B} tau={tau} needs {need:,} bytes of shared memory "
            f"per block; this GPU allows {limit:,}"
        )


@needs_cupy
def test_imports_and_says_why_it_cannot_run():
    import cupy

    from backends.cupy_backend import CupyBackend

    reason = backends.why_not("cupy")
    if cupy.cuda.is_available():
        assert reason is None or reason.startswith("no NVRTC")
    elif cupy.cuda.runtime.driverGetVersion() == 0:  # this project's machines: CUDA's own error would blame the driver
        assert reason.startswith("no NVIDIA driver here")
        assert "cupy   unavailable: no NVIDIA driver here" in runner.invoke(app, ["backends"]).output
    assert CupyBackend.why_not(kernels="turbo").startswith("--kernels must be one of")


@needs_cupy
def test_without_a_gpu_every_command_says_so_in_one_line(corpus_file, tmp_path):
    import cupy

    if cupy.cuda.is_available():
        pytest.skip("a GPU is here: the no-GPU path cannot be seen")
    for args in (
        ["train", "--backend", "cupy", "--data", str(corpus_file), "--out", str(tmp_path / "r")],
        ["gradcheck", "--backend", "cupy", "--kernels", "plain"],
        ["bench", "--backend", "cupy", "--updates", "1"],
    ):
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.output, args
        assert f"backend cupy cannot run here: {backends.why_not('cupy')}" in r.stderr
    assert not (tmp_path / "r").exists()


def test_kernels_option_belongs_to_cupy(corpus_file):
    r = runner.invoke(app, ["gradcheck", "--backend", "numpy", "--kernels", "fused", "--data", str(corpus_file)])
    assert r.exit_code == 2 and "--kernels does not apply to the numpy backend" in r.stderr


# (K, m, B, tau): K > 64 takes the 128-thread softmax block
CASES = [
    pytest.param(42, 100, 1, 25, id="W-shared-m100-B1"),
    pytest.param(80, 100, 3, 25, id="W-shared-m100-B3-K80"),
    pytest.param(80, 169, 2, 10, id="W-shared-m169-B2-K80"),  # the largest m with W in shared memory in float64
    pytest.param(42, 300, 2, 25, id="W-global-m300-B2"),
    pytest.param(80, 1100, 1, 4, id="per-step-m1100-K80"),
]
W_SHARED = [p.values for p in CASES if p.id.startswith("W-shared")]  # where the device allows it


@pytest.mark.parametrize("K, m, B, tau", CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kernels_name", ["fused", "plain"])
def test_one_update_equals_numpy(cupy_here, standin_build, kernels_name, dtype, K, m, B, tau):
    """Loss, gradient, theta, AdaGrad's M and h_tau of one update, normwise against NumPy."""
    if kernels_name == "fused" and (K, m, B, tau) in W_SHARED:
        skip_unless_it_fits("fused", K, m, B, tau, dtype)
    diff = compare.differences(K, m, B, tau, dtype, kernels_name)
    print(kernels_name, dtype, K, m, B, tau, {k: f"{v:.1e}" for k, v in diff.items()})
    assert max(diff.values()) < TOLERANCE[dtype], diff


@pytest.mark.parametrize(
    "opt, scale",
    [
        pytest.param(Optimizer("adam", 0.001, None), 1 / 25, id="adam-mean-noclip"),  # the 2025 handout
        pytest.param(Optimizer("adam", 0.01), 1.0, id="adam-sum-clip"),
        pytest.param(Optimizer("adagrad", 0.1, None), 1 / 25, id="adagrad-mean-noclip"),
    ],
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_one_update_of_every_optimizer_equals_numpy(cupy_here, standin_build, dtype, opt, scale):
    """The fused update kernels (rnn_adam_clip, rnn_adagrad_clip) and the loss scale, against NumPy."""
    diff = compare.differences(80, 100, 2, 25, dtype, "fused", opt, scale)
    assert max(diff.values()) < TOLERANCE[dtype], diff


@pytest.mark.parametrize(
    "dtype, m, in_shared",
    [("float64", 169, True), ("float64", 170, False), ("float32", 240, True), ("float32", 241, False)],
)
def test_w_in_shared_memory_up_to_the_opt_in_limit(standin_cupy, dtype, m, in_shared):
    """(m^2 + m) reals fit in an H100's 227 KB (the stand-in's figure): m <= 169 in float64, m <= 240 in float32."""
    backend = backends.load("cupy", Layout(80, m), dtype, kernels="fused")
    assert backend._w_in_shared is in_shared and backend._recurrent_kernels


def test_above_1024_hidden_units_the_recurrence_is_stepped(cupy_here):
    assert backends.load("cupy", Layout(42, 1024), "float32", kernels="fused")._recurrent_kernels
    assert not backends.load("cupy", Layout(42, 1025), "float32", kernels="fused")._recurrent_kernels


@pytest.mark.parametrize(
    "kernels_name, limit", [("fused", kernels.OPTIN_SHARED), ("fused", 0), ("plain", kernels.OPTIN_SHARED)]
)
def test_gradient_check(standin_cupy, monkeypatch, kernels_name, limit):
    """Every entry against centred differences (common/gradcheck.py); limit 0 puts W in global memory."""
    monkeypatch.setattr(kernels, "ORDERS", ["forward"])  # about 1,000 forward passes: one order each
    monkeypatch.setattr(kernels, "OPTIN_SHARED", limit)
    layout = Layout(42, 5)
    backend = backends.load("cupy", layout, "float64", kernels=kernels_name)
    if kernels_name == "fused":
        assert backend._w_in_shared is (limit > 0)
    x, y = compare.chunk(42, 4, 2)
    result = gradcheck.check(backend, compare.conditioned_theta(layout), x, y, np.full((5, 2), 0.3))
    assert gradcheck.passed(result), result


def test_gradient_check_of_the_stepped_path_along_random_directions(standin_cupy):
    """m > 1024 has a million weights: the derivative along 3 random directions per parameter instead."""
    layout = Layout(42, 1100)
    backend = backends.load("cupy", layout, "float64", kernels="fused")
    theta, (x, y) = compare.conditioned_theta(layout), compare.chunk(42, 3, 1)
    h0 = backend.to_device(np.zeros((1100, 1)))
    _, cache = backend.forward(backend.to_device(theta), x, y, h0)
    grad = backend.to_host(backend.backward(backend.to_device(theta), cache))
    rng, h = np.random.default_rng(0), 1e-4
    for name, s in layout.slices().items():
        for _ in range(3):
            d = np.zeros_like(theta)
            d[s] = rng.standard_normal(s.stop - s.start)
            d /= np.linalg.norm(d)
            plus, minus = (backend.forward(backend.to_device(theta + e * h * d), x, y, h0)[0] for e in (1, -1))
            n, a = (plus - minus) / (2 * h), grad @ d
            assert abs(a - n) / max(gradcheck.SAFE, abs(a) + abs(n)) < gradcheck.TOLERANCE, (name, a, n)


@pytest.mark.parametrize("B, limit", [(1, kernels.OPTIN_SHARED), (3, kernels.OPTIN_SHARED), (3, 0)])
def test_ten_updates_follow_numpy(standin_cupy, monkeypatch, corpus, B, limit):
    """From the CLI's sigma and M = 0, ten updates on consecutive chunks, h carried over, m = 32.

    AdaGrad's first updates divide by sqrt(M + eps) with M near 0, which multiplies rounding
    differences by up to 1e3 per update: at m = 100 the gap reaches 1e-7 by update 10 between two
    correct implementations; at m = 32 it stays near 1e-11 (docs: determinism.md).
    """
    monkeypatch.setattr(kernels, "OPTIN_SHARED", limit)  # 0: W in global memory
    m, layout, streams = 32, Layout(corpus.K, 32), Streams(corpus.ids, 25, B)
    runs = []
    for backend in (
        backends.load("cupy", layout, "float64", kernels="fused"),
        backends.load("numpy", layout, "float64"),
    ):
        theta = backend.to_device(init_theta(layout, 0.01, seed=3))
        mem, h = backend.to_device(np.zeros(layout.size)), backend.to_device(np.zeros((m, B)))
        losses = []
        for k in range(10):
            loss, h = backend.step(theta, mem, *streams.chunk(k), h, Optimizer("adagrad", 0.1), k + 1)
            losses.append(loss)
        runs.append((np.array(losses), backend.to_host(theta)))
    (l1, t1), (l0, t0) = runs
    np.testing.assert_allclose(l1, l0, rtol=1e-8)
    assert np.linalg.norm(t1 - t0) / np.linalg.norm(t0) < 1e-8


@pytest.mark.parametrize("kernels_name", ["fused", "persistent"])
def test_identical_samples(cupy_here, corpus, kernels_name):
    """Sampling through the kernels (predict launches them: tests/test_standin_gaps.py counts it) draws NumPy's text."""
    layout = Layout(corpus.K, 32)
    theta = compare.conditioned_theta(layout)
    texts = []
    for backend in (
        backends.load("cupy", layout, "float32", kernels=kernels_name),
        backends.load("numpy", layout, "float32"),
    ):
        h = backend.to_device(np.zeros((32, 1)))
        texts.append(sample(backend, backend.to_device(theta), h, [1, 2, 3], 200, np.random.default_rng(7)))
    assert texts[0] == texts[1] and len(set(texts[0])) > 5


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


SMALL = ["--hidden", "16", "--seq-length", "10", "--sample-every", "40", "--checkpoint-every", "25"]


@pytest.fixture
def one_order(monkeypatch):
    """A run through the CLI samples about 3,000 characters, a kernel launch each: one thread order is enough there
    (every other test runs each kernel in three orders with three poisons)."""
    monkeypatch.setattr(kernels, "ORDERS", ["forward"])


def test_train_through_the_cli(cupy_here, one_order, tmp_path, corpus_file):
    out = tmp_path / "run"
    r = invoke("train", "--backend", "cupy", "--data", corpus_file, *SMALL, "--updates", 80, "--out", out)
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["backend"]["name"] == "cupy"
    losses = np.loadtxt(out / "history.csv", delimiter=",", skiprows=1, ndmin=2)
    assert len(losses) == 80 and np.isfinite(losses).all()


def test_checkpoint_round_trip_numpy_cupy_numpy(cupy_here, one_order, tmp_path, corpus_file):
    """numpy -> cupy -> numpy: each leg resumes the last one's exact state (as tests/test_resume.py for torch)."""
    ref, run = tmp_path / "ref", tmp_path / "run"

    def cli(*args):
        r = invoke(*args)
        assert r.exit_code == 0, r.output

    cli("train", "--data", corpus_file, *SMALL, "--out", ref, "--updates", 61)
    cli("train", "--data", corpus_file, *SMALL, "--out", run, "--updates", 30)
    cli("train", "--resume", run, "--updates", 45, "--backend", "cupy")
    assert json.loads((run / "summary.json").read_text())["backend"]["name"] == "cupy"
    cli("train", "--resume", run, "--updates", 61, "--backend", "numpy")
    ours, theirs = (np.loadtxt(p / "history.csv", delimiter=",", skiprows=1) for p in (run, ref))
    np.testing.assert_array_equal(ours[:30], theirs[:30])
    np.testing.assert_allclose(ours[30:], theirs[30:], rtol=1e-10)  # cupy's updates differ by rounding only


def test_a_wide_alphabet_corpus_trains(cupy_here, one_order, tmp_path):
    """K > 64: the 128-thread softmax block, through the whole training loop."""
    text = make_text() + "".join(chr(c) for c in range(33, 127)) * 3
    assert Corpus("wide", text, "0" * 64).K > 64
    data = tmp_path / "wide.txt"
    data.write_text(text, encoding="utf-8")
    r = invoke("train", "--backend", "cupy", "--data", data, *SMALL, "--updates", 30, "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
