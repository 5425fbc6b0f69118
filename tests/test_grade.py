"""`grade PATH... --out DIR`: a class's submissions found, checked in parallel, each given its row; the writers."""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from common.check import RegimeResult, Report, credit, gradebook, gradescope
from common.check.grade import Submission, output, progress_line, submissions
from common.errors import BadInput
from tests import grade_class
from tests.conftest import assert_one_line_error, cli

ROOT = Path(__file__).resolve().parent.parent


def report(verdict: str = "wrong", wrong: dict | None = None, bugs=(), h_tau: float | None = 0.0) -> Report:
    """A Report by hand: every regime's errors tiny, except the items in wrong[regime], which are 0.5."""
    wrong = wrong or {}
    regimes = []
    for name in credit.REGIMES:
        bad = wrong.get(name, [])
        errors = {n: 0.5 if n in bad else 1e-15 for n in "UWVbc"}
        loss_error, h_error = (0.5 if "loss" in bad else 1e-16), (0.5 if "h_tau" in bad else h_tau)
        regimes.append(RegimeResult(name, "about", errors, dict(errors), loss_error, h_error, wrong=list(bad)))
    if verdict == "not judged":
        return Report(verdict, "mine.py", 7, reason="mine.py, line 3: it hung")
    return Report(verdict, "mine.py", 7, regimes, bugs=list(bugs))


# ---- the credit rule ----


def test_default_credit_is_a_point_per_regime_and_item():
    w = credit.weights(None)
    assert credit.max_score(w) == 21 == len(credit.items(report("passed"), w))
    assert credit.score(report("passed"), w) == 21 and credit.score(report("not judged"), w) == 0
    wrong = report(wrong={"realistic": ["U", "W", "b"], "trained": ["U", "W", "b", "loss"]})
    assert credit.score(wrong, w) == 21 - 7


def test_points_weight_keys_and_regimes():
    w = credit.weights(["W=3,h_tau=0", "trained=2"])
    assert credit.max_score(w) == (5 - 1 + 3 + 1) * (1 + 1 + 2)  # per regime: U V b c loss + 3 W; trained twice
    r = report(wrong={"trained": ["W"], "handout": ["h_tau"]})
    assert credit.score(r, w) == credit.max_score(w) - 3 * 2  # a lost h_tau weighs nothing


def test_an_h_tau_not_returned_earns_its_point_as_it_passes_check():
    w = credit.weights(None)
    assert credit.score(report("wrong", {"handout": ["U"]}, h_tau=None), w) == 20


@pytest.mark.parametrize(
    "spec, message",
    [
        ("U2", "KEY=WEIGHT"),
        ("X=1", "KEY=WEIGHT"),
        ("W=-1", "zero or a positive number"),
        ("W=nan", "zero or a positive number"),
        ("W=lots", "zero or a positive number"),
        ("handout=0,realistic=0,trained=0", "nothing to earn"),
    ],
)
def test_bad_points_are_one_line(spec, message):
    with pytest.raises(BadInput, match=message):
        credit.weights([spec])


# ---- the writers ----


def graded(name: str, r: Report, seconds: float = 1.0) -> gradebook.Graded:
    w = credit.weights(None)
    return gradebook.Graded(name, r, seconds, credit.score(r, w), credit.max_score(w))


def test_the_gradebook_has_a_row_per_submission_with_the_worst_errors():
    r = report(wrong={"trained": ["W"]}, bugs=["dW with h_t"])
    r.regimes[1].rel_error["W"] = math.nan
    rows = [graded("b.py", r, 2.5), graded("a.py", report("passed")), graded("c.py", report("not judged"))]
    table = list(csv.DictReader(gradebook.gradebook(rows).splitlines()))
    assert [t["name"] for t in table] == ["a.py", "b.py", "c.py"] and list(table[0]) == gradebook.COLUMNS
    assert table[0] | {"seconds": ""} == {
        "name": "a.py",
        "verdict": "passed",
        "exit_code": "0",
        "score": "21",
        "max_score": "21",
        "bugs": "",
        **{f"rel_error_{n}": "1.0e-15" for n in "UWVbc"},
        "loss_error": "1.0e-16",
        "seconds": "",
        "note": "",
    }
    assert table[1]["rel_error_W"] == "nan" and table[1]["rel_error_U"] == "1.0e-15" and table[1]["score"] == "20"
    assert table[1]["bugs"] == "dW with h_t" and table[1]["seconds"] == "2.5" and table[1]["exit_code"] == "1"
    assert table[2]["rel_error_U"] == "" and table[2]["score"] == "0" and table[2]["note"] == "mine.py, line 3: it hung"


