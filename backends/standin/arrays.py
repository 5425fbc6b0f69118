"""Device arrays of the stand-in: NumPy memory that behaves like a GPU's (docs: gpu.md#the-stand-in).

A DeviceArray is an ndarray subclass, so NumPy does the arithmetic, but it keeps CuPy's rules
and makes mistakes visible instead of hiding them:

- fresh memory (`empty`) is poison: NaN for floats, the most negative integer for integers, and
  an allocation that nothing has written yet is refilled with each poison of kernels.POISONS
  for each run of a kernel that gets it;
- every allocation ends in a guard of NaN bytes that a kernel must not write (checked after
  each launch) and reads of which turn results into NaN;
- mixing a device array with a host ndarray in one operation is a TypeError, as in CuPy (but
  numpy.asarray of a device array is not refused, as CuPy refuses it: a subclass cannot stop that);
- every operation is tallied as CuPy 14 launches it: each ufunc call one elementwise kernel,
  each reduction one reduction kernel, each matrix product one cuBLAS call, each copy one
  kernel, a gather or scatter with one index array one kernel and with k index arrays k + 2
  (a fill and k index kernels first, as cupy/_core/_routines_indexing.pyx does), each
  host<->device copy a transfer, each device-to-device memcpy (cupy.copyto) a d2d, each value read
  on the host (float, int, bool) a sync.
"""

from collections import Counter

import numpy as np

GUARD = 4096  # bytes after every allocation: reads there give NaN, writes are caught
KINDS = ("custom", "elementwise", "reduction", "cublas", "h2d", "h2d_bytes", "d2h", "d2h_bytes", "d2d", "d2d_bytes")
KINDS += ("sync",)
tally: Counter = Counter()


class OverrunError(RuntimeError):
    """A kernel wrote past the end of an array."""


class DeviceArray(np.ndarray):
    """An array in (pretend) GPU memory."""

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        args = [host_view(a) for a in inputs]
        if out is not None:
            kwargs["out"] = tuple(host_view(o) for o in out)
        kind = "cublas" if ufunc is np.matmul else "reduction" if method == "reduce" else "elementwise"
        tally[kind] += 1
        for o in out or ():
            written(o)
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return device_copy(np.asarray(result), count=False)

    def __getitem__(self, key):
        key = host_key(key)
        if not advanced(key):
            return super().__getitem__(key)  # a view: no kernel
        tally["elementwise"] += indexing_kernels(key)  # the take kernel, after the index kernels
        return device_copy(self.view(np.ndarray)[key], count=False)

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and not isinstance(value, DeviceArray) and value.ndim > 0:
            raise TypeError("a host numpy.ndarray cannot be assigned into a device array (cupy.asarray it first)")
        key = host_key(key)
        tally["elementwise"] += indexing_kernels(key) if advanced(key) else 1  # a scatter; else a copy or fill
        written(self)
        self.view(np.ndarray)[key] = host_view(value)

    def set(self, arr: np.ndarray, stream=None) -> None:
        """ndarray.set: a host-to-device copy, asynchronous on the current stream (CuPy 14)."""
        if isinstance(arr, DeviceArray) or arr.shape != self.shape or arr.dtype != self.dtype:
            raise TypeError(f"set needs a host array of shape {self.shape} and dtype {self.dtype}")
        transfer("h2d", arr, pinned(arr))
        written(self)
        self.view(np.ndarray)[...] = arr

    def get(self, stream=None, order="C", out=None, blocking=True) -> np.ndarray:
        """ndarray.get: a device-to-host copy, into out when given; blocking waits for it (a sync)."""
        out = np.empty(self.shape, self.dtype) if out is None else out
        transfer("d2h", out, pinned(out) and not blocking)
        out[...] = self.view(np.ndarray)
        return out

    def dot(self, other, out=None):
        tally["cublas"] += 1
        return device_copy(self.view(np.ndarray).dot(host_view(other)), count=False)

    def copy(self, order="C"):
        return device_copy(self.view(np.ndarray))

    def astype(self, dtype, copy=True):
        if not copy and self.dtype == dtype:
            return self
        return device_copy(self.view(np.ndarray).astype(dtype))

    def reshape(self, *shape, **kwargs):
        r = super().reshape(*shape, **kwargs)
        if not np.may_share_memory(r, self):
            tally["elementwise"] += 1  # a copy: the view was not contiguous
        return r

    def __float__(self):
        transfer("d2h", self, False)
        return float(self.view(np.ndarray))

    def __int__(self):
        transfer("d2h", self, False)
        return int(self.view(np.ndarray))

    def __bool__(self):
        transfer("d2h", self, False)
        return bool(self.view(np.ndarray))


