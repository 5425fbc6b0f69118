"""The figures and numbers of the docs come from the project's own code and cannot drift (docs/make/).

Each script in docs/make/ writes a figure or a part of a page. Where the script is cheap, the test
runs it and compares with the committed file; where it needs a long run on a large text, the test
runs the same measurement code on a small text and checks its maths.
"""

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

from backends.numpy_backend import NumpyBackend
from common.contract import Layout
from common.data import Streams
from tests.test_docs import server, site  # noqa: F401  (fixtures: the built site and a server for it)

ROOT = Path(__file__).resolve().parent.parent
MAKE = ROOT / "docs" / "make"


def script(name: str):
    """docs/make/NAME.py as a module."""
    spec = importlib.util.spec_from_file_location(f"docs_make_{name}", MAKE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_theta(layout: Layout, sigma: float, seed: int = 0) -> np.ndarray:
    """Weights large enough that tanh is far from linear (sigma 0.01 would make every test easy)."""
    return np.random.default_rng(seed).standard_normal(layout.size) * sigma


# ---- the drawing, the worked example, the side-by-side table: regenerated and compared ----


def test_the_unrolled_drawing_is_what_its_script_draws():
    unrolled = script("unrolled")
    committed = (ROOT / "docs" / "img" / "unrolled.svg").read_text()
    assert unrolled.svg() == committed, "run: python docs/make/unrolled.py"
    assert committed.count('marker-end="url(#red)"') == 2  # the two paths of eq. (8) into h_2
    for t in (1, 2, 3):
        assert committed.count(f'dy="5">{t}</tspan>') >= 5  # x_t, h_t, o_t, p_t, L_t (and y_t)


def test_the_worked_example_is_what_the_numpy_backend_computes():
    worked = script("worked_example")
    committed = (MAKE / "worked_example.md").read_text()
    assert worked.page() == committed, "run: python docs/make/worked_example.py"
    x, y = [0, 1], [1, 2]  # "abc": inputs a b, targets b c
    loss, grads = worked.backend_run(x, y)
    assert f"loss {loss:.6f}" in committed
    assert f"{loss:.4f}" in committed  # the hand computation shows the same loss
    printed = committed[committed.index("$ python docs/make/worked_example.py") :]
    for name, g in zip("UWVbc", grads):
        assert f"d{name} = [[" in printed
        assert all(f"{v:.6f}" in printed for v in g.ravel()), name


def test_the_worked_example_stops_when_the_backend_disagrees(monkeypatch):
    worked = script("worked_example")
    real = NumpyBackend.backward

    def no_recurrence(self, theta, cache):  # BPTT without W^T da_{t+1}: a classic bug
        layout = self.layout
        g = real(self, theta, cache)
        layout.views(g).W[:] *= 0.5
        return g

    monkeypatch.setattr(NumpyBackend, "backward", no_recurrence)
    with pytest.raises(SystemExit, match="dW differs"):
        worked.page()


def test_the_minchar_table_is_read_from_both_sources():
    table = script("minchar_table")
    committed = (MAKE / "minchar_table.md").read_text()
    assert table.table() == committed, "run: python docs/make/minchar_table.py"
    minchar = (ROOT / "common" / "tools" / "minchar.py").read_text()
    for line in ("dhraw = (1 - hs[t] * hs[t]) * dh", "dhnext = np.dot(Whh.T, dhraw)", "dy[targets[t]] -= 1"):
        assert line in minchar and f"`{line}`" in committed


def test_the_minchar_table_stops_when_a_line_is_gone(tmp_path, monkeypatch):
    table = script("minchar_table")
    monkeypatch.setattr(table, "ROWS", [(["dhraw = no such line"], "(9)", "", ["da ="])])
    with pytest.raises(SystemExit, match="no line with"):
        table.table()


# ---- vanishing and exploding gradients, truncation: the measurement code on a small text ----


def chunks(corpus, tau: int):
    streams = Streams(corpus.ids, tau, 1)
    return [streams.chunk(i) for i in range(3)]


def test_the_jacobian_product_matches_finite_differences_of_h_tau(corpus):
    gradients = script("gradients")
    layout = Layout(corpus.K, 6)
    backend = NumpyBackend(layout)
    theta = random_theta(layout, 0.5)
    (x, y), tau = chunks(corpus, 10)[0], 10
    h0 = np.random.default_rng(1).uniform(-0.5, 0.5, (6, 1))
    _, cache = backend.forward(theta, x, y, h0)
    J = gradients.jacobian(layout.views(theta).W, cache.H[:, :, 0])
    eps, numeric = 1e-6, np.empty((6, 6))
    for j in range(6):
        e = np.zeros((6, 1))
        e[j] = eps
        plus = backend.forward(theta, x, y, h0 + e)[1].H[-1]
        minus = backend.forward(theta, x, y, h0 - e)[1].H[-1]
        numeric[:, j] = ((plus - minus) / (2 * eps))[:, 0]
    assert np.abs(J).max() > 1e-4  # not a trivially small product
    np.testing.assert_allclose(J, numeric, rtol=1e-6, atol=1e-10)
    norms = gradients.jacobian_norms(layout.views(theta).W, cache.H[:, :, 0])
    assert len(norms) == tau
    assert norms[-1] == pytest.approx(np.linalg.norm(J, 2), rel=1e-12)


def test_the_step_by_step_bptt_matches_the_backend(corpus):
    gradients = script("gradients")
    layout = Layout(corpus.K, 5)
    backend = NumpyBackend(layout)
    theta = random_theta(layout, 0.4)
    x, y = chunks(corpus, 12)[0]
    h0 = np.full((5, 1), 0.3)
    _, cache = backend.forward(theta, x, y, h0)
    DA = gradients.da_of_chunk(layout, theta, cache.H[:, :, 0], cache.P, y[:, 0])
    db = layout.views(backend.backward(theta, cache)).b[:, 0]
    np.testing.assert_allclose(DA.sum(axis=0), db, rtol=1e-12, atol=1e-14)  # eq. (10): db = sum_t da_t


def test_what_truncation_drops_is_the_gradient_through_the_chunk_before(corpus):
    """g_truncated + beyond(...) equals centred differences of the chunk's loss with h_0 recomputed from before."""
    gradients = script("gradients")
    layout = Layout(corpus.K, 3)
    backend = NumpyBackend(layout)
    theta = random_theta(layout, 0.6, seed=2)
    (xp, yp), (x, y), _ = chunks(corpus, 6)
    start = np.array([[0.1], [-0.2], [0.3]])

    def loss(th):  # the loss of chunk (x, y), with h_0 the h_tau of the chunk before, both under th
        h0 = backend.forward(th, xp, yp, start)[1].H[-1]
        return backend.forward(th, x, y, h0)[0]

    prev = backend.forward(theta, xp, yp, start)[1]
    _, cache = backend.forward(theta, x, y, prev.H[-1])
    truncated = backend.backward(theta, cache)
    DA = gradients.da_of_chunk(layout, theta, cache.H[:, :, 0], cache.P, y[:, 0])
    (extra,) = gradients.beyond(layout, theta, DA[0], [(xp[:, 0], prev.H[:, :, 0])])
    numeric = np.empty(layout.size)
    for i in range(layout.size):
        e = np.zeros(layout.size)
        e[i] = 1e-5
        numeric[i] = (loss(theta + e) - loss(theta - e)) / 2e-5
    assert np.linalg.norm(extra) > 1e-3 * np.linalg.norm(truncated)  # the chunk before matters here
    np.testing.assert_allclose(truncated + extra, numeric, rtol=1e-6, atol=1e-8)
    assert np.linalg.norm(truncated - numeric) > 1e-4  # and truncation alone misses it


def test_the_run_measures_what_the_page_shows(corpus):
    gradients = script("gradients")
    data = gradients.record(corpus, checkpoints=(0, 30, 60), m=8, n=4, radius_at=(0, 15))
    assert set(data["checkpoints"]) == {0, 30, 60}
    for c in data["checkpoints"].values():
        assert len(c["median"]) == 25 and len(c["lost_median"]) == gradients.BACK
        assert all(a >= b for a, b in zip(c["p90"], c["p10"]))
    assert [u for u, *_ in data["radius"]] == [0, 15, 30, 60]  # and always at the checkpoints
    for _, rho, sigma in data["radius"]:
        assert 0 < rho <= sigma + 1e-12  # the spectral radius never exceeds the largest singular value
    assert "| 60 |" in gradients.table(json.loads(json.dumps(data)))
    assert "| 60 |" in gradients.lost_table(json.loads(json.dumps(data)))


def test_the_gradients_table_is_made_from_the_committed_run():
    gradients = script("gradients")
    data = json.loads((MAKE / "gradients.json").read_text())
    assert [int(u) for u in data["checkpoints"]] == list(gradients.CHECKPOINTS)
    assert (MAKE / "gradients_table.md").read_text() == gradients.table(data)
    assert (MAKE / "gradients_lost.md").read_text() == gradients.lost_table(data)


# ---- the gradient check's error against h ----


def test_the_gradcheck_error_follows_its_model(corpus):
    """Truncation falls as h^2, rounding grows as 1/h, float32 cannot reach the tolerance."""
    ge = script("gradcheck_error")
    steps = [1e-9, 1e-8, 1e-4, 1e-2, 1e-1]
    data = ge.measure(corpus.ids, corpus.K, m=3, steps=steps)
    rel64, rel32 = data["float64"]["rel_error"], data["float32"]["rel_error"]
    assert 30 < rel64[4] / rel64[3] < 300  # truncation: a factor 100 per decade of h
    assert 3 < rel64[0] / rel64[1] < 30  # rounding: a factor 10 per decade, the other way
    assert rel64[2] < 1e-8 < min(rel64[0], rel64[4])  # h = 1e-4 at the bottom of the valley
    assert min(rel32) > 1e-6  # float32 fails the tolerance at every h


def test_the_gradcheck_error_table_is_made_from_the_committed_measurement():
    ge = script("gradcheck_error")
    data = json.loads((MAKE / "gradcheck_error.json").read_text())
    assert (MAKE / "gradcheck_error_table.md").read_text() == ge.table(data)
    assert data["n"] == 1163 and data["L"] == pytest.approx(25 * np.log(103), rel=1e-3)


@pytest.mark.slow
def test_the_gradcheck_error_measurement_is_reproduced():
    """The committed figure's numbers, measured again (within a factor 2: rounding differs by machine)."""
    from common.data import builtin_corpus

    ge = script("gradcheck_error")
    committed = json.loads((MAKE / "gradcheck_error.json").read_text())
    corpus = builtin_corpus()
    steps = [1e-8, 1e-4, 1e-2]
    fresh = ge.measure(corpus.ids, corpus.K, steps=steps)
    for dtype in ("float64", "float32"):
        for h, value in zip(steps, fresh[dtype]["rel_error"]):
            old = committed[dtype]["rel_error"][committed["steps"].index(h)]
            assert old / 2 < value < old * 2, (dtype, h, value, old)


# ---- sampling: the equations on the page are what the sampler draws from ----


@pytest.mark.parametrize("temperature, top_p", [(1.0, 1.0), (1.7, 0.6), (0.5, 0.9), (0.0, 1.0)])
def test_the_sampler_draws_from_eqs_21_and_22(temperature, top_p):
    from common.sampling import choose

    sampling = script("sampling")
    o = np.random.default_rng(3).normal(0, 2, 12)  # (K,) logits
    n = 20_000  # u on a grid: each boundary is off by at most 1/n
    drawn = np.bincount([choose(o, (j + 0.5) / n, temperature, top_p) for j in range(n)], minlength=12) / n
    np.testing.assert_allclose(drawn, sampling.probabilities(o, temperature, top_p), atol=1.1e-4)


def test_what_starting_from_zero_costs_is_measured_on_the_model(corpus):
    sampling = script("sampling")
    backend, state = sampling.trained(corpus, updates=150, m=12)
    ids = corpus.ids[:200]
    states, losses = sampling.read(backend, state.theta, np.zeros((12, 1)), ids)
    x, y = ids[:-1].reshape(-1, 1), ids[1:].reshape(-1, 1)
    loss, cache = backend.forward(state.theta, x, y, np.zeros((12, 1)))
    assert sum(losses) == pytest.approx(loss, rel=1e-10)  # the per-character losses add up to eq. (5)
    np.testing.assert_allclose(states[-1], cache.H[-1][:, 0], atol=1e-12)
    r = sampling.reset_effect(backend, state.theta, corpus.ids, places=12, warm=20, steps=15)
    assert len(r["distance_zero_warm"]) == 16 and len(r["loss_from_zero"]) == 15
    assert r["distance_zero_warm"][0] == pytest.approx(r["state_norm_median"])  # at t = 0: |h_warm - 0|
    assert 0 <= r["saturated"] <= 1 and 0 < r["mean_abs_h"] < 1
    assert r["W_radius"] <= r["W_norm"] + 1e-12
    samples = sampling.samples(backend, corpus, state.theta, state.h, [(1.0, 1.0), (0.0, 1.0)], length=30)
    assert [len(text) for *_, text in samples] == [30, 30]


# ---- the new pages render in a browser with nothing wider than the page ----

NEW_PAGES = ["unrolled", "worked-example", "minchar", "gradients", "gradcheck-error", "sampling"]
MEASURE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const wide = [];
  for (const e of document.querySelectorAll("div.arithmatex, .md-typeset__scrollwrap, pre > code, img")) {
    const over = e.tagName === "IMG" ? e.getBoundingClientRect().right > innerWidth : e.scrollWidth > e.clientWidth + 1;
    if (over) wide.push(e.tagName + ":" + (e.textContent || e.getAttribute("src")).slice(0, 60));
  }
  const out = document.createElement("div");
  out.id = "overflow-report";
  out.textContent = JSON.stringify({wide, maths: document.querySelectorAll("mjx-container").length});
  document.body.appendChild(out);
}, 3000));
</script>"""


@pytest.mark.slow
@pytest.mark.parametrize("page", NEW_PAGES)
def test_the_new_pages_render_without_overflow(site, server, tmp_path, page):  # noqa: F811
    from tests.test_docs import chromium

    html = site / page / "index.html"
    probe = html.with_name("probe.html")
    probe.write_text(html.read_text().replace("</body>", MEASURE + "</body>"))
    dom = chromium("--window-size=1280,1600", "--dump-dom", f"{server}/{page}/probe.html", tmp=tmp_path).stdout
    report = re.search(r'<div id="overflow-report">(.*?)</div>', dom)
    assert report, f"{page}: the page did not finish loading"
    found = json.loads(report.group(1).replace("&quot;", '"'))
    assert found["maths"] > 0, f"{page}: no maths rendered"
    assert found["wide"] == [], f"{page}: wider than the page: {found['wide']}"


def test_the_sampling_page_is_made_from_the_committed_run():
    sampling = script("sampling")
    data = json.loads((MAKE / "sampling.json").read_text())
    assert (MAKE / "sampling_samples.md").read_text() == sampling.snippet(data)
    assert (MAKE / "sampling_reset.md").read_text() == sampling.reset_table(data)
    assert [[T, p] for T, p, _ in data["samples"]] == [list(s) for s in sampling.SETTINGS]
    assert all(len(text) == sampling.LENGTH for *_, text in data["samples"])


def test_adagrads_first_step_moves_every_weight_of_w_by_eta(corpus):
    gradients = script("gradients")
    rows = gradients.first_updates(corpus, n=2, m=10)
    assert rows[0][1] == pytest.approx(gradients.ETA, rel=1e-2)  # first step: eta |g| / sqrt(g^2 + eps)
    for _, largest, step, norm, rho in rows:
        assert largest <= gradients.ETA * (1 + 1e-12)  # AdaGrad never moves an entry by more than eta
        assert step <= gradients.ETA * 10 + 1e-12  # entries of at most eta: a norm of at most eta m
        assert rho <= norm + 1e-12
