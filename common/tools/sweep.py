"""How cost grows: the bench over a grid of one size, as a CSV and a plot (docs: scaling.md).

`python cli.py bench --sweep batch --out DIR` times every contender at each batch size of the
grid (the other sizes fixed), in interleaved rounds as the bench always does, and writes
DIR/sweep-batch.csv (a row per contender and point) and DIR/sweep-batch.png (ms per update and
characters per second against B, log axes, where a backend's line crosses NumPy's marked).
"""

import csv
import time
from math import log
from pathlib import Path

import numpy as np

from common.data import Corpus
from common.errors import BadInput
from common.tools.bench import Result, paired, spread
from common.tools.bench_report import REFERENCE, YARDSTICKS, context, groups

# the swept option -> (the Result field it sets, the default grid)
SWEEPS = {
    "hidden": ("m", [32, 100, 256, 512, 1024]),
    "batch": ("B", [1, 4, 16, 64, 256]),
    "seq-length": ("tau", [5, 10, 25, 50, 100]),
}
ROUND_S = 0.1  # seconds a contender's round should take: fewer updates per round at large sizes
ROUNDS = 15
COLUMNS = (
    "backend variant dtype m B tau ms_per_update ms_q1 ms_q3 chars_per_s cpu_ms vs_numpy vs_numpy_q1 vs_numpy_q3 "
    "gflop_per_update products_ms threads blas versions machine updates_per_round rounds"
).split()


def grid(option: str | None, hidden, batch, tau, out) -> dict[str, list[int]]:
    """The sizes to time {m, B, tau}: the swept one's grid (its repeated option, or the default), the others one."""
    given = {"m": hidden, "B": batch, "tau": tau}
    if option is None:
        if out is not None:
            raise BadInput("--out is the folder --sweep writes into: give --sweep hidden, batch or seq-length too")
        return {"m": hidden or [100], "B": batch or [1], "tau": tau or [25]}
    if out is None:
        raise BadInput(f"--sweep {option} writes sweep-{option}.csv and .png: give --out DIR")
    field, default = SWEEPS[option]
    flags = {"m": "--hidden", "B": "--batch-size", "tau": "--seq-length"}
    for k, values in given.items():
        if k != field and values and len(values) > 1:
            raise BadInput(f"--sweep {option} holds {flags[k]} fixed: give it once (got {len(values)} values)")
    fixed = {"m": [100], "B": [1], "tau": [25]}
    return {k: (given[k] or default) if k == field else (given[k] or fixed[k]) for k in fixed}


def flops(K: int, m: int, B: int, tau: int) -> int:
    """Floating-point operations of the matrix products of one update, 2 per multiply-add (docs:
    scaling.md#flops): forward W h_{t-1} (tau steps) and V h_t; backward g h^T, V^T g, W^T da
    (tau - 1 steps: da_{tau+1} = 0) and da h^T. The rest is O(m B tau + m^2): a few percent."""
    return 2 * B * ((3 * tau - 1) * m * m + 3 * tau * K * m)


def gemm_rate(dtype: str, n: int = 512, repeats: int = 5) -> float:
    """Flops per second of NumPy's matrix product of two n x n matrices (its BLAS, its threads): the
    rate the arithmetic could run at; the median of a few products."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / spread(times[1:])[0]  # the first product warms the BLAS up


def rows(results: list[Result], K: int, libraries: dict[str, str], when: str, rate: dict) -> list[dict]:
    """One CSV row per contender and point, with its time relative to NumPy's in the same rounds."""
    out = []
    for (dtype, m, B, tau), by in groups(results).items():
        for name, r in by.items():
            backend, variant = (name, "yardstick") if name in YARDSTICKS else (*name.partition("-")[::2],)
            ratio = paired(r, by[REFERENCE]) if REFERENCE in by else (float("nan"),) * 3
            gflop = flops(K, m, B, tau) / 1e9
            figures = (r.ms_per_update, *r.ms_iqr, r.chars_per_s, r.cpu_ms, *ratio, gflop, 1e12 * gflop / rate[dtype])
            row = dict(zip(COLUMNS, (backend, variant, dtype, m, B, tau, *figures, r.threads)))
            out.append(row | context(r, libraries, when) | {"updates_per_round": r.updates, "rounds": len(r.wall)})
    return out


def write_csv(path, table: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        for row in table:
            w.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})


