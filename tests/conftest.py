"""Shared fixtures: a small text of our own, and one `backend` fixture for every backend."""

import numpy as np
import pytest

import backends
from common.contract import Layout
from common.data import Corpus

WORDS = (
    "the a model learns to predict each next character from the ones before it while its hidden "
    "state carries what it has seen so far and the gradient flows back through every step"
).split()


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


def backend_params():
    return [pytest.param(name, id=name) for name in backends.names()]


@pytest.fixture(params=backend_params())
def backend_name(request) -> str:
    """Each backend's name; a backend that cannot run here is a skip that says why."""
    reason = backends.why_not(request.param)
    if reason is not None:
        pytest.skip(f"backend {request.param}: {reason}")
    return request.param


@pytest.fixture
def make_backend(backend_name):
    """(layout, dtype) -> that backend for those sizes."""

    def make(layout: Layout, dtype: str = "float64"):
        return backends.load(backend_name, layout, dtype)

    return make
