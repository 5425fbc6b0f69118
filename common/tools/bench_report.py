"""How `bench` shows its figures: the header, the table, the paired ratios, a bar chart (docs: performance.md)."""

import shutil
import textwrap
from collections import defaultdict

from common.data import Corpus
from common.tools import machine
from common.tools.bench import YARDSTICK, Result, paired

YARDSTICKS = (YARDSTICK, "torch.nn.RNN")
REFERENCE = "numpy"  # the backend every other one is compared with
BUSY = 0.8  # CPU time under this fraction of wall time: the process waited for a core


def header(corpus: Corpus, updates: int, rounds: int, when: str, libraries: list[str], budget=None) -> str:
    """What `bench` prints above its table: what ran where, and what each column means."""
    per_round = f"{updates} updates" + (f" (fewer where they take over {budget:g} s)" if budget else "")
    wide = width() >= WIDE
    return "\n".join(
        [
            *textwrap.wrap(
                f"bench {when}, corpus {corpus.name} (K={corpus.K}); {per_round} x {rounds} rounds per contender, "
                "in turns",
                80,
            ),
            f"machine: {machine.cpu()}, {machine.load()} at the start; {machine.python()}",
            *libraries,
            *textwrap.wrap(
                "ms/update: the median round"
                + (", the fastest and slowest beside it" if wide else "")
                + "; cpu ms: the process's CPU time per update, median round; chars/s"
                + (", s/epoch" if wide else "")
                + ": from the median round"
                + ("; threads: its library's, during the rounds" if wide else ""),
                80,
            ),
            "".join(f"{h:{w}}" for h, w, _ in fields()),
        ]
    )


WIDE = 106  # columns of the whole table; narrower terminals get NARROW's columns (and COLUMNS=80 says so)
FIELDS = [  # (heading, format width, the figure of a Result)
    ("contender", "<23", lambda r: r.name),
    ("dtype", "<9", lambda r: r.dtype),
    ("m", ">6", lambda r: r.m),
    ("B", ">5", lambda r: r.B),
    ("tau", ">5", lambda r: r.tau),
    ("threads", ">8", lambda r: "-" if r.threads is None else str(r.threads)),
    ("ms/update", ">11", lambda r: f"{r.ms_per_update:.4f}"),
    ("fastest", ">9", lambda r: f"{1e3 * min(r.wall):.4f}"),
    ("slowest", ">9", lambda r: f"{1e3 * max(r.wall):.4f}"),
    ("cpu ms", ">9", lambda r: f"{r.cpu_ms:.4f}"),
    ("chars/s", ">12", lambda r: f"{r.chars_per_s:,.0f}"),
    ("s/epoch", ">10", lambda r: f"{r.s_per_epoch:.1f}"),
]
NARROW = {"contender": "<18", "dtype": "<8", "m": ">6", "B": ">5", "tau": ">5", "ms/update": ">11", "cpu ms": ">9"}
NARROW |= {"chars/s": ">12"}


def width() -> int:
    """The terminal's columns (COLUMNS where set); WIDE when the output is no terminal (a file, a pipe)."""
    return shutil.get_terminal_size((WIDE, 24)).columns


def fields() -> list[tuple]:
    """The table's columns that fit the terminal: every one, or NARROW's."""
    if width() >= WIDE:
        return FIELDS
    return [(h, NARROW[h], f) for h, _, f in FIELDS if h in NARROW]


def context(r: Result, libraries: dict[str, str], when: str) -> dict[str, str]:
    """What a row of --json or of a sweep's CSV records of its run: its library's BLAS and threads, the
    versions, the machine and its load."""
    versions = "; ".join(line.split(":")[0] for line in libraries.values()) + f"; {machine.python()}"
    where = f"{machine.cpu()}; {machine.load()} at the end; {when}"
    return {"blas": libraries.get(r.library, ""), "versions": versions, "machine": where}


def row(r: Result) -> str:
    """One line of `bench`'s table."""
    return "".join(f"{f(r):{w}}" for _, w, f in fields())


