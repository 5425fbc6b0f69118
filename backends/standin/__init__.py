"""A CPU stand-in for a GPU: runs the CuPy backend's real CUDA source with g++ (docs: gpu.md).

    with standin.installed():
        backend = backends.load("cupy", layout, "float64", kernels="fused")

puts backends/standin/cupy.py in the place of `cupy` for the duration, and restores whatever
was there (the real CuPy, or nothing) afterwards.
"""

import contextlib
import sys


@contextlib.contextmanager
def installed():
    """sys.modules["cupy"] is the stand-in inside the block; the backend module is re-imported."""
    from backends.standin import cupy as standin_cupy

    saved = {k: sys.modules.pop(k) for k in ("cupy", "backends.cupy_backend") if k in sys.modules}
    sys.modules["cupy"] = standin_cupy
    try:
        yield standin_cupy
    finally:
        for k in ("cupy", "backends.cupy_backend"):
            sys.modules.pop(k, None)
        sys.modules.update(saved)
