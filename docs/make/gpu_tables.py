"""The tables of docs/gpu.md, from the stand-in, nvcc and the speed model: none is typed by hand.

    python docs/make/gpu_tables.py            # every table (the mutants take a few minutes)
    python docs/make/gpu_tables.py launches   # or refusal, agreement, ten, mutants, resources, speed

writes docs/make/gpu_<table>.md, which docs/gpu.md includes. The tests check the deterministic
ones against what this script writes: the launch counts and the estimate, the refusal, the
mutants caught with every order and poison, nvcc's registers. The agreement and ten-update
tables are rounding differences, which depend on the machine: each says where it was made, and
the tests hold every machine to bounds instead (tests/test_cupy.py, tests/test_persistent.py).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from backends import standin  # noqa: E402
from backends.standin import compare, kernels, launches, mutants, resources, speed  # noqa: E402
from common.contract import Optimizer  # noqa: E402
from common.tools import train_update  # noqa: E402
from docs.make import provenance  # noqa: E402

OUT = ROOT / "docs" / "make"
BUILT = "the stand-in built by g++ without FMA, every thread in the forward order"
COLUMNS = [  # (heading, thread orders, poisons) of the mutant table
    ("every order, every poison", kernels.ORDERS, list(kernels.POISONS)),
    ("NaN poison only", kernels.ORDERS, ["nan"]),
    ("forward order only", ["forward"], list(kernels.POISONS)),
    ("forward order, NaN (one run)", ["forward"], ["nan"]),
]


def launches_table() -> str:
    """`python cli.py launches`, as it prints (the NumPy figure is measured when this runs)."""
    lines = [
        "    $ python cli.py launches",
        *(f"    {line}" for line in launches.table()),
        *(f"    {line}" for line in train_update.lines()),
        f"    {launches.numpy_line()}",
    ]
    return "\n".join(lines) + "\n"


def refusal() -> str:
    """The one line a run gets when the persistent kernel does not fit: m = 120, the built-in text's K."""
    import backends
    from common.contract import Layout
    from common.errors import BadInput

    K = compare.DEFAULT_K
    with standin.installed():
        try:
            backends.load("cupy", Layout(K, 120), "float64", kernels="persistent")._persistent.check(25, 1)
        except BadInput as e:
            return f"    error: {e}\n"
    raise AssertionError(f"m = 120, K = {K}, tau = 25 fits: choose a larger example")


def agreement_rows(kernel_names=("persistent", "fused", "plain")) -> list[str]:
    """One row per (kernels, dtype): the largest normwise difference from NumPy of each result of one update."""
    saved, kernels.ORDERS = kernels.ORDERS, ["forward"]  # correct kernels give the same bits in every order
    rows = []
    try:
        with standin.installed():
            for name in kernel_names:
                for dtype in ("float64", "float32"):
                    worst = compare.largest(name, dtype)
                    rows.append(f"| {name} | {dtype} | " + " | ".join(f"{worst[k]:.1e}" for k in compare.NAMES) + " |")
    finally:
        kernels.ORDERS = saved
    return rows


def agreement_table() -> str:
    head = ["| kernels | dtype | loss | grad | theta | M | h |", "|---|---|---:|---:|---:|---:|---:|"]
    return "\n".join(head + agreement_rows() + ["", provenance.rounding_note(provenance.record(), BUILT)]) + "\n"


TEN = [("classic", Optimizer(), 1.0), ("2025", Optimizer("adam", 0.001, None), 1 / 25)]


def ten_row(name: str, dtype: str, preset: str, diff: dict[str, float]) -> str:
    return (
        f"| {name} | {dtype} | {preset} | " + " | ".join(f"{diff[k]:.1e}" for k in ("loss", "theta", "mem", "h")) + " |"
    )


def ten_table() -> str:
    """Ten updates on ten chunks (K = 42, m = 32, tau = 25, B = 1), both presets: the difference at the end."""
    lines = ["| kernels | dtype | preset | loss | theta | M | h |", "|---|---|---|---:|---:|---:|---:|"]
    saved, kernels.ORDERS = kernels.ORDERS, ["forward"]
    try:
        with standin.installed():
            for name in ("persistent", "fused"):
                for dtype in ("float64", "float32"):
                    for preset, opt, scale in TEN:
                        lines.append(
                            ten_row(name, dtype, preset, compare.ten_updates(42, 32, 25, dtype, name, opt, scale))
                        )
    finally:
        kernels.ORDERS = saved
    return "\n".join(lines + ["", provenance.rounding_note(provenance.record(), BUILT)]) + "\n"


def mutant_table() -> str:
    """For each kernel source: each mutant, and which check caught it with which orders and poisons."""
    parts = []
    for name in mutants.SOURCES:
        verdicts = [dict(mutants.run(name, orders, poisons)) for _, orders, poisons in COLUMNS]
        parts += [f"<!-- {name} -->", "", "| mutant | " + " | ".join(h for h, _, _ in COLUMNS) + " |"]
        parts.append("|---" * (len(COLUMNS) + 1) + "|")
        for what in verdicts[0]:
            parts.append(f"| `{what}` | " + " | ".join(mutants.kind(v[what]) for v in verdicts) + " |")
        parts.append("")
    return "\n".join(parts)


def resources_table() -> str:
    rows = resources.table(resources.MOST_THREADS)
    lines = [
        "| arch | REAL | kernel | registers | spilled bytes | registers x threads |",
        "|---|---|---|---:|---:|---:|",
    ]
    lines += [f"| {a} | {r} | `{k}` | {regs} | {spilled} | {total:,} |" for a, r, k, regs, spilled, total in rows]
    return "\n".join(lines) + "\n"


def speed_table() -> str:
    """The constants with their sources, and each variant's estimate term by term (m = 100, the built-in text's K,
    B = 1, tau = 25: what `python cli.py launches` estimates)."""
    lines = ["| constant | value | source |", "|---|---:|---|"]
    lines += [f"| `{n}` | {c.value:g} {c.unit} | {c.source} |" for n, c in speed.CONSTANTS.items()]
    lines += ["", "| kernels | dtype | launches | copies | syncs | chain | traffic | estimated us per update |"]
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for line in launches.table()[2:-1]:
        k, d, *counts = line.split()
        values = dict(zip([h for h, _ in launches.COLUMNS], (int(v.replace(",", "")) for v in counts)))
        e = speed.estimate(k, values, compare.DEFAULT_K, 100, 1, 25, np.dtype(d).itemsize)
        terms = (e.launches, e.copies, e.syncs, e.chain, e.traffic)
        lines.append(f"| {k} | {d} | " + " | ".join(f"{t:.0f}" for t in terms) + f" | **{e.total:.0f}** |")
    return "\n".join(lines) + "\n"


TABLES = {
    "launches": launches_table,
    "refusal": refusal,
    "agreement": agreement_table,
    "ten": ten_table,
    "mutants": mutant_table,
    "resources": resources_table,
    "speed": speed_table,
}

if __name__ == "__main__":
    for name in sys.argv[1:] or TABLES:
        (OUT / f"gpu_{name}.md").write_text(TABLES[name]())
        print(f"wrote docs/make/gpu_{name}.md")
