"""Shared fixtures: a small text of our own, one `backend` fixture for every backend variant, the CLI helper."""

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

import backends
from backends.numpy_backend import NumpyBackend
from common.contract import Layout
from common.data import Corpus

WORDS = (
    "the a model learns to predict each next character from the ones before it while its hidden "
    "state carries what it has seen so far and the gradient flows back through every step"
).split()

# every way a backend can run; those that cannot run here are skipped with the reason.
# `pytest --backend-file path/to/file.py:ClassName` makes it numpy and that backend of one's own.
VARIANTS = list(backends.VARIANTS)


def pytest_addoption(parser):
    parser.addoption(
        "--backend-file",
        metavar="path/to/file.py:ClassName",
        help="Run the backend tests (equivalence with numpy, gradient check, ...) on this backend of one's own.",
    )


def pytest_configure(config):
    spec = config.getoption("--backend-file")
    if spec:
        VARIANTS[:] = [("numpy", {}), (spec, {})]


def pytest_generate_tests(metafunc):
    """Every test that asks for `variant` runs on each of VARIANTS, unless it names its own variants."""
    own = [m.args[0] for m in metafunc.definition.iter_markers("parametrize")]
    names = {n.strip() for a in own for n in (a.split(",") if isinstance(a, str) else a)}
    if "variant" in metafunc.fixturenames and "variant" not in names:
        metafunc.parametrize("variant", VARIANTS, ids=[variant_id(*v) for v in VARIANTS], indirect=True)


def variant_id(name: str, options: dict) -> str:
    return backends.label(name, options)


def hidden_states(layout: Layout, theta: np.ndarray, x: np.ndarray, h0: np.ndarray) -> list[np.ndarray]:
    """h_1 ... h_tau by eqs. (1)-(2), written out on the host: a reference that shares no code."""
    U, W, V, b, c = layout.unpack(theta)
    hs, h = [], h0
    for t in range(len(x)):
        h = np.tanh(W @ h + U[:, x[t]] + b)
        hs.append(h)
    return hs


def make_text(n_words: int = 1500, seed: int = 0) -> str:
    """Pseudo-English of our own making: learnable, and nobody's copyrighted text."""
    rng = np.random.default_rng(seed)
    words = rng.choice(WORDS, size=n_words)
    lines = [" ".join(words[i : i + 12]).capitalize() + "." for i in range(0, n_words, 12)]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def text() -> str:
    return make_text()


@pytest.fixture(scope="session")
def corpus(text) -> Corpus:
    return Corpus("tiny", text, "0" * 64)


@pytest.fixture
def corpus_file(tmp_path, text):
    path = tmp_path / "tiny.txt"
    path.write_text(text, encoding="utf-8")
    return path


def skip_unless_runnable(name: str, options: dict) -> None:
    reason = backends.why_not(name, **options)
    if reason is not None:
        pytest.skip(f"{variant_id(name, options)}: {reason}")


@pytest.fixture
def variant(request) -> tuple[str, dict]:
    """Each backend variant; one that cannot run here is a skip that says why."""
    skip_unless_runnable(*request.param)
    return request.param


@pytest.fixture
def make_backend(variant):
    """(layout, dtype) -> that backend variant for those sizes."""
    name, options = variant

    def make(layout: Layout, dtype: str = "float64"):
        return backends.load(name, layout, dtype, **options)

    return make


def cli(*args):
    """Run the command line in this process (Typer's CliRunner); stdout and stderr apart."""
    return CliRunner().invoke(__import__("cli").app, [str(a) for a in args])


def assert_one_line_error(result, code: int, message: str) -> None:
    """The promise for bad input and faults: one `error:` line naming the problem, a non-zero exit."""
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.stderr
    assert "Traceback" not in result.output


class BlowsUp(NumpyBackend):
    """A backend whose loss becomes non-finite from its `at`-th update on (fault injection).

    value None: for real, as diverging weights do (every parameter set to 1e308, so NumPy's own
    overflow happens inside the step); else the step's loss is replaced by value (NaN, inf).
    """

    def __init__(self, layout, dtype: str = "float64", at: int = 1, value: float | None = None):
        super().__init__(layout, dtype)
        self.calls, self.at, self.value = 0, at, value

    def step(self, theta, *args):
        self.calls += 1
        if self.calls >= self.at and self.value is None:
            theta[:] = 1e308  # W h overflows: m * 1e308 > the largest float64
        loss, h = super().step(theta, *args)
        return (self.value if self.calls >= self.at and self.value is not None else loss), h


@pytest.fixture
def standin_cupy():
    """The CPU stand-in for CuPy in the place of `cupy` (docs: gpu.md); afterwards the real one, or none."""
    if shutil.which("g++") is None:
        pytest.skip("the CPU stand-in for CuPy needs g++")
    from backends import standin

    with standin.installed() as cupy:
        yield cupy


@pytest.fixture(params=["ieee", "fma"])
def standin_build(request, monkeypatch):
    """The stand-in's kernels as g++ builds them (each product rounded) or, as nvcc does, with FMA (docs: gpu.md)."""
    from backends.standin import compile

    if request.param == "fma":
        if getattr(request.node, "callspec", None) and request.node.callspec.params.get("cupy_here") == "gpu":
            pytest.skip("on a GPU nvcc decides: the stand-in's build does not apply")
        if compile.fma_flags() is None:
            pytest.skip("this CPU has no FMA: the stand-in builds only without it")
        monkeypatch.setattr(compile, "contract", True)
    return request.param
