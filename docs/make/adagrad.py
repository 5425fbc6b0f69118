"""Clipping and AdaGrad's step sizes in a real run (docs: adagrad.md#seen-in-a-real-run).

    python docs/make/adagrad.py            (--plot: redraw from docs/make/adagrad.json)

trains the NumPy backend on Python's docs corpus for 3,000 updates through the contract (forward,
backward, update) and records, per update and per parameter, the largest gradient entry before
clipping and how many entries clipping changed; the gradient's norm and how much elementwise
clipping turned its direction; and AdaGrad's step size for the input weights of a frequent and of
a rare character. It writes docs/make/adagrad.json (the numbers, the figures the page quotes, the
machine), docs/make/adagrad_table.md and docs/img/adagrad.png (with one file per panel).
"""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backends.numpy_backend import NumpyBackend  # noqa: E402
from common.contract import ADAGRAD_EPS, CLIP, NAMES, Layout, Optimizer  # noqa: E402
from common.data import Streams, builtin_corpus  # noqa: E402
from common.weights import init_theta  # noqa: E402
from docs.make import panels, provenance  # noqa: E402
from docs.make.runfolders import short  # noqa: E402

UPDATES, ETA, M, TAU, SEED = 3000, 0.1, 100, 25, 1
DATA = Path(__file__).with_name("adagrad.json")


def record(corpus, updates: int = UPDATES, m: int = M) -> dict:
    """Train and measure; every per-update series is a list of floats (NaN: not yet defined)."""
    layout = Layout(corpus.K, m)
    backend = NumpyBackend(layout)
    theta, mem = init_theta(layout, 0.01, seed=SEED), np.zeros(layout.size)
    streams, h = Streams(corpus.ids, TAU, 1), np.zeros((m, 1))
    counts = np.bincount(corpus.ids, minlength=corpus.K)
    frequent, rare = int(np.argmax(counts)), int(np.argmin(np.where(counts > 200, counts, np.inf)))
    where = layout.slices()
    U = where["U"]
    rows = {k: slice(U.start + k * m, U.start + (k + 1) * m) for k in (frequent, rare)}  # U^T rows: U's columns
    largest = {name: [] for name in NAMES}  # per update: the largest |entry| of each parameter
    clipped = {name: [] for name in NAMES}  # per update: entries with |g| > CLIP
    norm, cosine, steps = [], [], {k: [] for k in rows}
    for i in range(updates):
        x, y = streams.chunk(i % streams.chunks)
        if i % streams.chunks == 0:
            h = np.zeros((m, 1))
        _, cache = backend.forward(theta, x, y, h)
        g = backend.backward(theta, cache)  # unclipped
        for name, s in where.items():
            largest[name].append(float(np.abs(g[s]).max()))
            clipped[name].append(int(np.count_nonzero(np.abs(g[s]) > CLIP)))
        gc = np.clip(g, -CLIP, CLIP)  # eq. (11), what the update applies
        norm.append(float(np.linalg.norm(g)))
        cosine.append(float(g @ gc / (np.linalg.norm(g) * np.linalg.norm(gc))))
        backend.update(theta, mem, g, Optimizer("adagrad", ETA), i + 1)
        h = cache.H[-1]
        for k, s in rows.items():  # from the character's first gradient on (before it, M = 0: no step at all)
            steps[k].append(np.mean(ETA / np.sqrt(mem[s] + ADAGRAD_EPS)) if mem[s].any() else np.nan)
    return {  # six significant digits: all the page and the figure need
        "updates": updates,
        "sizes": {name: s.stop - s.start for name, s in where.items()},
        "largest": {name: short(v) for name, v in largest.items()},
        "clipped": clipped,
        "norm": short(norm),
        "cosine": short(cosine),
        "characters": [{"char": corpus.chars[k], "count": int(counts[k]), "step": short(steps[k])} for k in rows],
    }


def summary(d: dict) -> dict:
    """The counts of the table and of the text, from the per-update series."""
    table = np.array([d["largest"][n] for n in NAMES])  # (5, updates)
    holder = np.bincount(table.argmax(axis=0), minlength=len(NAMES))
    clipped = {n: np.array(d["clipped"][n]) for n in NAMES}
    total = sum(clipped.values())
    norm, cosine = np.array(d["norm"]), np.array(d["cosine"])
    W = clipped["W"]
    return {
        "holder": dict(zip(NAMES, holder.tolist())),
        "entries_clipped": {n: int(c.sum()) for n, c in clipped.items()},
        "updates_clipped": {n: int(np.count_nonzero(c)) for n, c in clipped.items()},
        "W_clips": [(int(u) + 1, int(W[u])) for u in np.flatnonzero(W)],  # (update, entries of W clipped)
        "any_clip": int(np.count_nonzero(total)),
        "share": float(total.sum() / (d["updates"] * sum(d["sizes"].values()))),
        "norm_median": float(np.median(norm)),
        "norm_max": float(norm.max()),
        "norm_max_at": int(norm.argmax()) + 1,
        "norm_over_100": int(np.count_nonzero(norm > 100)),
        "norm_over_5": int(np.count_nonzero(norm > 5)),
        "cosine_median": float(np.median(cosine)),
        "cosine_min": float(cosine.min()),
    }


