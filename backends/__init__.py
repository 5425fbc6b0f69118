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
}


def names() -> list[str]:
    return list(REGISTRY)


def module_of(name: str):
    if name not in REGISTRY:
        raise BadInput(f"unknown backend {name!r}; choose one of: {', '.join(REGISTRY)}")
    module, _, library, _ = REGISTRY[name]
    if library and importlib.util.find_spec(library) is None:
        return None
    return importlib.import_module(module)


def why_not(name: str) -> str | None:
    """None when the backend can run here, else the reason it cannot (library, GPU, driver)."""
    module = module_of(name)
    if module is None:
        _, _, library, how = REGISTRY[name]
        return f"{library} is not installed ({how})"
    return getattr(module, REGISTRY[name][1]).why_not()


def load(name: str, layout: Layout, dtype: str, **options) -> Backend:
    """The backend `name` for these sizes and dtype, or one clear BadInput saying why not."""
    reason = why_not(name)
    if reason is not None:
        runnable = [n for n in REGISTRY if n != name and why_not(n) is None]
        raise BadInput(f"backend {name} cannot run here: {reason}; try --backend {runnable[0]}")
    cls = getattr(module_of(name), REGISTRY[name][1])
    return cls(layout, dtype, **options)
