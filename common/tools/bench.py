"""The benchmark: ms per update of each contender, timed in interleaved rounds (docs: performance.md).

For every (dtype, m, B, tau) the contenders take turns: in each of `rounds` rounds each one takes
its updates on the real text, one contender after the other, so that a busy moment of the
machine hits all of them alike. On a shared machine a contender's time moves with the load, and
its fastest round only says when it was lucky; what repeats is how two contenders compare within
one round. So every ratio is the median of the per-round ratios, with their interquartile range,
and a time is the median round, the fastest and slowest beside it as the spread. The yardsticks:
min-char-rnn (common/tools/minchar.py) at B = 1, and torch.nn.RNN (backends/torch_nn.py).
"""

import itertools
import time
from dataclasses import asdict, dataclass
from statistics import median, quantiles

import numpy as np

from common.contract import Backend, Layout, Optimizer, opt_state_size
from common.data import Corpus, Streams
from common.tools.machine import library_threads
from common.tools.minchar import MinCharRNN
from common.weights import init_theta

WARMUP = 30  # updates each contender takes before its rounds are timed
YARDSTICK = "min-char-rnn"


def spread(values) -> tuple[float, float, float]:
    """The median and the interquartile range (q1, q3) of values."""
    values = list(values)
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, _, q3 = quantiles(values, n=4, method="inclusive")
    return median(values), q1, q3


@dataclass(frozen=True)
class Result:
    name: str  # backend name (with its variant), or a yardstick's
    library: str  # the array library it runs on (numpy, torch, ...): whose threads it used
    dtype: str
    m: int
    B: int
    tau: int
    updates: int  # per round
    chunks: int  # updates in one pass over the corpus at this B and tau
    wall: tuple[float, ...]  # seconds per update in each round; round i of every contender ran side by side
    cpu: tuple[float, ...]  # the process's CPU seconds per update in each round
    threads: int | None  # the threads its library had during the rounds (None: unknown)

    @property
    def ms_per_update(self) -> float:
        """The median round."""
        return 1e3 * median(self.wall)

    @property
    def ms_iqr(self) -> tuple[float, float]:
        return tuple(1e3 * q for q in spread(self.wall)[1:])

    @property
    def cpu_ms(self) -> float:
        """CPU time per update, median round: what the process itself spent."""
        return 1e3 * median(self.cpu)

    @property
    def chars_per_s(self) -> float:
        return self.tau * self.B / median(self.wall)

    @property
    def s_per_epoch(self) -> float:
        return self.chunks * median(self.wall)

    def as_dict(self) -> dict:
        figures = ("ms_per_update", "ms_iqr", "cpu_ms", "chars_per_s", "s_per_epoch")
        return asdict(self) | {f: getattr(self, f) for f in figures}


def paired(a: Result, b: Result, of: str = "wall") -> tuple[float, float, float]:
    """a's time over b's (wall or cpu), round by round: the median ratio and its interquartile range."""
    return spread(x / y for x, y in zip(getattr(a, of), getattr(b, of)))


class Contender:
    """Something that trains update after update on the text: a backend, or a yardstick."""

    def __init__(self, name: str, step, h0, streams: Streams, library: str = "numpy"):
        """step(x, y, h) -> (loss, h) takes one update; h0 is the first hidden state."""
        self.name, self.library, self._step, self._h, self._streams = name, library, step, h0, streams
        self._i = 0  # the next chunk

    def update(self) -> None:
        x, y = self._streams.chunk(self._i % self._streams.chunks)
        _, self._h = self._step(x, y, self._h)  # the loss is a float: each update ends synchronised
        self._i += 1


def backend_contender(
    name: str, backend: Backend, theta0: np.ndarray, streams: Streams, opt: Optimizer = Optimizer()
) -> Contender:
    theta = backend.to_device(theta0)
    state = backend.to_device(np.zeros(opt_state_size(opt, theta0.size)))
    h0 = backend.to_device(np.zeros((backend.layout.m, streams.B)))
    t = itertools.count(1)  # the update count, for Adam's bias correction
    step = lambda x, y, h: backend.step(theta, state, x, y, h, opt, next(t))  # noqa: E731
    return Contender(name, step, h0, streams, backend.name)


