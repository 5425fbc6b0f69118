"""The students' copies of the notebook track: every solution cut out (docs: notebooks/index.md).

A solution sits in a code cell between nbgrader's markers `### BEGIN SOLUTION` and
`### END SOLUTION`; the copy keeps the lines around it and puts `# YOUR CODE HERE` and
`raise NotImplementedError()` in its place, at the markers' indentation. Links to the docs pages
(../page.md) are made one folder deeper. Run from anywhere:

    python docs/notebooks/students.py      # writes docs/notebooks/students/NN-name.ipynb
"""

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def cut(source: str) -> str:
    """The cell's source with each solution replaced by the two lines a student starts from."""
    out, inside = [], False
    for line in source.splitlines(keepends=True):
        marker = line.strip()
        if marker == BEGIN:
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}# YOUR CODE HERE\n", f"{indent}raise NotImplementedError()\n"]
            inside = True
        elif marker == END:
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"a solution without its {END!r}: {source[:60]!r}")
    return "".join(out)


def lines(text: str) -> list[str]:
    """A cell's source as nbformat writes it: one string per line, each but the last with its newline."""
    return text.splitlines(keepends=True)


def copy(notebook: dict) -> dict:
    """The students' copy of a notebook (a dict as json.load reads it)."""
    cells = []
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            source = cut(source).rstrip("\n")
        elif cell["cell_type"] == "markdown":
            source = re.sub(r"\]\(\.\./", "](../../", source)  # the docs pages are one folder further up
        cells.append({**cell, "source": lines(source)})
    return {**notebook, "cells": cells}


def write(out: Path = HERE / "students") -> list[Path]:
    """Every notebook of the track, its students' copy written into out; the paths written."""
    out.mkdir(exist_ok=True)
    written = []
    for path in sorted(HERE.glob("[0-9][0-9]-*.ipynb")):
        notebook = copy(json.loads(path.read_text(encoding="utf-8")))
        target = out / path.name
        target.write_text(json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "students"):
        print(path)
