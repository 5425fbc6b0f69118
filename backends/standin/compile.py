"""CUDA source -> a shared library g++ can build, cached by content (docs: gpu.md#the-stand-in).

The kernel source is used as written. Three steps make it C++: a header of CUDA's built-ins and
the fiber scheduler is included first (cuda_runtime.h); each `extern __shared__ T name[];`
becomes a pointer into the running block's dynamic shared memory; and each `__global__` function
gets an `extern "C"` launcher that the Python side calls through ctypes. A static `__shared__`
array is refused: the stand-in interleaves blocks, and one C++ static would be shared by all.
g++ rounds each product of `a * b + c` on its own; nvcc and NVRTC contract it into one FMA,
rounded once. With `contract` set (the tests' `standin_build` fixture) the stand-in does too,
where the CPU has FMA: so the tests' tolerances are seen to hold for both roundings.
"""

import hashlib
import os
import platform
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEADER = Path(__file__).with_name("cuda_runtime.h")
FLAGS = ("-O2", "-shared", "-fPIC", "-std=c++17", "-w")  # no -ffast-math: IEEE arithmetic, as on a GPU
contract = False  # True: a * b + c as one FMA, as nvcc and NVRTC compile it by default
C_TYPES = {
    "float": np.float32,
    "double": np.float64,
    "int": np.int32,
    "unsigned int": np.uint32,
    "long long": np.int64,
    "unsigned long long": np.uint64,
    "unsigned char": np.uint8,
    "bool": np.bool_,
}
KERNEL = re.compile(
    r'extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\(\s*(\d+)[^)]*\)\s+)?(\w+)\s*\(([^)]*)\)', re.S
)
EXTERN_SHARED = re.compile(r"extern\s+__shared__\s+(?:__align__\(\d+\)\s+)?([\w\s]+?)\s+(\w+)\s*\[\s*\]\s*;")
STATIC_SHARED = re.compile(r"(?<!extern )__shared__")


class CompileError(RuntimeError):
    """g++ could not build the source (the message is its error output)."""


@dataclass(frozen=True)
class Param:
    """One kernel parameter: its C type, and the dtype an argument must have."""

    name: str
    ctype: str  # as written, with the -D macros expanded, e.g. "const double*"
    dtype: np.dtype
    pointer: bool


def defines(options: tuple[str, ...]) -> dict[str, str]:
    """-DNAME=VALUE options as a dict."""
    return dict(o[2:].split("=", 1) for o in options if o.startswith("-D") and "=" in o)


def signatures(code: str, options: tuple[str, ...]) -> dict[str, list[Param]]:
    """Every `extern "C" __global__` kernel of code, with its parameters."""
    macros = defines(options)
    out = {}
    for _, name, params in KERNEL.findall(code):
        out[name] = [parse_param(p, macros) for p in params.split(",") if p.strip()]
    return out


def launch_bounds(code: str) -> dict[str, int]:
    """The most threads per block each kernel declares with __launch_bounds__ (a GPU refuses more)."""
    return {name: int(bound) for bound, name, _ in KERNEL.findall(code) if bound}


def parse_param(text: str, macros: dict[str, str]) -> Param:
    words = [macros.get(w, w) for w in re.findall(r"\w+|\*", text)]
    name, ctype = words[-1], " ".join(words[:-1]).replace(" *", "*")
    base = " ".join(w for w in words[:-1] if w not in ("const", "*", "__restrict__", "volatile"))
    if base not in C_TYPES:
        raise CompileError(f"parameter {name!r}: the stand-in knows no C type {base!r}")
    return Param(name, ctype, np.dtype(C_TYPES[base]), "*" in words)


def translate(code: str, options: tuple[str, ...]) -> str:
    """The kernel source as C++ for g++, with one launcher per kernel."""
    if STATIC_SHARED.search(EXTERN_SHARED.sub("", code)):
        raise CompileError("a static __shared__ array: the stand-in supports only `extern __shared__` (dynamic)")
    body = EXTERN_SHARED.sub(r"\1* \2 = reinterpret_cast<\1*>(standin::shared_memory);", code)
    lines = [f"#define {k} {v}" for k, v in defines(options).items()]
    lines += [f'#include "{HEADER}"', "#line 1", body]
    for name, params in signatures(code, options).items():
        call = ", ".join(
            f"({p.ctype})standin_args[{k}]" if p.pointer else f"*({p.ctype}*)standin_args[{k}]"
            for k, p in enumerate(params)
        )
        lines += [
            f"static void** standin_args_{name};",
            f"static void standin_body_{name}() {{ void** standin_args = standin_args_{name}; {name}({call}); }}",
            f'extern "C" int standin_launch_{name}(void** args, const unsigned* grid, const unsigned* block,'
            " size_t shared, size_t guard, int mode, unsigned long long seed, int poison, char* err, size_t errlen) {",
            f"    standin_args_{name} = args;",
            f"    return standin::run(standin_body_{name}, grid, block, shared, guard, mode, seed, poison, err,"
            " errlen);",
            "}",
        ]
    return "\n".join(lines) + "\n"


def fma_flags() -> tuple[str, ...] | None:
    """The g++ flags that contract a * b + c into one FMA on this CPU, or None where it has no FMA."""
    if platform.machine() in ("aarch64", "arm64"):
        return ("-ffp-contract=fast",)  # every ARMv8 CPU has FMA
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    cpu = next((line.split() for line in lines if line.startswith("flags")), [])
    return ("-mfma", "-ffp-contract=fast") if "fma" in cpu else None


def flags() -> tuple[str, ...]:
    """g++'s flags for this build: IEEE, each product rounded on its own, or (contract) with FMA."""
    if not contract:
        return FLAGS
    fma = fma_flags()
    if fma is None:
        raise CompileError("this CPU has no FMA: the stand-in cannot contract a * b + c")
    return FLAGS + fma


def cache_dir() -> Path:
    where = os.environ.get("STANDIN_CACHE") or Path(tempfile.gettempdir()) / f"standin-{os.getuid()}"
    Path(where).mkdir(parents=True, exist_ok=True)
    return Path(where)


def build(cpp: str) -> Path:
    """The shared library for this C++ source: built once, then found in the cache by its hash."""
    options = flags()
    key = hashlib.sha256((cpp + HEADER.read_text() + " ".join(options)).encode()).hexdigest()[:24]
    lib = cache_dir() / f"k{key}.so"
    if not lib.exists():
        src = lib.with_suffix(f".{os.getpid()}.cpp")
        src.write_text(cpp)
        tmp = lib.with_suffix(f".{os.getpid()}.so")
        try:
            r = subprocess.run(["g++", *options, "-o", str(tmp), str(src)], capture_output=True, text=True)
        except FileNotFoundError:
            raise CompileError("the CPU stand-in needs g++ (apt install g++), and it is not on PATH") from None
        finally:
            src.unlink()
        if r.returncode != 0:
            raise CompileError(r.stderr[-4000:])
        os.replace(tmp, lib)  # atomic: a parallel run sees the whole library or none
    return lib
