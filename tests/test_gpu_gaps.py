"""The GPU path ready for its first real GPU (issue 28; docs: gpu.md), each item through the stand-in.

What a GPU user would hit first: an install without NVRTC, a CUDA error reported as "no GPU", tests
that assume an H100's shared memory, `pytest -m gpu` needing mkdocs, three kernel mistakes no case
exposed, a blocking copy of the best model, and speed constants without a named GPU.
"""

import dataclasses
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import backends
from backends.standin import compare, kernels, mutants, speed
from cli import app
from common.contract import Layout, Optimizer
from common.errors import BadInput
from tests import test_cupy, test_persistent
from tests.test_cupy import TOLERANCE
from tests.test_standin_gaps import verdict

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_the_gpu_extra_brings_nvrtc_and_make_test_keeps_the_light_one():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["gpu"] == ["cupy-cuda13x[ctk]>=14"] and extras["gpu-cuda12"] == ["cupy-cuda12x[ctk]>=14"]
    assert "'.[dev,torch,docs,cuda13]'" in (ROOT / "Makefile").read_text()
    assert "pip install -c constraints.txt -e '.[dev,torch,gpu]'" in (ROOT / "README.md").read_text()
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    assert "nvidia-cuda-nvrtc" in pins and pins["cupy-cuda13x"].startswith("14.")


def test_cupy_says_what_is_missing(standin_cupy, monkeypatch):
    """No driver, an old driver, no device: each in its own words; NVRTC missing is said too."""
    cuda, runtime = standin_cupy.cuda, standin_cupy.cuda.runtime
    assert backends.why_not("cupy") is None  # the stand-in: a driver, a device, NVRTC (g++)
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    monkeypatch.setattr(runtime, "driverGetVersion", lambda: 0)
    assert backends.why_not("cupy") == "no NVIDIA driver here"

    def old_driver():
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version")

    monkeypatch.setattr(runtime, "driverGetVersion", lambda: 12020)
    monkeypatch.setattr(runtime, "getDeviceCount", old_driver)
    assert backends.why_not("cupy") == (
        "cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version "
        "(driver 12.2, CuPy's CUDA 13.0)"
    )
    monkeypatch.setattr(runtime, "getDeviceCount", lambda: 0)
    assert backends.why_not("cupy") == "CUDA finds no GPU here"

    def no_nvrtc():
        raise OSError('Failure finding "libnvrtc.so.13"')

    monkeypatch.setattr(cuda, "is_available", lambda: True)
    monkeypatch.setattr(cuda.nvrtc, "getVersion", no_nvrtc)
    reason = "no NVRTC to compile kernels (OSError): pip install -c constraints.txt '.[gpu]'"
    assert backends.why_not("cupy") == reason
    out = runner.invoke(app, ["backends"]).output
    assert "cupy   unavailable: no NVRTC" in out and max(len(line) for line in out.splitlines()) <= 80
    r = runner.invoke(app, ["gradcheck", "--backend", "cupy", "--kernels", "fused"])
    assert r.exit_code == 2 and r.stderr == f"error: backend cupy cannot run here: {reason}\n"


# (kernels, dtype, K, m, B, tau) of every case that asks for shared memory, from the tests that run them
CASES = [("persistent", d, *p.values) for p in test_persistent.ONE_UPDATE for d in ("float64", "float32")]
CASES += [("persistent", d, *test_persistent.PRESET_2025) for d in ("float64", "float32")]
CASES += [("fused", d, *case) for case in test_cupy.W_SHARED for d in ("float64", "float32")]


