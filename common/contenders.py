"""What `python cli.py bench` times, side by side (docs: performance.md): each backend variant
(backends.bench_variants), and the yardsticks: min-char-rnn (B = 1) and torch.nn.RNN.

The timing itself is common/bench.py; this file only says who runs and how a result reads.
"""

from collections.abc import Callable

import backends
from common import bench
from common.contract import Layout

HEADER = f"{'contender':<16}{'dtype':<9}{'m':>6}{'B':>5}{'ms/update':>11}{'spread':>9}{'chars/s':>12}{'s/epoch':>10}"


def row(r: bench.Result) -> str:
    """One result as a line of the table under HEADER."""
    return (
        f"{r.name:<16}{r.dtype:<9}{r.m:>6}{r.B:>5}{r.ms_per_update:>11.4f}{r.ms_spread:>9.4f}"
        f"{r.chars_per_s:>12,.0f}{r.s_per_epoch:>10.1f}"
    )


def contenders(names: list[str], device: str | None, yardstick: bool, K: int) -> Callable:
    """make(layout, dtype, theta0, streams) -> the contenders; one clear line now if a backend cannot run."""
    variants = [
        (n, opts, backends.label(n, opts, device=False)) for n in names for opts in backends.bench_variants(n, device)
    ]
    for n, opts, _ in variants:
        backends.load(n, Layout(K, 1), "float64", **opts)

    def make(layout: Layout, dt: str, theta0, streams) -> list[bench.Contender]:
        out = [
            bench.backend_contender(label, backends.load(n, layout, dt, **opts), theta0, streams)
            for n, opts, label in variants
        ]
        if yardstick and streams.B == 1:
            out.append(bench.min_char_contender(layout, dt, theta0, streams))
        if yardstick and "torch" in names:
            from backends.torch_nn import NNRNN

            net = NNRNN(layout, dt, device or backends.load("torch", layout, dt).device, theta0)
            out.append(bench.Contender("torch.nn.RNN", net.step, net.zeros(streams.B), streams))
        return out

    return make