def read_csv(path) -> list[dict]:
    """A sweep's CSV, numbers as numbers."""
    with open(path, encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    for row in table:
        for k, v in row.items():
            if k in ("m", "B", "tau", "threads", "updates_per_round", "rounds"):
                row[k] = int(v) if v not in ("", "None") else None
            elif k.startswith(("ms", "chars", "cpu", "vs_", "gflop", "products")):
                row[k] = float(v)
    return table


def crossings(table: list[dict], field: str) -> list[tuple[str, str, float]]:
    """Where each backend's time crosses NumPy's along the swept size: (label, dtype, size) between two
    points on either side of 1 by their whole interquartile range (points whose range holds 1 are ties,
    not crossings), log-interpolated between the two medians."""
    out = []
    lines = {}
    for row in table:
        if row["variant"] != "yardstick" and row["backend"] != REFERENCE:
            side = 1 if row["vs_numpy_q1"] > 1 else -1 if row["vs_numpy_q3"] < 1 else 0  # slower, faster, a tie
            lines.setdefault((label(row), row["dtype"]), []).append((row[field], row["vs_numpy"], side))
    for (name, dtype), points in lines.items():
        clear = [p for p in sorted(points) if p[2] != 0]
        for (x0, r0, s0), (x1, r1, s1) in zip(clear, clear[1:]):
            if s0 != s1:
                f = log(r0) / (log(r0) - log(r1))  # where log(ratio) reaches 0 between the two points
                out.append((name, dtype, float(np.exp(log(x0) + f * (log(x1) - log(x0))))))
    return out


def label(row: dict) -> str:
    return row["backend"] + (f"-{row['variant']}" if row["variant"] not in ("", "yardstick") else "")


def plot(table: list[dict], option: str, path, phone: bool = False) -> None:
    """ms per update and chars/s against the swept size, log axes; crossovers with NumPy marked. Made from
    a sweep's rows alone, so that `python docs/make/bench_tables.py` redraws it from the CSV; with phone,
    each panel also alone (PATH-1.png, PATH-2.png, 700 pixels wide) for a phone's column."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    field = SWEEPS[option][0]
    names = list(dict.fromkeys(label(r) for r in table))
    colours = {n: f"C{i}" for i, n in enumerate(names)}
    lines = list(dict.fromkeys((label(r), r["dtype"]) for r in table))
    crossed = crossings(table, field)
    symbol = {"m": "hidden size m", "B": "batch size B", "tau": "sequence length tau"}[field]

    def points(name, dtype):
        pts = sorted((r[field], r) for r in table if label(r) == name and r["dtype"] == dtype)
        style = {"color": colours[name], "ls": "-" if dtype == "float64" else "--", "marker": "o", "ms": 4}
        return [x for x, _ in pts], [r for _, r in pts], style

    def axes(ax, what):
        for name, _, x in crossed:
            ax.axvline(x, color=colours[name], lw=0.8, alpha=0.6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
        ax.set_xlabel(symbol)
        ax.set_ylabel(what)
        ax.set_xticks(sorted({r[field] for r in table}), [str(v) for v in sorted({r[field] for r in table})])
        ax.minorticks_off()
        ax.grid(which="major", lw=0.4, alpha=0.5)

    def ms_panel(ax, fontsize=7):
        for name, dtype in lines:
            xs, rs, style = points(name, dtype)
            ms = [r["ms_per_update"] for r in rs]
            err = [[m - r["ms_q1"] for m, r in zip(ms, rs)], [r["ms_q3"] - m for m, r in zip(ms, rs)]]
            ax.errorbar(xs, ms, yerr=err, capsize=2, label=f"{name} ({dtype})", **style)
        for dtype in dict.fromkeys(r["dtype"] for r in table):
            pts = sorted({r[field]: r["products_ms"] for r in table if r["dtype"] == dtype}.items())
            ax.plot(
                *zip(*pts),
                color="k",
                lw=0.8,
                ls=":" if dtype == "float64" else "-.",
                label=f"the products' flops at NumPy's GEMM rate ({dtype})",
            )
        for name, dtype, x in crossed:
            ax.annotate(
                f"{name} = numpy\n({dtype}) at {x:.3g}",
                (x, 0.02),
                xycoords=("data", "axes fraction"),
                fontsize=fontsize,
                color=colours[name],
                rotation=90,
                ha="right",
                va="bottom",
            )
        axes(ax, "ms per update, median round (bars: IQR)")
        ax.legend(fontsize=fontsize, frameon=False)

    def cps_panel(ax):
        for name, dtype in lines:
            xs, rs, style = points(name, dtype)
            ax.plot(xs, [r["chars_per_s"] for r in rs], **style)
        axes(ax, "characters per second")

    held = ", ".join(f"{k}={table[0][k]}" for k in ("m", "B", "tau") if k != field)
    fig, (ax_ms, ax_cps) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    ms_panel(ax_ms)
    cps_panel(ax_cps)
    fig.suptitle(f"How cost grows with {field} ({held}); {table[0]['machine']}", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    if not phone:
        return
    path = Path(path)
    for i, draw in enumerate((lambda ax: ms_panel(ax, fontsize=9), cps_panel), 1):
        fig, ax = plt.subplots(figsize=(4.8, 4.4), layout="constrained")
        draw(ax)
        ax.set_title(f"{field} swept ({held})", fontsize=10)
        fig.savefig(path.with_name(f"{path.stem}-{i}.png"), dpi=146, metadata={"Software": None})
        plt.close(fig)


def write(results: list[Result], option: str, out: Path, corpus: Corpus, libraries: dict[str, str], when: str):
    """DIR/sweep-<option>.csv and .png from the results of one sweep; the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rate = {dtype: gemm_rate(dtype) for dtype in dict.fromkeys(r.dtype for r in results)}
    table = rows(results, corpus.K, libraries, when, rate)
    csv_path, png_path = out / f"sweep-{option}.csv", out / f"sweep-{option}.png"
    write_csv(csv_path, table)
    plot(read_csv(csv_path), option, png_path)  # from the CSV, as the docs redraw it
    return [csv_path, png_path]
