"""One update of the CuPy backend on the stand-in against the NumPy backend (docs: gpu.md).

The weights are well conditioned (W's spectral radius about 0.5, biases not zero): two correct
implementations then agree to rounding, normwise, whatever order each sums in. From a chaotic
W (spectral radius above 1) they do not, and no tolerance separates a bug from rounding. With
`logits` one logit of every step tops the others by thousands: exp overflows (beyond 709 in
float64, 88 in float32) unless softmax shifts by the true maximum.
"""

import numpy as np

import backends
from common.contract import Layout, Optimizer, Params, opt_state_size
from common.data import builtin_corpus
from common.weights import init_theta

NAMES = ("loss", "grad", "theta", "mem", "h")


def conditioned_theta(layout: Layout, seed: int = 4, logits: float = 0.0) -> np.ndarray:
    """U, W, V ~ N(0, 0.25/m); b, c ~ N(0, 0.25): every term of eqs. (1)-(4) matters, none blows up.

    logits raises the last character's bias: at 1e4 its logit tops every step's by thousands, and
    a softmax that misses it when taking the max (an index off by one) overflows (large logits).
    """
    p = layout.unpack(init_theta(layout, 0.5 / np.sqrt(layout.m), seed))
    rng = np.random.default_rng(seed)
    b, c = (0.5 * rng.standard_normal(p.b.shape), 0.5 * rng.standard_normal(p.c.shape))
    c[-1] += logits
    return layout.pack(Params(p.U, p.W, p.V, b, c))


def chunk(K: int, tau: int, B: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs and targets (tau, B) that use every character when tau*B >= K."""
    rng = np.random.default_rng(seed)
    ids = rng.permutation(np.resize(np.arange(K), tau * B + 1))
    x, y = ids[:-1].reshape(tau, B), ids[1:].reshape(tau, B)
    return x, y


def one_step(backend, theta, x, y, h0, opt: Optimizer = Optimizer(), scale: float = 1.0) -> dict[str, np.ndarray]:
    """Loss and unclipped gradient at theta, then update t = 3 from a state of 0.01s: everything on the host.

    t = 3 so that Adam's bias corrections (eq. 18) are neither 1 nor the first step's.
    """
    th = backend.to_device(theta)
    loss, cache = backend.forward(th, x, y, backend.to_device(h0))
    grad = backend.to_host(backend.backward(th, cache))
    mem = backend.to_device(np.full(opt_state_size(opt, theta.size), 0.01))
    _, h = backend.step(th, mem, x, y, backend.to_device(h0), opt, 3, scale)
    out = (loss, grad, backend.to_host(th), backend.to_host(mem), backend.to_host(h))
    return {k: np.asarray(v, dtype=np.float64) for k, v in zip(NAMES, out)}


def differences(
    K: int,
    m: int,
    B: int,
    tau: int,
    dtype: str,
    kernels: str,
    opt: Optimizer = Optimizer(),
    scale: float = 1.0,
    logits: float = 0.0,
) -> dict[str, float]:
    """||cupy - numpy|| / ||numpy|| of each result of one_step; the stand-in must be installed."""
    layout = Layout(K, m)
    theta, (x, y) = conditioned_theta(layout, logits=logits), chunk(K, tau, B)
    h0 = np.random.default_rng(1).uniform(-0.5, 0.5, (m, B))
    ours = one_step(backends.load("cupy", layout, dtype, kernels=kernels), theta, x, y, h0, opt, scale)
    ref = one_step(backends.load("numpy", layout, dtype), theta, x, y, h0, opt, scale)
    return {k: float(np.linalg.norm(ours[k] - ref[k]) / np.linalg.norm(ref[k])) for k in NAMES}


def ten_updates_run(
    backend, K: int, tau: int, opt: Optimizer = Optimizer(), scale: float = 1.0
) -> dict[str, np.ndarray]:
    """The ten losses, then theta, the optimizer's state and h after ten updates on ten chunks, B = 1, on the host.

    From well-conditioned weights and a state of 0.01s the rounding differences of the first update
    stay near rounding; from sigma = 0.01 and M = 0 AdaGrad multiplies them (tests/test_cupy.py).
    """
    layout = backend.layout
    theta = backend.to_device(conditioned_theta(layout))
    state = backend.to_device(np.full(opt_state_size(opt, layout.size), 0.01))
    h, losses = backend.to_device(np.zeros((layout.m, 1))), []
    for k in range(10):
        loss, h = backend.step(theta, state, *chunk(K, tau, 1, seed=k), h, opt, k + 1, scale)
        losses.append(loss)
    out = (np.array(losses), backend.to_host(theta), backend.to_host(state), backend.to_host(h))
    return {k: np.asarray(v, dtype=np.float64) for k, v in zip(("loss", "theta", "mem", "h"), out)}


def relative(ours: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> dict[str, float]:
    """||ours - ref|| / ||ref|| of each result."""
    return {k: float(np.linalg.norm(ours[k] - ref[k]) / np.linalg.norm(ref[k])) for k in ref}


def ten_updates(
    K: int, m: int, tau: int, dtype: str, kernels: str, opt: Optimizer = Optimizer(), scale: float = 1.0
) -> dict[str, float]:
    """||cupy - numpy|| / ||numpy|| after ten updates (ten_updates_run), both in dtype; needs the stand-in."""
    layout = Layout(K, m)
    ours = ten_updates_run(backends.load("cupy", layout, dtype, kernels=kernels), K, tau, opt, scale)
    return relative(ours, ten_updates_run(backends.load("numpy", layout, dtype), K, tau, opt, scale))


CASES = [(42, 100, 1, 25), (80, 100, 3, 25), (80, 169, 2, 10), (42, 300, 2, 25), (80, 1100, 1, 4)]
DEFAULT_K = builtin_corpus().K  # the built-in text's, the largest K of the persistent cases
PERSISTENT_CASES = [(42, 100, 1, 25), (80, 100, 2, 12), (DEFAULT_K, 100, 1, 25), (80, 16, 3, 10)]  # they fit a block


def largest(kernels: str, dtype: str) -> dict[str, float]:
    """The largest difference of each result over the tests' cases."""
    worst = dict.fromkeys(NAMES, 0.0)
    for case in PERSISTENT_CASES if kernels == "persistent" else CASES:
        for k, v in differences(*case, dtype, kernels).items():
            worst[k] = max(worst[k], v)
    return worst


if __name__ == "__main__":  # python -m backends.standin.compare: the largest differences over the tests' cases
    from backends import standin

    print(f"largest ||cupy - numpy|| / ||numpy||, (K, m, B, tau) in {CASES}, persistent {PERSISTENT_CASES}")
    print(f"{'kernels':<11}{'dtype':<9}" + "".join(f"{k:>10}" for k in NAMES))
    with standin.installed():
        for kernels in ("persistent", "fused", "plain"):
            for dtype in ("float64", "float32"):
                worst = largest(kernels, dtype)
                print(f"{kernels:<11}{dtype:<9}" + "".join(f"{worst[k]:>10.1e}" for k in NAMES))
