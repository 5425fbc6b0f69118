"""The figures and numbers of the docs come from the scripts in docs/make/ and cannot drift.

Each script writes docs/make/NAME.json: the numbers it measured, the figures the pages quote
(`quote`, put into a page by `{{ NAME.key }}`, docs/hooks.py) and, where the numbers come from a
training run, the machine that made them (`provenance`). Deterministic figures (the worked
example, the drawing, the side-by-side table) are made again here and compared exactly. Chaotic
ones are not compared with a tolerance: the test checks that each page shows exactly the figures
and tables of its generated file, and says where they were made. The measurement code itself is
tested on a small text in tests/test_docs_scripts.py.
"""

import functools
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS, MAKE = ROOT / "docs", ROOT / "docs" / "make"
# The book is never shipped: a test that needs it looks beside the checkout (or beside its worktree), else skips.
BOOKS = [up / "shared" / "data" / "goblet_book.txt" for up in (ROOT.parent, ROOT.parent.parent)]
GOBLET = next((book for book in BOOKS if book.is_file()), BOOKS[0])


def module(path: Path):
    spec = importlib.util.spec_from_file_location(f"docs_{path.stem}", path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def script(name: str):
    """docs/make/NAME.py as a module."""
    return module(MAKE / f"{name}.py")


@functools.cache
def hooks():
    """docs/hooks.py at first use: it needs mkdocs (the docs extra); `pytest -m gpu` collects without it."""
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -c constraints.txt '.[docs]')")
    return module(DOCS / "hooks.py")


SNIPPET = re.compile(r'^[ \t]*--8<-- "([^":]+)"[ \t]*$', re.M)


def shown(page: str) -> str:
    """A page as the site shows it: its generated figures filled in and its generated parts included."""
    text = hooks().fill((DOCS / page).read_text(encoding="utf-8"))
    return SNIPPET.sub(lambda m: (ROOT / m.group(1)).read_text(encoding="utf-8"), text)


# NAME: ([the pages that quote docs/make/NAME.json, first the one that says where it was made],
#        {each table docs/make/NAME.py writes: the function of the script that makes it})
FIGURES = {
    "adagrad": (["adagrad.md"], {"adagrad_table.md": "table"}),
    "divergence": (["determinism.md", "reproduction.md"], {"divergence_table.md": "table"}),
    "reproduction": (
        ["reproduction.md", "adagrad.md", "minchar.md", "neurons.md"],
        {
            "reproduction_table.md": "table",
            "reproduction_seeds.md": "seeds_table",
            "reproduction_samples.md": "samples_table",
        },
    ),
    "handouts": (["handouts.md"], {"handouts_2025.md": "table_2025", "handouts_per_char.md": "table_per_char"}),
    "neurons": (["neurons.md"], {"neurons_table.md": "table"}),
    "from_zero": (["training.md"], {"from_zero_table.md": "table"}),
    "sampling": (
        ["sampling.md", "gradients.md", "index.md"],
        {"sampling_samples.md": "snippet", "sampling_reset.md": "reset_table"},
    ),
    "gradients": (
        ["gradients.md"],
        {"gradients_table.md": "table", "gradients_lost.md": "lost_table", "gradients_first.md": "first_table"},
    ),
    "gradcheck_error": (["gradcheck-error.md"], {"gradcheck_error_table.md": "table"}),
    "zero_state": (["sampling.md", "training.md"], {"zero_state_table.md": "table"}),
    "default_text": (["data.md"], {"default_text_table.md": "table", "default_text_sample.md": "snippet"}),
}


def committed(name: str) -> tuple[dict, dict]:
    """docs/make/NAME.json, and the numbers in it that its script's functions take."""
    data = json.loads((MAKE / f"{name}.json").read_text(encoding="utf-8"))
    return data, data.get("run", data)


@pytest.mark.parametrize("name", FIGURES)
def test_the_quoted_figures_and_tables_are_made_from_the_measured_numbers(name):
    data, numbers = committed(name)
    made = script(name)
    assert made.quotes(numbers) == data["quote"], f"run: python docs/make/{name}.py --plot (or --tables)"
    for table, function in FIGURES[name][1].items():
        assert (MAKE / table).read_text(encoding="utf-8") == getattr(made, function)(numbers), table


def token(value: str) -> re.Pattern:
    """value as it stands in a text: not as a piece of a longer number or word."""
    return re.compile(rf"(?<![\w.]){re.escape(value)}(?![\w])")


@pytest.mark.parametrize("name", FIGURES)
def test_every_page_shows_the_figures_of_its_generated_file(name):
    """A figure typed by hand that differs from its generated file fails here, as does a table."""
    pages, tables = FIGURES[name]
    text = {page: shown(page) for page in pages}
    missing = [
        f"{key} = {value!r}"
        for key, value in committed(name)[0]["quote"].items()
        if not any(token(value).search(t) for t in text.values())
    ]
    assert missing == [], f"docs/make/{name}.json: figures no page of {pages} shows"
    for table in tables:
        rows = [r for r in (MAKE / table).read_text(encoding="utf-8").splitlines() if r.startswith("|")]
        stale = [r for r in rows if not any(r in t for t in text.values())]
        assert stale == [], f"rows of docs/make/{table} that {pages} do not show"


