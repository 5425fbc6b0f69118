"""check --train N: our training loop and optimizer on a student's gradients, beside ours (docs: check.md#train).

Both start from the same weights and walk the same chunks, each carrying the h_tau it returns.
Training is chaotic (docs: determinism.md): two correct implementations agree to rounding for a
few dozen updates and then drift apart, a few percent after some hundreds; a loss that stops
falling, or leaves ours far behind, is what a bug looks like.
"""

from collections.abc import Callable

from backends.numpy_backend import NumpyBackend
from common.contract import Backend
from common.data import Corpus
from common.errors import TrainingStopped
from common.run.config import Config
from common.run.presets import Preset, settings
from common.run.train import start, train
from common.weights import init_theta


def side_by_side(model: Backend, corpus: Corpus, p: Preset, tau: int, seed: int, updates: int, say: Callable) -> bool:
    """Train model and our reference `updates` times from the same weights; say both smooth losses every tenth."""
    layout = model.layout
    sizes = {"hidden": layout.m, "seq_length": tau, "seed": seed, "updates": updates}
    cfg = Config(**sizes, sample_every=0, checkpoint_every=0, **settings(p))
    theta0 = init_theta(layout, cfg.sigma, seed, cfg.init)
    smooths = {}
    for who, backend in (("yours", model), ("ours", NumpyBackend(layout))):
        try:
            smooths[who] = train(backend, corpus, cfg, start(backend, theta0, 1, cfg.opt)).smooths
        except TrainingStopped as e:
            say(f"\nyour training stopped: {e}")
            return False
    say(
        f"\ntraining: {updates:,} updates of {cfg.optimizer} (eta {cfg.eta:g}) on {corpus.name} from the same weights, "
        f"m={layout.m}; the smooth loss of each (per chunk of {tau}, {p.reduction} loss)"
    )
    say(f"{'update':>8}{'yours':>14}{'ours':>14}{'yours / ours - 1':>20}")
    every = max(1, updates // 10)
    for k in range(every, updates + 1, every):
        yours, ours = smooths["yours"][k - 1], smooths["ours"][k - 1]
        say(f"{k:>8,}{yours:>14.6f}{ours:>14.6f}{yours / ours - 1:>20.1e}")
    return True
