"""What a figure was made on: the CPU, its load, each array library's BLAS and threads (docs: determinism.md).

threadpoolctl finds the thread pools of the libraries loaded in this process (NumPy's OpenBLAS,
torch's OpenMP runtime) without importing any of them; torch's own description comes from the
torch backend (backends/torch_threads.py), since common/ never imports torch. `arithmetic` names
what decides the last digits of a float computation here: two machines that agree on all of it
round alike; another SIMD level or BLAS kernel sums in another order (OPENBLAS_CORETYPE and
NPY_DISABLE_CPU_FEATURES change them on one machine).
"""

import os
import platform
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

LIBRARIES = ("numpy", "torch")
BLAS_NAMES = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}


def _owner(path: str) -> str | None:
    """The library whose wheel ships the shared object at path (numpy.libs/, torch/lib/)."""
    parts = Path(path).parts
    return next((lib for lib in LIBRARIES if lib in parts or f"{lib}.libs" in parts), None)


def library_threads() -> dict[str, int]:
    """The threads of each loaded library's pool now: NumPy's BLAS, torch's OpenMP (its intra-op threads)."""
    out = {}
    for pool in threadpool_info():
        lib = _owner(pool["filepath"])
        if lib is not None:
            out.setdefault(lib, pool["num_threads"])
    return out


def _numpy_pool() -> dict | None:
    """threadpoolctl's description of NumPy's BLAS, or None where it finds none."""
    return next((p for p in threadpool_info() if p["user_api"] == "blas" and _owner(p["filepath"]) == "numpy"), None)


def blas() -> str:
    """NumPy's BLAS, its version and the kernels it chose for this CPU: `OpenBLAS 0.3.31.188.0 (Haswell)`."""
    pool = _numpy_pool()
    if pool is None:
        dep = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{dep.get('name')} {dep.get('version')} (kernels not known)"
    name = BLAS_NAMES.get(pool["internal_api"], pool["internal_api"])
    return f"{name} {pool['version']}" + (f" ({pool['architecture']})" if pool.get("architecture") else "")


def simd() -> str:
    """The SIMD levels NumPy dispatches its own loops to here (np.show_runtime's `found`): `X86_V3`."""
    from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__

    found = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    return ", ".join(found) if found else f"{', '.join(__cpu_baseline__) or 'none'} (baseline)"


def model() -> str:
    """The processor's model name."""
    name = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.exists():
        lines = info.read_text().splitlines()
        name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), name)
    return name


def arithmetic() -> dict[str, str]:
    """What decides the last digits here: the CPU's model, NumPy's version and SIMD loops, its BLAS and kernels."""
    return {"cpu": model(), "numpy": np.__version__, "simd": simd(), "blas": blas()}


WHAT = {"cpu": "CPU", "numpy": "NumPy version", "simd": "NumPy SIMD level", "blas": "BLAS or BLAS kernel"}


def differences(there: dict[str, str], here: dict[str, str] | None = None) -> list[str]:
    """What differs between the arithmetic recorded `there` and this machine's, in words: `NumPy SIMD level
    X86_V4 there, X86_V3 here`; empty where every part matches (a part not recorded differs)."""
    here = arithmetic() if here is None else here
    return [f"{WHAT[k]} {there.get(k, 'not recorded')} there, {here[k]} here" for k in WHAT if there.get(k) != here[k]]


def numpy_blas() -> str:
    """NumPy's version, its BLAS and its threads: `numpy 2.4.6: OpenBLAS 0.3.31 (pthreads, Haswell), 2 threads`."""
    pool = _numpy_pool()
    if pool is None:
        return f"numpy {np.__version__}: {blas()} (threads not known)"
    name = BLAS_NAMES.get(pool["internal_api"], pool["internal_api"])
    how = ", ".join(str(v) for v in (pool.get("threading_layer"), pool.get("architecture")) if v)
    n = pool["num_threads"]
    return f"numpy {np.__version__}: {name} {pool['version']} ({how}), {n} thread{'s' * (n != 1)}"


def cpu() -> str:
    """The processor's model name and how many CPUs this process may use."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model()}, {n} CPUs"


def load() -> str:
    """The load average over the last minute: how many processes wanted a CPU."""
    return f"load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "load average not known"


def python() -> str:
    return f"Python {platform.python_version()}"
