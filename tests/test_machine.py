"""What decides the last digits: a machine's arithmetic told apart, and the stand-in's two roundings (docs: gpu.md).

Last digits depend on the CPU, NumPy's dispatched SIMD loops and the BLAS kernel (docs:
determinism.md): common/tools/machine.py names all of them, so a "reproduced on the machine that
made it" test runs only where they match. OPENBLAS_CORETYPE and NPY_DISABLE_CPU_FEATURES change
the kernel and the loops on one machine, so a child process shows them told apart.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from backends.standin import compile
from common.tools import machine
from tests.test_docs_figures import ROOT, script


def arithmetic_in_a_child(name: str, value: str | None) -> dict[str, str]:
    """machine.arithmetic() in a child process with the variable `name` set to value (None: unset)."""
    code = "import json; from common.tools import machine; print(json.dumps(machine.arithmetic()))"
    env = {k: v for k, v in os.environ.items() if k != name} | ({name: value} if value is not None else {})
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_arithmetic_names_cpu_numpy_simd_and_blas():
    here = machine.arithmetic()
    assert set(here) == {"cpu", "numpy", "simd", "blas"} and all(here.values()), here
    assert here["numpy"] == np.__version__ and machine.differences(here) == []
    assert script("provenance").record()["arithmetic"] == here  # the docs' provenance records the same
    there = here | {"simd": "X86_V4"}
    assert machine.differences(there, here) == [f"NumPy SIMD level X86_V4 there, {here['simd']} here"]
    assert machine.differences({}, here)[0] == f"CPU not recorded there, {here['cpu']} here"


def test_another_blas_kernel_is_another_arithmetic():
    """The kernels OpenBLAS picks for this CPU, and Prescott's (SSE3): the BLAS part differs, nothing else."""
    here = arithmetic_in_a_child("OPENBLAS_CORETYPE", None)
    if not here["blas"].startswith("OpenBLAS") or os.uname().machine != "x86_64":
        pytest.skip(f"OPENBLAS_CORETYPE=Prescott needs OpenBLAS on x86-64; here {here['blas']}")
    there = arithmetic_in_a_child("OPENBLAS_CORETYPE", "Prescott")
    if there == here:
        pytest.skip(f"OpenBLAS picks Prescott's kernels on this CPU by itself: {here['blas']}")
    assert [line.split(" there")[0] for line in machine.differences(there, here)] == [
        f"BLAS or BLAS kernel {there['blas']}"
    ]


def test_numpy_loops_one_level_down_are_another_arithmetic():
    """NumPy's loops for the highest SIMD level found, and one level down: the SIMD part differs, nothing else."""
    here = arithmetic_in_a_child("NPY_DISABLE_CPU_FEATURES", None)
    if here["simd"].endswith("(baseline)"):
        pytest.skip(f"NumPy dispatches no loops above its baseline here ({here['simd']})")
    highest = here["simd"].split(", ")[-1]
    there = arithmetic_in_a_child("NPY_DISABLE_CPU_FEATURES", highest)
    assert highest not in there["simd"].split(", ")
    assert [line.split(" ")[:3] for line in machine.differences(there, here)] == [["NumPy", "SIMD", "level"]]


@pytest.mark.parametrize("contract, rounded", [(False, 0.0), (True, -(2.0**-60))])
def test_the_fma_build_rounds_a_product_and_a_sum_once(standin_cupy, monkeypatch, contract, rounded):
    """(1 + 2^-30)(1 - 2^-30) - 1 is -2^-60: rounded after the product it is 0, with FMA (as nvcc builds) exact."""
    if contract and compile.fma_flags() is None:
        pytest.skip("this CPU has no FMA: the stand-in builds only without it")
    monkeypatch.setattr(compile, "contract", contract)
    fma = standin_cupy.ElementwiseKernel("T a, T b, T c", "T d", "d = a * b + c", "fma_probe")
    a, b, c = (standin_cupy.asarray(np.array([v])) for v in (1 + 2.0**-30, 1 - 2.0**-30, -1.0))
    d = standin_cupy.empty(1, np.float64)
    fma(a, b, c, d)
    assert standin_cupy.asnumpy(d)[0] == rounded
