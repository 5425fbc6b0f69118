"""The gradient check, for every backend, and a check that the checker can fail."""

import numpy as np
import pytest

from backends.numpy_backend import NumpyBackend
from common import gradcheck as gc
from common.contract import Layout
from common.data import Streams
from common.weights import init_theta


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