def test_the_summary_counts_verdicts_and_bugs_and_names_the_slowest():
    rows = [
        graded("a.py", report("passed"), 1.0),
        graded("b.py", report(bugs=["no tanh'"]), 9.0),
        graded("c.py", report(bugs=["no tanh'", "clipped"]), 3.0),
        graded("d.py", report("not judged"), 40.0),
        graded("e.py", report(wrong={"trained": ["c"]})),
    ]
    text = gradebook.summary(rows, 7, "--seed 7")
    assert "5 submissions: **1 passed**, **3 wrong**, **1 not judged**" in text
    assert "| no tanh' | 2 | b.py, c.py |" in text and "| clipped | 1 | c.py |" in text
    assert "Wrong without a known bug: e.py" in text and "| d.py | mine.py, line 3: it hung |" in text
    slowest = text.split("## Slowest")[1]
    assert slowest.index("d.py") < slowest.index("b.py") < slowest.index("c.py")
    assert "Seed 1 is check's default" not in text and "Seed 1 is check's default" in gradebook.summary(rows, 1, "")
    assert "Interrupted" not in text and "**Interrupted**: 3 more" in gradebook.summary(rows, 7, "", missing=3)


def test_feedback_has_the_report_the_points_and_the_seed():
    g = graded("b.py", report(wrong={"realistic": ["U", "loss"]}, bugs=["dU by y"]))
    text = gradebook.feedback(g, credit.weights(None), 7, "char-rnn check b.py --seed 7")
    assert text.startswith("# b.py\n") and "**wrong**: 19 of 21 points" in text
    assert "seed 7" in text and "`char-rnn check b.py --seed 7`" in text and str(g.report) in text
    assert "| realistic | 0/1 | 1/1 | 1/1 | 1/1 | 1/1 | 0/1 | 1/1 |" in text


def test_gradescope_results_have_a_test_per_regime_and_item():
    w = credit.weights(["trained=2"])
    r = report(wrong={"trained": ["W"]}, bugs=["dW with h_t"])
    out = gradescope.results(r, w, 3.2, 7, "char-rnn check mine.py --seed 7")
    tests = out["tests"]
    assert len(tests) == 21 and out["score"] == sum(t["score"] for t in tests) == credit.max_score(w) - 2
    failed = [t for t in tests if t["status"] == "failed"]
    assert [t["name"] for t in failed] == ["trained: dW"] and failed[0]["max_score"] == 2 and failed[0]["score"] == 0
    assert "(wrong)" in failed[0]["output"] and all(t["visibility"] == "visible" for t in tests)
    assert "seed 7" in out["output"] and str(r) in out["output"] and out["execution_time"] == 3
    json.dumps(out)  # what Gradescope reads
    nothing = gradescope.results(report("not judged"), w, 1, 7, "")
    assert nothing["score"] == 0 and {t["status"] for t in nothing["tests"]} == {"failed"}


# ---- finding the submissions, checking the output folder ----


def test_submissions_are_files_and_students_folders(tmp_path):
    (tmp_path / "b.py").write_text("def loss_and_grads(): pass")
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("not code")
    (tmp_path / ".hidden.py").write_text("")
    (tmp_path / "__pycache__").mkdir()
    for folder, files in {"c": ["rnn.py", "helpers.py"], "d": ["one.py"], "e": [], "f": ["x.py", "y.py"]}.items():
        (tmp_path / folder).mkdir()
        for name in files:
            (tmp_path / folder / name).write_text("def loss_and_grads(X):\n" if name == "rnn.py" else "x = 1\n")
    lone = tmp_path / "c" / "rnn.py"
    found = {s.name: s for s in submissions([tmp_path, lone])}
    assert sorted(found) == ["a.ipynb", "b.py", "c", "d", "e", "f", "rnn.py"]
    assert found["c"].file == lone and found["d"].file == tmp_path / "d" / "one.py" and found["rnn.py"].file == lone
    assert found["e"] == Submission("e", None, "the folder e holds no .py or .ipynb file")
    assert found["f"].file is None and "none defines loss_and_grads" in found["f"].reason


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda t: t / "missing", "does not exist"),
        (lambda t: (t / "a.txt").write_text("x") and t / "a.txt", "is not a .py or .ipynb file"),
        (lambda t: (t / "empty").mkdir() or t / "empty", "nothing to grade"),
    ],
)
def test_paths_with_nothing_to_grade_are_refused(tmp_path, make, message):
    with pytest.raises(BadInput, match=message):
        submissions([make(tmp_path)])