def min_char_contender(layout: Layout, dtype: str, theta0: np.ndarray, streams: Streams) -> Contender:
    rnn = MinCharRNN(layout.unpack(theta0), dtype)
    h0 = np.zeros((layout.m, 1), dtype=dtype)
    return Contender(YARDSTICK, lambda x, y, h: rnn.step(x[:, 0], y[:, 0], h, 0.1), h0, streams)


def warm_up(c: Contender, warmup: int, budget: float | None) -> float:
    """c's first updates (buffers, caches and threads settle): `warmup` of them, or fewer once they
    have taken `budget` seconds (at least two); the seconds the last one took."""
    start = time.perf_counter()
    for i in range(max(warmup, 2)):
        t0 = time.perf_counter()
        c.update()
        last = time.perf_counter() - t0
        if i + 1 >= warmup or (budget is not None and i >= 1 and time.perf_counter() - start > budget):
            break
    return last


def settle(limit: float = 0.5, slice_s: float = 0.01) -> None:
    """Wait (at most limit seconds) until no other thread of the process is busy. A BLAS or OpenMP
    pool spins for a while after its last call (OpenBLAS about 0.1 s), and would take a core from
    the next contender: at m = 512, B = 64 that made torch's update twice as long."""
    end = time.perf_counter() + limit
    while time.perf_counter() < end:
        c0 = time.process_time()
        time.sleep(slice_s)
        if time.process_time() - c0 < 0.25 * slice_s:  # CPU time ticks in milliseconds here: a slice of 10 sees it
            return


def measure(
    contenders: list[Contender], updates: int, rounds: int, warmup: int, budget: float | None = None
) -> dict[str, tuple[int, list[float], list[float]]]:
    """Each contender's updates per round and its (wall, cpu) seconds per update in each round,
    taken in turns. cpu is the process's CPU time: it leaves out the time it waited for a core.
    budget: the seconds one round of a contender should take; a slow contender takes fewer
    updates per round (at least one)."""
    n = {}
    for c in contenders:
        last = warm_up(c, warmup, budget)
        n[c.name] = updates if budget is None else max(1, min(updates, int(budget / max(last, 1e-9))))
    wall, cpu = ({c.name: [] for c in contenders} for _ in range(2))
    for _ in range(rounds):
        for c in contenders:
            settle()
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(n[c.name]):
                c.update()
            wall[c.name].append((time.perf_counter() - t0) / n[c.name])
            cpu[c.name].append((time.process_time() - c0) / n[c.name])
    return {name: (n[name], wall[name], cpu[name]) for name in n}


def run(
    corpus: Corpus,
    make_contenders,  # (layout, dtype, theta0, streams) -> list[Contender]
    dtypes: list[str],
    sizes: list[int],
    batches: list[int],
    taus: list[int] = (25,),
    updates: int = 50,
    rounds: int = 40,
    warmup: int = WARMUP,
    budget: float | None = None,
    report=lambda result: None,
) -> list[Result]:
    """Time every contender at every (dtype, m, B, tau), all from the same initial weights."""
    results = []
    for dtype, m in itertools.product(dtypes, sizes):
        layout = Layout(corpus.K, m)
        theta0 = init_theta(layout, 0.01, seed=1)  # the CLI's default seed
        for B, tau in itertools.product(batches, taus):
            streams = Streams(corpus.ids, tau, B)
            contenders = make_contenders(layout, dtype, theta0, streams)
            times = measure(contenders, updates, rounds, warmup, budget)
            threads = library_threads()
            for c in contenders:
                n, wall, cpu = times[c.name]
                r = Result(
                    c.name, c.library, dtype, m, B, tau, n, streams.chunks, (*wall,), (*cpu,), threads.get(c.library)
                )
                results.append(r)
                report(r)
    return results
