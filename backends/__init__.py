"""The backends, their options and variants, in one place (docs: backends.md).

A name -> lazy import, why a backend cannot run here, and every way it can run: the CLI's
choices, the benchmark's contenders and the tests' variants all come from here. Nothing heavy
is imported until a backend is chosen: `python cli.py gradcheck --backend numpy`
never imports torch or cupy. A name may also be path/to/file.py:ClassName, a backend of one's
own (backends/own.py); the registry stays the one list of names.
"""

import importlib
import importlib.util

from backends import own
from common.contract import Backend, Layout
from common.errors import BadInput

# name -> (module, class, the library it needs, how to install that library)
REGISTRY = {
    "numpy": ("backends.numpy_backend", "NumpyBackend", None, None),
    "torch": ("backends.torch_backend", "TorchBackend", "torch", "pip install -c constraints.txt '.[torch]'"),
    "cupy": ("backends.cupy_backend", "CupyBackend", "cupy", "pip install -c constraints.txt '.[gpu]' (CUDA 13)"),
}

# the options a backend's constructor may take (its class's OPTIONS), and their choices
OPTIONS = {"device": ("cpu", "cuda"), "grad": ("manual", "autograd"), "kernels": ("plain", "fused", "persistent")}

# every way a backend can run: (name, options); tests run each, the benchmark times each on one device
VARIANTS = [
    ("numpy", {}),
    ("torch", {"device": "cpu"}),
    ("torch", {"device": "cpu", "grad": "autograd"}),
    ("torch", {"device": "cuda"}),
    ("cupy", {"kernels": "plain"}),
    ("cupy", {"kernels": "fused"}),
    ("cupy", {"kernels": "persistent"}),
]


def label(name: str, options: dict, device: bool = True) -> str:
    """A variant's name, e.g. torch-cpu-autograd (torch-autograd without the device)."""
    return "-".join([name, *(v for k, v in options.items() if device or k != "device")])


def bench_variants(name: str, device: str | None = None) -> list[dict]:
    """The options backend name is timed with: each of its variants once, on device (None: its default)."""
    out = []
    for n, options in VARIANTS:
        opts = {k: v for k, v in options.items() if k != "device"}
        if device and "device" in options:
            opts["device"] = device
        if n == name and opts not in out:
            out.append(opts)
    return out or [{}]  # a backend of one's own: its one way


def names() -> list[str]:
    return list(REGISTRY)


def backend_class(name: str):
    """The class of backend `name` (or path/to/file.py:ClassName), or None when its library is not installed."""
    if own.is_spec(name):
        return own.backend_class(name)
    if name not in REGISTRY:
        raise BadInput(f"unknown backend {name!r}; choose one of: {', '.join(REGISTRY)}, or path/to/file.py:ClassName")
    module, cls, library, _ = REGISTRY[name]
    if library and importlib.util.find_spec(library) is None:
        return None
    return getattr(importlib.import_module(module), cls)


def why_not(name: str, **options) -> str | None:
    """None when the backend can run here with these options, else why not (library, GPU, driver)."""
    cls = backend_class(name)
    if cls is None:
        _, _, library, how = REGISTRY[name]
        return f"{library} is not installed ({how})"
    return cls.why_not(**options)


def ensure(name: str, **options) -> type:
    """The class of backend `name` if it can run here with these options, else one clear BadInput."""
    cls = backend_class(name)
    for option in options:
        if cls is not None and option not in cls.OPTIONS:
            raise BadInput(f"--{option} does not apply to the {name} backend")
    reason = why_not(name, **options)
    if reason is not None:
        runnable = [n for n in REGISTRY if n != name and why_not(n) is None]
        hint = "" if options else f"; try --backend {runnable[0]}"  # with options, the reason says what to change
        raise BadInput(f"backend {name} cannot run here: {reason}{hint}")
    return cls


def load(name: str, layout: Layout, dtype: str, **options) -> Backend:
    """The backend `name` for these sizes and dtype, or one clear BadInput saying why not."""
    return ensure(name, **options)(layout, dtype, **options)
