"""RawKernel and ElementwiseKernel of the stand-in: the real source, run on the CPU (docs: gpu.md).

Every launch is checked as an H100 would check it (threads per block and the kernel's
__launch_bounds__, dynamic shared memory and its opt-in, each argument's type, dtype and
contiguity), then run with the threads as fibers (cuda_runtime.h), once for each thread order in
ORDERS, the k-th order with the k-th poison of POISONS (every order with every poison when
MATRIX is set). A poison fills the shared memory of every block and every argument nothing has
written yet: NaN, a huge finite number of each sign. The outputs of every run must be equal bit
for bit: a kernel whose result depends on the order its threads run between barriers has a
race, and one whose result depends on the poison read memory it never wrote (fmax and fmin
drop a NaN, but not a finite poison).
"""

import ctypes
import os

import numpy as np

from backends.standin import compile
from backends.standin.arrays import DeviceArray, check_guard, fresh, host_view, tally, written

MAX_THREADS = 1024  # per block, on every GPU since 2010
STATIC_SHARED = 48 * 1024  # dynamic shared memory a kernel may use without the opt-in
OPTIN_SHARED = 232448  # an H100's sharedMemPerBlockOptin: 227 KB
SHARED_GUARD = 16 * 1024  # bytes after each block's shared memory, poison, that the block must not write
ORDERS = os.environ.get("STANDIN_ORDERS", "forward,reverse,random:1").split(",")
POISONS = {"nan": 0xFF, "+huge": 0x7F, "-huge": 0xFE}  # bytes: NaN; 1.4e306 (3.4e38 in float32); -5.3e303 (-1.7e38)
MATRIX = False  # True: every order with every poison (the mutant runs, at small sizes)
MODES = {"forward": 0, "reverse": 1, "random": 2}
launched: dict[str, set[tuple[int, int]]] = {}  # kernel -> every (threads per block, shared bytes) launched


class LaunchError(RuntimeError):
    """A launch a GPU would refuse, or a kernel that broke a rule of the block (barriers, bounds)."""


class RaceError(LaunchError):
    """A kernel whose outputs depend on the order its threads run, or on memory it never wrote."""


def runs() -> list[tuple[str, str]]:
    """(order, poison) of each run of a launch."""
    poisons = list(POISONS)
    if MATRIX:
        return [(o, p) for o in ORDERS for p in poisons]
    return [(o, poisons[k % len(poisons)]) for k, o in enumerate(ORDERS)]


class RawKernel:
    """cupy.RawKernel(code, name, options): one __global__ function of a CUDA source."""

    def __init__(self, code: str, name: str, options: tuple[str, ...] = ()):
        self.name, self.options = name, tuple(options)
        params = compile.signatures(code, self.options)
        if name not in params:
            raise compile.CompileError(f'no extern "C" __global__ function {name!r} in the source')
        self.params = params[name]
        self.bound = compile.launch_bounds(code).get(name, MAX_THREADS)
        lib = ctypes.CDLL(str(compile.build(compile.translate(code, self.options))))
        self._launch = getattr(lib, f"standin_launch_{name}")
        self._launch.restype = ctypes.c_int
        self._max_shared = STATIC_SHARED

    @property
    def max_dynamic_shared_size_bytes(self) -> int:
        return self._max_shared

    @max_dynamic_shared_size_bytes.setter
    def max_dynamic_shared_size_bytes(self, value: int) -> None:
        if not 0 <= value <= OPTIN_SHARED:
            raise LaunchError(f"{self.name}: max_dynamic_shared_size_bytes={value} is above the {OPTIN_SHARED} allowed")
        self._max_shared = value

    def __call__(self, grid, block, args, shared_mem: int = 0):
        grid, block = dims(grid), dims(block)
        self.check(grid, block, args, shared_mem)
        tally["custom"] += 1
        launched.setdefault(self.name, set()).add((int(np.prod(block)), shared_mem))
        pointers = [(p, a) for p, a in zip(self.params, args) if p.pointer]
        arrays = {p.name: a.view(np.ndarray) for p, a in pointers}
        before = {p.name: None if fresh(a) else a.view(np.ndarray).copy() for p, a in pointers}
        first = None
        for order, poison in runs():
            for k, a in arrays.items():
                if before[k] is None:  # nothing wrote it: this run's poison
                    a.view(np.uint8)[...] = POISONS[poison]
                else:
                    a[...] = before[k]
            self.run(grid, block, args, shared_mem, order, POISONS[poison])
            if first is None:
                first, what = {k: a.tobytes() for k, a in arrays.items()}, f"{order} (poison {poison})"
                continue
            for k, a in arrays.items():
                if a.tobytes() != first[k]:
                    raise RaceError(
                        f"{self.name}: {k} differs between runs {what} and {order} (poison {poison}): "
                        "a race, or a read of memory never written"
                    )
        for p, a in pointers:
            if "const" not in p.ctype.split():
                written(a)

    def check(self, grid, block, args, shared_mem) -> None:
        """What an H100 and the kernel's signature allow; LaunchError otherwise."""
        where = f"{self.name}<<<{grid}, {block}, {shared_mem}>>>"
        if np.prod(block) > MAX_THREADS or block[2] > 64:
            raise LaunchError(f"{where}: more than {MAX_THREADS} threads in a block")
        if np.prod(block) > self.bound:
            raise LaunchError(f"{where}: more threads than the kernel's __launch_bounds__({self.bound})")
        if min(grid + block) < 1 or grid[0] >= 2**31 or max(grid[1:]) > 65535:
            raise LaunchError(f"{where}: grid or block out of range")
        if shared_mem > self._max_shared:
            raise LaunchError(f"{where}: {shared_mem} bytes of dynamic shared memory, {self._max_shared} allowed")
        if len(args) != len(self.params):
            raise LaunchError(f"{where}: {len(args)} arguments for {len(self.params)} parameters")
        for p, a in zip(self.params, args):
            what = f"{where}: argument {p.name} ({p.ctype})"
            if p.pointer:
                if not isinstance(a, DeviceArray):
                    raise LaunchError(f"{what} must be a device array, got {type(a).__name__}")
                if a.dtype != p.dtype or not a.flags.c_contiguous:
                    raise LaunchError(f"{what} needs a C-contiguous {p.dtype} array, got {a.dtype} {a.strides}")
            elif not (isinstance(a, np.generic) and a.dtype == p.dtype):
                raise LaunchError(f"{what} needs numpy.{p.dtype} (CuPy passes a Python int as 64 bits), got {a!r}")

    def run(self, grid, block, args, shared_mem, order, poison=0xFF) -> None:
        mode, _, seed = order.partition(":")
        keep = [a.view(np.ndarray) if isinstance(a, DeviceArray) else np.array(a) for a in args]
        pointers = (ctypes.c_void_p * len(keep))(*(k.ctypes.data for k in keep))
        err = ctypes.create_string_buffer(512)
        status = self._launch(
            pointers,
            (ctypes.c_uint * 3)(*grid),
            (ctypes.c_uint * 3)(*block),
            ctypes.c_size_t(shared_mem),
            ctypes.c_size_t(SHARED_GUARD),
            MODES[mode],
            ctypes.c_ulonglong(int(seed or 0)),
            poison,
            err,
            ctypes.c_size_t(len(err)),
        )
        if status:
            raise LaunchError(f"{self.name} ({order} order): {err.value.decode()}")
        for p, a in zip(self.params, args):
            if p.pointer:
                check_guard(a, f"{self.name}'s argument {p.name}")