@pytest.mark.parametrize("name", FIGURES)
def test_a_measured_figure_says_where_it_was_made(name):
    data, _ = committed(name)
    p = data["provenance"]
    for key in ("date", "cpu", "os", "python", "numpy"):
        assert p.get(key), (name, key)
    assert re.fullmatch(r"[0-9a-f]{64}", p["text"]["sha256"]), name  # the text it was made from
    assert "BLAS" in p["numpy"] or "blas" in p["numpy"], name  # the library that decides the digits
    home = FIGURES[name][0][0]
    assert hooks().provenance.note(p) in shown(home), f"{home} does not say where {name}'s figures were made"


def test_a_page_figure_that_does_not_exist_stops_the_build():
    with pytest.raises(Exception, match="has no figure 'nonsense'"):
        hooks().fill("{{ adagrad.nonsense }}")
    with pytest.raises(Exception, match="no docs/make/nothing.json"):
        hooks().fill("{{ nothing.at_all }}")
    assert hooks().fill("$x_{t}$ and {{x}} stay as they are") == "$x_{t}$ and {{x}} stay as they are"


def test_the_bad_input_count_is_counted_from_the_table():
    from tests.test_inputs import CASES

    source = (DOCS / "runs.md").read_text(encoding="utf-8")
    assert "table of {{ inputs.total }} bad inputs" in source  # never a number typed by hand
    page = shown("runs.md")
    assert f"table of {len(CASES)} bad inputs" in page
    for command in {c for c, *_ in CASES}:
        n = sum(c == command for c, *_ in CASES)
        assert f"`{command}` {n}" in page, command


def test_every_wide_figure_has_a_phone_version():
    """A PNG wider than two phone columns is the wide one of a pair: a phone is shown its panels instead."""
    image = re.compile(r"!\[[^\]]*\]\(([^)\s]+\.png)\)(\{[^}]*\})?")
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for m in image.finditer(text):
            width = hooks().png_width(page.parent / m.group(1))
            if width > 2 * hooks().PHONE_COLUMN:
                assert "wide" in (m.group(2) or ""), f"{page.name}: {m.group(1)} ({width} px) has no phone version"
                phone = image.search(text, m.end())
                assert phone and "phone" in (phone.group(2) or ""), f"{page.name}: no phone figure after {m.group(1)}"
                assert hooks().png_width(page.parent / phone.group(1)) <= 2 * hooks().PHONE_COLUMN


def test_gradcheck_md_lists_each_bug_under_the_regimes_its_table_shows():
    """The page's sentence on bugs that 'fail the other two' names only rows caught in both, the clipped one apart."""
    rows = [r.split("|")[1:5] for r in (MAKE / "bugs_table.md").read_text().splitlines() if r.startswith("| `")]
    caught = {r[0].strip().strip("`"): tuple("**" in cell for cell in r[1:]) for r in rows}
    assert caught["clipped"] == (False, True, False)  # the realistic regime only
    page = (DOCS / "gradcheck.md").read_text(encoding="utf-8")
    both = page[page.index("fail the other two:**") : page.index("One bug only the realistic")]
    assert "clipped" not in both
    assert "gradient clipped" in page[page.index("One bug only the realistic") :].split("\n- ")[0]
    for name in ("tanh' from a", "dW without h_0", "h0 ignored"):  # the three the sentence names
        assert caught[name] == (False, True, True), name


# ---- deterministic figures: made again and compared exactly ----


def test_the_unrolled_drawings_are_what_their_script_draws():
    unrolled = script("unrolled")
    for tall, path in unrolled.FILES.items():
        drawn = path.read_text()
        assert unrolled.svg(tall) == drawn, "run: python docs/make/unrolled.py"
        assert drawn.count('marker-end="url(#red)"') == 2  # the two paths of eq. (8) into h_2
        for t in (1, 2, 3):
            assert drawn.count(f'dy="5">{t}</tspan>') >= 5  # x_t, h_t, o_t, p_t, L_t (and y_t)