def test_two_submissions_of_one_name_are_refused(tmp_path):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.py").write_text("")
    with pytest.raises(BadInput, match="two submissions are named a.py"):
        submissions([tmp_path / "x", tmp_path / "y"])


def test_the_output_folder_is_checked_first(tmp_path):
    (tmp_path / "class").mkdir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadInput, match="is a file"):
        output(tmp_path / "file", False, [])
    with pytest.raises(BadInput, match="inside"):
        output(tmp_path / "class" / "graded", False, [tmp_path / "class"])
    assert not (tmp_path / "class" / "graded").exists()
    output(tmp_path / "new" / "graded", False, [tmp_path / "class"])
    (tmp_path / "new" / "graded" / "gradebook.csv").write_text("")
    with pytest.raises(BadInput, match="already holds a gradebook; add --force"):
        output(tmp_path / "new" / "graded", False, [])
    output(tmp_path / "new" / "graded", True, [])


def test_grade_writes_every_file_and_exits_0_whatever_the_verdicts(tmp_path):
    folder = tmp_path / "class"
    (folder / "gina").mkdir(parents=True)
    (folder / "broken.py").write_text("def loss_and_grads(U, W, V, b, c, X, Y, h0)\n")
    out = tmp_path / "graded"
    r = cli("grade", folder, "--out", out, "--jobs", "2", "--seed", "7", "--loss", "mean", "--points", "W=2")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("2 graded: 0 passed, 0 wrong, 2 not judged\n") and "Traceback" not in r.output
    assert all(len(line) <= 80 for line in r.output.splitlines() if not line.startswith("wrote "))  # a path is long
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [(x["name"], x["verdict"], x["score"], x["max_score"]) for x in rows] == [
        ("broken.py", "not judged", "0", "24"),
        ("gina", "not judged", "0", "24"),
    ]
    assert "SyntaxError" in rows[0]["note"] or "line 1" in rows[0]["note"], rows[0]
    assert rows[1]["note"] == "the folder gina holds no .py or .ipynb file"
    feedback = (out / "broken.py" / "feedback.md").read_text()
    assert f"check {folder / 'broken.py'} --loss mean --seed 7`" in feedback
    assert "Checked with `--loss mean --seed 7`." in (out / "summary.md").read_text()


@pytest.mark.slow
def test_ctrl_c_keeps_what_was_judged_and_ends_every_student_process(tmp_path):
    folder, pids = tmp_path / "class", tmp_path / "pids"
    folder.mkdir()
    (folder / "a_syntax.py").write_text("def loss_and_grads(:\n")
    hang = f"open({str(pids)!r}, 'a').write(f'{{__import__(\"os\").getpid()}}\\n')\n    while True:\n        pass"
    for k in range(4):
        (folder / f"hangs{k}.py").write_text(grade_class.mutant([(grade_class.RETURN, hang)]))
    out = tmp_path / "graded"
    args = [sys.executable, "cli.py", "grade", folder, "--out", out, "--timeout", "60", "--jobs", "2"]
    p = subprocess.Popen(list(map(str, args)), cwd=ROOT, start_new_session=True, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(pids.read_text().split() if pids.exists() else []) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)  # until two hanging functions run (the syntax error is judged by then)
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "interrupted: 4 of 5 not graded" in err, err
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [r["name"] for r in rows] == ["a_syntax.py"]
    assert "**Interrupted**: 4 more submissions were not graded" in (out / "summary.md").read_text()
    time.sleep(1)
    running = [pid for pid in pids.read_text().split() if Path(f"/proc/{pid}").exists()]
    assert len(pids.read_text().split()) == 2 and running == []  # each student's process group was ended


