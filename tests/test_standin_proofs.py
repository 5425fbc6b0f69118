"""The checks can fail, and the kernels fit the hardware (docs: gpu.md#what-it-proves).

Mutants: every __syncthreads() of both kernel sources removed in turn, and the planted bugs of
backends/standin/mutants.py, each caught with every thread order and every poison; the table of
docs/gpu.md says by which check. Resources: nvcc's register counts for the thread counts the
backend launches.
"""

import re
from pathlib import Path

import numpy as np
import pytest

import backends
from backends.standin import compare, kernels, mutants, resources
from common.contract import Layout

TABLE = Path(__file__).resolve().parent.parent / "docs" / "make" / "gpu_mutants.md"


@pytest.mark.parametrize("name", ["fused", "persistent"])
def test_every_mutant_of_the_kernels_is_caught(standin_cupy, name):
    """Every order with every poison, at tau = 8; and the first column of the docs' table is what this finds."""
    results = mutants.run(name, kernels.ORDERS, list(kernels.POISONS))
    for what, how in results:
        print(f"{what:<46} {how}")  # pytest -s shows which check caught each
    code = mutants.SOURCES[name].read_text()
    assert sum("no barrier" in what for what, _ in results) == code.count("__syncthreads();")
    assert len(results) == code.count("__syncthreads();") + len(mutants.BUGS[name])
    assert not [what for what, how in results if how == "not caught"]
    near = {what: how for what, how in results if how.startswith("differs") and largest(how) < 1e3 * mutants.TOLERANCE}
    assert not near, near  # caught by its difference, a mutant differs by 1e3 times the bound: so on any machine
    rows = {cells[0].strip("` "): cells[1].strip() for cells in table_rows(name)}
    assert {what: mutants.kind(how) for what, how in results} == rows, "run: python docs/make/gpu_tables.py"


def largest(verdict: str) -> float:
    """The largest difference a verdict `differs from NumPy: loss 1.2e-03, h nan` names (inf or nan: infinite)."""
    values = [float(v) for v in re.findall(r" (\S+?)(?:,|$)", verdict.split(": ", 1)[1])]
    return max(v if np.isfinite(v) else np.inf for v in values)


def test_largest_reads_a_verdict():
    assert largest("differs from NumPy: loss 1.2e-03, grad 5.0e-02, h 1.9e-16") == 5.0e-02
    assert largest("differs from NumPy: theta 2.0e-13, mem nan") == np.inf


def table_rows(name: str) -> list[list[str]]:
    """The rows of docs/make/gpu_mutants.md for the kernels `name`, as lists of cells."""
    section = TABLE.read_text().split(f"<!-- {name} -->")[1].split("<!--")[0]
    return [[c for c in line.split("|")[1:-1]] for line in section.splitlines() if re.match(r"\| `", line)]


@pytest.mark.parametrize("name", ["fused", "persistent"])
def test_the_unmutated_kernels_pass_the_same_verdict(standin_cupy, monkeypatch, name):
    monkeypatch.setattr(kernels, "MATRIX", True)
    assert mutants.verdict(name, mutants.SOURCES[name].read_text()) == "not caught"


def most_threads(standin_cupy, monkeypatch) -> dict[str, int]:
    """The most threads per block each kernel is launched with, from launches on the stand-in."""
    monkeypatch.setattr(kernels, "ORDERS", ["forward"])
    kernels.launched.clear()
    for K, m, kernels_name in ((42, 5, "fused"), (80, 1024, "fused"), (42, 5, "persistent"), (42, 128, "persistent")):
        layout = Layout(K, m)  # the fewest and the most threads of either kind
        backend = backends.load("cupy", layout, "float32", kernels=kernels_name)
        x, y = compare.chunk(K, 2, 1)
        compare.one_step(backend, compare.conditioned_theta(layout), x, y, np.zeros((m, 1)))
    return {name: max(t for t, _ in configs) for name, configs in kernels.launched.items()}


@pytest.mark.skipif(resources.nvcc() is None, reason="nvcc is not installed (nor at /usr/local/cuda-13.0/bin)")
def test_registers_fit_every_launch_and_nothing_spills(standin_cupy, monkeypatch):
    threads = most_threads(standin_cupy, monkeypatch)
    assert threads == resources.MOST_THREADS
    rows = resources.table(threads)
    for row in rows:
        print(*row)
    assert {(arch, real) for arch, real, *_ in rows} == {(a, r) for a in resources.ARCHS for r in resources.REALS}
    assert len(rows) == 16
    for arch, real, name, regs, spilled, total in rows:
        assert spilled == 0 and regs > 0 and total <= resources.REGISTER_FILE, (arch, real, name, regs)
