"""Where gradients are checked: the handout's own point, and two where bugs show (docs: gradcheck.md#regimes).

CS231n's rule: check the network in a characteristic mode, not only where it is trivially simple.
At the handout's sigma = 0.01 and h0 = 0, tanh(a) is a to many digits and every h_0 term is zero,
so a wrong tanh' or a dW without its h_0 term passes there. Realistic weights with a non-zero h0,
and weights after a few hundred updates on the text, make both show.
"""

from dataclasses import dataclass

import numpy as np

from backends.numpy_backend import NumpyBackend
from common.contract import Layout
from common.data import Corpus, Streams
from common.rng import stream
from common.run.config import Config
from common.run.presets import Preset, settings
from common.run.train import start, train
from common.weights import init_theta

REALISTIC_SIGMA = 0.5  # U, W, V ~ N(0, 0.5^2): at m = 5 about half the a_t entries have |a| > 0.5
H0_RANGE = 0.9  # h0 ~ U(-0.9, 0.9): a carried state, as training hands one chunk to the next
TRAINED_UPDATES = 300


@dataclass(frozen=True)
class Regime:
    """One point the gradient is checked at."""

    name: str
    about: str  # its weights and h0, in words, and how far tanh is from linear there
    theta: np.ndarray  # host, float64
    h0: np.ndarray  # (m, B)
    x: np.ndarray  # (tau, B) inputs
    y: np.ndarray  # (tau, B) targets


def regimes(layout: Layout, corpus: Corpus, p: Preset, tau: int, B: int, seed: int) -> list[Regime]:
    """The handout's own check, realistic weights with a non-zero h0, and weights after some training."""
    streams = Streams(corpus.ids, tau, B)
    m, (x, y) = layout.m, streams.chunk(0)
    handout = init_theta(layout, p.sigma, seed, p.init)
    realistic = init_theta(layout, REALISTIC_SIGMA, seed)
    h0 = stream(seed, "weights", 1).uniform(-H0_RANGE, H0_RANGE, (m, B))  # a stream of its own beside the weights
    sizes = {"hidden": m, "seq_length": tau, "batch_size": B, "seed": seed, "updates": TRAINED_UPDATES}
    cfg = Config(**sizes, sample_every=0, checkpoint_every=0, **settings(p))
    model = NumpyBackend(layout)
    trained = train(model, corpus, cfg, start(model, handout, B, cfg.opt))
    return [
        regime(
            layout, "handout", f"the handout's own: {weights(p.init, p.sigma)}, h0 = 0", handout, np.zeros((m, B)), x, y
        ),
        regime(
            layout,
            "realistic",
            f"{weights('classic', REALISTIC_SIGMA)}, h0 ~ U(-{H0_RANGE}, {H0_RANGE})",
            realistic,
            h0,
            x,
            y,
        ),
        regime(
            layout,
            "trained",
            f"after {TRAINED_UPDATES} {cfg.optimizer} updates of our NumPy RNN on {corpus.name} from the handout's "
            "weights; h0 the state they carried",
            trained.theta,
            trained.h,
            *streams.chunk(TRAINED_UPDATES % streams.chunks),
        ),
    ]


def at_sigma(layout: Layout, corpus: Corpus, p: Preset, tau: int, B: int, seed: int, sigma: float) -> Regime:
    """The one point `gradcheck --sigma` checks: U, W, V ~ N(0, sigma^2) (or the preset's init), h0 = 0."""
    theta = init_theta(layout, sigma, seed, p.init)
    x, y = Streams(corpus.ids, tau, B).chunk(0)
    return regime(layout, f"sigma {sigma:g}", f"{weights(p.init, sigma)}, h0 = 0", theta, np.zeros((layout.m, B)), x, y)


def weights(init: str, sigma: float) -> str:
    """An initialisation in words (common/weights.py)."""
    if init == "classic":
        return f"U, W, V ~ N(0, {sigma:g}^2), b = c = 0"
    return "U, W, V ~ N(0, 1/(2K)), N(0, 1/(2m)), N(0, 1/m), b = c = 0"


def regime(layout: Layout, name: str, about: str, theta: np.ndarray, h0: np.ndarray, x, y) -> Regime:
    """A point, with how far tanh is from linear there: how often |a_t| > 0.5, where tanh'(a) = 1 - h^2
    and 1 - a^2 differ by more than 0.03."""
    H = NumpyBackend(layout).forward(theta, x, y, h0)[1].H[1:]  # (tau, m, B)
    share = np.mean(np.abs(H) > np.tanh(0.5))  # |h| > tanh(0.5) exactly when |a| > 0.5
    return Regime(name, f"{about}; |a| > 0.5 for {share:.0%} of the a_t entries", theta, h0, x, y)
