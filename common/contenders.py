"""What `python cli.py bench` times, side by side (docs: performance.md): each backend variant
(backends.bench_variants), and the yardsticks: min-char-rnn (B = 1) and torch.nn.RNN.

The timing itself, and how a result reads, is common/bench.py; this file only says who runs.
"""

from collections.abc import Callable

import backends
from common import bench
from common.contract import Layout


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