def test_the_dozen_lines_of_the_start_page_are_the_model(corpus):
    """The code index.md shows is eqs. (1)-(5): its loss and last state are the NumPy backend's."""
    import numpy as np

    from backends.numpy_backend import NumpyBackend
    from common.contract import Layout

    page = (DOCS / "index.md").read_text(encoding="utf-8")
    code = re.search(r"## The whole model in a dozen lines.*?```python\n(.*?)```", page, re.S).group(1)
    lines = [line for line in code.splitlines() if line.strip() and not line.strip().startswith('"""')]
    assert len(lines) <= 14, len(lines)  # a dozen lines, give or take the import
    shown_code = {}
    exec(code, shown_code)
    K, m, tau = corpus.K, 6, 25
    layout = Layout(K, m)
    theta = np.random.default_rng(1).standard_normal(layout.size) * 0.5  # far from linear
    U, W, V, b, c = layout.views(theta)
    h0 = np.random.default_rng(2).uniform(-0.9, 0.9, m)  # (m,)
    xs, ys = corpus.ids[:tau], corpus.ids[1 : tau + 1]
    total, h = shown_code["loss"](U, W, V, b[:, 0], c[:, 0], h0, xs, ys)
    loss, cache = NumpyBackend(layout).forward(theta, xs.reshape(-1, 1), ys.reshape(-1, 1), h0.reshape(m, 1))
    assert total == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(h, cache.H[-1][:, 0], atol=1e-12)


def test_the_cell_drawing_is_what_its_script_draws():
    cell = script("cell")
    drawn = cell.FILE.read_text()
    assert cell.svg() == drawn, "run: python docs/make/cell.py"
    for name in ("x", "h", "o", "p"):  # one box each, and the state before
        assert f'<tspan font-style="italic">{name}</tspan>' in drawn, name
    assert drawn.count('marker-end="url(#arrow)"') == 5  # U, W, V, softmax, and on to the next step


def test_the_worked_example_is_what_the_numpy_backend_computes():
    worked = script("worked_example")
    page = (MAKE / "worked_example.md").read_text()
    assert worked.page() == page, "run: python docs/make/worked_example.py"
    x, y = [0, 1], [1, 2]  # "abc": inputs a b, targets b c
    loss, grads = worked.backend_run(x, y)
    assert f"loss {loss:.6f}" in page
    assert f"{loss:.4f}" in page  # the hand computation shows the same loss
    printed = page[page.index("$ python docs/make/worked_example.py") :]
    for name, g in zip("UWVbc", grads):
        assert f"d{name} = [[" in printed
        assert all(f"{v:.6f}" in printed for v in g.ravel()), name


def test_the_worked_example_stops_when_the_backend_disagrees(monkeypatch):
    from backends.numpy_backend import NumpyBackend

    worked = script("worked_example")
    real = NumpyBackend.backward

    def halved_dW(self, theta, cache):  # a wrong dW, as a dropped term of eq. (8) would give
        g = real(self, theta, cache)
        self.layout.views(g).W[:] *= 0.5
        return g

    monkeypatch.setattr(NumpyBackend, "backward", halved_dW)
    with pytest.raises(SystemExit, match="dW differs"):
        worked.page()


def test_the_minchar_table_is_read_from_both_sources():
    table = script("minchar_table")
    committed_table = (MAKE / "minchar_table.md").read_text()
    assert table.table() == committed_table, "run: python docs/make/minchar_table.py"
    minchar = (ROOT / "common" / "tools" / "minchar.py").read_text()
    for line in ("dhraw = (1 - hs[t] * hs[t]) * dh", "dhnext = np.dot(Whh.T, dhraw)", "dy[targets[t]] -= 1"):
        assert line in minchar and f"`{line}`" in committed_table


def test_the_minchar_table_stops_when_a_line_is_gone(monkeypatch):
    table = script("minchar_table")
    monkeypatch.setattr(table, "ROWS", [(["dhraw = no such line"], "(9)", "", ["da ="])])
    with pytest.raises(SystemExit, match="no line with"):
        table.table()


@pytest.mark.slow
def test_the_first_losses_of_the_2025_initialisation_are_reproduced():
    """Forward passes from the initial weights only: the same on every machine to many digits."""
    if not GOBLET.is_file():
        pytest.skip(f"{GOBLET} is not here (the copyrighted corpus is never shipped)")
    from common.data import read_corpus

    handouts, (_, numbers) = script("handouts"), committed("handouts")
    corpus = read_corpus(GOBLET)
    assert handouts.first_losses(corpus, None) == pytest.approx(numbers["first"], rel=1e-12)


@pytest.mark.slow
def test_the_clipping_run_is_reproduced_on_the_machine_that_made_it():
    """Where the arithmetic, Python and text its provenance names are these, adagrad.md's run to the last digit."""
    from common.data import builtin_corpus
    from common.tools import machine

    data, _ = committed("adagrad")
    corpus = builtin_corpus()
    here, there = script("provenance").record(corpus), data["provenance"]
    differ = machine.differences(there.get("arithmetic", {}), here["arithmetic"])
    differ += [f"{k} {there[k]} there, {here[k]} here" for k in ("python", "text") if here[k] != there[k]]
    if differ:
        pytest.skip(f"docs/make/adagrad.json was made with another {'; '.join(differ)}: its digits differ")
    adagrad = script("adagrad")
    assert adagrad.quotes(adagrad.record(corpus)) == data["quote"], "run: python docs/make/adagrad.py"