def bursts(W_clips: list) -> str:
    """The updates in which W was clipped in bulk (over 100 entries), as a phrase."""
    big = [f"{n:,} entries at update {u:,}" for u, n in W_clips if n > 100]
    return ", ".join(big[:-1]) + (" and " if len(big) > 1 else "") + big[-1] if big else "none in bulk"


def quotes(d: dict) -> dict:
    """Every figure docs/adagrad.md quotes from the run, as it is printed there."""
    s = summary(d)
    frequent, rare = d["characters"]
    f_end, r_end = frequent["step"][-1], rare["step"][-1]
    rare_first = next(i for i, v in enumerate(rare["step"]) if v == v) + 1
    return {
        "updates": f"{d['updates']:,}",
        "output_layer": f"{s['holder']['V'] + s['holder']['c']:,}",
        "W_updates": f"{s['updates_clipped']['W']:,}",
        "W_bursts": bursts(s["W_clips"]),
        "share": f"{s['share']:.1e}".replace("e-0", "e-"),
        "any_clip": f"{s['any_clip']:,}",
        "cosine_median": f"{s['cosine_median']:.4f}",
        "cosine_min": f"{s['cosine_min']:.3f}",
        "norm_median": f"{s['norm_median']:.0f}",
        "norm_max": f"{s['norm_max']:.0f}",
        "norm_max_at": f"{s['norm_max_at']:,}",
        "norm_over_100": f"{s['norm_over_100']:,}",
        "norm_over_5": f"{s['norm_over_5']:,}",
        "frequent": f"{frequent['char']!r} ({frequent['count']:,} times in the text)",
        "rare": f"{rare['char']!r} ({rare['count']:,} times)",
        "frequent_step": f"{f_end:.2f}",
        "rare_first": f"{rare_first:,}",
        "rare_ratio": f"{r_end / f_end:,.0f}",
    }


def table(d: dict) -> str:
    """The table of docs/adagrad.md: per parameter, its size and what clipping did to it."""
    s = summary(d)
    rows = [
        "| parameter | entries | updates in which it holds the largest entry | entries clipped | updates with a clip |",
        "|---|---:|---:|---:|---:|",
    ]
    for n in NAMES:
        rows.append(
            f"| ${n}$ | {d['sizes'][n]:,} | {s['holder'][n]:,} | {s['entries_clipped'][n]:,} "
            f"| {s['updates_clipped'][n]:,} |"
        )
    return "\n".join(rows) + "\n"


def plot(d: dict, path: Path) -> None:
    t = np.arange(1, d["updates"] + 1)
    table_ = np.array([d["largest"][n] for n in NAMES])  # (5, updates)
    holder = table_.argmax(axis=0)

    def largest(ax):
        for j, n in enumerate(NAMES):
            on = holder == j
            if on.any():
                ax.semilogy(t[on], table_[j, on], ".", ms=2, color=f"C{j}", label=f"in {n} ({on.sum():,} updates)")
        ax.axhline(CLIP, color="k", ls="--", lw=1, label=f"clip at {CLIP:g}")
        ax.set_xlabel("update")
        ax.set_ylabel("largest |gradient entry|, before clipping")
        ax.set_title("the largest entry is in V or c")
        ax.set_yticks([2, 3, 5, 10, 20], ["2", "3", "5", "10", "20"])
        ax.minorticks_off()
        ax.legend(markerscale=4, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=9, frameon=False)

    def steps(ax):
        for c in d["characters"]:
            ax.semilogy(t, np.array(c["step"], dtype=float), label=f"{c['char']!r} ({c['count']:,} times)")
        ax.set_xlabel("update")
        ax.set_ylabel(r"$\eta / \sqrt{M + \epsilon}$, mean over a column of $U$")
        ax.set_title("AdaGrad: a rare character keeps large steps")
        ax.legend()

    panels.save(path, largest, steps)


def main() -> None:
    if sys.argv[1:] == ["--plot"]:  # redraw and rewrite from the committed numbers
        out = json.loads(DATA.read_text())
    else:
        corpus = builtin_corpus()
        out = {"provenance": provenance.record(corpus), "run": record(corpus)}
    d = out["run"]
    out["quote"] = quotes(d)
    DATA.write_text(json.dumps(out, indent=None, separators=(",", ":")) + "\n")
    DATA.with_name("adagrad_table.md").write_text(table(d))
    plot(d, ROOT / "docs" / "img" / "adagrad.png")
    print(table(d))
    print(json.dumps(out["quote"], indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
