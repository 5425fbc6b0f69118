"""The PyTorch backend's own promises: autograd as an oracle, options, and life without torch."""

import importlib.util
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import backends
from cli import app
from common.contract import Layout, Optimizer, opt_state_size
from common.data import Streams
from common.weights import init_theta
from tests.conftest import skip_unless_runnable

runner = CliRunner()


def gradient(variant, layout, theta, x, y, h0):
    name, options = variant
    b = backends.load(name, layout, "float64", **options)
    th = b.to_device(theta)
    _, cache = b.forward(th, x, y, b.to_device(h0))
    return b.to_host(b.backward(th, cache))


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("m, tau, B, sigma", [(5, 25, 1, 0.01), (30, 25, 1, 0.3), (16, 12, 4, 0.5)])
def test_manual_bptt_and_numpy_agree_with_autograd(corpus, m, tau, B, sigma):
    skip_unless_runnable("torch", {"device": "cpu"})
    layout = Layout(corpus.K, m)
    x, y = Streams(corpus.ids, tau, B).chunk(3)
    theta = init_theta(layout, sigma, seed=11)
    h0 = np.random.default_rng(5).uniform(-0.8, 0.8, (m, B))
    oracle = gradient(("torch", {"device": "cpu", "grad": "autograd"}), layout, theta, x, y, h0)
    for variant in (("torch", {"device": "cpu"}), ("numpy", {})):
        g = gradient(variant, layout, theta, x, y, h0)
        for name, s in layout.slices().items():
            assert rel(g[s], oracle[s]) < 1e-12, (variant, name, rel(g[s], oracle[s]))


def test_device_and_grad_options_give_one_clear_line(corpus_file):
    skip_unless_runnable("torch", {"device": "cpu"})
    cases = [
        (["--backend", "numpy", "--device", "cpu"], "--device does not apply to the numpy backend"),
        (["--backend", "torch", "--device", "tpu9"], "is not a device torch knows"),
        (["--backend", "torch", "--grad", "finite"], "'finite' is not one of"),
    ]
    import torch

    if not torch.cuda.is_available():
        cases.append((["--backend", "torch", "--device", "cuda"], "torch sees no CUDA GPU here"))
    for args, message in cases:
        r = runner.invoke(app, ["gradcheck", "--data", str(corpus_file), *args])
        assert r.exit_code == 2, r.output
        assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.output


def test_without_torch_installed(monkeypatch, corpus_file):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    assert "torch is not installed" in backends.why_not("torch")
    r = runner.invoke(app, ["backends"])
    assert "torch  unavailable: torch is not installed (pip install" in r.output
    r = runner.invoke(app, ["train", "--backend", "torch", "--data", str(corpus_file), "--updates", "2"])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert "backend torch cannot run here: torch is not installed" in r.stderr and "try --backend numpy" in r.stderr


