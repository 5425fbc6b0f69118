"""Where a second CPU thread starts to pay for torch (docs/performance.md#threads):

    python docs/threads.py [--rounds R] [--hidden M ...] [--batch-size B ...]

Times the torch backend's training update (Backend.step, float64, tau = 25, AdaGrad, the text
of docs/) with one and with two intra-op threads, in interleaved rounds, at each (m, B) of a
grid, and prints the median of the per-round ratios time(2 threads) / time(1 thread) with its
interquartile range. Two threads pay at a point when even the upper quartile of that ratio is
below 1. MIN_WORK in backends/torch_threads.py is the smallest work of one product of the
recurrence, 2 m^2 B flops, from which they paid at every larger point; the script prints it.
It writes docs/data/threads.csv and the table docs/make/threads_table.md.
"""

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import backends  # noqa: E402
from common.contract import Layout  # noqa: E402
from common.data import Streams, builtin_corpus  # noqa: E402
from common.tools import bench, machine  # noqa: E402
from common.weights import init_theta  # noqa: E402

ROUND_S = 0.2  # seconds of updates per round and thread count


class Pinned(bench.Contender):
    """A torch backend's updates with torch's intra-op threads set to k before each one."""

    def __init__(self, k: int, inner: bench.Contender):
        self.name, self.k, self.inner = f"{k} threads", k, inner

    def update(self) -> None:
        torch.set_num_threads(self.k)
        self.inner.update()


def point(corpus, m: int, B: int, rounds: int) -> dict:
    layout = Layout(corpus.K, m)
    theta0 = init_theta(layout, 0.01, seed=1)
    streams = Streams(corpus.ids, 25, B)
    pinned = []
    for k in (1, 2):
        backend = backends.load("torch", layout, "float64", device="cpu")
        pinned.append(Pinned(k, bench.backend_contender("torch", backend, theta0, streams)))
    times = bench.measure(pinned, updates=50, rounds=rounds, warmup=5, budget=ROUND_S)
    results = {}
    for c in pinned:
        n, wall, cpu = times[c.name]
        results[c.k] = bench.Result(c.name, "torch", "float64", m, B, 25, n, streams.chunks, (*wall,), (*cpu,), c.k)
    ratio, q1, q3 = bench.paired(results[2], results[1])
    ms1, ms2 = results[1].ms_per_update, results[2].ms_per_update
    return {"m": m, "B": B, "work": 2 * m * m * B, "ms_1": ms1, "ms_2": ms2, "ratio": ratio, "q1": q1, "q3": q3}


def min_work(rows: list[dict]) -> float:
    """The smallest 2 m^2 B from which two threads paid at every point measured (inf: at none)."""
    for work in sorted({r["work"] for r in rows}):  # points of equal work must all have paid
        if all(r["q3"] < 1 for r in rows if r["work"] >= work):
            return work
    return float("inf")


def table(rows: list[dict], rounds: int) -> str:
    lines = [
        f"| m | B | 2 m² B | ms, 1 thread | ms, 2 threads | 2 threads / 1, median of {rounds} rounds [IQR] |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["work"], r["m"])):
        ratio = f"{r['ratio']:.2f} [{r['q1']:.2f}-{r['q3']:.2f}]"
        lines.append(f"| {r['m']} | {r['B']} | {r['work']:.2g} | {r['ms_1']:.3g} | {r['ms_2']:.3g} | {ratio} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--hidden", type=int, action="append")
    ap.add_argument("--batch-size", type=int, action="append")
    ap.add_argument("--csv", type=Path, default=ROOT / "docs" / "data" / "threads.csv")
    ap.add_argument("--markdown", type=Path, default=ROOT / "docs" / "make" / "threads_table.md")
    args = ap.parse_args()
    corpus = builtin_corpus()
    print(f"{machine.cpu()}, {machine.load()}; torch {torch.__version__}, float64, tau = 25, {args.rounds} rounds")
    rows = []
    for m in args.hidden or [64, 256, 1024]:
        for B in args.batch_size or [1, 4, 16, 64]:
            rows.append(point(corpus, m, B, args.rounds))
            r = rows[-1]
            print(
                f"m={m:5} B={B:4} 2m^2B={r['work']:9.2g}  1 thread {r['ms_1']:9.3f} ms  2 threads {r['ms_2']:9.3f} ms"
                f"  ratio {r['ratio']:.3f} [{r['q1']:.3f}-{r['q3']:.3f}]",
                flush=True,
            )
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    args.markdown.write_text(table(rows, args.rounds), encoding="utf-8")
    print(f"MIN_WORK = {min_work(rows):.3g}  (backends/torch_threads.py); wrote {args.csv} and {args.markdown}")


if __name__ == "__main__":
    main()
