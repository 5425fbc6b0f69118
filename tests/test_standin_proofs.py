"""The checks can fail, and the kernels fit the hardware (docs: gpu.md#what-it-proves).

Mutants: every __syncthreads() of cupy_kernels.cu removed in turn, and three off-by-ones, must
each be caught. Resources: nvcc's register counts for the thread counts the backend launches.
"""

import numpy as np
import pytest

import backends
from backends.standin import compare, kernels, mutants, resources
from common.contract import Layout


def test_every_mutant_of_the_kernels_is_caught(standin_cupy):
    results = [(what, mutants.verdict(code)) for what, code in mutants.mutants(mutants.SOURCE.read_text())]
    for what, how in results:
        print(f"{what:<40} {how}")  # pytest -s shows which check caught each
    assert sum("no barrier" in what for what, _ in results) == mutants.SOURCE.read_text().count("__syncthreads();")
    assert len(results) == mutants.SOURCE.read_text().count("__syncthreads();") + len(mutants.OFF_BY_ONE)
    assert not [what for what, how in results if how == "not caught"]


def test_the_unmutated_kernels_pass_the_same_verdict(standin_cupy):
    assert mutants.verdict(mutants.SOURCE.read_text()) == "not caught"


def most_threads(standin_cupy, monkeypatch) -> dict[str, int]:
    """The most threads per block each kernel is launched with, from launches on the stand-in."""
    monkeypatch.setattr(kernels, "ORDERS", ["forward"])
    kernels.launched.clear()
    for K, m in ((42, 5), (80, 1024)):  # the fewest and the most threads of either kind
        layout = Layout(K, m)
        backend = backends.load("cupy", layout, "float32", kernels="fused")
        x, y = compare.chunk(K, 2, 1)
        compare.one_step(backend, compare.conditioned_theta(layout), x, y, np.zeros((m, 1)))
    return {name: max(t for t, _ in configs) for name, configs in kernels.launched.items()}


@pytest.mark.skipif(resources.nvcc() is None, reason="nvcc is not installed (nor at /usr/local/cuda-13.0/bin)")
def test_registers_fit_every_launch_and_nothing_spills(standin_cupy, monkeypatch):
    threads = most_threads(standin_cupy, monkeypatch)
    assert threads == {"rnn_forward": 1024, "rnn_backward": 1024, "softmax_xent": 128}
    rows = resources.table(threads)
    for row in rows:
        print(*row)
    assert {(arch, real) for arch, real, *_ in rows} == {(a, r) for a in resources.ARCHS for r in resources.REALS}
    assert len(rows) == 12
    for arch, real, name, regs, spilled, total in rows:
        assert spilled == 0 and regs > 0 and total <= resources.REGISTER_FILE, (arch, real, name, regs)
