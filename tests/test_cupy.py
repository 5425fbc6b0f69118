"""The CuPy backend: its no-GPU path here, its kernels' source, and on a GPU its fused kernels.

The shared body (NumPy's, run with xp = cupy) is tested through NumPy everywhere; gradient
checks, training and cross-backend equivalence run the cupy variants through the common
fixtures (tests/conftest.py) wherever a GPU exists.
"""

import importlib.util
import shutil
import subprocess

import numpy as np
import pytest
from typer.testing import CliRunner

import backends
from cli import app
from common.contract import Layout, Optimizer
from common.data import Streams
from common.weights import init_theta
from tests.conftest import skip_unless_runnable

runner = CliRunner()
needs_cupy = pytest.mark.skipif(importlib.util.find_spec("cupy") is None, reason="cupy is not installed")


@needs_cupy
def test_imports_and_says_why_it_cannot_run():
    import cupy

    from backends.cupy_backend import CupyBackend

    reason = backends.why_not("cupy")
    if cupy.cuda.is_available():
        assert reason is None
    else:
        assert "no usable CUDA GPU" in reason and "is_available() is False" in reason
        assert "cupy   unavailable: CuPy sees no usable CUDA GPU" in runner.invoke(app, ["backends"]).output
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
        assert "backend cupy cannot run here: CuPy sees no usable CUDA GPU" in r.stderr
    assert not (tmp_path / "r").exists()


def test_kernels_option_belongs_to_cupy(corpus_file):
    r = runner.invoke(app, ["gradcheck", "--backend", "numpy", "--kernels", "fused", "--data", str(corpus_file)])
    assert r.exit_code == 2 and "--kernels does not apply to the numpy backend" in r.stderr


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed (it is on the GPU machines)")
@pytest.mark.parametrize("real", ["float", "double"])
def test_the_kernel_source_compiles(tmp_path, real):
    """What CuPy compiles at run time (NVRTC), compiled here ahead of time by nvcc for Hopper."""
    r = subprocess.run(
        [
            "nvcc",
            f"-DREAL={real}",
            "--gpu-architecture=sm_90",
            "-c",
            "-o",
            str(tmp_path / "k.o"),
            "backends/cupy_kernels.cu",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr


def one_step(kernels, dtype, corpus, m, B, tau=25):
    layout = Layout(corpus.K, m)
    backend = backends.load("cupy", layout, dtype, kernels=kernels)
    x, y = Streams(corpus.ids, tau, B).chunk(2)
    theta = init_theta(layout, 0.2, seed=4)
    h0 = np.random.default_rng(0).uniform(-0.5, 0.5, (m, B))
    th, me = backend.to_device(theta), backend.to_device(np.full(layout.size, 0.01))
    _, cache = backend.forward(th, x, y, backend.to_device(h0))
    grad = backend.to_host(backend.backward(th, cache))
    loss, h = backend.step(th, me, x, y, backend.to_device(h0), Optimizer("adagrad", 0.1), 1)
    return loss, grad, backend.to_host(th), backend.to_host(me), backend.to_host(h)


@pytest.mark.gpu
@pytest.mark.parametrize("m, B", [(100, 1), (64, 7), (300, 2), (1100, 1)])  # W in shared, in global, loop path
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_fused_kernels_equal_the_plain_body_and_numpy(corpus, m, B, dtype, rtol):
    skip_unless_runnable("cupy", {"kernels": "fused"})
    fused = one_step("fused", dtype, corpus, m, B)
    plain = one_step("plain", dtype, corpus, m, B)
    layout = Layout(corpus.K, m)
    ref = backends.load("numpy", layout, dtype)
    x, y = Streams(corpus.ids, 25, B).chunk(2)
    theta = init_theta(layout, 0.2, seed=4)
    h0 = np.random.default_rng(0).uniform(-0.5, 0.5, (m, B))
    _, cache = ref.forward(ref.to_device(theta), x, y, ref.to_device(h0))
    g = ref.backward(ref.to_device(theta), cache)
    th, me = ref.to_device(theta), ref.to_device(np.full(layout.size, 0.01))
    loss, h = ref.step(th, me, x, y, ref.to_device(h0), Optimizer("adagrad", 0.1), 1)
    expected = (loss, g, th, me, h)
    for got in (fused, plain):
        assert got[0] == pytest.approx(expected[0], rel=rtol)
        for a, e in zip(got[1:], expected[1:]):
            np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * 1e-2)
