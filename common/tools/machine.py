"""What a benchmark ran on: the CPU, its load, and each array library's BLAS and threads (docs: performance.md).

threadpoolctl finds the thread pools of the libraries loaded in this process (NumPy's OpenBLAS,
torch's OpenMP runtime) without importing any of them; torch's own description comes from the
torch backend (backends/torch_threads.py), since common/ never imports torch.
"""

import os
import platform
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

LIBRARIES = ("numpy", "torch")


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


def numpy_blas() -> str:
    """NumPy's version, its BLAS and its threads: `numpy 2.4.6: OpenBLAS 0.3.31 (pthreads, Haswell), 2 threads`."""
    for pool in threadpool_info():
        if pool["user_api"] == "blas" and _owner(pool["filepath"]) == "numpy":
            name = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}.get(
                pool["internal_api"], pool["internal_api"]
            )
            how = ", ".join(str(v) for v in (pool.get("threading_layer"), pool.get("architecture")) if v)
            n = pool["num_threads"]
            return f"numpy {np.__version__}: {name} {pool['version']} ({how}), {n} thread{'s' * (n != 1)}"
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return f"numpy {np.__version__}: {blas.get('name')} {blas.get('version')} (threads not known)"


def cpu() -> str:
    """The processor's model name and how many CPUs this process may use."""
    model = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.exists():
        model = next(
            (line.split(":", 1)[1].strip() for line in info.read_text().splitlines() if "model name" in line), model
        )
    return f"{model}, {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} CPUs"


def load() -> str:
    """The load average over the last minute: how many processes wanted a CPU."""
    return f"load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "load average not known"


def python() -> str:
    return f"Python {platform.python_version()}"
