"""The benchmark: ms per update of each backend, side by side in one run (docs: performance.md).

For every (dtype, m, B) the contenders are timed in turns: each takes `updates` training updates
on the real text in each of `rounds` rounds, one contender after the other, so that a slow
moment of the machine hits all of them alike. The figure is the median round. At B = 1 the
yardstick is min-char-rnn (common/minchar.py) at the same sizes and dtype.
"""

import time
from dataclasses import asdict, dataclass
from statistics import median

import numpy as np

from common.contract import Backend, Layout
from common.data import Corpus, Streams
from common.minchar import MinCharRNN
from common.weights import init_theta

YARDSTICK = "min-char-rnn"


@dataclass(frozen=True)
class Result:
    name: str  # backend name (with its variant), or YARDSTICK
    dtype: str
    m: int
    B: int
    ms_per_update: float  # median over rounds
    ms_spread: float  # max - min over rounds
    chars_per_s: float
    s_per_epoch: float  # one pass over the corpus at this B

    def as_dict(self) -> dict:
        return asdict(self)


class Contender:
    """Something that trains update after update: a backend, or the yardstick."""

    def __init__(self, name: str, update):
        self.name, self.update = name, update


def backend_contender(name: str, backend: Backend, theta0: np.ndarray, streams: Streams) -> Contender:
    theta, mem = backend.to_device(theta0), backend.to_device(np.zeros_like(theta0))
    h = [backend.to_device(np.zeros((backend.layout.m, streams.B)))]

    def update(i: int) -> None:
        x, y = streams.chunk(i % streams.chunks)
        _, h[0] = backend.step(theta, mem, x, y, h[0], 0.1)  # the loss is a float: synchronous

    return Contender(name, update)


def yardstick_contender(layout: Layout, dtype: str, theta0: np.ndarray, streams: Streams) -> Contender:
    rnn = MinCharRNN(layout.unpack(theta0), dtype)
    h = [np.zeros((layout.m, 1), dtype=dtype)]

    def update(i: int) -> None:
        x, y = streams.chunk(i % streams.chunks)
        _, h[0] = rnn.step(x[:, 0], y[:, 0], h[0], 0.1)

    return Contender(YARDSTICK, update)


def measure(contenders: list[Contender], updates: int, rounds: int, warmup: int) -> dict[str, list[float]]:
    """Seconds per update of each contender in each round, taken in turns."""
    for c in contenders:
        for i in range(warmup):
            c.update(i)
    times = {c.name: [] for c in contenders}
    for r in range(rounds):
        for c in contenders:
            start = warmup + r * updates
            t0 = time.perf_counter()
            for i in range(start, start + updates):
                c.update(i)
            times[c.name].append((time.perf_counter() - t0) / updates)
    return times


def run(
    corpus: Corpus,
    make_backends,  # (layout, dtype) -> list[(name, Backend)]
    dtypes: list[str],
    sizes: list[int],
    batches: list[int],
    tau: int = 25,
    updates: int = 300,
    rounds: int = 5,
    warmup: int = 30,
    yardstick: bool = True,
    report=lambda result: None,
) -> list[Result]:
    results = []
    for dtype in dtypes:
        for m in sizes:
            layout = Layout(corpus.K, m)
            theta0 = init_theta(layout, 0.01, seed=0)
            for B in batches:
                streams = Streams(corpus.ids, tau, B)
                contenders = [backend_contender(n, b, theta0, streams) for n, b in make_backends(layout, dtype)]
                if yardstick and B == 1:
                    contenders.append(yardstick_contender(layout, dtype, theta0, streams))
                for name, t in measure(contenders, updates, rounds, warmup).items():
                    s = median(t)
                    r = Result(name, dtype, m, B, 1e3 * s, 1e3 * (max(t) - min(t)), tau * B / s, streams.chunks * s)
                    results.append(r)
                    report(r)
    return results


def speedups(results: list[Result]) -> list[tuple[Result, float]]:
    """Each backend's result with how many times as fast it is as the yardstick at its sizes."""
    base = {(r.dtype, r.m, r.B): r.ms_per_update for r in results if r.name == YARDSTICK}
    return [
        (r, base[key] / r.ms_per_update)
        for r in results
        if r.name != YARDSTICK and (key := (r.dtype, r.m, r.B)) in base
    ]


def plot(results: list[Result], path, title: str) -> None:
    """Grouped bars: ms per update of each contender, for each (dtype, m, B)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys((r.dtype, r.m, r.B) for r in results))
    names = list(dict.fromkeys(r.name for r in results))
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(groups) + 2), 4.5), layout="constrained")
    for j, name in enumerate(names):
        xs, ys = [], []
        for i, g in enumerate(groups):
            for r in results:
                if (r.dtype, r.m, r.B) == g and r.name == name:
                    xs.append(i + j * width)
                    ys.append(r.ms_per_update)
        bars = ax.bar(xs, ys, width, label=name)
        ax.bar_label(bars, fmt="%.3g", fontsize=7)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(groups))])
    ax.set_xticklabels([f"{d}\nm={m}, B={B}" for d, m, B in groups])
    ax.set_ylabel("ms per update (lower is better)")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)