def dims(d) -> tuple[int, int, int]:
    d = (d,) if isinstance(d, int) else tuple(d)
    return tuple(int(v) for v in d) + (1,) * (3 - len(d))


ELEMENTWISE = """
extern "C" void standin_elementwise(long long standin_n, void** standin_p, const long long* standin_step) {{
    for (long long i = 0; i < standin_n; ++i) {{  // i is the element's index, as in CuPy
{loads}
        {operation};
    }}
}}
"""
NAMED = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long", "bool": "bool"}


class ElementwiseKernel:
    """cupy.ElementwiseKernel(in_params, out_params, operation, name): a loop over i, compiled by g++.

    Inputs are read-only copies of the element i (scalars broadcast), outputs are references to
    it and may be read before they are written (in-out). Type placeholders (T) take the dtype of
    the first array bound to them; Python scalars are cast to it, as in CuPy.
    """

    def __init__(self, in_params: str, out_params: str, operation: str, name: str = "kernel"):
        self.ins, self.outs = parse_params(in_params), parse_params(out_params)
        self.operation, self.name = operation, name
        self._libs = {}

    def __call__(self, *args):
        if len(args) != len(self.ins) + len(self.outs):
            raise LaunchError(f"{self.name}: {len(args)} arguments for {len(self.ins) + len(self.outs)} parameters")
        types = {}
        for (t, _), a in zip(self.ins + self.outs, args):
            if isinstance(a, DeviceArray) and t not in NAMED:
                types.setdefault(t, a.dtype)
        outs = args[len(self.ins) :]
        if not all(isinstance(o, DeviceArray) for o in outs):
            raise LaunchError(f"{self.name}: every output must be a device array")
        shape = outs[0].shape
        views = []
        for (t, name), a in zip(self.ins + self.outs, args):
            dtype = np.dtype(t) if t in NAMED else types[t]
            if isinstance(a, DeviceArray) and a.dtype != dtype:
                raise LaunchError(f"{self.name}: {name} is {a.dtype}, the kernel's {t} is {dtype}")
            v = np.asarray(host_view(a), dtype=dtype)
            views.append(np.ascontiguousarray(np.broadcast_to(v, shape)) if v.ndim else v.reshape(1))
        tally["custom"] += 1
        key = tuple(v.dtype.str for v in views)
        if key not in self._libs:
            self._libs[key] = self._build(views)
        n = int(np.prod(shape))
        pointers = (ctypes.c_void_p * len(views))(*(v.ctypes.data for v in views))
        step = (ctypes.c_longlong * len(views))(*(int(v.size == n) for v in views))  # a scalar: step 0
        self._libs[key](ctypes.c_longlong(n), pointers, step)
        for o, v in zip(outs, views[len(self.ins) :]):
            o.view(np.ndarray)[...] = v  # a strided output gets its values back
            written(o)

    def _build(self, views):
        loads = []
        for k, ((_, name), v) in enumerate(zip(self.ins + self.outs, views)):
            ctype = NAMED[v.dtype.name]
            if k < len(self.ins):
                loads.append(f"        const {ctype} {name} = (({ctype}*)standin_p[{k}])[i * standin_step[{k}]];")
            else:
                loads.append(f"        {ctype}& {name} = (({ctype}*)standin_p[{k}])[i];")
        cpp = f'#include "{compile.HEADER}"\n' + ELEMENTWISE.format(loads="\n".join(loads), operation=self.operation)
        fn = ctypes.CDLL(str(compile.build(cpp))).standin_elementwise
        fn.restype = None
        return fn


def parse_params(text: str) -> list[tuple[str, str]]:
    """ "T g, T eta" -> [("T", "g"), ("T", "eta")]."""
    return [tuple(p.split()) for p in text.split(",") if p.strip()]
