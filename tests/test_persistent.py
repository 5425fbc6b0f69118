"""--kernels persistent: one launch per update (backends/cupy_persistent.cu, docs: gpu.md#one-kernel-per-update).

Each test that computes takes `cupy_here` (tests/test_cupy.py): the CPU stand-in always, and
(marked gpu) the real CuPy where there is a GPU, so `pytest -m gpu` runs the kernel on one.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

import backends
from backends import cupy_persistent
from backends.standin import compare, kernels, mutants
from common import gradcheck
from common.contract import Layout, Optimizer
from common.errors import BadInput
from tests import test_cupy
from tests.conftest import assert_one_line_error, cli
from tests.test_cupy import TOLERANCE

cupy_here = test_cupy.cupy_here  # the fixture: the stand-in, or (marked gpu) a real GPU

ROOT = Path(__file__).resolve().parent.parent
ADAM_2025 = Optimizer("adam", 0.001, None)  # the 2025 handout: Adam, no clipping, the mean loss
TEN_UPDATES = 1e-10  # float64: measured up to 2e-13, with FMA or another BLAS kernel or SIMD level (gpu.md)
FLOAT32 = 10  # float32: at most 10 times NumPy float32's own error (measured up to 3.9 times, gpu.md)


ONE_UPDATE = [
    pytest.param(80, 100, 1, 25, id="m100-K80"),  # the assignment's sizes on goblet_book.txt
    pytest.param(compare.DEFAULT_K, 100, 1, 25, id="m100-Kdefault"),  # the built-in text: gpu.md's largest K
    pytest.param(42, 16, 3, 10, id="m16-B3"),
]
PRESET_2025 = (80, 32, 2, 25)  # K, m, B, tau


@pytest.mark.parametrize("K, m, B, tau", ONE_UPDATE)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_persistent_one_update_equals_numpy(cupy_here, standin_build, dtype, K, m, B, tau):
    """Loss, the kernel's own gradient, theta, AdaGrad's M and h_tau of one update, normwise against NumPy."""
    test_cupy.skip_unless_it_fits("persistent", K, m, B, tau, dtype)
    diff = compare.differences(K, m, B, tau, dtype, "persistent")
    print(dtype, K, m, B, tau, {k: f"{v:.1e}" for k, v in diff.items()})
    assert max(diff.values()) < TOLERANCE[dtype], diff


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_persistent_one_update_of_the_2025_preset_equals_numpy(cupy_here, standin_build, dtype):
    test_cupy.skip_unless_it_fits("persistent", *PRESET_2025, dtype)
    diff = compare.differences(*PRESET_2025, dtype, "persistent", ADAM_2025, 1 / 25)
    assert max(diff.values()) < TOLERANCE[dtype], diff


@pytest.mark.parametrize("preset, opt, scale", [("classic", Optimizer(), 1.0), ("2025", ADAM_2025, 1 / 25)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kernels_name", ["persistent", "fused"])
def test_persistent_and_fused_ten_updates_follow_numpy(
    cupy_here, standin_build, kernels_name, dtype, preset, opt, scale
):
    """Ten updates on ten chunks, h carried over (K = 42, m = 32, B = 1), against NumPy in float64 (docs: gpu.md).

    float32 against float64: each result within FLOAT32 times NumPy float32's own error, measured here.
    """

    def run(name: str, dtype: str, **options) -> dict[str, np.ndarray]:
        return compare.ten_updates_run(backends.load(name, Layout(42, 32), dtype, **options), 42, 25, opt, scale)

    ref = run("numpy", "float64")
    diff = compare.relative(run("cupy", dtype, kernels=kernels_name), ref)
    if dtype == "float64":
        assert max(diff.values()) < TEN_UPDATES, diff
    else:
        numpy32 = compare.relative(run("numpy", dtype), ref)
        assert all(diff[k] <= FLOAT32 * numpy32[k] for k in diff), (diff, numpy32)


def test_persistent_gradient_check_sees_the_kernels_own_bptt(standin_cupy, monkeypatch, tmp_path):
    """Every entry against centred differences, both from rnn_step; a BPTT bug planted in the kernel fails it."""
    monkeypatch.setattr(kernels, "ORDERS", ["forward"])  # about 1,000 launches: one run each
    layout = Layout(42, 5)
    x, y = compare.chunk(42, 6, 2)
    theta, h0 = compare.conditioned_theta(layout), np.full((5, 2), 0.3)
    kernels.launched.clear()
    result = gradcheck.check(backends.load("cupy", layout, "float64", kernels="persistent"), theta, x, y, h0)
    assert gradcheck.passed(result), result
    assert set(kernels.launched) == {"rnn_step"}  # forward and backward were the one kernel
    broken = tmp_path / "broken.cu"
    broken.write_text(dict(mutants.mutants("persistent"))["backward: tanh' of h_{t-1}"])
    monkeypatch.setattr(cupy_persistent, "SOURCE", broken)
    result = gradcheck.check(backends.load("cupy", layout, "float64", kernels="persistent"), theta, x, y, h0)
    assert not gradcheck.passed(result) and result["W"].rel_error > 1e-3, result


def test_the_gradcheck_command_checks_the_persistent_kernel(standin_cupy, monkeypatch, corpus_file):
    monkeypatch.setattr(kernels, "ORDERS", ["forward"])
    kernels.launched.clear()
    args = ["gradcheck", "--backend", "cupy", "--kernels", "persistent", "--hidden", 3, "--seq-length", 6]
    r = cli(*args, "--data", corpus_file)
    assert r.exit_code == 0 and "PASSED" in r.output, r.output
    assert set(kernels.launched) == {"rnn_step"}


def test_persistent_update_is_one_launch_one_copy_in_one_copy_out(standin_cupy):
    """The launches column of `python cli.py launches` reads 1; x and y go in from pinned memory without a wait."""
    from backends.standin import launches

    tally = launches.per_update("persistent", "float64", K=42, m=16, B=2, tau=10)
    assert tally["custom"] == 1 and sum(tally[k] for k in ("elementwise", "reduction", "cublas")) == 0
    assert (tally["h2d"], tally["h2d_bytes"], tally["d2h"], tally["d2h_bytes"]) == (1, 2 * 10 * 2 * 8, 1, 8)
    assert tally["sync"] == 1  # the loss: the H2D copy was asynchronous, so its buffer is pinned


def test_shared_memory_need_and_the_refusal(standin_cupy):
    """The need of the issue's sizes, and one line with both figures and the kernels that still work beyond it."""
    need, K = cupy_persistent.shared_bytes, compare.DEFAULT_K
    assert need(100, 80, 25, 1, 8) == 209_200  # W^T, V^T padded; H, G, DA; partial sums; column stats
    assert need(100, K, 25, 1, 8) <= kernels.OPTIN_SHARED < need(100, K, 26, 1, 8)
    stated = re.search(r"([\d,]+) with K = (\d+) \(the built-in text\)", (ROOT / "docs" / "gpu.md").read_text())
    assert stated and (int(stated[1].replace(",", "")), int(stated[2])) == (need(100, K, 25, 1, 8), K), "gpu.md"
    too_wide = f"needs {need(130, K, 1, 1, 8):,} bytes of shared memory for m=130, K={K}, seq_length=1"
    with pytest.raises(BadInput, match=too_wide + ", batch 1, float64, and this GPU gives one block 232,448"):
        backends.load("cupy", Layout(K, 130), "float64", kernels="persistent")  # W and V alone do not fit
    backend = backends.load("cupy", Layout(K, 100), "float64", kernels="persistent")
    theta, mem = (backend.to_device(np.zeros(backend.layout.size)) for _ in range(2))
    x, h = np.zeros((26, 1), dtype=np.int64), backend.to_device(np.zeros((100, 1)))
    too_long = f"needs {need(100, K, 26, 1, 8):,} bytes .* seq_length=26, batch 1, .* plain still work$"
    with pytest.raises(BadInput, match=too_long):
        backend.step(theta, mem, x, x, h, Optimizer(), 1)


