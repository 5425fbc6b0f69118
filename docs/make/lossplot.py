"""The smooth-loss figure of docs/reproduction.md: python docs/lossplot.py HISTORY.csv OUT.png [--seq-length 25]

Reads a run's history.csv (update, loss, smooth_loss) and plots the smooth loss against the
update, summed over the chunk as the assignment reports it (left axis), and the same loss per
character in bits, L / (seq_length ln 2) (right axis), with the classic handout's reference
points for comparison.
"""

import argparse
import csv
import math
from pathlib import Path

HANDOUT = {1: 109.2, 1000: 86.4, 4000: 60.1, 30000: 47.6}  # classic DD2424 Assignment 4 handout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("history", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seq-length", type=int, default=25)
    args = ap.parse_args()
    with args.history.open() as f:
        rows = [(int(r["update"]), float(r["smooth_loss"])) for r in csv.DictReader(f)]
    updates, smooth = zip(*rows)

    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bits = args.seq_length * math.log(2)  # summed loss per bit per character
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    ax.plot(updates, smooth, lw=1, label="smooth loss (13), this run")
    ax.plot(list(HANDOUT), list(HANDOUT.values()), "o", color="C3", label="classic handout's reference")
    ax.set_xlabel("update")
    ax.set_ylabel(f"smooth loss, summed over {args.seq_length} characters")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(lw=0.4, alpha=0.5)
    right = ax.secondary_yaxis("right", functions=(lambda v: v / bits, lambda v: v * bits))
    right.set_ylabel("bits per character")
    ax.legend()
    fig.savefig(args.out, dpi=110)
    plt.close(fig)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
