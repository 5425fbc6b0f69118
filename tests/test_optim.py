"""The update rules (docs: optimizers.md): Adam against torch.optim.Adam, and AdaGrad unchanged bit for bit."""

import numpy as np
import pytest

import backends
from common.contract import ADAGRAD_EPS, CLIP, Layout, Optimizer, opt_state_size
from common.data import Streams
from common.errors import BadInput
from common.weights import init_theta
from tests.conftest import skip_unless_runnable

ADAM = Optimizer("adam", 0.01, clip=None)
ADAM_CLIPPED = Optimizer("adam", 0.01, clip=0.5)


def gradients(n: int, steps: int) -> list[np.ndarray]:
    """A fixed sequence of gradients, some entries beyond the clip of ADAM_CLIPPED."""
    rng = np.random.default_rng(7)
    return [rng.normal(0, 1, n) * rng.choice([0.01, 1, 3], n) for _ in range(steps)]


def torch_optim_adam(theta0: np.ndarray, grads, opt: Optimizer):
    """torch's own Adam on the same gradients (clipped as torch users do): the yardstick."""
    import torch

    p = torch.nn.Parameter(torch.tensor(theta0))
    adam = torch.optim.Adam([p], lr=opt.eta, betas=(opt.beta1, opt.beta2), eps=opt.eps)
    for g in grads:
        p.grad = torch.tensor(g)
        if opt.clip is not None:
            torch.nn.utils.clip_grad_value_([p], opt.clip)
        adam.step()
    s = adam.state[p]
    return p.detach().numpy(), s["exp_avg"].numpy(), s["exp_avg_sq"].numpy()


@pytest.mark.parametrize("opt", [ADAM, ADAM_CLIPPED], ids=["no-clip", "clip"])
@pytest.mark.parametrize("variant", [("numpy", {}), ("torch", {"device": "cpu"})], ids=["numpy", "torch"])
def test_adam_by_hand_equals_torch_optim_adam(variant, opt):
    skip_unless_runnable("torch", {"device": "cpu"})
    layout = Layout(7, 5)
    n = layout.size
    theta0 = init_theta(layout, 0.3, seed=1)
    grads = gradients(n, 6)
    assert any(np.abs(g).max() > 0.5 for g in grads)  # the clipped case must clip
    b = backends.load(variant[0], layout, "float64", **variant[1])
    theta, state = b.to_device(theta0), b.to_device(np.zeros(opt_state_size(opt, n)))
    for t, g in enumerate(grads, start=1):
        b.update(theta, state, b.to_device(g), opt, t)
    ref_theta, ref_m, ref_v = torch_optim_adam(theta0, grads, opt)
    state = b.to_host(state)
    np.testing.assert_allclose(b.to_host(theta), ref_theta, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(state[:n], ref_m, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(state[n:], ref_v, rtol=1e-12, atol=1e-18)


def test_bias_correction_makes_the_first_step_eta_sign_g():
    """At t = 1, m_hat = g and v_hat = g^2: each entry moves by eta * g / (|g| + eps), about eta."""
    layout = Layout(4, 3)
    b = backends.load("numpy", layout, "float64")
    g = np.linspace(-2, 2, layout.size) + 0.01  # no zero entry
    theta = np.zeros(layout.size)
    b.update(theta, np.zeros(2 * layout.size), g.copy(), ADAM, 1)
    np.testing.assert_allclose(theta, -ADAM.eta * g / (np.abs(g) + ADAM.eps), rtol=1e-12)


def old_numpy_adagrad(theta, mem, grad, eta):
    """The NumPy backend's eqs. (11)-(12) before the optimizer interface, verbatim."""
    np.clip(grad, -CLIP, CLIP, out=grad)
    mem += grad * grad
    delta = mem + ADAGRAD_EPS
    np.sqrt(delta, out=delta)
    np.divide(grad, delta, out=delta)
    delta *= eta
    theta -= delta


def old_torch_adagrad(theta, mem, grad, eta):
    """The torch backend's eqs. (11)-(12) before the optimizer interface, verbatim."""
    import torch

    grad.clamp_(-CLIP, CLIP)
    mem.addcmul_(grad, grad)
    denom = torch.add(mem, ADAGRAD_EPS).sqrt_()
    theta.addcdiv_(grad, denom, value=-eta)


@pytest.mark.parametrize("variant", [("numpy", {}), ("torch", {"device": "cpu"})], ids=["numpy", "torch"])
def test_classic_adagrad_is_bit_for_bit_the_old_code(corpus, variant):
    skip_unless_runnable(*variant)
    layout = Layout(corpus.K, 16)
    streams = Streams(corpus.ids, 25, 1)
    b = backends.load(variant[0], layout, "float64", **variant[1])
    old = old_numpy_adagrad if variant[0] == "numpy" else old_torch_adagrad
    theta0 = init_theta(layout, 2.0, seed=4)  # large weights: clipping bites
    new = [b.to_device(theta0), b.to_device(np.zeros(layout.size)), b.to_device(np.zeros((16, 1)))]
    ref = [b.to_device(theta0), b.to_device(np.zeros(layout.size)), b.to_device(np.zeros((16, 1)))]
    clipped = 0
    for i in range(5):
        x, y = streams.chunk(i)
        loss, new[2] = b.step(new[0], new[1], x, y, new[2], Optimizer("adagrad", 0.1), i + 1)
        ref_loss, cache = b.forward(ref[0], x, y, ref[2])
        grad = b.backward(ref[0], cache)
        clipped += int((np.abs(b.to_host(grad)) > CLIP).sum())
        old(ref[0], ref[1], grad, 0.1)
        ref[2] = cache.H[-1]
        assert loss == ref_loss
        for a, r in zip(new, ref):
            assert np.array_equal(b.to_host(a), b.to_host(r))
    assert clipped > 0


def test_optimizer_state_size_and_names():
    assert opt_state_size(Optimizer(), 10) == 10 and opt_state_size(ADAM, 10) == 20
    assert Optimizer() == Optimizer("adagrad", 0.1, CLIP, 0.9, 0.999, 1e-8)
    with pytest.raises(BadInput, match="--optimizer must be one of adagrad, adam"):
        Optimizer("sgd")
