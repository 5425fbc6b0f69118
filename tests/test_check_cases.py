"""Issue #23's cases, each a student's file written here: notebooks, real files, isolation, diagnoses, speed."""

import json
import os
import time
from pathlib import Path

import pytest

from common.check import Report, catalogue, check_file, check_function
from common.check.source import Loaded
from tests.conftest import assert_one_line_error, cli

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = (ROOT / "docs" / "examples" / "rnn.py").read_text()
SMALL = ("--hidden", 4, "--seq-length", 12)
SIZES = dict(hidden=4, seq_length=12)


def changed(*pairs: tuple[str, str], source: str = TEMPLATE) -> str:
    """The template with each old line replaced (each must be there once)."""
    for old, new in pairs:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(body)
    return path


def check(path, corpus_file, *options):
    return cli("check", path, "--data", corpus_file, *SMALL, *options)


# ---- notebooks: defined in a cell, trained below it ----

DEFINITION = TEMPLATE.split('"""', 2)[2]  # the template without its docstring


def notebook(folder: Path, cells: list[str], name: str = "rnn.ipynb") -> Path:
    body = {"cells": [{"cell_type": "markdown", "source": ["# Assignment 4\n"], "metadata": {}}]}
    body["cells"] += [
        {"cell_type": "code", "source": c.splitlines(keepends=True), "metadata": {}, "outputs": []} for c in cells
    ]
    return write(folder, name, json.dumps(body | {"metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


TRAINING = "!ls\nbook = open('goblet_book.txt').read()\nchars = sorted(set(book))\nwhile True:\n    pass\n"


def test_a_notebook_is_checked_by_its_definitions(tmp_path, corpus_file):
    path = notebook(tmp_path, ["%matplotlib inline\nimport numpy as np", DEFINITION, TRAINING])
    r = check(path, corpus_file)
    assert r.exit_code == 0 and "PASSED" in r.stdout, r.output
    r = check(path, corpus_file, "--run-all")  # the training cell reads a book that is not there
    assert_one_line_error(r, 2, "importing")
    assert "rnn.ipynb, cell 4, line 2" in r.stderr


def test_check_function_in_the_notebook(tmp_path, corpus_file):
    """A notebook's kernel: the definition cells run, then a cell calls check_function on the function."""
    path = notebook(tmp_path, ["import numpy as np", DEFINITION, TRAINING])
    loaded = Loaded(path, True, None, path.name)
    report = check_function(loaded.get("loss_and_grads"), data=corpus_file, **SIZES)
    assert report.verdict == "passed" and report.exit_code == 0 and report.passed
    assert "PASSED" in str(report) and "<table>" in report._repr_html_()
    assert Report.from_json(report.to_json()) == report
    assert max(map(len, str(report).splitlines())) <= 80


def test_a_name_that_skipped_code_defines_is_named(tmp_path, corpus_file):
    uses = changed(("K, tau = X.shape", "tau = X.shape[1]"), source=DEFINITION)
    path = notebook(tmp_path, ["import numpy as np", "K = len(sorted(set('abc')))", uses])
    r = check(path, corpus_file)
    assert_one_line_error(r, 2, "your function uses K, which code that --definitions-only skips defines (rnn.ipynb")
    path = notebook(tmp_path, ["import numpy as np", "def make():\n    return 1\nloss_and_grads = make()"], "b.ipynb")
    assert_one_line_error(check(path, corpus_file), 2, "loss_and_grads is defined by code that --definitions-only")


def test_a_notebook_exercise_not_written_yet(tmp_path, corpus_file):
    cell = "def loss_and_grads(U, W, V, b, c, X, Y, h0):\n    raise NotImplementedError()\n"
    report = check_file(str(notebook(tmp_path, [cell])), data=corpus_file, **SIZES)
    assert report.verdict == "not judged" and report.exit_code == 2 and "not written yet" in report.reason


# ---- real files: training at import, sibling modules, 1-D vectors, the row convention ----


def test_a_file_that_trains_when_imported(tmp_path, corpus_file):
    path = write(tmp_path, "min_char.py", TEMPLATE + "\nwhile True:  # trains forever\n    pass\n")
    r = check(path, corpus_file, "--timeout", 2)
    assert_one_line_error(r, 2, "importing")
    assert "did not finish within 2 s (--timeout)" in r.stderr and "--definitions-only" in r.stderr
    r = check(path, corpus_file, "--definitions-only")
    assert r.exit_code == 0 and "PASSED" in r.stdout, r.output


def test_a_module_beside_the_file_is_importable(tmp_path, corpus_file):
    write(tmp_path, "helper.py", TEMPLATE)
    path = write(tmp_path, "solution.py", "from helper import loss_and_grads\n")
    r = check(path, corpus_file)
    assert r.exit_code == 0 and "PASSED" in r.stdout, r.output


ONE_D = (
    "def f(U, W, V, b, c, X, Y, h0):\n"
    "    loss, grads, h = loss_and_grads(U, W, V, b[:, None], c[:, None], X, Y, h0[:, None])\n"
    "    return loss, grads | {'b': grads['b'][:, 0], 'c': grads['c'][:, 0]}, h[:, 0]\n"
)
ROWS = (  # h @ W: every parameter transposed, states rows (1, m)
    "def f(U, W, V, b, c, X, Y, h0):\n"
    "    loss, grads, h = loss_and_grads(U.T, W.T, V.T, b.T, c.T, X, Y, h0.T)\n"
    "    return loss, {k: g.T for k, g in grads.items()}, h.T\n"
)


@pytest.mark.parametrize("wrapper, option", [(ONE_D, ("--vectors", "1d")), (ROWS, ("--convention", "rows"))])
def test_vectors_and_the_row_convention(tmp_path, corpus_file, wrapper, option):
    path = write(tmp_path, "mine.py", TEMPLATE + "\n\n" + wrapper)
    r = check(f"{path}:f", corpus_file, *option)
    assert r.exit_code == 0 and "PASSED" in r.stdout, r.output
    r = check(f"{path}:f", corpus_file)  # the option left out: check says which to give
    assert_one_line_error(r, 2, f"with {' '.join(option)} it returns the right shapes: give that")


# ---- their code runs in a child: exits, hangs, odd returns are "not judged" ----

DEF = "import numpy as np\nimport os, sys\n\ndef loss_and_grads(U, W, V, b, c, X, Y, h0):\n"
GOOD = "dict(U=U, W=W, V=V, b=b, c=c)"
NOT_JUDGED = [
    ("os._exit", DEF + "    os._exit(0)\n", "your code ended the process (exit status 0"),
    ("sys.exit", DEF + "    sys.exit(0)\n", "raised SystemExit"),
    ("reads stdin", DEF + "    sys.stdin.read()\n    return input()\n", "raised EOFError"),
    ("never returns", DEF + "    while True:\n        pass\n", "did not return within 1 s (--timeout)"),
    ("a huge loss", DEF + f"    return 10**400, {GOOD}\n", "returned the loss that is not an array of numbers"),
    (
        "__array__ raises",
        DEF + f"    class A:\n        def __array__(self, *a, **k):\n            raise RuntimeError('no')\n"
        f"    return A(), {GOOD}\n",
        "returned the loss that is not an array of numbers (no)",
    ),
    (
        "__getitem__ raises",
        DEF + "    from collections.abc import Mapping\n"
        "    class G(Mapping):\n        def __getitem__(self, k):\n            raise KeyError(k)\n"
        "        def __iter__(self):\n            return iter('UWVbc')\n"
        "        def __len__(self):\n            return 5\n"
        "        def __contains__(self, k):\n            return True\n"
        "    return 1.0, G()\n",
        "returned grads whose ['U'] raised KeyError",
    ),
    (
        "complex",
        DEF + f"    return 1.0, {GOOD.replace('U=U', 'U=U + 0j')}\n",
        "returned grads['U'] of complex numbers: a loss and its gradients are real",
    ),
    ("memory", DEF + "    return np.ones(10**10), {}\n", "raised MemoryError"),
]


@pytest.mark.parametrize("body, message", [c[1:] for c in NOT_JUDGED], ids=[c[0] for c in NOT_JUDGED])
def test_what_their_code_does_is_not_judged(tmp_path, corpus_file, body, message):
    r = check(write(tmp_path, "mine.py", body), corpus_file, "--timeout", 1, "--memory", 1)
    assert_one_line_error(r, 2, message)


def test_their_output_is_captured_and_closing_stdout_harms_nothing(tmp_path, corpus_file):
    body = "import sys\nprint('hello from import')\nsys.stdout.close()\n" + TEMPLATE
    r = check(write(tmp_path, "mine.py", body), corpus_file)
    assert r.exit_code == 0 and "PASSED" in r.stdout, r.output
    assert "your code printed:\n  hello from import" in r.stdout
    body = changed(("    return loss, grads,", "    sys.stdout.close()\n    print(loss)\n    return loss, grads,"))
    r = check(write(tmp_path, "mine.py", "import sys\n" + body), corpus_file)
    assert_one_line_error(r, 2, "raised ValueError: I/O operation on closed file")


def test_json_is_the_report(tmp_path, corpus_file):
    r = check(write(tmp_path, "mine.py", TEMPLATE), corpus_file, "--json")
    report = Report.from_json(r.stdout)
    assert r.exit_code == 0 and report.verdict == "passed" and len(report.regimes) == 3
    assert set(json.loads(r.stdout)) >= {"verdict", "passed", "exit_code", "regimes", "bugs", "advice", "warnings"}
    r = check(write(tmp_path, "bad.py", DEF + "    os._exit(3)\n"), corpus_file, "--json")
    assert r.exit_code == 2 and Report.from_json(r.stdout).verdict == "not judged"


# ---- diagnoses that follow the evidence ----


def judged(tmp_path, corpus_file, source: str, **options) -> Report:
    report = check_file(str(write(tmp_path, "mine.py", source)), data=corpus_file, **SIZES, **options)
    assert report.verdict == "wrong", report
    return report


FLOAT32 = (
    ("A = np.zeros((m, tau))", "A = np.zeros((m, tau), np.float32)"),
    (
        "H = np.zeros((m, tau + 1))",
        "H = np.zeros((m, tau + 1), np.float32)",
    ),
)
NO_H0 = ('grads["W"] += da @ H[:, [t]].T', 'grads["W"] += da @ H[:, [t]].T if t > 0 else 0')


def test_float32_code_with_a_bug_is_named_with_the_float32_warning(tmp_path, corpus_file):
    report = judged(tmp_path, corpus_file, changed(*FLOAT32, NO_H0))
    assert report.bugs == ["dW without h_0"] and any("float32" in w for w in report.warnings)
    assert not any(line.startswith(("the loss", "h_tau")) for line in report.wrong), report.wrong
    assert not any("eps" in w for w in report.warnings)


def test_a_bug_with_clipping_is_named_with_the_clipping(tmp_path, corpus_file):
    clip = (
        "    return loss, grads,",
        "    grads = {k: np.clip(g, -5, 5) for k, g in grads.items()}\n    return loss, grads,",
    )
    report = judged(tmp_path, corpus_file, changed(NO_H0, clip))
    assert report.bugs == ["dW without h_0", "clipped"]
    assert "This is a known bug (dW without h_0), and your gradients are clipped at 5" in report.advice[0]


def test_state_kept_between_calls_is_said(tmp_path, corpus_file):
    source = changed(
        ('    grads = {"U": np.zeros_like(U), "W": np.zeros_like(W), "V": np.zeros_like(V)}', "    global KEPT"),
        (
            '    grads |= {"b": np.zeros_like(b), "c": np.zeros_like(c)}',
            "    grads = KEPT.setdefault(0, {})\n"
            "    grads |= {k: grads.get(k, np.zeros_like(a)) for k, a in dict(U=U, W=W, V=V, b=b, c=c).items()}",
        ),
    )
    report = judged(tmp_path, corpus_file, source.replace("import numpy as np", "import numpy as np\nKEPT = {}"))
    assert report.wrong[0].startswith("your function keeps state between calls") and report.bugs == []


ADVICE = {
    "only dc": (('grads["c"] += g', 'grads["c"] += 2 * g'), "Only dc is wrong: dV is right"),
    "only dV": (
        ('grads["V"] += g @ H[:, [t + 1]].T', 'grads["V"] += g @ A[:, [t]].T'),
        "Only dV is wrong: dc is right",
    ),
    "all five": (("g = P[:, [t]] - Y[:, [t]]", "g = P[:, [t]] - 0.5 * Y[:, [t]]"), "All five are wrong"),
    "transposed, with another bug": (
        (
            'grads["W"] += da @ H[:, [t]].T  # h_{t-1}; for the first step h0',
            'grads["W"] += H[:, [t]] @ da.T\n        grads["c"] += g',
        ),
        "dW is transposed",
    ),
}


@pytest.mark.parametrize("case", ADVICE)
def test_the_advice_follows_which_parameters_are_wrong(tmp_path, corpus_file, case):
    pair, says = ADVICE[case]
    report = judged(tmp_path, corpus_file, changed(pair))
    assert report.bugs == [] and any(says in line for line in report.advice), report.advice


PLANTED = {  # each new catalogue entry as a student writes it in the template: check names it
    "skips t = 1": ("for t in reversed(range(tau)):", "for t in reversed(range(1, tau)):"),
    "skips t = tau": ("for t in reversed(range(tau)):", "for t in reversed(range(tau - 1)):"),
    "no tanh' at tau": (
        "da = dh * (1 - H[:, [t + 1]] ** 2)",
        "da = dh if t == tau - 1 else dh * (1 - H[:, [t + 1]] ** 2)",
    ),
    "no V^T g_1": ("dh = V.T @ g + W.T @ da_next", "dh = (V.T @ g if t > 0 else 0) + W.T @ da_next"),
    "dU with x_{t+1}": ('grads["U"] += da @ X[:, [t]].T', 'grads["U"] += da @ X[:, [t + 1]].T if t < tau - 1 else 0'),
    "dc sign": ('grads["c"] += g', 'grads["c"] -= g'),
    "loss in log2": ("loss -= np.log(Y[:, t] @ P[:, t])", "loss -= np.log2(Y[:, t] @ P[:, t])"),
    "loss without tau": (
        "loss -= np.log(Y[:, t] @ P[:, t])",
        "loss -= np.log(Y[:, t] @ P[:, t]) if t < tau - 1 else 0",
    ),
    "dW transposed": ('grads["W"] += da @ H[:, [t]].T', 'grads["W"] += H[:, [t]] @ da.T'),
}


@pytest.mark.parametrize("bug", PLANTED)
def test_each_new_catalogue_entry_is_what_a_student_writes(tmp_path, corpus_file, bug):
    report = judged(tmp_path, corpus_file, changed(PLANTED[bug]))
    assert report.bugs == [bug] and report.advice == [f"This is a known bug ({bug}): {catalogue.BY_NAME[bug].says}"]


def test_a_nan_loss_gets_one_plain_sentence(tmp_path, corpus_file):
    report = judged(tmp_path, corpus_file, changed(("e = np.exp(o - np.max(o))", "e = np.exp(o) * np.inf")))
    assert report.wrong[0].startswith("your loss is nan in the handout") and report.bugs == []
    assert not any("up to nan" in line for line in report.wrong)


# ---- speed: the calls check makes, a progress line for a slow function ----


def counted(source: str):
    """The template's (or a changed copy's) function, and a list whose length counts its calls."""
    namespace, calls = {}, []
    exec(compile(source, "mine.py", "exec"), namespace)
    inner = namespace["loss_and_grads"]

    def loss_and_grads(*args):
        calls.append(1)
        return inner(*args)

    return loss_and_grads, calls


@pytest.mark.parametrize("source", [TEMPLATE, changed(NO_H0)], ids=["template", "buggy"])
def test_the_calls_check_makes(corpus_file, source):
    """One call per regime, two per sampled entry (4 per parameter: 20) in each, one repeated: 124, bug or not."""
    fn, calls = counted(source)
    report = check_function(fn, data=corpus_file, **SIZES)
    assert len(calls) == report.calls == 3 * (1 + 2 * 20) + 1
    assert report.header[1].endswith(f"{len(calls)} calls of yours")


def test_a_slow_function_shows_progress(tmp_path, corpus_file, monkeypatch):
    from common.check import progress

    monkeypatch.setattr(progress, "AFTER", 0.2)
    source = changed(("    K, tau = X.shape", "    import time\n    time.sleep(0.01)\n    K, tau = X.shape"))
    lines = []
    report = check_file(
        str(write(tmp_path, "slow.py", source)),
        data=corpus_file,
        hidden=3,
        seq_length=6,
        progress=progress.Progress(lines.append, tty=False),
    )
    assert report.passed and lines, lines
    assert all(" calls of yours in " in line and "s to go" in line and len(line) <= 80 for line in lines)


def test_the_output_fits_80_columns(tmp_path, corpus_file, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a file named as a student names theirs: a long path is theirs to wrap
    write(tmp_path, "mine.py", changed(NO_H0))
    r = check("mine.py", corpus_file)
    assert r.exit_code == 1 and max(map(len, r.stdout.splitlines())) <= 80, r.stdout


def test_check_function_stops_a_hang_and_forks_on_request(corpus_file):
    def hangs(*args):
        while True:
            pass

    report = check_function(hangs, data=corpus_file, timeout=1, **SIZES)
    assert report.verdict == "not judged" and "hangs did not return within 1 s (--timeout)" in report.reason

    def exits(*args):

        os._exit(0)

    report = check_function(exits, data=corpus_file, isolate=True, **SIZES)
    assert report.exit_code == 2 and "ended the process (exit status 0" in report.reason


def test_their_code_runs_in_a_bare_folder_and_its_processes_end(tmp_path, corpus_file, monkeypatch):
    """cwd and HOME a temporary folder; a process their code started is ended with the check."""
    monkeypatch.chdir(tmp_path)
    pid_file = tmp_path / "pid"
    body = (
        "import os, subprocess\nopen('written.txt', 'w').write('x')\nprint('HOME', os.environ['HOME'] == os.getcwd())\n"
        f"open({str(pid_file)!r}, 'w').write(str(subprocess.Popen(['sleep', '600']).pid))\n" + TEMPLATE
    )
    r = check(write(tmp_path, "mine.py", body), corpus_file)
    assert r.exit_code == 0 and "HOME True" in r.stdout, r.output
    assert not (tmp_path / "written.txt").exists()
    pid = int(pid_file.read_text())
    assert any(gone(pid) or time.sleep(0.1) for _ in range(50))  # the kill is sent; it may take a moment


def gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for its parent counts)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True