@pytest.mark.slow
def test_the_gradescope_pair_writes_results_json(tmp_path):
    """run_autograder, its /autograder moved to tmp_path and its char-rnn this checkout's cli.py."""
    root = tmp_path / "autograder"
    for sub in ("submission", "results", "venv/bin"):
        (root / sub).mkdir(parents=True)
    program = root / "venv" / "bin" / "char-rnn"
    program.write_text(f'#!/bin/sh\nexec {sys.executable} {ROOT / "cli.py"} "$@"\n')
    program.chmod(0o755)
    script = tmp_path / "run_autograder"
    script.write_text((ROOT / "docs" / "gradescope" / "run_autograder").read_text().replace("/autograder", str(root)))
    results = root / "results" / "results.json"
    r = subprocess.run(["bash", script], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and json.loads(results.read_text())["score"] == 0, r.stderr
    (root / "submission" / "notes.md").write_text("see rnn.py")
    (root / "submission" / "rnn.py").write_text(grade_class.mutant([(grade_class.TANH, "da = dh")]))
    r = subprocess.run(["bash", script], capture_output=True, text=True, timeout=600)
    out = json.loads(results.read_text())
    assert r.returncode == 0 and len(out["tests"]) == 21 and 0 < out["score"] < 21, r.stderr
    assert "no tanh'" in out["output"] and "seed 1" in out["output"]


def test_a_former_gradebook_is_kept_unless_force(tmp_path):
    out = tmp_path / "graded"
    out.mkdir()
    (out / "gradebook.csv").write_text("name\nmine\n")
    r = cli("grade", ROOT / "docs" / "examples" / "rnn.py", "--out", out)
    assert_one_line_error(r, 2, "already holds a gradebook; add --force")
    assert (out / "gradebook.csv").read_text() == "name\nmine\n"


@pytest.mark.parametrize("width", [30, 40, 60, 80, 120])
def test_the_progress_line_fits_its_width(width):
    for done in (0, 7, 30):
        line = progress_line(width, done, 30, Counter({"passed": 5, "wrong": 1, "not judged": 1}), 12.0)
        assert len(line) <= width and f"{done:>2}/30" in line
    assert "0:00:36 left" in progress_line(80, 10, 30, Counter(), 18.0)  # 20 to go at 1.8 s each


# ---- the class of 30 ----


def test_the_docs_summary_is_of_this_class():
    """docs/make/grade_summary.md (docs/make/grade_class.py) counts what CLASS says and names every bug of it."""
    text = (ROOT / "docs" / "make" / "grade_summary.md").read_text()
    n = Counter(verdict for verdict, _ in grade_class.CLASS.values())
    assert f"30 submissions: **{n['passed']} passed**, **{n['wrong']} wrong**, **{n['not judged']} not judged**" in text
    for bug in {b for _, named in grade_class.CLASS.values() for b in named}:
        assert f"| {bug} | " in text, bug


@pytest.mark.slow
def test_a_class_of_30_gets_the_right_row_each(tmp_path):
    folder = grade_class.write(tmp_path / "class")
    assert len(submissions([folder])) == len(grade_class.CLASS) == 30
    out = tmp_path / "graded"
    seed = grade_class.a_seed_where_clipping_shows()  # so clipped.py's clipping at 5 shows
    args = [sys.executable, "cli.py", "grade", folder, "--out", out, "--timeout", "5", "--jobs", "2", "--seed", seed]
    t0 = time.perf_counter()
    # stdin a pipe that stays open: a submission that reads it must not wait on it
    r = subprocess.run(
        list(map(str, args)), cwd=ROOT, stdin=subprocess.PIPE, capture_output=True, text=True, timeout=900
    )
    seconds = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in csv.DictReader((out / "gradebook.csv").open())}
    assert set(rows) == set(grade_class.CLASS)
    for name, (verdict, bugs) in grade_class.CLASS.items():
        row = rows[name]
        named = set(filter(None, row["bugs"].split("; ")))
        assert row["verdict"] == verdict, (name, row)
        assert row["exit_code"] == str({"passed": 0, "wrong": 1, "not judged": 2}[verdict]), (name, row)
        exact = grade_class.EXACT.get(name, True)
        assert named == set(bugs) if exact else named >= set(bugs), (name, row)
        assert (row["score"] == row["max_score"]) == (verdict == "passed"), (name, row)
        assert (out / name / "feedback.md").is_file()
    summary = (out / "summary.md").read_text()
    n = Counter(verdict for verdict, _ in grade_class.CLASS.values())
    assert (
        f"30 submissions: **{n['passed']} passed**, **{n['wrong']} wrong**, **{n['not judged']} not judged**" in summary
    )
    print(f"grade on {len(rows)} submissions: {seconds:.1f} s, load {os.getloadavg()[0]:.1f}")
