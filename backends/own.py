"""Code of one's own, named as path/to/file.py:NAME: imported from its path, every call of it guarded (docs: check.md).

Whatever goes wrong in that code (it does not import, it raises, it is missing, it returns
the wrong thing) becomes one BadInput line that names the file, the line of it and what was
raised or returned: the owner's traceback, shortened to its last line in their file, never ours.
What a student's function and a backend class return is checked by the one `returned` below.
"""

import functools
import importlib.util
import sys
import traceback
from pathlib import Path

import numpy as np

from common.errors import BadInput

MODULES = {}  # (resolved path, modification time) -> the module: each version of a file is imported once
# common/contract.py's methods a backend of one's own must have (copy it may leave out: Guarded.copy)
CONTRACT = ("to_device", "to_host", "forward", "backward", "update", "step", "predict")


def is_spec(name: str) -> bool:
    """True for path/to/file.py:NAME (a registered backend's name has no '.py:')."""
    return ".py:" in name


def split(spec: str, default: str | None = None) -> tuple[Path, str]:
    """path/to/file.py[:NAME] -> (the path, NAME); default when NAME is left out."""
    path, _, name = spec.rpartition(":") if ".py:" in spec else (spec, "", default)
    if not path.endswith(".py") or not name:
        raise BadInput(f"{spec!r} is not path/to/file.py:NAME")
    return Path(path), name


def where(error: BaseException, path: Path) -> str:
    """The last line of path in error's traceback, as 'file.py, line 12, in f: the code'; else ''."""
    mine = path.resolve()
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve() == mine]
    if isinstance(error, SyntaxError) and error.filename and Path(error.filename).resolve() == mine:
        return f"{path.name}, line {error.lineno}: {(error.text or '').strip()}"
    if not frames:
        return ""
    f = frames[-1]
    return f"{path.name}, line {f.lineno}, in {f.name}: {f.line}"


def failure(error: BaseException, path: Path, what: str) -> BadInput:
    """One line: what raised, the exception, and where in their file."""
    at = where(error, path)
    return BadInput(f"{what} raised {type(error).__name__}: {error}" + (f" ({at})" if at else ""))


