"""The tables of performance.md and scaling.md, from the measurements committed in docs/data/.

    python docs/make/bench_tables.py

Reads the JSON that `bench --json` wrote (docs/data/bench_*.json) and the CSV of each sweep
(docs/data/sweep-*.csv) and writes a Markdown table beside this script for each
(docs/make/bench_*_table.md, docs/make/scaling_*_table.md), which the pages include, and redraws
each sweep's plot from its CSV (docs/data/sweep-*.png, with each panel alone for a phone), and
draws the phone's version of the CPU benchmark's plot (docs/img/bench_cpu-phone.png). Every ratio
is the median of per-round ratios, as `bench` prints it; nothing is typed by hand.
"""

import json
import sys
from dataclasses import fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from common.tools import bench, sweep  # noqa: E402
from common.tools.bench_report import REFERENCE, YARDSTICKS, groups, plot  # noqa: E402

DATA, OUT = ROOT / "docs" / "data", ROOT / "docs" / "make"


def results(rows: list[dict]) -> list[bench.Result]:
    """bench's results back from its --json rows."""
    names = [f.name for f in fields(bench.Result)]
    return [bench.Result(**{n: tuple(r[n]) if n in ("wall", "cpu") else r[n] for n in names}) for r in rows]


def ratio(r: tuple[float, float, float]) -> str:
    return f"{r[0]:.2f} [{r[1]:.2f}-{r[2]:.2f}]"


def bench_table(rows: list[dict]) -> str:
    """A table per (dtype, m, B, tau): each contender's median round, CPU time and paired ratios."""
    rs = results(rows)
    libraries = list(dict.fromkeys(r["blas"] for r in rows if r["blas"]))
    out = [f"Measured on {rows[0]['machine']}; {', '.join(libraries)}.", ""]
    for (dtype, m, B, tau), by in groups(rs).items():
        yard = YARDSTICKS[0] if YARDSTICKS[0] in by else None
        head = f"| {dtype}, m = {m}, B = {B}, tau = {tau} | threads | ms, median [IQR] | cpu ms | time / numpy's"
        out += [
            head + (f" | {yard}'s time / its |" if yard else " |"),
            "|---|---:|---:|---:|---:|" + ("---:|" * bool(yard)),
        ]
        for name, r in by.items():
            q1, q3 = r.ms_iqr
            cells = [name, str(r.threads), f"{r.ms_per_update:.3f} [{q1:.3f}-{q3:.3f}]", f"{r.cpu_ms:.3f}"]
            cells.append(ratio(bench.paired(r, by[REFERENCE])) if REFERENCE in by else "")
            if yard:
                cells.append("" if name in YARDSTICKS else ratio(bench.paired(by[yard], r)))
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


SHORT = {"torch-autograd": "autograd", "min-char-rnn": "min-char", "torch.nn.RNN": "nn.RNN"}


def scaling_table(table: list[dict], option: str) -> str:
    """A row per point of a sweep: the flops, their time at GEMM rate, each contender's median ms, torch / numpy."""
    field = sweep.SWEEPS[option][0]
    out = []
    for dtype in dict.fromkeys(r["dtype"] for r in table):
        rows = [r for r in table if r["dtype"] == dtype]
        names = list(dict.fromkeys(sweep.label(r) for r in rows))
        out.append(
            f"{dtype}; ms per update, median round; products: the flops at NumPy's GEMM rate; torch / numpy: "
            "median of the per-round ratios [IQR]"
        )
        out.append("")
        out.append(
            f"| {field} | GFLOP | products | " + " | ".join(SHORT.get(n, n) for n in names) + " | torch / numpy |"
        )
        out.append("|" + "---:|" * (len(names) + 4))
        for x in sorted({r[field] for r in rows}):
            at = {sweep.label(r): r for r in rows if r[field] == x}
            first = next(iter(at.values()))
            cells = [str(x), f"{first['gflop_per_update']:.3g}", f"{first['products_ms']:.3g}"]
            cells += [f"{at[n]['ms_per_update']:.3g}" if n in at else "" for n in names]
            t = at.get("torch")
            cells.append(ratio((t["vs_numpy"], t["vs_numpy_q1"], t["vs_numpy_q3"])) if t else "")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        for name, dt, x in sweep.crossings(rows, field):
            out.append(f"{name}'s time equals numpy's ({dt}) near {field} = {x:.3g}, interpolated between grid points.")
            out.append("")
    first = table[0]
    return "\n".join(out).rstrip() + f"\n\nMeasured on {first['machine']}; {first['versions']}.\n"


def main() -> None:
    for path in sorted(DATA.glob("bench_*.json")):
        target = OUT / f"{path.stem}_table.md"
        target.write_text(bench_table(json.loads(path.read_text())), encoding="utf-8")
        print(f"wrote {target}")
    cpu = DATA / "bench_cpu.json"
    if cpu.exists():  # the phone's version of performance.md's plot (the wide one is bench --plot's)
        phone = ROOT / "docs" / "img" / "bench_cpu-phone.png"
        plot(results(json.loads(cpu.read_text())), phone, "ms per update on the CPU", phone=True)
        print(f"drew {phone}")
    for option in sweep.SWEEPS:
        path = DATA / f"sweep-{option}.csv"
        if path.exists():
            target = OUT / f"scaling_{option}_table.md"
            target.write_text(scaling_table(sweep.read_csv(path), option), encoding="utf-8")
            sweep.plot(sweep.read_csv(path), option, path.with_suffix(".png"), phone=True)
            print(f"wrote {target} and redrew {path.with_suffix('.png')}")


if __name__ == "__main__":
    main()
