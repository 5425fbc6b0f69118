"""A student's file as they have it: a .py or a notebook's code cells, all of it or its definitions only.

Docs: check.md#files-as-you-have-them. A notebook (.ipynb, JSON) is read with the standard library;
IPython magics (%, %%) and shell lines (!) are dropped. With definitions only, each cell or file
keeps its imports, function and class definitions and constant assignments: what trains, reads
data or plots is skipped, and `skipped` remembers the names it would have defined. The student's
folder is importable (a module of theirs beside it). Each cell is compiled as "name.ipynb, cell N",
so an exception names the cell and its line.
"""

import ast
import json
import sys
import types
from pathlib import Path

from common.check.isolate import TimedOut, deadline
from common.check.place import failure
from common.errors import BadInput

SUFFIXES = (".py", ".ipynb")
DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def split(target: str, default: str = "loss_and_grads") -> tuple[Path, str]:
    """FILE[:NAME] -> (the path, NAME), FILE a .py or .ipynb."""
    for suffix in SUFFIXES:
        if f"{suffix}:" in target:
            path, _, name = target.rpartition(":")
            return Path(path), name
        if target.endswith(suffix):
            return Path(target), default
    raise BadInput(f"{target!r} is not path/to/file.py:NAME (or a notebook, path/to/file.ipynb:NAME)")


def cells(path: Path) -> list[tuple[str, str]]:
    """(label, source) of each piece of code: the file, or each code cell of a notebook, magics blanked."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{path} cannot be read: {e}") from None
    if path.suffix == ".py":
        return [(str(path), text)]
    try:
        notebook = json.loads(text)
        raw = [(i, c) for i, c in enumerate(notebook["cells"], 1) if c.get("cell_type") == "code"]
        sources = [(i, "".join(c["source"]) if isinstance(c["source"], list) else c["source"]) for i, c in raw]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BadInput(f"{path} is not a Jupyter notebook (JSON with a list of cells)") from None
    return [(f"{path.name}, cell {i}", plain(source)) for i, source in sources if not source.lstrip().startswith("%%")]


def plain(source: str) -> str:
    """A cell without IPython's magics and shell lines (blanked: the line numbers stay)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def definition(node: ast.stmt) -> bool:
    """An import, def, class, constant assignment, or a try/if made only of these."""
    if isinstance(node, DEFINITIONS):
        return True
    if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        calls = any(isinstance(n, ast.Call | ast.Await | ast.Yield | ast.NamedExpr) for n in ast.walk(node.value))
        return all(isinstance(t, ast.Name) for t in targets) and not calls
    if isinstance(node, ast.Try):
        return all(definition(n) for n in node.body)
    return False


def defined(node: ast.stmt) -> set[str]:
    """The names a statement binds (for the line that names what a skipped statement would have defined)."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            names.add(n.id)
        elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(n.name)
        elif isinstance(n, ast.alias):
            names.add((n.asname or n.name).split(".")[0])
    return names


class Loaded:
    """The student's code run into a module: its namespace, and where skipped code would have defined a name."""

    def __init__(self, path: Path, definitions_only: bool, timeout: float | None, shown: str):
        self.path, self.shown = path, shown
        self.skipped: dict[str, str] = {}  # name -> "cell 3, line 4"
        self.module = types.ModuleType(f"student_{path.stem.replace('-', '_')}")
        self.module.__file__ = str(path)
        sys.modules[self.module.__name__] = self.module  # dataclasses and pickling look their module up here
        sys.path.insert(0, str(path.parent))  # a module of theirs beside the file
        for label, source in cells(path):
            self.run(label, source, definitions_only, timeout)

    def run(self, label: str, source: str, definitions_only: bool, timeout: float | None) -> None:
        try:
            tree = ast.parse(source, filename=label)
            if definitions_only:
                for node in tree.body:
                    if not definition(node):
                        place = label if ", cell " in label else Path(label).name
                        for name in defined(node):
                            self.skipped.setdefault(name, f"{place}, line {node.lineno}")
                tree.body = [n for n in tree.body if definition(n)]
            with deadline(timeout, f"importing {self.shown} did not finish"):
                exec(compile(tree, label, "exec"), self.module.__dict__)
        except TimedOut as e:
            raise BadInput(f"{e}: does it train when imported? --definitions-only runs only its definitions") from None
        except BadInput:
            raise
        except (Exception, SystemExit) as e:
            raise failure(e, self.path, f"importing {self.shown}") from None

    def get(self, name: str):
        """The object NAME, or one line saying why it is not there."""
        if name in vars(self.module):
            return vars(self.module)[name]
        if name in self.skipped:
            raise BadInput(
                f"{name} is defined by code that --definitions-only skips ({self.skipped[name]}): "
                "define it with def, or give --run-all"
            )
        mine = self.module.__name__
        found = sorted(n for n, v in vars(self.module).items() if getattr(v, "__module__", None) == mine)
        listed = f"; it defines {', '.join(found)}" if found else ""
        raise BadInput(f"{self.shown} has no {name!r}{listed} (name it as {self.shown}:NAME)")

    def uses_skipped(self, reason: str) -> str:
        """A NameError's line, rewritten when the name is one that skipped code would have defined."""
        for name, where in self.skipped.items():
            if f"NameError: name '{name}' is not defined" in reason:
                return (
                    f"your function uses {name}, which code that --definitions-only skips defines ({where}): "
                    "define it inside the function, or give --run-all"
                )
        return reason