def test_summary_records_the_device(tmp_path, corpus_file):
    skip_unless_runnable("torch", {"device": "cpu"})
    out = tmp_path / "run"
    r = runner.invoke(
        app,
        [
            "train",
            "--backend",
            "torch",
            "--device",
            "cpu",
            "--data",
            str(corpus_file),
            "--updates",
            "5",
            "--hidden",
            "8",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads((out / "summary.json").read_text())["backend"] == {
        "name": "torch",
        "dtype": "float64",
        "device": "cpu",
    }


@pytest.mark.gpu
@pytest.mark.parametrize("opt", [Optimizer("adagrad", 0.1), Optimizer("adam", 0.01, clip=None)], ids=str)
def test_cuda_graph_replay_equals_eager_steps(corpus, opt):
    """On a GPU a step is one CUDA-graph replay; it must do what the eager ops do (Adam's t included)."""
    skip_unless_runnable("torch", {"device": "cuda"})
    import torch

    layout = Layout(corpus.K, 64)
    b = backends.load("torch", layout, "float64", device="cuda")
    theta0 = init_theta(layout, 0.1, seed=1)
    streams = Streams(corpus.ids, 25, 2)
    n = opt_state_size(opt, layout.size)
    graphed = (b.to_device(theta0), b.to_device(np.zeros(n)))
    eager = (b.to_device(theta0), b.to_device(np.zeros(n)))
    hg = he = b.to_device(np.zeros((64, 2)))
    for i in range(5):
        x, y = streams.chunk(i)
        lg, hg = b.step(*graphed, x, y, hg, opt, i + 1, 1 / 25)  # captured once, then replayed
        le, he = b._step_tensors(*eager, b._ints(x), b._ints(y), he, opt, i + 1, 1 / 25)
        assert lg == pytest.approx(le.item(), rel=1e-12)
    torch.testing.assert_close(graphed[0], eager[0], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(graphed[1], eager[1], rtol=1e-12, atol=1e-14)
    assert len(b.graphs) == 1


def test_autograd_is_a_subclass_loaded_by_name(corpus):
    skip_unless_runnable("torch", {"device": "cpu"})
    from backends.torch_autograd import AutogradTorchBackend
    from backends.torch_backend import TorchBackend

    layout = Layout(corpus.K, 4)
    oracle = backends.load("torch", layout, "float64", device="cpu", grad="autograd")
    manual = backends.load("torch", layout, "float64", device="cpu")
    assert type(oracle) is AutogradTorchBackend and isinstance(oracle, TorchBackend)
    assert type(manual) is TorchBackend and manual.grad == "manual" and oracle.grad == "autograd"


@pytest.fixture
def torch_threads(monkeypatch):
    """backends.torch_threads with no thread setting in the environment; torch's count restored after."""
    skip_unless_runnable("torch", {"device": "cpu"})
    import torch

    from backends import torch_threads

    for name in torch_threads.ENV:
        monkeypatch.delenv(name, raising=False)
    before = torch.get_num_threads()
    monkeypatch.setattr(torch_threads, "_last_set", before)
    monkeypatch.setattr(torch_threads, "idle_cores", lambda: 64)  # an idle machine, whatever this one does
    yield torch_threads
    torch.set_num_threads(before)


def test_the_threads_rule_follows_the_work_of_a_product(torch_threads, monkeypatch):
    monkeypatch.setattr(torch_threads, "MIN_WORK", 2 * 100 * 100 * 8)
    monkeypatch.setattr(torch_threads, "DEFAULT", 3)
    assert torch_threads.rule(100, 1) == torch_threads.rule(100, 7) == 1
    assert torch_threads.rule(100, 8) == torch_threads.rule(1000, 1) == 3
    assert "1 below 2 m^2 B = 1.6e+05 flops per product, else up to 3" in torch_threads.describe()


@pytest.mark.parametrize("cpus, load, threads", [(4, 0.2, 3), (4, 1.6, 2), (4, 3.0, 1), (2, 5.0, 1), (8, 0.0, 3)])
def test_the_threads_rule_takes_no_more_than_the_idle_cores(torch_threads, monkeypatch, cpus, load, threads):
    monkeypatch.undo()  # the real idle_cores, on a machine of `cpus` CPUs at this load average
    monkeypatch.setattr(torch_threads, "DEFAULT", 3)
    monkeypatch.setattr(torch_threads.os, "sched_getaffinity", lambda pid: set(range(cpus)))
    monkeypatch.setattr(torch_threads.os, "getloadavg", lambda: (load, load, load))
    assert torch_threads.rule(1000, 64) == threads  # work enough for every thread: the cores decide
    assert torch_threads.rule(8, 1) == 1  # too little work: one thread, idle or not


def test_the_backend_sets_torch_threads_at_its_first_update_of_a_batch_size(torch_threads, monkeypatch, corpus):
    import torch

    monkeypatch.setattr(torch_threads, "MIN_WORK", 2 * 8 * 8 * 4)  # B = 4 and more: the default
    monkeypatch.setattr(torch_threads, "DEFAULT", 3)
    layout = Layout(corpus.K, 8)
    b = backends.load("torch", layout, "float64", device="cpu")
    theta, M = b.to_device(init_theta(layout, 0.1, seed=1)), b.to_device(np.zeros(layout.size))
    for B, threads in ((1, 1), (4, 3)):
        x, y = Streams(corpus.ids, 5, B).chunk(0)
        b.step(theta, M, x, y, b.to_device(np.zeros((8, B))), Optimizer(), 1)
        assert torch.get_num_threads() == threads


@pytest.mark.parametrize("grad", ["manual", "autograd"])
def test_forward_alone_sets_torch_threads_as_gradcheck_calls_it(torch_threads, monkeypatch, corpus, grad):
    import torch

    monkeypatch.setattr(torch_threads, "MIN_WORK", float("inf"))  # one thread at every size
    torch.set_num_threads(2)
    monkeypatch.setattr(torch_threads, "_last_set", 2)
    b = backends.load("torch", Layout(corpus.K, 8), "float64", device="cpu", grad=grad)
    x, y = Streams(corpus.ids, 5, 1).chunk(0)
    b.forward(b.to_device(init_theta(b.layout, 0.1, seed=1)), x, y, b.to_device(np.zeros((8, 1))))
    assert torch.get_num_threads() == 1


def test_a_users_choice_of_threads_stands(torch_threads, monkeypatch):
    import torch

    monkeypatch.setattr(torch_threads, "MIN_WORK", float("inf"))
    assert torch_threads.use(100, 1) == 1  # the rule
    torch.set_num_threads(2)  # the user's call, after the backend's
    assert torch_threads.user_chose() and torch_threads.use(100, 1) == 2
    assert "the user's choice" in torch_threads.describe()
    monkeypatch.setattr(torch_threads, "MIN_WORK", 0)  # now the rule says DEFAULT = 3 ...
    monkeypatch.setattr(torch_threads, "DEFAULT", 3)
    torch.set_num_threads(1)
    monkeypatch.setattr(torch_threads, "_last_set", 1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # ... but the environment says 1
    assert torch_threads.use(100, 1) == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert torch_threads.use(100, 1) == 3
