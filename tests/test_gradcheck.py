"""The gradient check, for every backend, and a check that the checker can fail."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backends.numpy_backend import NumpyBackend
from common import gradcheck as gc
from common.contract import Layout
from common.data import Streams
from common.weights import init_theta
from tests.conftest import assert_one_line_error, cli, skip_unless_runnable


@pytest.mark.parametrize("m, tau, B, sigma", [(5, 25, 1, 0.01), (8, 10, 3, 0.1), (3, 4, 2, 0.5)])
def test_backend_passes_gradcheck(make_backend, corpus, m, tau, B, sigma):
    layout = Layout(corpus.K, m)
    backend = make_backend(layout, "float64")
    x, y = Streams(corpus.ids, tau, B).chunk(1)
    h0 = np.random.default_rng(1).uniform(-0.5, 0.5, (m, B))  # a carried state, not only zeros
    result = gc.check(backend, init_theta(layout, sigma, seed=3), x, y, h0)
    for name, e in result.items():
        assert e.rel_error < gc.TOLERANCE, (name, e)
    assert gc.passed(result)


class DroppedRecurrentTerm(NumpyBackend):
    """BPTT without W^T da_{t+1} in dh_t: a plausible bug that only the recurrence reveals."""

    def backward(self, theta, cache):
        W = self.layout.views(theta).W
        saved = W.copy()
        W[...] = 0  # the recurrent term W^T da_{t+1} vanishes; forward already ran with W
        try:
            return super().backward(theta, cache)
        finally:
            W[...] = saved


def test_gradcheck_fails_a_gradient_with_a_dropped_term(corpus):
    layout = Layout(corpus.K, 5)
    x, y = Streams(corpus.ids, 25, 1).chunk(0)
    theta = init_theta(layout, 0.3, seed=0)
    result = gc.check(DroppedRecurrentTerm(layout), theta, x, y, np.zeros((5, 1)))
    assert not gc.passed(result)
    assert result["W"].rel_error > 1e-3 and result["U"].rel_error > 1e-3
    assert result["V"].rel_error < gc.TOLERANCE  # V's gradient does not go through the recurrence


def test_errors_formula():
    a, n = np.array([1.0, 0.0, -2.0]), np.array([1.0, 1e-9, -2.000002])
    e = gc.errors(a, n)
    assert e.max_abs_error == pytest.approx(2e-6)
    assert e.rel_error == pytest.approx(np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n)))
    assert e.max_elem_rel_error == pytest.approx(1e-9 / gc.SAFE)  # the safe denominator at work


@pytest.mark.parametrize("m, tau", [(10, 25), (6, 9)])
def test_mean_loss_passes_gradcheck_and_agrees_with_autograd(make_backend, corpus, m, tau):
    """The 2025 handout's check: the mean loss (scale = 1/tau), m = 10, both oracles."""
    layout = Layout(corpus.K, m)
    backend = make_backend(layout, "float64")
    x, y = Streams(corpus.ids, tau, 1).chunk(2)
    h0 = np.random.default_rng(2).uniform(-0.5, 0.5, (m, 1))
    theta = init_theta(layout, 0.01, seed=3, init="2025")
    result = gc.check(backend, theta, x, y, h0, scale=1 / tau)
    assert gc.passed(result), result
    oracle = gc.check_autograd(backend, theta, x, y, h0, scale=1 / tau)
    if oracle is None:
        pytest.skip("torch is not installed: no autograd oracle")
    assert all(e.rel_error < 1e-10 for e in oracle.values()), oracle


def test_the_mean_is_the_sum_scaled(corpus):
    layout = Layout(corpus.K, 5)
    backend = NumpyBackend(layout)
    x, y = Streams(corpus.ids, 25, 1).chunk(0)
    theta, h0 = init_theta(layout, 0.1, seed=0), np.zeros((5, 1))
    summed = gc.analytic_gradient(backend, theta, x, y, h0)
    np.testing.assert_allclose(gc.analytic_gradient(backend, theta, x, y, h0, 1 / 25), summed / 25, rtol=1e-15)
    numerical_mean = gc.numerical_gradient(backend, theta.copy(), x, y, h0, 1e-4, 1 / 25)
    assert not gc.passed({"all": gc.errors(summed, numerical_mean)})  # a sum checked against a mean fails


def test_autograd_oracle_fails_a_gradient_with_a_dropped_term(corpus):
    layout = Layout(corpus.K, 5)
    x, y = Streams(corpus.ids, 25, 1).chunk(0)
    result = gc.check_autograd(DroppedRecurrentTerm(layout), init_theta(layout, 0.3, seed=0), x, y, np.zeros((5, 1)))
    if result is None:
        pytest.skip("torch is not installed: no autograd oracle")
    assert not gc.passed(result) and result["V"].rel_error < 1e-10


# ---- the default check looks where bugs show: bugs planted in a copy of the NumPy backend ----

