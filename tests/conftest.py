"""Shared fixtures: a small text of our own, and one `backend` fixture for every backend variant."""

import shutil

import numpy as np
import pytest

import backends
from common.contract import Layout
from common.data import Corpus

WORDS = (
    "the a model learns to predict each next character from the ones before it while its hidden "
    "state carries what it has seen so far and the gradient flows back through every step"
).split()

# every way a backend can run: (name, options); those that cannot run here are skipped with the reason
VARIANTS = [
    ("numpy", {}),
    ("torch", {"device": "cpu"}),
    ("torch", {"device": "cpu", "grad": "autograd"}),
    ("torch", {"device": "cuda"}),
    ("cupy", {"kernels": "plain"}),
    ("cupy", {"kernels": "fused"}),
]


def variant_id(name: str, options: dict) -> str:
    return "-".join([name, *options.values()])


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


@pytest.fixture(params=[pytest.param(v, id=variant_id(*v)) for v in VARIANTS])
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


@pytest.fixture
def standin_cupy():
    """The CPU stand-in for CuPy in the place of `cupy` (docs: gpu.md); afterwards the real one, or none."""
    if shutil.which("g++") is None:
        pytest.skip("the CPU stand-in for CuPy needs g++")
    from backends import standin

    with standin.installed() as cupy:
        yield cupy