@pytest.mark.parametrize(
    "limit, skipped",
    [
        (kernels.OPTIN_SHARED, []),  # an H100: every case fits
        (166_912, [("persistent", "float64", 100), ("persistent", "float64", 100), ("fused", "float64", 169)]),  # A100
        (  # sm_89 (an L40S, an RTX 4090): float32 too
            101_376,
            [("persistent", "float64", 100), ("persistent", "float32", 100)] * 2
            + [("fused", "float64", 169), ("fused", "float32", 169)],
        ),
    ],
)
def test_cases_that_do_not_fit_the_device_skip_with_the_reason(standin_cupy, monkeypatch, limit, skipped):
    monkeypatch.setattr(kernels, "OPTIN_SHARED", limit)
    seen = []
    for kernels_name, dtype, K, m, B, tau in CASES:
        try:
            test_cupy.skip_unless_it_fits(kernels_name, K, m, B, tau, dtype)
        except pytest.skip.Exception as e:
            assert f"per block; this GPU allows {limit:,}" in str(e)
            seen.append((kernels_name, dtype, m))
            if kernels_name == "persistent":  # the reason is the code's own: it refuses the case
                with pytest.raises(BadInput, match="needs .* bytes of shared memory"):
                    backends.load("cupy", Layout(K, m), dtype, kernels="persistent")._persistent.check(tau, B)
            else:  # fused falls back to W in global memory: the case would not test what it says
                assert not backends.load("cupy", Layout(K, m), dtype, kernels="fused")._w_in_shared
    assert sorted(seen) == sorted(skipped)


