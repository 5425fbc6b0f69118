"""Where in a student's code an exception was raised: their file or notebook cell, and the line (docs: check.md).

Like backends/own.py's guard, but the student's code here may be a notebook's cells (compiled
with the file name "notebook.ipynb, cell 3") or a module beside their file (a sibling import).
"""

import traceback
from pathlib import Path

from backends import own
from common.errors import BadInput


def mine(filename: str, path: Path | None) -> bool:
    """True for a frame of their code: their file, a cell of their notebook, a module in their folder."""
    if path is None:
        return False
    if filename.startswith(f"{path.name}, cell "):
        return True
    frame = Path(filename)
    try:
        return frame.resolve() == path.resolve() or (frame.suffix == ".py" and frame.parent == path.parent)
    except OSError:
        return False


def shown(filename: str) -> str:
    """A frame's file as a student knows it: a notebook cell, their file's name."""
    if ", cell " in filename:
        return filename
    if "ipykernel_" in filename:
        return "your cell"
    return Path(filename).name


def where(error: BaseException, path: Path | None) -> str:
    """The last line of their code in error's traceback, as 'file.py, line 12, in f: the code'; else ''."""
    if isinstance(error, SyntaxError) and error.filename and mine(error.filename, path):
        return f"{shown(error.filename)}, line {error.lineno}: {(error.text or '').strip()}"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if mine(f.filename, path)]
    if not frames:
        return ""
    f = frames[-1]
    return f"{shown(f.filename)}, line {f.lineno}, in {f.name}: {f.line}"


def failure(error: BaseException, path: Path | None, what: str) -> BadInput:
    """One line: what raised, the exception, and where in their code."""
    at = where(error, path)
    return BadInput(f"{what} raised {type(error).__name__}: {error}" + (f" ({at})" if at else ""))


def guarded(fn, path: Path | None, what: str):
    """fn, with any exception it raises (SystemExit too) turned into one BadInput line naming their line,
    in a notebook's cell or a sibling module too (backends/own.py's guard, with this file's failure)."""
    return own.guarded(fn, path, what, failure)
