"""Each backend on its own: the fused step, prediction, batches, dtypes (through the contract)."""

import numpy as np
import pytest

from common.contract import ADAGRAD_EPS, CLIP, Layout, Optimizer
from common.data import Streams
from common.tools.minchar import MinCharRNN
from common.weights import init_theta
from tests.conftest import hidden_states

ADAGRAD = Optimizer("adagrad", 0.1)


def setup(corpus, make_backend, m=6, tau=9, B=2, sigma=0.3, dtype="float64"):
    layout = Layout(corpus.K, m)
    backend = make_backend(layout, dtype)
    x, y = Streams(corpus.ids, tau, B).chunk(2)
    theta = init_theta(layout, sigma, seed=1)
    h0 = np.random.default_rng(2).uniform(-0.9, 0.9, (m, B))
    return layout, backend, x, y, theta, h0


def test_step_equals_forward_backward_clip_adagrad(corpus, make_backend):
    layout, backend, x, y, theta, h0 = setup(corpus, make_backend, sigma=2.0)  # large: clipping bites
    mem0 = np.random.default_rng(3).uniform(0, 2, layout.size)
    eta = 0.1
    # done separately: the backend's forward and backward, then clip and AdaGrad on the host
    loss, cache = backend.forward(backend.to_device(theta), x, y, backend.to_device(h0))
    g = backend.to_host(backend.backward(backend.to_device(theta), cache))
    assert np.abs(g).max() > CLIP  # the test must exercise the clip
    g = np.clip(g, -CLIP, CLIP)
    mem = mem0 + g * g
    expected = theta - eta * g / np.sqrt(mem + ADAGRAD_EPS)
    # fused
    th, me, h = backend.to_device(theta), backend.to_device(mem0), backend.to_device(h0)
    loss2, h_tau = backend.step(th, me, x, y, h, ADAGRAD, 1)
    assert loss2 == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(backend.to_host(th), expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(backend.to_host(me), mem, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(backend.to_host(h_tau), hidden_states(layout, theta, x, h0)[-1], rtol=1e-13)


def test_predict_follows_the_forward_equations(corpus, make_backend):
    layout, backend, x, y, theta, h0 = setup(corpus, make_backend, B=1)
    th, h = backend.to_device(theta), backend.to_device(h0)
    V, c = layout.unpack(theta).V, layout.unpack(theta).c
    for t, h_ref in enumerate(hidden_states(layout, theta, x, h0)):
        h, o = backend.predict(th, h, int(x[t, 0]))
        np.testing.assert_allclose(backend.to_host(h), h_ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(o, (V @ h_ref + c)[:, 0], rtol=1e-12, atol=1e-14)


def test_a_batch_is_streams_side_by_side(corpus, make_backend):
    # the loss and gradient of B streams are the sums of those of each stream alone
    layout, backend, x, y, theta, h0 = setup(corpus, make_backend, B=3)
    th = backend.to_device(theta)
    loss, cache = backend.forward(th, x, y, backend.to_device(h0))
    g = backend.to_host(backend.backward(th, cache))
    losses, grads = [], []
    for j in range(3):
        l, c = backend.forward(th, x[:, j : j + 1], y[:, j : j + 1], backend.to_device(h0[:, j : j + 1]))
        losses.append(l)
        grads.append(backend.to_host(backend.backward(th, c)))
    assert loss == pytest.approx(sum(losses), rel=1e-13)
    np.testing.assert_allclose(g, sum(grads), rtol=1e-10, atol=1e-13)


def test_float32_agrees_with_float64(corpus, make_backend):
    layout, b64, x, y, theta, h0 = setup(corpus, make_backend)
    b32 = make_backend(layout, "float32")
    results = []
    for b in (b64, b32):
        th, me = b.to_device(theta), b.to_device(np.zeros_like(theta))
        loss, h = b.step(th, me, x, y, b.to_device(h0), ADAGRAD, 1)
        results.append((loss, b.to_host(th), b.to_host(h)))
        assert b.to_host(th).dtype == np.dtype(b.dtype)
    assert results[1][0] == pytest.approx(results[0][0], rel=1e-5)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(results[1][2], results[0][2], rtol=1e-4, atol=1e-5)


def test_to_device_copies(make_backend, corpus):
    backend = make_backend(Layout(corpus.K, 4))
    a = np.arange(5.0)
    d = backend.to_device(a)
    a[0] = 99
    assert backend.to_host(d)[0] == 0


def test_same_maths_as_min_char_rnn(corpus, make_backend):
    """One step of min-char-rnn (one-hot, per time step) from identical weights."""
    layout, backend, x, y, theta, h0 = setup(corpus, make_backend, m=10, tau=25, B=1, sigma=0.01)
    rnn = MinCharRNN(layout.unpack(theta))
    loss_ref, grads_ref, h_ref = rnn.loss_fun(x[:, 0], y[:, 0], h0)
    th = backend.to_device(theta)
    loss, cache = backend.forward(th, x, y, backend.to_device(h0))
    g = layout.unpack(backend.to_host(backend.backward(th, cache)))
    assert loss == pytest.approx(loss_ref, rel=1e-13)
    for a, ref in zip(g, grads_ref):
        np.testing.assert_allclose(a, ref, rtol=1e-10, atol=1e-15)
    _, h_tau = backend.step(th, backend.to_device(np.zeros_like(theta)), x, y, backend.to_device(h0), ADAGRAD, 1)
    np.testing.assert_allclose(backend.to_host(h_tau), h_ref, rtol=1e-13)
