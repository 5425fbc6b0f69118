"""The teaching figure of docs/adagrad.md, from a real training run: python docs/figures.py [OUT.png]

It trains the NumPy backend on Python's docs corpus for 3,000 updates through the contract
(forward, backward, adagrad), and records, per update and per parameter, the largest gradient
entry before clipping and how many entries clipping changed; the gradient's norm and how much
elementwise clipping turned its direction; and AdaGrad's step size for the input weights of a
frequent and of a rare character. It prints the per-parameter counts the page quotes.
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backends.numpy_backend import NumpyBackend  # noqa: E402
from common.contract import ADAGRAD_EPS, CLIP, NAMES, Layout, Optimizer  # noqa: E402
from common.data import Streams, builtin_corpus  # noqa: E402
from common.weights import init_theta  # noqa: E402

UPDATES, ETA, M, TAU, SEED = 3000, 0.1, 100, 25, 1


def record():
    corpus = builtin_corpus()
    layout = Layout(corpus.K, M)
    backend = NumpyBackend(layout)
    theta, mem = init_theta(layout, 0.01, seed=SEED), np.zeros(layout.size)
    streams, h = Streams(corpus.ids, TAU, 1), np.zeros((M, 1))
    counts = np.bincount(corpus.ids, minlength=corpus.K)
    frequent, rare = int(np.argmax(counts)), int(np.argmin(np.where(counts > 200, counts, np.inf)))
    where = layout.slices()
    U = where["U"]
    rows = {k: slice(U.start + k * M, U.start + (k + 1) * M) for k in (frequent, rare)}  # U^T rows
    largest = {name: [] for name in NAMES}  # per update: the largest |entry| of each parameter
    clipped = {name: [] for name in NAMES}  # per update: entries with |g| > CLIP
    norm, cosine, steps = [], [], {k: [] for k in rows}
    for i in range(UPDATES):
        x, y = streams.chunk(i)
        _, cache = backend.forward(theta, x, y, h)
        g = backend.backward(theta, cache)  # unclipped
        for name, s in where.items():
            largest[name].append(np.abs(g[s]).max())
            clipped[name].append(int(np.count_nonzero(np.abs(g[s]) > CLIP)))
        gc = np.clip(g, -CLIP, CLIP)  # eq. (11), what adagrad applies
        norm.append(np.linalg.norm(g))
        cosine.append(g @ gc / (np.linalg.norm(g) * np.linalg.norm(gc)))
        backend.update(theta, mem, g, Optimizer("adagrad", ETA), i + 1)
        h = cache.H[-1]
        for k, s in rows.items():  # from the character's first gradient on (before, M = 0: no step at all)
            steps[k].append(np.mean(ETA / np.sqrt(mem[s] + ADAGRAD_EPS)) if mem[s].any() else np.nan)
    names = {k: repr(corpus.chars[k]) + f" ({counts[k]:,} times in the text)" for k in rows}
    sizes = {name: s.stop - s.start for name, s in where.items()}
    return (
        {n: np.array(v) for n, v in largest.items()},
        {n: np.array(v) for n, v in clipped.items()},
        sizes,
        np.array(norm),
        np.array(cosine),
        {names[k]: np.array(v) for k, v in steps.items()},
    )


def report(largest, clipped, sizes, norm, cosine) -> None:
    """The per-parameter counts docs/adagrad.md quotes."""
    table = np.stack([largest[n] for n in NAMES])  # (5, UPDATES)
    holder = np.bincount(table.argmax(axis=0), minlength=len(NAMES))
    print(f"{UPDATES:,} updates, m = {M}, tau = {TAU}, seed {SEED}, clip at {CLIP:g}")
    print(
        f"{'param':<6}{'entries':>9}{'holds the largest entry':>25}{'entries clipped':>17}{'updates with a clip':>21}"
    )
    for j, n in enumerate(NAMES):
        c = clipped[n]
        print(f"{n:<6}{sizes[n]:>9,}{holder[j]:>25,}{c.sum():>17,}{np.count_nonzero(c):>21,}")
    total = sum(clipped[n] for n in NAMES)
    print(f"updates with any entry clipped: {np.count_nonzero(total):,} of {UPDATES:,}")
    print(f"share of all entries clipped: {total.sum() / (UPDATES * sum(sizes.values())):.2e}")
    q = np.percentile(norm, [50, 90, 99, 100])
    print(
        f"gradient norm ||g||: min {norm.min():.1f}, median {q[0]:.1f}, "
        f"90th percentile {q[1]:.1f}, 99th {q[2]:.1f}, max {q[3]:.1f}"
    )
    print(f"updates with ||g|| > 100 (where a norm clip at 100 would act): {np.count_nonzero(norm > 100):,}")
    print(f"cosine(clipped g, g): median {np.median(cosine):.4f}, lowest {cosine.min():.4f}")


def plot(path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    largest, clipped, sizes, norm, cosine, steps = record()
    report(largest, clipped, sizes, norm, cosine)
    t = np.arange(1, UPDATES + 1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
    table = np.stack([largest[n] for n in NAMES])  # (5, UPDATES)
    holder = table.argmax(axis=0)
    for j, n in enumerate(NAMES):
        on = holder == j
        if on.any():
            label = f"in {n} ({on.sum():,} updates; {clipped[n].sum():,} entries of {n} clipped in all)"
            a.semilogy(t[on], table[j, on], ".", ms=2, color=f"C{j}", label=label)
    a.axhline(CLIP, color="k", ls="--", lw=1, label=f"clip at {CLIP:g}")
    a.set_xlabel("update")
    a.set_ylabel("largest |gradient entry|, before clipping")
    a.set_title("where the largest entry is: the output layer V, c")
    a.set_yticks([2, 3, 5, 10, 20], ["2", "3", "5", "10", "20"])
    a.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    a.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), markerscale=4, frameon=False)
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
