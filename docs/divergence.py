"""How fast two correct trainings part (docs/determinism.md): python docs/divergence.py [--data PATH] [--updates N]

From the same initial weights (seed 1, m = 100, float64, seq_length 25), it trains the NumPy
backend, the torch backend (CPU), min-char-rnn (common/tools/minchar.py) and the NumPy backend again
with one weight of W changed by 1 part in 10^15, update by update on the same chunks, and prints
the relative gap between each one's loss and NumPy's: at a few updates, the first update where
it passes 1e-6 and 1e-2, and the smooth losses at the end. Default text: Python's docs corpus.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import backends  # noqa: E402
from common.contract import Layout, Optimizer  # noqa: E402
from common.data import Streams, builtin_corpus, read_corpus  # noqa: E402
from common.tools.minchar import MinCharRNN  # noqa: E402
from common.weights import init_theta  # noqa: E402

SEED, M, TAU, ETA = 1, 100, 25, 0.1


def losses(step, h0, streams: Streams, updates: int) -> np.ndarray:
    """The loss of every update; h is reset at each epoch start, as in training."""
    out, h = [], h0
    for i in range(updates):
        if i % streams.chunks == 0:
            h = h0
        x, y = streams.chunk(i % streams.chunks)
        loss, h = step(x, y, h)
        out.append(loss)
    return np.array(out)


def backend_losses(name, options, layout, theta0, streams, updates) -> np.ndarray:
    model = backends.load(name, layout, "float64", **options)
    theta, mem = model.to_device(theta0), model.to_device(np.zeros_like(theta0))
    h0 = model.to_device(np.zeros((layout.m, 1)))
    return losses(lambda x, y, h: model.step(theta, mem, x, y, h, Optimizer("adagrad", ETA), 1), h0, streams, updates)


def smooth(loss: np.ndarray) -> float:
    s = loss[0]
    for v in loss[1:]:
        s = 0.999 * s + 0.001 * v
    return float(s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="a text file (default: Python's docs corpus)")
    ap.add_argument("--updates", type=int, default=1000)
    args = ap.parse_args()
    corpus = read_corpus(args.data) if args.data else builtin_corpus()
    layout = Layout(corpus.K, M)
    theta = init_theta(layout, 0.01, SEED)
    nudged = theta.copy()
    nudged[layout.slices()["W"].start + 17] *= 1 + 1e-15
    streams, n = Streams(corpus.ids, TAU, 1), args.updates
    ref = backend_losses("numpy", {}, layout, theta, streams, n)
    rnn = MinCharRNN(layout.unpack(theta))
    others = {
        "numpy, W nudged 1e-15": backend_losses("numpy", {}, layout, nudged, streams, n),
        "min-char-rnn": losses(lambda x, y, h: rnn.step(x[:, 0], y[:, 0], h, ETA), np.zeros((M, 1)), streams, n),
    }
    if backends.why_not("torch", device="cpu") is None:
        others["torch (cpu)"] = backend_losses("torch", {"device": "cpu"}, layout, theta, streams, n)
    print(f"{corpus.name} (K = {corpus.K}), m = {M}, seq_length {TAU}, float64, seed {SEED}, {n:,} updates")
    print("relative gap |L - L_numpy| / L_numpy of each update's loss:")
    marks = [k for k in (1, 10, 20, 30, 50, 100, 200, 500, 1000, 10_000, 30_000, 100_000) if k <= n]
    print(f"{'update':>8}" + "".join(f"{name:>24}" for name in others))
    gaps = {name: np.abs(v - ref) / ref for name, v in others.items()}
    for k in marks:
        print(f"{k:>8,}" + "".join(f"{g[k - 1]:>24.1e}" for g in gaps.values()))
    for limit in (1e-6, 1e-2):
        first = [int(np.argmax(g > limit)) + 1 if (g > limit).any() else None for g in gaps.values()]
        print(
            f"{'> ' + format(limit, 'g'):>8}"
            + "".join(f"{'never' if f is None else f'update {f:,}':>24}" for f in first)
        )
    print(
        f"smooth loss after {n:,} updates: numpy {smooth(ref):.2f}, "
        + ", ".join(f"{k} {smooth(v):.2f}" for k, v in others.items())
    )


if __name__ == "__main__":
    main()