def busy(results: list[Result]) -> str | None:
    """One line when a contender's median round spent under 0.8x its wall time on a CPU: others had the cores."""
    names = list(dict.fromkeys(r.name for r in results if r.cpu_ms < BUSY * r.ms_per_update))
    if not names:
        return None
    return f"cpu time under {BUSY}x wall time ({', '.join(names)}): other work had the cores"


def groups(results: list[Result]) -> dict[tuple, dict[str, Result]]:
    """The results of each (dtype, m, B, tau), by contender: those that ran round for round side by side."""
    out = defaultdict(dict)
    for r in results:
        out[(r.dtype, r.m, r.B, r.tau)][r.name] = r
    return out


def ratios(results: list[Result]) -> list[str]:
    """Each backend against the reference backend and each yardstick run beside it: paired rounds' medians."""
    lines = []
    for (dtype, m, B, tau), by in groups(results).items():
        for name, r in by.items():
            if name in YARDSTICKS:
                continue
            parts = []
            if name != REFERENCE and REFERENCE in by:
                ratio, q1, q3 = paired(r, by[REFERENCE])
                parts.append(f"{ratio:.2f}x {REFERENCE}'s time [{q1:.2f}-{q3:.2f}]")
            for y in YARDSTICKS:
                if y in by:
                    parts.append(speed(*paired(by[y], r), y))
            if parts:  # one per line: 80 columns
                lines += [f"{name} ({dtype}, m={m}, B={B}, tau={tau}):", *(f"  {part}" for part in parts)]
    if lines:
        n = len(results[0].wall)
        lines.insert(0, f"paired ratios: the median over the {n} rounds of each round's ratio [quartiles]")
    return lines


def speed(ratio: float, q1: float, q3: float, other: str) -> str:
    """A ratio of times (other's / this one's, with its interquartile range) as a person says it."""
    if ratio >= 1:
        return f"{ratio:.2f} times as fast as {other} [{q1:.2f}-{q3:.2f}]"
    return f"takes {1 / ratio:.2f} times as long as {other} [{1 / q3:.2f}-{1 / q1:.2f}]"


def formats() -> tuple[str, ...]:
    """The suffixes matplotlib can write a figure as (.png, .pdf, .svg, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    common = (".png", ".pdf", ".svg")  # first: the error line names them
    return common + tuple(f".{s}" for s in FigureCanvasBase.get_supported_filetypes() if f".{s}" not in common)


def plot(results: list[Result], path, title: str, phone: bool = False) -> None:
    """Grouped bars: each contender's median round, whiskers over the interquartile range of its rounds;
    with phone, narrow (700 pixels) with the legend below, for a phone's column."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = groups(results)
    names = list(dict.fromkeys(r.name for r in results))
    width = 0.8 / len(names)
    size = (4.8, 3.4 + 0.25 * len(names)) if phone else (max(7, 1.8 * len(by) + 3), 4.5)
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    for j, name in enumerate(names):
        xs, ys, lo, hi = [], [], [], []
        for i, group in enumerate(by.values()):
            if name in group:
                r = group[name]
                q1, q3 = r.ms_iqr
                xs.append(i + j * width)
                ys.append(r.ms_per_update)
                lo.append(r.ms_per_update - q1)
                hi.append(q3 - r.ms_per_update)
        bars = ax.bar(xs, ys, width, label=name)
        ax.errorbar(xs, ys, yerr=[lo, hi], fmt="none", ecolor="k", elinewidth=0.8, capsize=2)
        ax.bar_label(bars, fmt="%.3g", fontsize=7, label_type="center")
    ax.set_xlim(-width, len(by) - 1 + 0.8)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(by))])
    ax.set_xticklabels([f"{d}\nm={m}, B={B}" + (f", tau={t}" if t != 25 else "") for d, m, B, t in by])
    ax.set_ylabel("ms per update, median round\n(whiskers: interquartile range; lower is better)")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.5 * min(r.ms_per_update for r in results))  # room for the smallest bar's label
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.grid(axis="y", which="major", lw=0.4, alpha=0.5)
    ax.set_title(title)
    if phone:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False, ncol=2)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.savefig(path, dpi=146 if phone else 120, **({"metadata": {"Software": None}} if phone else {}))
    plt.close(fig)