def transfer(direction: str, host: np.ndarray, asynchronous: bool) -> None:
    """Tally a copy between host and device; one the host waits for is a sync.

    CUDA copies asynchronously only from and to pinned (page-locked) host memory; from pageable
    memory the copy may wait for the device, so it is counted as a sync too (CUDA Runtime API,
    "API synchronization behavior").
    """
    tally[direction] += 1
    tally[f"{direction}_bytes"] += host.nbytes
    if not asynchronous:
        tally["sync"] += 1


PINNED: list[np.ndarray] = []  # host buffers from cuda.alloc_pinned_memory


def pinned(a: np.ndarray) -> bool:
    return any(np.may_share_memory(a, p) for p in PINNED)


def indexing_kernels(key) -> int:
    """Kernels of one gather or scatter in CuPy 14: 1 with one index array, k + 2 with k of them."""
    keys = key if isinstance(key, tuple) else (key,)
    k = sum(isinstance(i, np.ndarray | list) for i in keys)
    return 1 if k == 1 else k + 2


def host_view(a):
    """The NumPy view of a device array; a host ndarray is refused, scalars pass."""
    if isinstance(a, DeviceArray):
        return a.view(np.ndarray)
    if isinstance(a, np.ndarray) and a.ndim > 0:
        raise TypeError("a host numpy.ndarray was mixed with device arrays (CuPy refuses it too)")
    return a


def host_key(key):
    if isinstance(key, tuple):
        return tuple(host_key(k) for k in key)
    return key.view(np.ndarray) if isinstance(key, DeviceArray) else key


def advanced(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, np.ndarray | list) for k in keys)


def empty(shape, dtype) -> DeviceArray:
    """Fresh device memory, poisoned, with a guard after it."""
    dtype = np.dtype(dtype)
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + GUARD, np.uint8).view(Raw)
    raw.data_bytes, raw.fresh = nbytes, True
    raw[nbytes:] = 0xFF
    a = raw[:nbytes].view(dtype).reshape(shape).view(DeviceArray)
    a.view(np.ndarray)[...] = np.nan if dtype.kind in "fc" else np.iinfo(dtype).min if dtype.kind in "iu" else 0
    return a


def device_copy(a: np.ndarray, dtype=None, count=True) -> DeviceArray:
    """A new device array holding a's values (a is already on the device: a copy kernel)."""
    out = empty(np.shape(a), dtype or a.dtype)
    out.view(np.ndarray)[...] = a
    written(out)
    if count:
        tally["elementwise"] += 1
    return out


class Raw(np.ndarray):
    """The bytes of one allocation: data_bytes of data, then the guard; fresh until something writes it."""


def allocation(a: DeviceArray) -> Raw | None:
    """The allocation a is a view of."""
    while a is not None and getattr(a, "data_bytes", None) is None:
        a = a.base
    return a


def written(a) -> None:
    """Something wrote into a's allocation: it is no longer fresh."""
    if isinstance(a, DeviceArray) and (raw := allocation(a)) is not None:
        raw.fresh = False


def fresh(a: DeviceArray) -> bool:
    """Nothing has written a's allocation since `empty` made it."""
    raw = allocation(a)
    return raw is not None and raw.fresh


def check_guard(a: DeviceArray, what: str) -> None:
    """OverrunError if anything wrote into the guard after a's allocation."""
    base = allocation(a)
    if base is not None and not (base.view(np.ndarray)[base.data_bytes :] == 0xFF).all():
        raise OverrunError(f"{what} wrote past the end of its {base.data_bytes}-byte allocation")