def test_pytest_m_gpu_collects_and_runs_without_mkdocs(tmp_path):
    """mkdocs made unimportable (a package of that name that raises): the gpu tests still collect and run."""
    (tmp_path / "mkdocs").mkdir()
    (tmp_path / "mkdocs" / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'mkdocs'\")\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    blocked = subprocess.run([sys.executable, "-c", "import mkdocs"], env=env, capture_output=True, text=True)
    assert "No module named 'mkdocs'" in blocked.stderr  # the premise: the docs extra is not there
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0 and "ERROR" not in r.stdout, r.stdout[-2000:]
    assert int(re.search(r"(\d+) (passed|skipped)", r.stdout).group(1)) >= 50, r.stdout[-500:]


MEAN = 1 / 8  # the mean loss over tau = 8 steps
CLIPS = [mutants.MEAN_THAT_CLIPS, Optimizer("adam", 0.01, clip=0.05)]


@pytest.mark.parametrize("opt", CLIPS, ids=["adagrad", "adam"])
@pytest.mark.parametrize("kernels_name", ["fused", "persistent"])
def test_a_mean_loss_with_a_clip_that_binds(standin_cupy, kernels_name, opt):
    layout = Layout(42, 16)
    x, y = compare.chunk(42, 8, 2)
    numpy = backends.load("numpy", layout, "float64")
    theta = numpy.to_device(compare.conditioned_theta(layout))
    _, cache = numpy.forward(theta, x, y, np.random.default_rng(1).uniform(-0.5, 0.5, (16, 2)))
    g = np.abs(numpy.backward(theta, cache)) * MEAN
    assert (g > opt.clip).sum() > 50 and (g > 0).sum() > 2 * (g > opt.clip).sum()  # the premise: it binds, not all
    diff = compare.differences(42, 16, 2, 8, "float64", kernels_name, opt, MEAN)
    assert max(diff.values()) < TOLERANCE["float64"], diff


OLD = mutants.CASES["persistent"][:3]  # the cases before issue 28
NEW = {  # the new mutant, the case that kills it, and how
    "update: clipped before the mean's 1/tau": (mutants.CASES["persistent"][3], "differs from NumPy"),
    "chains: partial sums added in pairs": (mutants.CASES["persistent"][4], "differs from NumPy"),
    "chains: a one-warp block skips a barrier": (mutants.CASES["persistent"][5], "RaceError"),
}


@pytest.mark.parametrize("bug", list(NEW))
def test_each_new_mutant_slips_through_the_old_cases_and_its_case_kills_it(standin_cupy, bug):
    case, how = NEW[bug]
    assert all(
        verdict("persistent", bug, old, orders=["forward", "reverse"], poisons=["nan"]) == "not caught" for old in OLD
    )
    caught = verdict("persistent", bug, case)
    assert caught.startswith(how), caught
    if how == "differs from NumPy":  # by far more than rounding on any machine (1e-10 would hold ten updates)
        assert min(float(v) for v in re.findall(r" ([0-9.]+e[-+]\d+)", caught)) > 1e-6, caught


def test_the_new_cases_are_what_they_say():
    """Q odd and below m; one warp: Q * B * m <= 32; the mean's clip binds (tested above)."""
    from backends.cupy_persistent import threads_per_row

    odd, warp = mutants.CASES["persistent"][4], mutants.CASES["persistent"][5]
    assert threads_per_row(odd.m, odd.B) % 2 == 1 and threads_per_row(odd.m, odd.B) < odd.m
    assert threads_per_row(warp.m, warp.B) * warp.B * warp.m <= 32
    assert all(threads_per_row(c.m, c.B) == 8 and threads_per_row(c.m, c.B) * c.B * c.m > 32 for c in OLD)


def test_a_training_update_is_one_launch_and_one_wait():
    """Counted through common/run/train.py on the stand-in: a new best adds two device copies, no wait."""
    from common.tools import train_update

    found = train_update.tallies("persistent", B=1)
    assert len(found["new best"]) > 10 and len(found["update"]) > 0  # both kinds happen early in training
    for tally in found["update"]:
        assert train_update.summary(tally) == {"launches": 1, "waits": 1, "in": 1, "out": 1, "device copies": 0}
    for tally in found["new best"]:
        assert train_update.summary(tally) == {"launches": 1, "waits": 1, "in": 1, "out": 1, "device copies": 2}
    lines = train_update.lines()
    assert max(len(line) for line in lines) <= 80 and "device copies 2" in lines[2]


one_order = test_cupy.one_order  # the fixture: a run through the CLI launches a kernel per sampled character


def test_the_best_model_is_written_from_the_device(standin_cupy, one_order, tmp_path, corpus_file):
    """A run through the CLI: best.npz and the checkpoint hold the same best model, copied out when written."""
    args = ["train", "--backend", "cupy", "--kernels", "persistent", "--hidden", 8, "--seq-length", 10]
    args += ["--updates", 30, "--sample-every", 0, "--data", corpus_file, "--out", tmp_path / "r"]
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    best, last = (np.load(tmp_path / "r" / f) for f in ("best.npz", "checkpoint.npz"))
    params = Layout(best["U"].shape[1], 8).unpack(last["best_theta"])
    assert all(np.array_equal(best[k], getattr(params, k)) for k in ("U", "W", "V", "b", "c"))
    assert np.array_equal(best["h"], last["best_h"]) and best["h"].shape == (8, 1) and np.isfinite(best["h"]).all()


def test_every_speed_constant_names_its_gpu_or_is_an_assumption():
    gpus = re.compile(r"\b(H100|A100|V100)\b")
    for name, c in speed.CONSTANTS.items():
        assert c.source.startswith("assumption") or gpus.search(c.source), name
        if "kokkos" in c.source.lower():  # the pull request names no GPU
            assert c.source.startswith("assumption"), name
    said = " ".join(speed.__doc__.split())
    assert "CuPy's own Python overhead per call" in said and "is not in the estimate" in said


OWN = """
from backends.numpy_backend import NumpyBackend


class Mine:  # the contract's methods, and no copy
    def __init__(self, layout, dtype="float64"):
        self.b, self.layout, self.dtype, self.device = NumpyBackend(layout, dtype), layout, dtype, "cpu"

    def to_device(self, a):
        return self.b.to_device(a)

    def to_host(self, a):
        return self.b.to_host(a)

    def forward(self, *args):
        return self.b.forward(*args)

    def backward(self, *args):
        return self.b.backward(*args)

    def update(self, *args):
        return self.b.update(*args)

    def step(self, *args):
        return self.b.step(*args)

    def predict(self, *args):
        return self.b.predict(*args)
"""


def test_a_backend_of_ones_own_without_copy_keeps_its_best_model_through_the_host(tmp_path, corpus):
    from common.run.config import Config
    from common.run.train import start, train
    from common.weights import init_theta

    (tmp_path / "mine.py").write_text(OWN)
    layout = Layout(corpus.K, 8)
    backend = backends.load(f"{tmp_path / 'mine.py'}:Mine", layout, "float64")
    cfg = Config(hidden=8, seq_length=10, updates=30, eta=0.5, sample_every=0)
    state = train(backend, corpus, cfg, start(backend, init_theta(layout, cfg.sigma, 1), 1))
    short = dataclasses.replace(cfg, updates=state.best_update)
    again = train(backend, corpus, short, start(backend, init_theta(layout, cfg.sigma, 1), 1))
    assert state.best_theta is not state.theta and np.array_equal(state.best_theta, again.theta)
    theirs = backends.load("numpy", layout, "float64")
    a = theirs.to_device(np.arange(3.0))
    assert theirs.copy(a) is not a and np.array_equal(theirs.copy(a), a)
