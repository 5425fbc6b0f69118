"""What `python cli.py bench` times, side by side (docs: performance.md): each backend variant
(backends.bench_variants), and the yardsticks: min-char-rnn (B = 1) and torch.nn.RNN.

The timing itself, and how a result reads, is common/tools/bench.py; this file only says who runs.
"""

from collections.abc import Callable

import backends
from common.contract import Layout
from common.errors import BadInput
from common.run.presets import PRESETS
from common.tools import bench, machine

OPTIMIZERS = {"adagrad": PRESETS["classic"].opt, "adam": PRESETS["2025"].opt}  # each with its handout's values


def checked_optimizers(given: list[str] | None) -> list[str]:
    """The optimizers to time, each once, in the order given (default: AdaGrad); one line for an unknown one."""
    for o in given or []:
        if o not in OPTIMIZERS:
            raise BadInput(f"--optimizer must be one of {', '.join(OPTIMIZERS)} (got {o!r})")
    return list(dict.fromkeys(given or ["adagrad"]))


def contenders(names: list[str], device: str | None, yardstick: bool, K: int, optimizers=("adagrad",)) -> Callable:
    """make(layout, dtype, theta0, streams) -> the contenders; one clear line now if a backend cannot run.

    Each variant runs once per optimizer; its name says the optimizer unless AdaGrad is the only one.
    """
    tag = (lambda o: "") if list(optimizers) == ["adagrad"] else (lambda o: f"/{o}")
    variants = [
        (n, opts, backends.label(n, opts, device=False) + tag(o), OPTIMIZERS[o])
        for n in names
        for opts in backends.bench_variants(n, device)
        for o in optimizers
    ]
    for n, opts, _, _ in variants:
        backends.load(n, Layout(K, 1), "float64", **opts)

    def make(layout: Layout, dt: str, theta0, streams) -> list[bench.Contender]:
        out = [
            bench.backend_contender(label, backends.load(n, layout, dt, **opts), theta0, streams, opt)
            for n, opts, label, opt in variants
        ]
        if yardstick and streams.B == 1:
            out.append(bench.min_char_contender(layout, dt, theta0, streams))
        if yardstick and "torch" in names:
            from backends.torch_nn import NNRNN

            net = NNRNN(layout, dt, device or backends.load("torch", layout, dt).device, theta0)
            out.append(bench.Contender("torch.nn.RNN", net.step, net.zeros(streams.B), streams, "torch"))
        return out

    return make


def libraries(names: list[str]) -> dict[str, str]:
    """A line for each library the contenders run on (numpy always: min-char-rnn): version, BLAS, threads."""
    lines = {"numpy": machine.numpy_blas()}
    if "torch" in names:
        from backends.torch_threads import describe

        lines["torch"] = describe()
    return lines


def optimizer_ratios(results: list[bench.Result]) -> list[str]:
    """Adam's time per update over AdaGrad's, per variant and size: medians of paired rounds, wall and CPU time."""
    by = {(r.name, r.dtype, r.m, r.B, r.tau): r for r in results}
    lines = []
    for (name, dt, m, B, tau), adam in by.items():
        if name.endswith("/adam") and (base := by.get((name[: -len("adam")] + "adagrad", dt, m, B, tau))):
            wall, q1, q3 = bench.paired(adam, base)
            cpu = bench.paired(adam, base, "cpu")[0]
            lines.append(
                f"{name[:-5]} ({dt}, m={m}, B={B}): Adam / AdaGrad = {wall:.3f} [{q1:.3f}-{q3:.3f}] in paired rounds "
                f"({adam.ms_per_update:.4f} ms against {base.ms_per_update:.4f}, median rounds), {cpu:.3f} in CPU time"
            )
    return lines
