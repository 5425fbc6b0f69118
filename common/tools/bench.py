"""The benchmark: ms per update of each backend, side by side in one run (docs: performance.md).

For every (dtype, m, B) the contenders are timed in turns: each takes `updates` training updates
on the real text in each of `rounds` rounds, one contender after the other, so that a slow
moment of the machine hits all of them alike. The figure is the fastest round: on a shared
machine other work only ever adds time, so the minimum of many short rounds is the statistic
that repeats from run to run (the median of a few long rounds moved 25% between two runs); the
median and slowest rounds are printed beside it as the spread. The yardsticks: min-char-rnn
(common/tools/minchar.py) at B = 1 on the CPU, and torch.nn.RNN (backends/torch_nn.py).
"""

import itertools
import time
from dataclasses import asdict, dataclass
from statistics import median

import numpy as np

from common.contract import Backend, Layout, Optimizer, opt_state_size
from common.data import Corpus, Streams
from common.tools.minchar import MinCharRNN
from common.weights import init_theta

YARDSTICK = "min-char-rnn"


@dataclass(frozen=True)
class Result:
    name: str  # backend name (with its variant), or YARDSTICK
    dtype: str
    m: int
    B: int
    ms_per_update: float  # the fastest round
    ms_median: float  # the median round
    ms_max: float  # the slowest round
    cpu_ms_median: float  # CPU time per update, median round: what the process itself spent
    chars_per_s: float  # at the fastest round
    s_per_epoch: float  # one pass over the corpus at this B, at the fastest round

    def as_dict(self) -> dict:
        return asdict(self)


class Contender:
    """Something that trains update after update on the text: a backend, or a yardstick."""

    def __init__(self, name: str, step, h0, streams: Streams):
        """step(x, y, h) -> (loss, h) takes one update; h0 is the first hidden state."""
        self.name, self._step, self._h, self._streams = name, step, h0, streams

    def update(self, i: int) -> None:
        x, y = self._streams.chunk(i % self._streams.chunks)
        _, self._h = self._step(x, y, self._h)  # the loss is a float: each update ends synchronised


def backend_contender(
    name: str, backend: Backend, theta0: np.ndarray, streams: Streams, opt: Optimizer = Optimizer()
) -> Contender:
    theta = backend.to_device(theta0)
    state = backend.to_device(np.zeros(opt_state_size(opt, theta0.size)))
    h0 = backend.to_device(np.zeros((backend.layout.m, streams.B)))
    t = itertools.count(1)  # the update count, for Adam's bias correction
    return Contender(name, lambda x, y, h: backend.step(theta, state, x, y, h, opt, next(t)), h0, streams)


def min_char_contender(layout: Layout, dtype: str, theta0: np.ndarray, streams: Streams) -> Contender:
    rnn = MinCharRNN(layout.unpack(theta0), dtype)
    h0 = np.zeros((layout.m, 1), dtype=dtype)
    return Contender(YARDSTICK, lambda x, y, h: rnn.step(x[:, 0], y[:, 0], h, 0.1), h0, streams)


def measure(
    contenders: list[Contender], updates: int, rounds: int, warmup: int
) -> dict[str, list[tuple[float, float]]]:
    """(wall, cpu) seconds per update of each contender in each round, taken in turns. cpu is the
    process's CPU time: it leaves out the time the process waited for a core."""
    for c in contenders:
        for i in range(warmup):
            c.update(i)
    times = {c.name: [] for c in contenders}
    for r in range(rounds):
        for c in contenders:
            start = warmup + r * updates
            t0, c0 = time.perf_counter(), time.process_time()
            for i in range(start, start + updates):
                c.update(i)
            times[c.name].append(((time.perf_counter() - t0) / updates, (time.process_time() - c0) / updates))
    return times


