"""`check FILE[:NAME]`: the template passes, each known bug is caught where it shows and named, bad files get a line."""

import dataclasses
import importlib.util
import re
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from backends.numpy_backend import NumpyBackend
from common import gradcheck as gc
from common.check import catalogue, regimes
from common.check import engine as check
from common.check.student import Function
from common.contract import Layout, Params
from common.run.presets import PRESETS
from tests.conftest import assert_one_line_error, cli, skip_unless_runnable

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "docs" / "examples" / "rnn.py"
SMALL = ("--hidden", 4, "--seq-length", 12)  # fewer weights: the centred differences take a second, not ten


def own_file(tmp_path: Path, body: str, name: str = "mine.py") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def planted(tmp_path: Path, bug: str) -> Path:
    """A file whose loss_and_grads is the catalogue's with `bug` planted, taking index vectors."""
    body = (
        "from functools import partial\nfrom common.check.catalogue import loss_and_grads as reference\n"
        f"loss_and_grads = partial(reference, bug={bug!r})\n"
    )
    return own_file(tmp_path, body, "planted.py")


# ---- the reference the catalogue mutates is ours ----


@pytest.mark.parametrize("scale", [1.0, 1 / 12])
def test_the_catalogues_reference_is_the_numpy_backend(corpus, scale):
    layout = Layout(corpus.K, 6)
    for r in regimes.regimes(layout, corpus, PRESETS["classic"], 12, 1, seed=2):
        loss, cache = NumpyBackend(layout).forward(r.theta, r.x, r.y, r.h0)
        grad = NumpyBackend(layout).backward(r.theta, cache)
        mine, grads, h_tau = catalogue.loss_and_grads(*layout.unpack(r.theta), r.x[:, 0], r.y[:, 0], r.h0, None, scale)
        assert mine == pytest.approx(scale * loss, rel=1e-13)
        np.testing.assert_allclose(layout.pack(Params(**grads)), scale * grad, rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(h_tau, cache.H[-1], rtol=0, atol=1e-15)


# ---- which regimes catch each bug (the test corpus, m = 5, tau = 25, summed loss) ----

EVERY = {"handout", "realistic", "trained"}
SHOWS = {"realistic", "trained"}
CAUGHT = {  # the handout's own check (sigma 0.01, h0 = 0) misses every bug listed with SHOWS
    "tanh' from a": SHOWS,
    "dW with h_t": EVERY,
    "dW without h_0": SHOWS,
    "no W^T da_{t+1}": EVERY,
    "W da_{t+1}": EVERY,
    "W^T dh_{t+1}": SHOWS,  # 6e-7 at the handout's point: under the tolerance
    "no tanh'": EVERY,
    "dV with h_{t-1}": EVERY,
    "dU by y": EVERY,
    "db from one step": EVERY,
    "dc from one step": EVERY,
    "p, not p - y": EVERY,
    "softmax over time": EVERY,
    "h0 ignored": SHOWS,
    "clipped": SHOWS,  # only where a gradient entry passes 5
    "gradient scaled": EVERY,
    "other loss": EVERY,
    "skips t = 1": EVERY,
    "skips t = tau": EVERY,
    "no tanh' at tau": EVERY,
    "no V^T g_1": EVERY,
    "dU with x_{t+1}": EVERY,
    "dc sign": EVERY,
    "loss in log2": EVERY,
    "loss without tau": EVERY,
    "dW transposed": EVERY,
    "float32": set(),  # warnings: a loss of precision, never a failure
    "epsilon in log": set(),
}


def caught(corpus, bug: str, m: int = 5, tau: int = 25) -> tuple[set, set]:
    """(the regimes where check calls the bug wrong, those where it warns), each regime alone."""
    layout = Layout(corpus.K, m)
    model = Function(partial(catalogue.loss_and_grads, bug=bug), "planted.py:f", layout, "indices", "sum")
    wrong, warned = set(), set()
    for r in regimes.regimes(layout, corpus, PRESETS["classic"], tau, 1, seed=1):
        found, warnings = check.verdict([check.look(model, r, 1.0)])
        wrong |= {r.name} if found else set()
        warned |= {r.name} if warnings else set()
    return wrong, warned


def test_the_catalogue_has_the_issues_bugs_and_more():
    assert len([b for b in catalogue.BUGS if not b.warning]) >= 12 and set(CAUGHT) == set(catalogue.BY_NAME)
    for bug in catalogue.BUGS:
        assert bug.says.endswith((".", "?")) and "\n" not in bug.says, bug.name


@pytest.mark.parametrize("bug", list(CAUGHT))
def test_each_bug_is_caught_in_the_regimes_where_it_shows(corpus, bug):
    wrong, warned = caught(corpus, bug)
    assert wrong == CAUGHT[bug], (bug, wrong)
    if catalogue.BY_NAME[bug].warning:
        assert warned == EVERY
    if catalogue.BY_NAME[bug].hides:  # the catalogue says why the handout's check misses it: it does
        assert "handout" not in wrong or bug == "clipped"


@pytest.mark.slow
@pytest.mark.parametrize("bug", [b.name for b in catalogue.BUGS])
def test_check_fails_each_bug_and_names_it(tmp_path, corpus_file, bug):
    r = cli("check", planted(tmp_path, bug), "--inputs", "indices", "--data", corpus_file)
    if catalogue.BY_NAME[bug].warning:
        assert r.exit_code == 0 and "PASSED" in r.stdout and "warning: " in r.stdout, r.output
        assert catalogue.BY_NAME[bug].says in " ".join(r.stdout.split())
    else:
        assert r.exit_code == 1 and "FAILED" in r.stdout, r.output
        assert f"This is a known bug ({bug}): {catalogue.BY_NAME[bug].says}" in " ".join(r.stdout.split())
        assert r.stdout.count("This is a known bug") == 1


def test_a_bug_outside_the_catalogue_is_described(tmp_path, corpus_file):
    """Two bugs at once match no entry: check says which parameters and regimes, and what it usually means."""
    source = TEMPLATE.read_text()
    for old, new in (("(1 - H[:, [t + 1]] ** 2)", "(1 - A[:, [t]] ** 2)"), ('grads["c"] += g', 'grads["c"] = g')):
        assert source.count(old) == 1
        source = source.replace(old, new)
    r = cli("check", own_file(tmp_path, source), "--data", corpus_file, *SMALL)
    assert r.exit_code == 1 and "known bug" not in r.stdout, r.output
    assert "dc in the handout, realistic and trained regimes" in r.stdout
    assert "dV or dc is wrong: look at g_t = p_t - y_t" in r.stdout
    assert "Your gradients are not those of your own loss either" in r.stdout


# ---- the template, its input layouts and reductions, a backend class ----


def test_the_template_passes(corpus_file):
    r = cli("check", TEMPLATE, "--data", corpus_file)
    assert r.exit_code == 0, r.output
    assert r.stdout.count("\nd") >= 15 and "PASSED: in all 3 regimes" in r.stdout and "warning" not in r.stdout
    for regime in ("handout: the handout's own", "realistic: U, W, V ~ N(0, 0.5^2)", "trained: after 300 adagrad"):
        assert regime in r.stdout


WRAPPERS = {  # the template's maths, reached through each other layout of X and Y and the mean loss
    "onehot-rows": "def f(U, W, V, b, c, X, Y, h0):\n    return loss_and_grads(U, W, V, b, c, X.T, Y.T, h0)\n",
    "indices": (
        "def f(U, W, V, b, c, x, y, h0):\n    K = V.shape[0]\n"
        "    return loss_and_grads(U, W, V, b, c, np.eye(K)[:, x], np.eye(K)[:, y], h0)\n"
    ),
    "mean": (
        "def f(U, W, V, b, c, X, Y, h0):\n    loss, grads, h = loss_and_grads(U, W, V, b, c, X, Y, h0)\n"
        "    return loss / X.shape[1], {k: g / X.shape[1] for k, g in grads.items()}, h\n"
    ),
}


@pytest.mark.parametrize("layout", WRAPPERS)
def test_every_input_layout_and_the_mean_loss(tmp_path, corpus_file, layout):
    path = own_file(tmp_path, TEMPLATE.read_text() + "\n\n" + WRAPPERS[layout])
    option = ["--loss", "mean"] if layout == "mean" else ["--inputs", layout]
    r = cli("check", f"{path}:f", *option, "--data", corpus_file, *SMALL)
    assert r.exit_code == 0 and "PASSED" in r.stdout, r.output
    if layout == "mean":  # the same file checked as a sum: both loss and gradients are the other reduction
        r = cli("check", f"{path}:f", "--data", corpus_file, *SMALL)
        assert r.exit_code == 1 and "known bug (other loss)" in r.stdout, r.output


def test_torch_tensors_are_taken_as_arrays(tmp_path, corpus_file):
    skip_unless_runnable("torch", {"device": "cpu"})
    body = TEMPLATE.read_text() + (
        "\n\nimport torch\n\ndef f(*args):\n    loss, grads, h = loss_and_grads(*args)\n"
        "    return torch.tensor(loss), {k: torch.from_numpy(g) for k, g in grads.items()}, torch.from_numpy(h)\n"
    )
    r = cli("check", f"{own_file(tmp_path, body)}:f", "--data", corpus_file, *SMALL)
    assert r.exit_code == 0 and "PASSED" in r.stdout, r.output


def test_a_backend_class_is_checked_as_a_backend(tmp_path, corpus_file):
    source = (ROOT / "backends" / "numpy_backend.py").read_text()
    good = own_file(tmp_path, source, "good.py")
    r = cli("check", f"{good}:NumpyBackend", "--data", corpus_file, *SMALL)
    assert r.exit_code == 0 and "PASSED" in r.stdout, r.output
    old = "D = 1 - H[1:] * H[1:]"
    assert source.count(old) == 1
    bad = own_file(tmp_path, source.replace(old, "D = 1 - xp.arctanh(H[1:]) ** 2"), "bad.py")
    r = cli("check", f"{bad}:NumpyBackend", "--data", corpus_file, *SMALL)
    assert r.exit_code == 1 and "known bug (tanh' from a)" in r.stdout, r.output


# ---- --train ----


def test_train_runs_theirs_beside_ours(tmp_path, corpus_file):
    r = cli("check", TEMPLATE, "--data", corpus_file, *SMALL, "--train", 40)
    assert r.exit_code == 0, r.output
    rows = r.stdout.split("yours / ours - 1\n")[1].splitlines()
    assert [int(row.split()[0]) for row in rows] == list(range(4, 41, 4))
    for row in rows:
        _, yours, ours, gap = row.split()
        assert float(yours) == pytest.approx(float(ours), rel=1e-9) and abs(float(gap)) < 1e-9
    body = TEMPLATE.read_text().replace("return loss, grads, H[:, [tau]]", "return loss, grads")
    r = cli("check", own_file(tmp_path, body), "--data", corpus_file, *SMALL, "--train", 10)
    assert_one_line_error(r, 2, "returns no h_tau; training carries it: return loss, grads, h_tau")


def test_train_says_when_their_training_blows_up(tmp_path, corpus_file):
    body = TEMPLATE.read_text().replace("return loss, grads, H[:, [tau]]", "return loss, grads, H[:, [tau]] * np.nan")
    r = cli("check", own_file(tmp_path, body), "--data", corpus_file, *SMALL, "--train", 10)
    assert r.exit_code == 1 and "your training stopped: the loss became nan at update 2" in r.stdout, r.output


# ---- bad input: one line, exit 2, never our traceback ----

DEF = "def loss_and_grads(U, W, V, b, c, X, Y, h0):\n"
BAD = [
    ("missing.py", None, "missing.py does not exist"),
    ("mine.py", "x = (\n", "importing"),  # a syntax error
    ("mine.py", "import numpy\nraise ValueError('no data')\n", "raised ValueError: no data (mine.py, line 2"),
    ("mine.py", "def other():\n    pass\n", "has no 'loss_and_grads'; it defines other"),
    ("mine.py", "loss_and_grads = 3\n", "is not a function or a backend class (it is of type int)"),
    ("mine.py", DEF + "    return 1.0 / 0\n", "raised ZeroDivisionError: float division by zero (mine.py, line 2"),
    ("mine.py", DEF + "    return 1.0\n", "returned a float; expected loss, grads or loss, grads, h_tau"),
    (
        "mine.py",
        DEF + "    return 1.0, [U]\n",
        "returned grads as a list of 1; expected a dict with keys U, W, V, b, c",
    ),
    ("mine.py", DEF + "    return 1.0, {'dU': U}\n", "returned grads without U, W, V, b, c (its keys: dU)"),
    ("mine.py", DEF + "    return 1.0, dict(U=U.T, W=W, V=V, b=b, c=c)\n", "returned grads['U'] of shape"),
    (
        "mine.py",
        DEF + "    return 1.0, dict(U=U, W=W, V=V, b=b[:, 0], c=c)\n",
        "grads['b'] of shape (4,); expected (4, 1)",
    ),
    (
        "mine.py",
        DEF + "    return 'a', dict(U=U, W=W, V=V, b=b, c=c)\n",
        "returned the loss that is not an array of numbers",
    ),
    ("mine.py", DEF + "    return [1, 2], dict(U=U, W=W, V=V, b=b, c=c)\n", "returned the loss of shape (2,)"),
    ("mine.py", DEF + "    return 1.0, dict(U=U, W=W, V=V, b=b, c=c), h0[:2]\n", "returned h_tau of shape (2, 1)"),
    ("mine.py", "class loss_and_grads:\n    pass\n", "lacks to_device, to_host, forward, backward"),
]


@pytest.mark.parametrize("name, body, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_files_get_one_line(tmp_path, corpus_file, name, body, message):
    path = own_file(tmp_path, body, name) if body is not None else tmp_path / name
    r = cli("check", path, "--data", corpus_file, *SMALL)
    assert_one_line_error(r, 2, message)


def test_bad_names_and_options_get_one_line(tmp_path, corpus_file):
    path = own_file(tmp_path, TEMPLATE.read_text())
    assert_one_line_error(
        cli("check", f"{path}:nope", "--data", corpus_file), 2, "has no 'nope'; it defines loss_and_grads"
    )
    assert_one_line_error(cli("check", tmp_path / "mine.txt"), 2, "is not path/to/file.py:NAME")
    assert_one_line_error(cli("check", path, "--hidden", 0), 2, "--hidden must be a positive integer")
    assert_one_line_error(cli("check", path, "--train", -1), 2, "--train must be zero or positive")
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9 au lait")
    assert_one_line_error(cli("check", path, "--data", tmp_path / "latin1.txt"), 2, "is not valid UTF-8")
    r = cli("check", path, "--inputs", "onehot")
    assert r.exit_code == 2 and "Traceback" not in r.output


# ---- the docs' table and sessions are what docs/make/bugs.py measures ----

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?")


def bugs_script():
    spec = importlib.util.spec_from_file_location("docs_make_bugs", ROOT / "docs" / "make" / "bugs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_same_to_rounding(committed: str, fresh: str) -> None:
    """The same text, each number within a factor 2 of the committed one, or both below the check's tolerance:
    there a figure is rounding (float32, epsilon in the log, a correct gradient), whose digits differ by machine."""
    assert NUMBER.split(committed) == NUMBER.split(fresh)
    for old, new in zip(map(float, NUMBER.findall(committed)), map(float, NUMBER.findall(fresh))):
        assert (abs(old) < gc.TOLERANCE and abs(new) < gc.TOLERANCE) or 0.5 <= new / old <= 2, (old, new)


def test_the_bug_tables_are_what_the_script_measures():
    from common.data import builtin_corpus

    bugs = bugs_script()
    seen = bugs.measure(builtin_corpus())
    assert_same_to_rounding((ROOT / "docs" / "make" / "bugs_table.md").read_text(), bugs.table(seen))
    assert_same_to_rounding((ROOT / "docs" / "make" / "bugs_detail.md").read_text(), bugs.detail(seen))


def test_the_assertion_of_rounding_can_fail():
    with pytest.raises(AssertionError):
        assert_same_to_rounding("| dW | 4.4e-01 |", "| dW | 9.9e-01 |")
    with pytest.raises(AssertionError):
        assert_same_to_rounding("| dW | 4.4e-01 |", "| dU | 4.4e-01 |")
    with pytest.raises(AssertionError):  # rounding on one side of the tolerance, a bug on the other
        assert_same_to_rounding("| dW | 8.5e-08 |", "| dW | 3.0e-06 |")
    assert_same_to_rounding("| dW | 8.5e-08 |", "| dW | 1.8e-07 |")  # float32's rounding: another machine's


@pytest.mark.slow
def test_the_sessions_are_what_the_commands_print():
    bugs = bugs_script()
    for name, commands in (("check_session.md", bugs.CHECK), ("gradcheck_session.md", bugs.GRADCHECK)):
        assert_same_to_rounding((ROOT / "docs" / "make" / name).read_text(), bugs.session(commands))
    assert_same_to_rounding((ROOT / "docs" / "make" / "check_notebook.md").read_text(), bugs.notebook())


def test_the_script_stops_where_the_page_would_be_wrong(monkeypatch, corpus):
    bugs = bugs_script()
    monkeypatch.setattr(bugs, "PLANTED", {"mine.py": ("no such line", "")})
    with pytest.raises(SystemExit, match="has no line with 'no such line'"):
        bugs.session([])
    seen = bugs.measure(corpus, m=4, tau=12)
    hidden = catalogue.BY_NAME["dW without h_0"]
    monkeypatch.setitem(catalogue.BY_NAME, hidden.name, dataclasses.replace(hidden, hides=""))
    with pytest.raises(SystemExit, match="the handout's check misses it, and the catalogue does not say why"):
        bugs.table(seen)
