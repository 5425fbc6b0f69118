"""The teaching figure of docs/adagrad.md, from a real training run: python docs/figures.py [OUT.png]

It trains the NumPy backend on Python's docs corpus for 3,000 updates through the contract
(forward, backward, adagrad), and records, per update, how large the gradient was before
clipping, what share of its entries clipping changed, and AdaGrad's step size for the input
weights of a frequent and of a rare character.
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backends.numpy_backend import NumpyBackend  # noqa: E402
from common.contract import ADAGRAD_EPS, CLIP, Layout, Optimizer  # noqa: E402
from common.data import Streams, builtin_corpus  # noqa: E402
from common.weights import init_theta  # noqa: E402

UPDATES, ETA = 3000, 0.1


def record():
    corpus = builtin_corpus()
    layout = Layout(corpus.K, 100)
    backend = NumpyBackend(layout)
    theta, mem = init_theta(layout, 0.01, seed=1), np.zeros(layout.size)
    streams, h = Streams(corpus.ids, 25, 1), np.zeros((100, 1))
    counts = np.bincount(corpus.ids, minlength=corpus.K)
    frequent, rare = int(np.argmax(counts)), int(np.argmin(np.where(counts > 200, counts, np.inf)))
    U = layout.slices()["U"]
    rows = {k: slice(U.start + k * 100, U.start + (k + 1) * 100) for k in (frequent, rare)}  # U^T rows
    largest, clipped, steps = [], [], {k: [] for k in rows}
    for i in range(UPDATES):
        x, y = streams.chunk(i)
        _, cache = backend.forward(theta, x, y, h)
        g = backend.backward(theta, cache)
        largest.append(np.abs(g).max())
        clipped.append(np.mean(np.abs(g) > CLIP))
        backend.update(theta, mem, g, Optimizer("adagrad", ETA), i + 1)
        h = cache.H[-1]
        for k, s in rows.items():  # from the character's first gradient on (before, M = 0: no step at all)
            steps[k].append(np.mean(ETA / np.sqrt(mem[s] + ADAGRAD_EPS)) if mem[s].any() else np.nan)
    names = {k: repr(corpus.chars[k]) + f" ({counts[k]:,} times in the text)" for k in rows}
    return np.array(largest), np.array(clipped), {names[k]: np.array(v) for k, v in steps.items()}


def plot(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    largest, clipped, steps = record()
    t = np.arange(1, UPDATES + 1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    a.semilogy(t, largest, lw=0.6, label="largest |gradient entry|")
    a.axhline(CLIP, color="C3", ls="--", label=f"clip at {CLIP:g}")
    a.set_xlabel("update")
    a.set_title(f"clipping: {100 * clipped.mean():.3f}% of entries clipped on average")
    a.legend()
    for name, s in steps.items():
        b.semilogy(t, s, label=name)
    b.set_xlabel("update")
    b.set_ylabel(r"$\eta / \sqrt{M + \epsilon}$, mean over the column of $U$")
    b.set_title("AdaGrad: rare characters keep larger steps")
    b.legend()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img" / "adagrad.png"
    plot(out)
    print(f"wrote {out}")