def run(
    corpus: Corpus,
    make_contenders,  # (layout, dtype, theta0, streams) -> list[Contender]
    dtypes: list[str],
    sizes: list[int],
    batches: list[int],
    tau: int = 25,
    updates: int = 50,
    rounds: int = 40,
    warmup: int = 30,
    report=lambda result: None,
) -> list[Result]:
    """Time every contender at every (dtype, m, B), all from the same initial weights."""
    results = []
    for dtype in dtypes:
        for m in sizes:
            layout = Layout(corpus.K, m)
            theta0 = init_theta(layout, 0.01, seed=1)  # the CLI's default seed
            for B in batches:
                streams = Streams(corpus.ids, tau, B)
                contenders = make_contenders(layout, dtype, theta0, streams)
                for name, t in measure(contenders, updates, rounds, warmup).items():
                    wall, cpu = [w for w, _ in t], [c for _, c in t]
                    s = min(wall)
                    ms = [1e3 * s, 1e3 * median(wall), 1e3 * max(wall), 1e3 * median(cpu)]
                    r = Result(name, dtype, m, B, *ms, tau * B / s, streams.chunks * s)
                    results.append(r)
                    report(r)
    return results


def header(corpus: Corpus, tau: int, updates: int, rounds: int, when: str) -> str:
    """What `bench` prints above its table: what was run, and which statistic the table shows."""
    return (
        f"bench {when}, corpus {corpus.name} (K={corpus.K}), seq_length={tau}, {updates} updates x {rounds} "
        f"rounds per contender\nms/update: the fastest round; median and slowest rounds beside it (the spread); "
        f"cpu ms: the process's CPU time per update, median round\n"
        f"{'contender':<23}{'dtype':<9}{'m':>6}{'B':>5}{'ms/update':>11}{'median':>9}{'slowest':>9}"
        f"{'cpu ms':>9}{'chars/s':>12}{'s/epoch':>10}"
    )


def row(r: Result) -> str:
    """One line of `bench`'s table."""
    return (
        f"{r.name:<23}{r.dtype:<9}{r.m:>6}{r.B:>5}{r.ms_per_update:>11.4f}{r.ms_median:>9.4f}{r.ms_max:>9.4f}{r.cpu_ms_median:>9.4f}"
        f"{r.chars_per_s:>12,.0f}{r.s_per_epoch:>10.1f}"
    )


def speedups(results: list[Result]) -> list[tuple[Result, float]]:
    """Each backend's result with how many times as fast it is as the yardstick at its sizes."""
    base = {(r.dtype, r.m, r.B): r.ms_per_update for r in results if r.name == YARDSTICK}
    return [
        (r, base[key] / r.ms_per_update)
        for r in results
        if r.name != YARDSTICK and (key := (r.dtype, r.m, r.B)) in base
    ]


def plot(results: list[Result], path, title: str) -> None:
    """Grouped bars: ms per update of each contender (fastest round), a whisker up to the median round."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys((r.dtype, r.m, r.B) for r in results))
    names = list(dict.fromkeys(r.name for r in results))
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(7, 1.8 * len(groups) + 3), 4.5), layout="constrained")
    for j, name in enumerate(names):
        xs, ys, up = [], [], []
        for i, g in enumerate(groups):
            for r in results:
                if (r.dtype, r.m, r.B) == g and r.name == name:
                    xs.append(i + j * width)
                    ys.append(r.ms_per_update)
                    up.append(r.ms_median - r.ms_per_update)
        bars = ax.bar(xs, ys, width, label=name)
        ax.errorbar(xs, ys, yerr=[[0] * len(up), up], fmt="none", ecolor="k", elinewidth=0.8, capsize=2)
        ax.bar_label(bars, fmt="%.3g", fontsize=7, label_type="center")
    ax.set_xlim(-width, len(groups) - 1 + 0.8)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(groups))])
    ax.set_xticklabels([f"{d}\nm={m}, B={B}" for d, m, B in groups])
    ax.set_ylabel("ms per update, fastest round\n(whisker: up to the median round; lower is better)")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.5 * min(r.ms_per_update for r in results))  # room for the smallest bar's label
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.grid(axis="y", which="major", lw=0.4, alpha=0.5)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.savefig(path, dpi=120)
    plt.close(fig)
