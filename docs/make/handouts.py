"""The 2025 handout's preset on goblet_book.txt, beside the classic run (docs: handouts.md).

    python docs/make/handouts.py goblet_book.txt     (--plot: redraw from docs/make/handouts.json)

trains (or reuses) the runs of docs/make/runfolders.py: the 2025 preset for 150,000 updates, the
same with a held-out tenth and shuffled chunks, and the classic default run; measures the first
loss of the 2025 initialisation (and of a guess at the handout's) over seeds 0 to 9; and writes
docs/make/handouts.json (the figures the page quotes and the machine), handouts_2025.md,
handouts_per_char.md, docs/img/handout2025_loss.png and handout2025_validation.png.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backends.numpy_backend import NumpyBackend  # noqa: E402
from common.contract import Layout  # noqa: E402
from common.data import Streams, read_corpus  # noqa: E402
from common.weights import init_theta  # noqa: E402
from docs.make import panels  # noqa: E402
from docs.make.runfolders import ensure, losses, measured, short, summary, validation  # noqa: E402

TAU = 25
HANDOUT = {1: "4.6049", 1000: "3.3806", 4000: "2.2598", 30_000: "1.7861", 150_000: "1.5344"}  # the 2025 handout
SIDE_BY_SIDE = (1, 1000, 4000, 30_000, 100_000)
VALIDATED = (1, 5000, 30_000, 100_000, 150_000)
DATA = Path(__file__).with_name("handouts.json")


def first_losses(corpus, scale_U: float | None) -> list[float]:
    """The loss of the first chunk at the 2025 initialisation, seeds 0 to 9 (with U ~ N(0, scale_U^2) if given)."""
    layout = Layout(corpus.K, 100)
    backend = NumpyBackend(layout)
    x, y = Streams(corpus.ids, TAU, 1).chunk(0)
    out = []
    for seed in range(10):
        theta = init_theta(layout, 0.01, seed, "2025")
        if scale_U is not None:
            U = layout.views(theta).U
            U *= scale_U / math.sqrt(1 / (2 * corpus.K))  # the same draw, scaled to the other variance
        out.append(backend.forward(theta, x, y, np.zeros((100, 1)))[0] / TAU)
    return out


def record(data: Path) -> dict:
    corpus = read_corpus(data)
    adam, held, classic = (ensure(name, data) for name in ("2025", "2025-validation", "classic"))
    raw, smooth = losses(adam)
    _, smooth_held = losses(held)
    _, smooth_classic = losses(classic)
    s, v = summary(adam), summary(held)
    return {
        "date": s["date"],
        "timings": s["timings"],
        "smooth": short([*smooth[::50], smooth[-1]]),  # every 50th update, and the last
        "at": {u: float(smooth[u - 1]) for u in (*HANDOUT, *SIDE_BY_SIDE, 2 * s["updates_per_epoch"])},
        "epoch_2": 2 * s["updates_per_epoch"],
        "best": [s["results"]["best_smooth_loss"], s["results"]["best_update"]],
        "classic": {u: float(smooth_classic[u - 1]) / TAU for u in SIDE_BY_SIDE},
        "classic_best": [
            summary(classic)["results"]["best_smooth_loss"] / TAU,
            summary(classic)["results"]["best_update"],
        ],
        "classic_updates": len(smooth_classic),
        "first": first_losses(corpus, None),
        "first_half": first_losses(corpus, math.sqrt(0.5)),
        "validation": validation(held),
        "held_smooth": short([*smooth_held[::50], smooth_held[-1]]),
        "held_wall": v["timings"]["wall_s"],
    }


def table_2025(d: dict) -> str:
    rows = ["| smooth loss | ours | 2025 handout | ours / handout |", "|---|---:|---:|---:|"]
    for u in (1, 1000, 4000, 30_000, d["epoch_2"], 100_000, 150_000):
        ours = d["at"][str(u)]
        name = f"update {u:,}" + (" (end of epoch 2)" if u == d["epoch_2"] else "")
        theirs = HANDOUT.get(u, "about 1.55 (start of epoch 3)" if u == d["epoch_2"] else "")
        ratio = f"{ours / float(theirs):.3f}" if theirs and theirs[0].isdigit() else ""
        rows.append(f"| {name} | {ours:.4f} | {theirs} | {ratio} |")
    L, u = d["best"]
    rows.append(f"| best | **{L:.4f}** (update {u:,}) | | |")
    return "\n".join(rows) + "\n"


def table_per_char(d: dict) -> str:
    rows = ["| nats per character | classic (AdaGrad, sum, clip) | 2025 (Adam, mean) |", "|---|---:|---:|"]
    for u in SIDE_BY_SIDE:
        c = d["classic"][str(u)]
        rows.append(f"| update {u:,} | {c * TAU:.2f} / 25 = {c:.3f} | {d['at'][str(u)]:.3f} |")
    (c, cu), (L, u) = d["classic_best"], d["best"]
    rows.append(f"| best | {c * TAU:.2f} / 25 = {c:.3f} (update {cu:,}) | {L:.3f} (update {u:,}) |")
    return "\n".join(rows) + "\n"


def quotes(d: dict) -> dict:
    t, first, half = d["timings"], np.array(d["first"]), np.array(d["first_half"])
    val = dict(d["validation"])
    low = min(d["validation"], key=lambda r: r[1])
    gap = d["classic"]["30000"] - d["at"]["30000"]
    later = [abs(d["at"][str(u)] / float(v) - 1) for u, v in HANDOUT.items() if u >= 4000]
    return {
        "within": f"{max(later):.1%}",
        "date": d["date"][:10],
        "train_s": f"{t['train_s']:,.1f}",
        "ms": f"{t['ms_per_update']:.2f}",
        "wall_s": f"{t['wall_s']:,.1f}",
        "first_low": f"{first.min():.2f}",
        "first_high": f"{first.max():.2f}",
        "half_low": f"{half.min():.2f}",
        "half_high": f"{half.max():.2f}",
        "half_mean": f"{half.mean():.2f}",
        "gap_30000": f"{gap:.2f}",
        "gap_30000_bits": f"{gap / math.log(2):.2f}",
        "classic_updates": f"{d['classic_updates']:,}",
        "best_vs_classic": "below" if d["best"][0] < d["classic_best"][0] else "above",
        "validation": ", ".join(f"{val[u]:.2f} at {u:,}" for u in VALIDATED if u in val),
        "validation_low": f"{low[1]:.3f}",
        "validation_low_at": f"{low[0]:,}",
        "validation_low_bits": f"{low[1] / math.log(2):.2f}",
        "validation_low_perplexity": f"{math.exp(low[1]):.2f}",
        "held_smooth_end": f"{d['held_smooth'][-1]:.2f}",
        "smooth_end": f"{d['at']['150000']:.2f}",
        "held_wall": f"{d['held_wall']:,.0f}",
    }


def plot(d: dict) -> None:
    u = np.r_[np.arange(1, 150_001, 50), 150_000]

    def loss(ax):
        ax.plot(u, d["smooth"], label="smooth loss (13), this run")
        marks = sorted(HANDOUT)
        ax.plot(marks, [float(HANDOUT[k]) for k in marks], "o", color="C3", label="2025 handout")
        ax.set_xscale("log")
        ax.set_xlabel("update")
        ax.set_ylabel("smooth loss, nats per character (mean)")
        ax.legend()

    def held(ax):
        ax.plot(u, d["held_smooth"], label="smooth training loss, shuffled chunks")
        ax.plot(*zip(*d["validation"]), "o-", label="validation loss (last tenth)")
        ax.set_ylim(1.4, 2.6)
        panels.thousands(ax.xaxis)
        ax.set_xlabel("update")
        ax.set_ylabel("nats per character")
        ax.legend()

    panels.save(ROOT / "docs" / "img" / "handout2025_loss.png", loss)
    panels.save(ROOT / "docs" / "img" / "handout2025_validation.png", held)


def main() -> None:
    out = measured(record, DATA, __doc__.splitlines()[2].strip())
    d = out["run"]
    out["quote"] = quotes(d)
    DATA.write_text(json.dumps(out) + "\n")
    DATA.with_name("handouts_2025.md").write_text(table_2025(d))
    DATA.with_name("handouts_per_char.md").write_text(table_per_char(d))
    plot(d)
    print(table_2025(d), table_per_char(d), json.dumps(out["quote"], indent=1), sep="\n")


if __name__ == "__main__":
    main()
