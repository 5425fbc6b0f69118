"""Assignment 4 reproduced on goblet_book.txt (docs: reproduction.md), from the runs of docs/make/runfolders.py.

    python docs/make/reproduction.py goblet_book.txt     (--plot: redraw from docs/make/reproduction.json)

trains (or reuses) the default run and the same run from 12 other seeds, then writes
docs/make/reproduction.json (the figures the page quotes and the machine that made them),
docs/make/reproduction_table.md, reproduction_seeds.md, reproduction_samples.md, and
docs/img/goblet_loss.png (raw and smooth loss) and goblet_epochs.png (the loss along the book,
epoch by epoch, and for the best model read once over it). No text of the book, nor any sample
of a model trained on it, is written: the samples are described by counts.
"""

import json
import math
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backends.numpy_backend import NumpyBackend  # noqa: E402
from common.contract import Layout  # noqa: E402
from common.data import Streams, read_corpus  # noqa: E402
from common.run.checkpoint import load_model, read_checkpoint  # noqa: E402
from docs.make import panels  # noqa: E402
from docs.make.runfolders import SEEDS, ensure, losses, measured, short, summary  # noqa: E402

TAU, BINS, FIRST = 25, 20, 5000  # chunk length; parts of the book in the profile; updates in the left panel
MARKS = (1, 1000, 4000, 10_000, 30_000, 100_000)
HANDOUT = {1: "109.2", 1000: "86.4", 4000: "60.1", 30_000: "47.6"}  # the classic handout's figures
NOTEBOOK = {1: "109.54", 10_000: "49.24 (after a second forward pass)", 30_000: "47.32", 100_000: "47.03"}
DATA = Path(__file__).with_name("reproduction.json")
WORD = re.compile(r"[A-Za-z]{3,}")  # a word of three letters or more: chance rarely spells one
SHOWN = (1, 10_000, 20_000, 30_000, 50_000, 100_000, 150_000, 200_000, 250_000)  # samples in the table


def per_char(L: float) -> str:
    """A summed loss per character, in nats and in bits (docs: model.md#forward-pass)."""
    return f"{L / TAU:.2f} / {L / TAU / math.log(2):.2f}"


def profile(loss: np.ndarray) -> list[float]:
    """The mean loss of each of BINS equal parts of one pass over the book."""
    return [float(part.mean()) for part in np.array_split(loss, BINS)]


def fixed_profile(folder: Path, corpus) -> list[float]:
    """The best model, not learning, read once over the book from h = 0: its loss along the book."""
    model = load_model(folder / "best.npz")
    layout = Layout(corpus.K, model.params.W.shape[0])
    backend, theta = NumpyBackend(layout), layout.pack(model.params)
    streams, h, out = Streams(corpus.ids, TAU, 1), np.zeros((layout.m, 1)), []
    for i in range(streams.chunks):
        loss, cache = backend.forward(theta, *streams.chunk(i), h)
        out.append(loss)
        h = cache.H[-1]
    return profile(np.array(out))


def sample_counts(text: str, words: set[str]) -> dict:
    """What a sample is made of: letters and spaces, and words (of three letters or more) of the book."""
    found = WORD.findall(text)
    return {
        "letters": sum(ch.isalpha() or ch == " " for ch in text) / len(text),
        "words": sum(w.lower() in words for w in found) / max(1, len(found)),
    }


