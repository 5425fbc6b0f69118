"""What one update of the training loop asks of a GPU, counted on the stand-in (docs: gpu.md#a-training-update).

backends/standin/launches.py counts one Backend.step. An update of common/run/train.py does a
little more: when the smooth loss reaches a new best it keeps the model, theta and h, and that
copy stays on the device (Backend.copy), so it adds two device-to-device copies and no wait. The
best model reaches the host only when a file is written (a checkpoint, best.npz).
Run it: python cli.py launches
"""

from collections import Counter

import backends
from backends import standin
from backends.standin import arrays, kernels
from common.contract import Layout
from common.data import builtin_corpus
from common.run.config import Config
from common.run.train import start, train
from common.weights import init_theta

UPDATES = 40  # early in training most updates find a new best: both kinds are counted
KIND = {"launches": ("custom", "elementwise", "reduction", "cublas"), "waits": ("sync",)}
KIND |= {"in": ("h2d",), "out": ("d2h",), "device copies": ("d2d",)}  # copies host to device, back, on it


def tallies(kernels_name: str = "persistent", B: int = 1, m: int = 16, tau: int = 10) -> dict[str, list[Counter]]:
    """The tally of each update after the first of a short run on the stand-in, by whether it found a new best."""
    saved, kernels.ORDERS = kernels.ORDERS, ["forward"]  # counts do not depend on the thread order
    try:
        with standin.installed():
            corpus = builtin_corpus()
            cfg = Config(hidden=m, seq_length=tau, batch_size=B, updates=UPDATES, sample_every=0, checkpoint_every=0)
            layout = Layout(corpus.K, m)
            backend = backends.load("cupy", layout, cfg.dtype, kernels=kernels_name)
            state = start(backend, init_theta(layout, cfg.sigma, cfg.seed), B)
            counts = []

            def between() -> bool:  # train calls it before each update: the tally since is one update's
                counts.append(Counter(arrays.tally))
                arrays.tally.clear()
                return False

            train(backend, corpus, cfg, state, stop=between)
            between()
    finally:
        kernels.ORDERS = saved
    out = {"update": [], "new best": []}
    for k in range(2, UPDATES + 1):  # the first update also starts the epoch (h = 0 to the device)
        new_best = state.smooths[k - 1] < min(state.smooths[: k - 1])
        out["new best" if new_best else "update"].append(counts[k])
    return out


def summary(tally: Counter) -> dict[str, int]:
    """A tally in the words of the docs: launches, waits, copies in and out, device-to-device copies."""
    return {word: sum(tally[k] for k in kinds) for word, kinds in KIND.items()}


def lines(B: int = 1) -> list[str]:
    """What `python cli.py launches` says about a training update, in lines of at most 80 columns."""
    found, said = tallies("persistent", B), {}
    for kind, counts in found.items():
        each = [summary(c) for c in counts]
        said[kind] = ", ".join(f"{w} {v}" for w, v in each[0].items()) if each else "none counted"
        if any(e != each[0] for e in each):
            said[kind] += " (varies)"
    best = f"new best ({len(found['new best'])} of {UPDATES - 1}):"
    return [
        f"per training update of common/run/train.py (--kernels persistent, B={B}):",
        f"  {'no new best:':<21}{said['update']}",
        f"  {best:<21}{said['new best']}",
        "the best model stays on the device; it is copied out only to be written",
    ]