def test_a_persistent_run_refused_in_one_line(standin_cupy, tmp_path, corpus_file):
    r = cli(
        *("train", "--backend", "cupy", "--kernels", "persistent", "--hidden", 200),
        *("--data", corpus_file, "--out", tmp_path / "r"),
    )
    assert_one_line_error(r, 2, "--kernels persistent needs")
    assert "--kernels fused and --kernels plain still work" in r.stderr and not (tmp_path / "r").exists()


def test_the_forward_pass_of_a_long_text_goes_in_pieces(cupy_here):
    """Validation reads 1,000 characters at a time: more steps than one block holds at once."""
    layout = Layout(42, 16)
    theta, (x, y) = compare.conditioned_theta(layout), compare.chunk(42, 1000, 1)
    results = []
    for backend in (
        backends.load("cupy", layout, "float64", kernels="persistent"),
        backends.load("numpy", layout, "float64"),
    ):
        loss, cache = backend.forward(backend.to_device(theta), x, y, backend.to_device(np.full((16, 1), 0.1)))
        results.append((loss, backend.to_host(cache.H[-1])))
    (l1, h1), (l0, h0) = results
    assert abs(l1 - l0) / l0 < 1e-13 and np.linalg.norm(h1 - h0) / np.linalg.norm(h0) < 1e-13


SMALL = ["--hidden", 8, "--seq-length", 10, "--sample-every", 40, "--checkpoint-every", 25]
one_order = test_cupy.one_order  # the fixture: a run through the CLI launches a kernel per sampled character


def test_persistent_trains_checkpoints_and_resumes_exactly(cupy_here, one_order, tmp_path, corpus_file):
    """Straight to 60 updates, or 30 then resumed to 60: the same run bit for bit (and a validation loss)."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    common = ["train", "--backend", "cupy", "--kernels", "persistent", "--data", corpus_file, *SMALL]
    common += ["--validation", 0.1, "--validate-every", 30]
    for out, stops in ((straight, [60]), (resumed, [30, 60])):
        r = cli(*common, "--out", out, "--updates", stops[0])
        assert r.exit_code == 0, r.output
        for more in stops[1:]:
            r = cli("train", "--resume", out, "--updates", more)
            assert r.exit_code == 0, r.output
    histories = [np.loadtxt(p / "history.csv", delimiter=",", skiprows=1) for p in (straight, resumed)]
    np.testing.assert_array_equal(*histories)
    summary = json.loads((resumed / "summary.json").read_text())
    assert summary["backend"]["name"] == "cupy" and len(histories[0]) == 60


def test_persistent_stops_on_a_non_finite_loss(cupy_here, one_order, tmp_path, corpus_file):
    """--eta 1e308 sends theta to 1e308 in one update: V h overflows, and the run stops with its best model saved."""
    r = cli(
        *("train", "--backend", "cupy", "--kernels", "persistent", "--data", corpus_file, *SMALL),
        *("--eta", "1e308", "--updates", 30, "--out", tmp_path / "r"),
    )
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
    assert lines[0].startswith("warning: --eta 1e+308 is far above") and len(lines) == 2
    assert lines[1].startswith("error: the loss became nan at update 2; training stopped")
    assert (tmp_path / "r" / "best.npz").exists()