ROOT = Path(__file__).resolve().parent.parent
PLANTED = {  # the line of backends/numpy_backend.py, and the bug planted in it
    "tanh' from a": ("D = 1 - H[1:] * H[1:]", "D = 1 - xp.arctanh(H[1:]) ** 2"),
    "dW without h_0": ("self._rows(H[:-1])", "self._rows(self.xp.concatenate([0 * H[:1], H[1:-1]]))"),
}


def copy_of_numpy_backend(tmp_path: Path, bug: str | None = None) -> str:
    """backends/numpy_backend.py copied to tmp_path, with `bug` planted; its spec path:NumpyBackend."""
    source = (ROOT / "backends" / "numpy_backend.py").read_text()
    if bug is not None:
        old, new = PLANTED[bug]
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    path = tmp_path / "copy.py"
    path.write_text(source)
    return f"{path}:NumpyBackend"


@pytest.mark.parametrize("bug", PLANTED)
def test_the_default_gradcheck_fails_bugs_the_handouts_check_passes(tmp_path, corpus_file, bug):
    spec = copy_of_numpy_backend(tmp_path, bug)
    r = cli("gradcheck", "--backend", spec, "--data", corpus_file)
    assert r.exit_code == 1 and "FAILED in realistic, trained:" in r.output, r.output
    r = cli("gradcheck", "--backend", spec, "--data", corpus_file, "--sigma", 0.01)  # the handout's check alone
    assert r.exit_code == 0 and "PASSED: every rel_error < 1e-06 in the one regime" in r.output, r.output


@pytest.mark.parametrize("name", ["numpy", "torch"])
def test_our_backends_pass_in_every_regime(corpus_file, name):
    skip_unless_runnable(name, {})
    r = cli("gradcheck", "--backend", name, "--data", corpus_file, "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["passed"] and [one["regime"] for one in d["regimes"]] == ["handout", "realistic", "trained"]


def test_a_backend_of_ones_own_runs_where_a_registered_one_does(tmp_path, corpus_file):
    spec = copy_of_numpy_backend(tmp_path)
    assert cli("gradcheck", "--backend", spec, "--data", corpus_file).exit_code == 0
    r = cli("train", "--backend", spec, "--data", corpus_file, "--hidden", 4, "--updates", 5, "--out", tmp_path / "run")
    assert r.exit_code == 0, r.output
    r = cli("train", "--resume", tmp_path / "run", "--updates", 8)  # the run folder names the file: it loads again
    assert r.exit_code == 0 and f"update 5 on {spec} (cpu)" in r.output, r.output
    r = cli("bench", "--backend", spec, "--data", corpus_file, "--hidden", 4, "--updates", 2, "--rounds", 1)
    assert r.exit_code == 0 and "copy.py:NumpyBackend" in r.output, r.output


BAD_BACKENDS = [
    ("nope", None, "unknown backend 'nope'; choose one of: numpy, torch, cupy, or path/to/file.py:ClassName"),
    ("missing.py:B", None, "missing.py does not exist"),
    ("mine.py:B", "def B():\n    pass\n", "mine.py:B is not a class"),
    ("mine.py:B", "class B:\n    def forward(self):\n        pass\n", "mine.py:B lacks to_device, to_host, backward"),
    (
        "mine.py:B",
        "import nothing_of_that_name\n",
        "raised ModuleNotFoundError: No module named 'nothing_of_that_name'",
    ),
    (
        "mine.py:B",
        "from backends.numpy_backend import NumpyBackend\n\nclass B(NumpyBackend):\n"
        "    def forward(self, theta, x, y, h0):\n        raise RuntimeError('not yet')\n",
        "mine.py:B.forward raised RuntimeError: not yet (mine.py, line 5, in forward: raise RuntimeError('not yet'))",
    ),
]


@pytest.mark.parametrize("spec, body, message", BAD_BACKENDS, ids=[m for _, _, m in BAD_BACKENDS])
def test_a_bad_backend_of_ones_own_gets_one_line(tmp_path, monkeypatch, corpus_file, spec, body, message):
    monkeypatch.chdir(tmp_path)
    if body is not None:
        (tmp_path / spec.split(":")[0]).write_text(body)
    assert_one_line_error(cli("gradcheck", "--backend", spec, "--data", corpus_file), 2, message)


@pytest.mark.slow
def test_pytest_runs_the_equivalence_tests_on_a_backend_file(tmp_path):
    """`pytest --backend-file path:Class` runs the cross-backend tests on it: a copy passes, a planted bug fails."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_equivalence.py", "-k", "one"]
    for bug, code in ((None, 0), ("dW without h_0", 1)):
        where = tmp_path / str(bug is None)
        where.mkdir()
        spec = copy_of_numpy_backend(where, bug)
        r = subprocess.run([*command, "--backend-file", spec], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == code, r.stdout[-2000:]
        assert "copy.py:NumpyBackend" in r.stdout if code else "3 passed" in r.stdout, r.stdout[-2000:]
