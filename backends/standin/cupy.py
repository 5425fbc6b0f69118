"""The `cupy` module of the stand-in: what the CuPy backend uses, on NumPy (docs: gpu.md).

Installed as sys.modules["cupy"] only by `backends.standin.installed()` (the tests, and the
`launches` command); never found by `import cupy` on its own, so a machine without a GPU still
gets CuPy's own "no GPU" answer everywhere else.
"""

import types

import numpy as np

from backends.standin import arrays, kernels
from backends.standin.arrays import DeviceArray, device_copy, empty, host_view, tally
from backends.standin.kernels import ElementwiseKernel, RawKernel

ndarray = DeviceArray
__all__ = ["ElementwiseKernel", "RawKernel", "ndarray", "cuda"]

# ufuncs dispatch to DeviceArray.__array_ufunc__, which tallies them
tanh, exp, log, sqrt, multiply, divide, matmul = np.tanh, np.exp, np.log, np.sqrt, np.multiply, np.divide, np.matmul


def empty_like(a, dtype=None):
    return empty(a.shape, dtype or a.dtype)


def asarray(a, dtype=None):
    if isinstance(a, DeviceArray):
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)
    return array(a, dtype)


def array(a, dtype=None):
    """A device copy: from the host a transfer, on the device a copy kernel."""
    if isinstance(a, DeviceArray):
        return device_copy(host_view(a), dtype)
    host = np.asarray(a, dtype=dtype)
    tally["h2d"] += 1
    tally["h2d_bytes"] += host.nbytes
    return device_copy(host, count=False)


def ascontiguousarray(a, dtype=None):
    if not isinstance(a, DeviceArray):
        raise TypeError("cupy.ascontiguousarray of a host array: use cupy.asarray")
    if a.flags.c_contiguous and (dtype is None or a.dtype == dtype):
        return a
    return device_copy(host_view(a), dtype)


def asnumpy(a) -> np.ndarray:
    tally["sync"] += 1
    tally["d2h"] += 1
    tally["d2h_bytes"] += a.nbytes
    return host_view(a).copy()


def arange(*args, dtype=None):
    tally["elementwise"] += 1
    return device_copy(np.arange(*args, dtype=dtype), count=False)


def clip(a, lo, hi, out=None):
    return np.clip(a, lo, hi, out=out)


def bincount(x, weights=None, minlength=0):
    tally["elementwise"] += 2  # CuPy: a zero fill, then one atomicAdd kernel
    return device_copy(np.bincount(host_view(x), host_view(weights), minlength), count=False)


class Device:
    """cupy.cuda.Device(): the one pretend GPU."""

    id = 0

    def __init__(self, device: int = 0):
        self.id = device

    def synchronize(self) -> None:
        tally["sync"] += 1


def get_device_properties(device: int) -> dict:
    """An H100's figures (the ones the backend reads); the opt-in limit can be lowered for tests."""
    return {"name": b"CPU stand-in for an H100", "sharedMemPerBlockOptin": kernels.OPTIN_SHARED}


cuda = types.SimpleNamespace(
    Device=Device,
    is_available=lambda: True,
    runtime=types.SimpleNamespace(getDeviceProperties=get_device_properties),
)
errors = arrays.OverrunError, kernels.LaunchError
