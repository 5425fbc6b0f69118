"""The notebook track (docs/notebooks/): every notebook runs top to bottom with its solutions, the
students' copies are the ones students.py writes and run up to their first check, which is not passed.

The notebooks run in their quick mode (NOTEBOOKS_QUICK=1: a small text, few updates) on this
interpreter's kernel (jupyter_client starts `python` of the kernelspec as sys.executable). No test
reads a figure a notebook prints: those depend on the machine.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the dev extra has nbformat, nbclient and ipykernel")
nbclient = pytest.importorskip("nbclient", reason="the dev extra has nbformat, nbclient and ipykernel")

ROOT = Path(__file__).resolve().parent.parent
TRACK = ROOT / "docs" / "notebooks"
NOTEBOOKS = sorted(TRACK.glob("[0-9][0-9]-*.ipynb"))
NAMES = ["01-text", "02-forward", "03-bptt", "04-training", "05-backends", "06-neurons"]
sys.path.insert(0, str(TRACK))

import students  # noqa: E402  (docs/notebooks/students.py)


def is_check(cell) -> bool:
    return "check" in cell.metadata.get("tags", [])


def run(nb, path: Path):
    """Execute nb as if it were the file at path (its folder is the working directory); raises on a failing cell."""
    where = {"metadata": {"path": path.parent}}
    return nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources=where).execute()


def shown(cell) -> str:
    """What a code cell displayed: its text outputs, joined."""
    out = []
    for o in cell.get("outputs", []):
        out.append(o.get("text", "") + o.get("data", {}).get("text/plain", ""))
    return "".join(out)


def verdicts(cell) -> list[str]:
    """The verdicts a check cell showed: of an Answer (docs/notebooks/exercises.py) or a Report (common.check)."""
    return re.findall(r"verdict='([a-z ]+)'", shown(cell))


def test_the_track_is_six_notebooks_each_ending_with_exercises():
    assert [p.stem for p in NOTEBOOKS] == NAMES
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        solutions = [c for c in nb.cells if c.cell_type == "code" and students.BEGIN in c.source]
        checks = [c for c in nb.cells if is_check(c)]
        assert len(solutions) >= 3 and checks, path.name
        assert any(c.cell_type == "markdown" and "## Exercises" in c.source for c in nb.cells), path.name
        first = nb.cells[0]
        assert first.cell_type == "markdown" and "make notebooks" in first.source, path.name


def test_sources_are_committed_without_outputs():
    for path in NOTEBOOKS + sorted((TRACK / "students").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (path.name, cell.source[:60])


def test_the_students_copies_are_the_ones_students_py_writes(tmp_path):
    written = students.write(tmp_path)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for path in written:
        committed = TRACK / "students" / path.name
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{committed.relative_to(ROOT)} is stale: run python docs/notebooks/students.py"
        )
        text = path.read_text(encoding="utf-8")
        assert students.BEGIN not in text and students.END not in text
        assert text.count("raise NotImplementedError()") >= 3


def test_cut_keeps_the_lines_around_a_solution_and_its_indentation():
    source = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n\n\nf(1)"
    stub = "    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    assert students.cut(source) == "def f(x):\n    y = 1\n" + stub + "\n\nf(1)"
    with pytest.raises(ValueError):
        students.cut("### BEGIN SOLUTION\nx = 1\n")


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setenv("NOTEBOOKS_QUICK", "1")  # the kernel inherits the environment


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_runs_top_to_bottom_with_its_solutions(quick, path):
    nb = run(nbformat.read(path, as_version=4), path)
    checks = [c for c in nb.cells if is_check(c)]
    assert checks
    for cell in checks:
        assert verdicts(cell) == ["passed"], (path.name, shown(cell))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_students_copy_runs_to_its_first_check_which_says_not_written_yet(quick, path):
    copy = TRACK / "students" / path.name
    nb = nbformat.read(copy, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if is_check(c))
    nb.cells = nb.cells[: first + 1]
    nb = run(nb, copy)  # raises if a cell before the check, or the check itself, raises
    said = shown(nb.cells[first])
    assert verdicts(nb.cells[first]) in (["not written yet"], ["not judged"]) and "not written yet" in said, said


def test_check_answer_says_passed_wrong_and_not_written_yet():
    from docs.notebooks.exercises import check_answer

    def ours(x):
        return x * 2

    def unwritten(x):
        raise NotImplementedError()

    assert check_answer(ours, ours, [(1,), (2.5,)]).passed
    assert check_answer(lambda x: x * 2.0000001, ours, [(1.0,)]).verdict == "wrong"
    assert check_answer(lambda x: (x, x), lambda x: (x, x + 1), [(1,)]).verdict == "wrong"
    assert check_answer(unwritten, ours, [(1,)]).verdict == "not written yet"
    assert "ZeroDivisionError" in check_answer(lambda x: 1 / 0, ours, [(1,)]).detail
    json.dumps(str(check_answer(ours, ours, [(1,)])))  # a plain sentence


def setup_cell(tmp_path, cwd: Path, missing: str | None = None) -> subprocess.CompletedProcess:
    """Notebook 1's setup cell run as a script in cwd, with the package `missing` made unimportable."""
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    source = next(c.source for c in nb.cells if c.cell_type == "code")
    env = dict(os.environ)
    if missing:
        (tmp_path / missing).mkdir()
        (tmp_path / missing / "__init__.py").write_text(f"raise ImportError('none here', name={missing!r})\n")
        env["PYTHONPATH"] = str(tmp_path)
    return subprocess.run([sys.executable, "-c", source], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_the_first_code_cell_says_how_to_install_what_is_missing(tmp_path):
    assert setup_cell(tmp_path, TRACK / "students").returncode == 0
    r = setup_cell(tmp_path, TRACK, missing="numpy")
    assert r.returncode != 0 and "numpy is not installed" in r.stderr and "make notebooks" in r.stderr, r.stderr
    r = setup_cell(tmp_path, tmp_path)
    assert r.returncode != 0 and "docs/notebooks/ folder" in r.stderr, r.stderr


def test_the_rendered_copies_are_of_the_current_notebooks():
    """docs/make/notebooks.py's copies (what the site shows) hold every cell of the source, links made the site's."""
    sys.path.insert(0, str(ROOT))
    from docs.make.notebooks import site_links

    assert site_links("[m](../model.md#loss) [d](../data.md)") == "[m](../../../model/#loss) [d](../../../data/)"
    for path in NOTEBOOKS:
        rendered = nbformat.read(TRACK / "rendered" / path.name, as_version=4).cells
        source = nbformat.read(path, as_version=4).cells
        assert rendered[1].id == "provenance" and "docs/make/notebooks.py" in rendered[1].source
        shown = [(c.cell_type, c.source) for c in rendered[:1] + rendered[2:]]
        want = [(c.cell_type, site_links(c.source) if c.cell_type == "markdown" else c.source) for c in source]
        assert shown == want, f"{path.name}: run python docs/make/notebooks.py {path.stem}"
        assert all(c.outputs for c in rendered if c.cell_type == "code" and "check" in c.metadata.get("tags", []))
