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
    """sys.modules["cupy"] is the stand-in inside the block; the backend module is imported afresh."""
    import backends
    from backends.standin import cupy as standin_cupy

    names = ("cupy", "backends.cupy_backend")
    saved = {k: sys.modules.pop(k) for k in names if k in sys.modules}
    saved_attribute = vars(backends).pop("cupy_backend", None)  # `from backends import cupy_backend` reads this
    sys.modules["cupy"] = standin_cupy
    try:
        yield standin_cupy
    finally:
        for k in names:
            sys.modules.pop(k, None)
        sys.modules.update(saved)
        vars(backends).pop("cupy_backend", None)
        if saved_attribute is not None:
            backends.cupy_backend = saved_attribute