def load(spec: str, default: str | None = None):
    """The object NAME of the file, imported from its path (never from sys.path)."""
    path, name = split(spec, default)
    if not path.is_file():
        raise BadInput(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in MODULES:
        MODULES[key] = module(path)
    if not hasattr(MODULES[key], name):
        mine = MODULES[key].__name__
        found = sorted(n for n, v in vars(MODULES[key]).items() if getattr(v, "__module__", None) == mine)
        defined = f"; it defines {', '.join(found)}" if found else ""
        raise BadInput(f"{path} has no {name!r}{defined} (name it as {path}:NAME)")
    return getattr(MODULES[key], name)


def module(path: Path):
    """The file at path imported as a module of its own."""
    module_name = f"own_{path.stem}_{len(MODULES)}"
    try:
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        loaded = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = loaded  # dataclasses and pickling look their module up here
        module_spec.loader.exec_module(loaded)
    except (Exception, SystemExit) as e:
        sys.modules.pop(module_name, None)
        raise failure(e, path, f"importing {path}") from None
    return loaded


def guarded(fn, path: Path, what: str, failure=failure):
    """fn, with any exception it raises turned into one BadInput line naming their line (failure's)."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BadInput:
            raise
        except (Exception, SystemExit) as e:
            raise failure(e, path, what) from None

    return call


def returned(spec: str, what: str, value, shape: tuple, host: bool = True):
    """What their code returned as `what`, checked against shape (() is one number): a float64 NumPy copy
    when host (a function's returns), else value itself (a backend's, on its device); else one BadInput line."""
    try:
        a = value
        if host:
            a = np.asarray(value)
            if np.iscomplexobj(a):
                raise BadInput(
                    f"{spec} returned {what} of complex numbers: a loss and its gradients are real "
                    "(a log or square root of a negative number, or a complex dtype, makes them complex)"
                )
            a = a.astype(np.float64)
        got = tuple(getattr(a, "shape", np.shape(a)))
        if shape == () and np.prod(got) == 1:
            return a.reshape(()) if host else float(a)
    except BadInput:
        raise
    except Exception as e:  # an __array__ of theirs that raises, a loss too large for a float, ...
        raise BadInput(f"{spec} returned {what} that is not an array of numbers ({e})") from None
    if got != shape:
        raise BadInput(f"{spec} returned {what} of shape {got}; expected {shape}")
    return a


def kind(value) -> str:
    """A short description of what came back, for an error line."""
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"


def pair(spec: str, method: str, out, first: tuple[str, tuple], second: tuple[str, tuple] | None):
    """A backend method's two returns, checked: each (what, shape), None for one not checked (a cache)."""
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise BadInput(f"{spec}.{method} returned {kind(out)}; expected two values ({first[0]}, ...)")
    for value, check in zip(out, (first, second), strict=True):
        if check is not None:
            returned(f"{spec}.{method}", check[0], value, check[1], host=False)
    return out


def checked(obj, method: str, out, args: tuple):
    """What a backend's contract method returned, checked against the contract (common/contract.py)."""
    layout, spec = getattr(obj, "layout", None), getattr(obj, "name", "the backend")
    if layout is None:
        return out
    m, K = layout.m, layout.K
    if method == "forward":
        return pair(spec, method, out, ("the loss", ()), None)
    if method == "backward":
        returned(f"{spec}.backward", "the gradient", out, (layout.size,), host=False)
    if method == "step":
        return pair(spec, method, out, ("the loss", ()), ("h_tau", (m, np.shape(args[2])[1])))
    if method == "predict":
        return pair(spec, method, out, ("h", (m, 1)), ("the logits o", (K,)))
    return out


class Guarded:
    """An object of theirs (a backend) whose every method call is guarded, and what its contract methods
    return checked; attributes read through.

    Its name is its spec, path/to/file.py:ClassName: what a run folder records, so a resumed run
    loads the same file again.
    """

    def __init__(self, obj, path: Path, spec: str):
        self.__dict__.update(_obj=obj, _path=path, _spec=spec, name=spec)

    def __getattr__(self, attr: str):
        value = getattr(self._obj, attr)
        if not callable(value):
            return value
        call = guarded(value, self._path, f"{self._spec}.{attr}")
        return functools.wraps(value)(lambda *args, **kwargs: checked(self, attr, call(*args, **kwargs), args))

    def __setattr__(self, attr: str, value) -> None:
        setattr(self._obj, attr, value)

    def copy(self, a):
        """Their copy where they wrote one; else through the host, with the contract's to_host and to_device."""
        if callable(getattr(self._obj, "copy", None)):
            return self.__getattr__("copy")(a)
        return self.__getattr__("to_device")(self.__getattr__("to_host")(a))


class OwnClass:
    """Their backend class as the registry uses a class: OPTIONS, why_not, and a call that makes a Guarded one."""

    def __init__(self, cls: type, spec: str):
        self.cls, self.spec, self.path = cls, spec, split(spec)[0]
        self.OPTIONS = tuple(getattr(cls, "OPTIONS", ()))

    def why_not(self, **options) -> str | None:
        ask = getattr(self.cls, "why_not", None)
        return guarded(ask, self.path, f"{self.spec}.why_not")(**options) if ask else None

    def __call__(self, *args, **kwargs) -> Guarded:
        return Guarded(guarded(self.cls, self.path, self.spec)(*args, **kwargs), self.path, self.spec)


def backend_class(spec: str) -> OwnClass:
    """The class path/to/file.py:ClassName, if it has every method of the contract."""
    cls = load(spec)
    if not isinstance(cls, type):
        raise BadInput(f"{spec} is not a class; a backend is a class with the methods of common/contract.py")
    missing = [m for m in CONTRACT if not callable(getattr(cls, m, None))]
    if missing:
        raise BadInput(f"{spec} lacks {', '.join(missing)}: a backend has the methods of common/contract.py")
    return OwnClass(cls, spec)