def record(data: Path) -> dict:
    folder = ensure("classic", data)
    corpus = read_corpus(data)
    raw, smooth = losses(folder)
    s = summary(folder)
    n = s["updates_per_epoch"]
    words = {w.lower() for w in WORD.findall(corpus.text)}
    _, meta = read_checkpoint(folder / "checkpoint.npz")
    samples = [(u, sm, sample_counts(text, words)) for u, sm, text in meta["samples"]]
    best = (folder / "best_sample.txt").read_text(encoding="utf-8")
    seeds = {seed: summary(ensure(f"classic-seed{seed}" if seed != 1 else "classic", data)) for seed in SEEDS}
    window = np.convolve(raw, np.ones(1000) / 1000, mode="valid")  # the mean of the last 1,000 raw losses
    return {
        "date": s["date"],
        "timings": s["timings"],
        "updates_per_epoch": n,
        "smooth": {u: float(smooth[u - 1]) for u in (*MARKS, 40_000, n, 50_000)},
        "epoch_ends": s["results"]["smooth_loss_at_epoch_end"],
        "best": [s["results"]["best_smooth_loss"], s["results"]["best_update"]],
        "raw_first": short(raw[:FIRST]),
        "smooth_first": short(smooth[:FIRST]),
        "window": [short([u, window[u - 1000], smooth[u - 1]]) for u in range(1000, len(raw) + 1, 500)],
        "profiles": [profile(raw[e * n : (e + 1) * n]) for e in range(len(raw) // n)],
        "fixed": fixed_profile(folder, corpus),
        "samples": samples,
        "best_sample": sample_counts(best, words),
        "book": sample_counts(corpus.text, words)["letters"],
        "seeds": {seed: [x["results"]["best_smooth_loss"], x["results"]["best_update"]] for seed, x in seeds.items()},
    }


def table(d: dict) -> str:
    """The page's main table: ours beside the handout's and the student notebook's."""
    rows = [
        "| | ours (seed 1) | per character: nats / bits | classic handout | student notebook |",
        "|---|---:|---:|---:|---:|",
    ]
    for u in MARKS:
        L = d["smooth"][str(u)]
        name = "smooth loss, update 1" if u == 1 else f"update {u:,}"
        rows.append(f"| {name} | {L:.2f} | {per_char(L)} | {HANDOUT.get(u, '')} | {NOTEBOOK.get(u, '')} |")
    for e, L in enumerate(d["epoch_ends"], 1):
        rows.append(f"| end of epoch {e} | {L:.2f} | {per_char(L)} | | |")
    L, u = d["best"]
    epoch = (u - 1) // d["updates_per_epoch"] + 1
    rows.append(
        f"| best smooth loss | **{L:.2f}** (update {u:,}, epoch {epoch}) | {per_char(L)} "
        "| about 39.5 near epoch 7 | 43.11 over 6 epochs |"
    )
    return "\n".join(rows) + "\n"


def seeds_table(d: dict) -> str:
    rows = ["| seed | best smooth loss | at update | nats / bits per character |", "|---:|---:|---:|---:|"]
    for seed, (L, u) in d["seeds"].items():
        rows.append(f"| {seed} | {L:.2f} | {u:,} | {per_char(L)} |")
    return "\n".join(rows) + "\n"


def samples_table(d: dict) -> str:
    rows = [
        "| sample | smooth loss | letters and spaces | its words that are words of the book |",
        "|---|---:|---:|---:|",
    ]
    for u, sm, c in (row for row in d["samples"] if row[0] in SHOWN):
        rows.append(f"| update {u:,} | {sm:.2f} | {c['letters']:.0%} | {c['words']:.0%} |")
    c = d["best_sample"]
    rows.append(f"| best model, 1,000 characters | {d['best'][0]:.2f} | {c['letters']:.0%} | {c['words']:.0%} |")
    rows.append(f"| the book itself | | {d['book']:.0%} | 100% |")
    return "\n".join(rows) + "\n"


def quotes(d: dict) -> dict:
    s, n = d["smooth"], d["updates_per_epoch"]
    best = sorted(L for L, _ in d["seeds"].values())
    at = [u for _, u in d["seeds"].values()]
    mode = max(at, key=lambda u: sum(abs(v - u) <= 1000 for v in at))  # the update most best models lie near
    raw = np.array(d["raw_first"])
    t = d["timings"]
    return {
        "date": d["date"][:10],
        "train_s": f"{t['train_s']:,.1f}",
        "ms": f"{t['ms_per_update']:.3f}",
        "wall_s": f"{t['wall_s']:,.1f}",
        "L1": f"{s['1']:.2f}",
        "smooth_1000": f"{s['1000']:.2f}",
        "smooth_4000": f"{s['4000']:.2f}",
        "raw_mean_1000": f"{raw[900:1000].mean():.1f}",
        "weight_1000": f"{0.999**999:.0%}",
        "L1_share": f"{0.999**999 * s['1'] / s['1000']:.0%}",
        "smooth_40000": f"{s['40000']:.2f}",
        "smooth_epoch_end": f"{s[str(n)]:.2f}",
        "smooth_50000": f"{s['50000']:.2f}",
        "fixed_start": f"{d['fixed'][0]:.1f}",
        "fixed_end": f"{d['fixed'][-1]:.1f}",
        "best": f"{d['best'][0]:.2f}",
        "best_update": f"{d['best'][1]:,}",
        "seeds_median": f"{np.median(best):.2f}",
        "seeds_median_per_char": per_char(float(np.median(best))).replace(" / ", " nats, ") + " bits",
        "seeds_low": f"{best[0]:.2f}",
        "seeds_high": f"{best[-1]:.2f}",
        "seeds_42": f"{sum(L <= 42 for L in best)} of {len(best)}",
        "seeds_near": f"{sum(abs(v - mode) <= 1000 for v in at)} of {len(at)}",
        "seeds_near_update": f"{mode:,}",
        "seeds_near_where": f"{(mode - 1) % n / n:.0%}",
    }


def plot(d: dict) -> None:
    bits = TAU * math.log(2)
    u = np.arange(1, FIRST + 1)
    raw = np.array(d["raw_first"])

    def first(ax):
        ax.plot(u, raw, lw=0.3, color="0.75", label="loss of each update")
        ax.plot(u[99:], np.convolve(raw, np.ones(100) / 100, mode="valid"), color="C0", label="mean of the last 100")
        ax.plot(u, d["smooth_first"], color="C1", label="smooth loss (13)")
        marks = (1, 1000, 4000)
        ax.plot(marks, [float(HANDOUT[k]) for k in marks], "o", color="C3", label="classic handout")
        ax.set_ylim(40, 115)
        panels.thousands(ax.xaxis)
        ax.set_xlabel("update")
        ax.set_ylabel("loss, summed over 25 characters")
        ax.set_title(f"the first {FIRST:,} updates")
        ax.legend(fontsize=9)

    def whole(ax):
        w = np.array(d["window"])
        ax.plot(w[:, 0], w[:, 1], color="C0", label="mean of the last 1,000 losses")
        ax.plot(w[:, 0], w[:, 2], color="C1", lw=1, label="smooth loss (13)")
        for e in range(1, len(d["profiles"])):
            ax.axvline(e * d["updates_per_epoch"], color="0.6", ls=":", lw=1)
        ax.set_ylim(38, 62)
        panels.thousands(ax.xaxis)
        ax.set_xlabel("update (dotted: a new epoch starts)")
        ax.set_title("the whole run")
        ax.secondary_yaxis("right", functions=(lambda v: v / bits, lambda v: v * bits)).set_ylabel("bits per character")
        ax.legend(fontsize=9)

    panels.save(ROOT / "docs" / "img" / "goblet_loss.png", first, whole)

    def along(ax):
        import matplotlib

        x, colour = (np.arange(BINS) + 0.5) / BINS * 100, matplotlib.colormaps["viridis"]
        for e, p in enumerate(d["profiles"]):
            ax.plot(x, p, color=colour(e / (len(d["profiles"]) - 1)), label=f"epoch {e + 1}")
        ax.plot(x, d["fixed"], "k--", label="best model, not learning")
        ax.set_ylim(40, 60)
        ax.set_xlabel("where in the book (% of its characters)")
        ax.set_ylabel("mean loss of the chunks there")
        ax.legend(fontsize=9, ncol=2)

    panels.save(ROOT / "docs" / "img" / "goblet_epochs.png", along)


def main() -> None:
    out = measured(record, DATA, __doc__.splitlines()[2].strip())
    d = out["run"]
    out["quote"] = quotes(d)
    DATA.write_text(json.dumps(out) + "\n")
    for name, text in (("table", table(d)), ("seeds", seeds_table(d)), ("samples", samples_table(d))):
        DATA.with_name(f"reproduction_{name}.md").write_text(text)
    plot(d)
    print(table(d), seeds_table(d), samples_table(d), json.dumps(out["quote"], indent=1), sep="\n")


if __name__ == "__main__":
    main()
