"""Device arrays of the stand-in: NumPy memory that behaves like a GPU's (docs: gpu.md#the-stand-in).

A DeviceArray is an ndarray subclass, so NumPy does the arithmetic, but it keeps CuPy's rules
and makes mistakes visible instead of hiding them:

- fresh memory (`empty`) is poison: NaN for floats, the most negative integer for integers;
- every allocation ends in a guard of NaN bytes that a kernel must not write (checked after
  each launch) and reads of which turn results into NaN;
- mixing a device array with a host ndarray in one operation is a TypeError, as in CuPy (but
  numpy.asarray of a device array is not refused, as CuPy refuses it: a subclass cannot stop that);
- every operation is tallied as CuPy would launch it: each ufunc call one elementwise kernel,
  each reduction one reduction kernel, each matrix product one cuBLAS call, each gather,
  scatter or copy one kernel, each host<->device copy a transfer, each value read a sync.
"""

from collections import Counter

import numpy as np

GUARD = 4096  # bytes after every allocation: reads there give NaN, writes are caught
KINDS = ("custom", "elementwise", "reduction", "cublas", "h2d", "h2d_bytes", "d2h", "d2h_bytes", "sync")
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
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return device_copy(np.asarray(result), count=False)

    def __getitem__(self, key):
        key = host_key(key)
        if not advanced(key):
            return super().__getitem__(key)  # a view: no kernel
        tally["elementwise"] += 1  # a gather kernel
        return device_copy(self.view(np.ndarray)[key], count=False)

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and not isinstance(value, DeviceArray) and value.ndim > 0:
            raise TypeError("a host numpy.ndarray cannot be assigned into a device array (cupy.asarray it first)")
        tally["elementwise"] += 1  # a copy, fill or scatter kernel
        self.view(np.ndarray)[host_key(key)] = host_view(value)

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
        tally["sync"] += 1
        tally["d2h"] += 1
        tally["d2h_bytes"] += self.nbytes
        return float(self.view(np.ndarray))


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
    raw.data_bytes = nbytes
    raw[nbytes:] = 0xFF
    a = raw[:nbytes].view(dtype).reshape(shape).view(DeviceArray)
    a.view(np.ndarray)[...] = np.nan if dtype.kind in "fc" else np.iinfo(dtype).min if dtype.kind in "iu" else 0
    return a


def device_copy(a: np.ndarray, dtype=None, count=True) -> DeviceArray:
    """A new device array holding a's values (a is already on the device: a copy kernel)."""
    out = empty(np.shape(a), dtype or a.dtype)
    out.view(np.ndarray)[...] = a
    if count:
        tally["elementwise"] += 1
    return out


class Raw(np.ndarray):
    """The bytes of one allocation: data_bytes of data, then the guard."""


def check_guard(a: DeviceArray, what: str) -> None:
    """OverrunError if anything wrote into the guard after a's allocation."""
    base = a
    while base is not None and getattr(base, "data_bytes", None) is None:
        base = base.base
    if base is not None and not (base.view(np.ndarray)[base.data_bytes :] == 0xFF).all():
        raise OverrunError(f"{what} wrote past the end of its {base.data_bytes}-byte allocation")
