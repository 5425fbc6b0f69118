"""The backends: a name -> lazy import, and why a backend cannot run here (docs: backends.md).

Nothing heavy is imported until a backend is chosen: `python cli.py gradcheck --backend numpy`
never imports torch or cupy.
"""

import importlib
import importlib.util

from common.contract import Backend, Layout
from common.errors import BadInput

# name -> (module, class, the library it needs, how to install that library)
REGISTRY = {
    "numpy": ("backends.numpy_backend", "NumpyBackend", None, None),
    "torch": ("backends.torch_backend", "TorchBackend", "torch", "pip install -c constraints.txt '.[torch]'"),
    "cupy": ("backends.cupy_backend", "CupyBackend", "cupy", "pip install '.[cuda13]', or '.[cuda12]' for CUDA 12"),
}


def names() -> list[str]:
    return list(REGISTRY)


def backend_class(name: str):
    """The class of backend `name`, or None when its library is not installed."""
    if name not in REGISTRY:
        raise BadInput(f"unknown backend {name!r}; choose one of: {', '.join(REGISTRY)}")
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
