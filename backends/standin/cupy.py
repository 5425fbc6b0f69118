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
tanh, exp, log, sqrt, add, multiply, divide = np.tanh, np.exp, np.log, np.sqrt, np.add, np.multiply, np.divide
matmul = np.matmul


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


def copyto(dst, src) -> None:
    """As CuPy 14 copies: one device-to-device memcpy when both are C-contiguous alike, else a copy kernel."""
    if dst.flags.c_contiguous and src.flags.c_contiguous and dst.dtype == src.dtype and dst.shape == src.shape:
        tally["d2d"] += 1  # cudaMemcpyAsync: a command in the stream, not a kernel, no wait
        tally["d2d_bytes"] += src.nbytes
    else:
        tally["elementwise"] += 1
    arrays.written(dst)
    dst.view(np.ndarray)[...] = host_view(src)


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


def zeros(shape, dtype=float):
    a = empty(shape, dtype)
    a[...] = 0  # CuPy: one memset
    return a


def bincount(x, weights=None, minlength=0):
    """As cupy/_statistics/histogram.py (CuPy 14) runs it: two checks that read a value back, a fill, a kernel."""
    if (x < 0).any():  # an elementwise kernel, a reduction, and bool(): a sync
        raise ValueError("The first argument of bincount must be non-negative")
    size = max(int(x.max()) + 1, minlength)  # a reduction, and int(): a sync
    out = zeros(size, np.float64)  # float64 whatever the weights' dtype, as in CuPy
    tally["elementwise"] += 1  # the atomicAdd kernel
    out.view(np.ndarray)[...] = np.bincount(host_view(x), host_view(weights), size)
    return out


def alloc_pinned_memory(nbytes: int) -> np.ndarray:
    """Page-locked host memory (here: ordinary memory the stand-in remembers as pinned)."""
    buffer = np.empty(nbytes, np.uint8)
    arrays.PINNED.append(buffer)
    return buffer


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


cuda = types.SimpleNamespace(  # a driver, one device and NVRTC (g++): tests replace a part to take it away
    Device=Device,
    alloc_pinned_memory=alloc_pinned_memory,
    is_available=lambda: True,
    nvrtc=types.SimpleNamespace(getVersion=lambda: (13, 0)),
    runtime=types.SimpleNamespace(
        getDeviceProperties=get_device_properties,
        driverGetVersion=lambda: 13000,
        runtimeGetVersion=lambda: 13000,
        getDeviceCount=lambda: 1,
    ),
)
errors = arrays.OverrunError, kernels.LaunchError
