"""The gradient check's error against its step h, in float64 and float32 (docs: gradcheck-error.md).

    python docs/make/gradcheck_error.py          (--plot: redraw from the json)

takes the setting of `python cli.py gradcheck` (Python's docs corpus, m = 5, seq_length 25,
seed 1, sigma 0.01, the first chunk, h_0 = 0), computes the analytic gradient once in float64,
and for each h the centred differences of eq. (14) with common/gradcheck.py through the NumPy
backend in float64 and in float32. It writes docs/make/gradcheck_error.json (with the figures the
page quotes and the machine: rounding depends on the BLAS's order of additions),
docs/make/gradcheck_error_table.md and docs/img/gradcheck_error.png.
"""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backends.numpy_backend import NumpyBackend  # noqa: E402
from common.contract import Layout  # noqa: E402
from common.data import Streams, builtin_corpus  # noqa: E402
from common.gradcheck import errors, numerical_gradient  # noqa: E402
from common.weights import init_theta  # noqa: E402
from docs.make import panels, provenance  # noqa: E402

STEPS = [float(f"{h:.1e}") for h in np.logspace(-10, 0, 21)]  # 1e-10, 3.2e-10, ..., 1
DEFAULT, TOLERANCE = 1e-4, 1e-6  # the command's h and its pass mark
M, TAU, SEED, SIGMA = 5, 25, 1, 0.01
EPS = {"float64": float(np.finfo(np.float64).eps), "float32": float(np.finfo(np.float32).eps)}


def measure(ids: np.ndarray, K: int, m: int = M, steps=STEPS) -> dict:
    """rel_error (eq. 15, all parameters together) and the largest |a_i - n_i| for each h and dtype."""
    layout = Layout(K, m)
    x, y = Streams(ids, TAU, 1).chunk(0)
    theta, h0 = init_theta(layout, SIGMA, SEED), np.zeros((m, 1))
    exact = NumpyBackend(layout, "float64")
    L, cache = exact.forward(theta, x, y, h0)
    a = exact.backward(theta, cache)  # the analytic gradient, float64: the truth for both dtypes
    out = {"L": L, "grad_norm": float(np.linalg.norm(a)), "n": int(a.size), "steps": list(steps)}
    for dtype in EPS:
        backend = NumpyBackend(layout, dtype)
        rel, worst = [], []
        for h in steps:
            e = errors(a, numerical_gradient(backend, theta.copy(), x, y, h0, h))
            rel.append(e.rel_error)
            worst.append(e.max_abs_error)
        out[dtype] = {"rel_error": rel, "max_abs_error": worst}
    return out


def rounding_model(data: dict, dtype: str) -> np.ndarray:
    """rel_error from rounding alone: each loss is off by about eps |L|, so n_i by about eps |L| / h."""
    h = np.array(data["steps"])
    per_entry = EPS[dtype] * abs(data["L"]) / h
    return np.sqrt(data["n"]) * per_entry / (2 * data["grad_norm"])


def table(data: dict) -> str:
    shown = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8]
    rows = ["| $\\delta$ | rel_error, float64 | rel_error, float32 |", "|---:|---:|---:|"]
    for h in shown:
        i = data["steps"].index(h)
        rows.append(f"| {h:.0e} | {data['float64']['rel_error'][i]:.1e} | {data['float32']['rel_error'][i]:.1e} |")
    return "\n".join(rows) + "\n"


def sci(v: float, digits: int = 0) -> str:
    """1e-4 rather than 1e-04."""
    return f"{v:.{digits}e}".replace("e-0", "e-")


def decades(a: float, b: float) -> str:
    """How many decades (powers of ten) lie between a and b, to the nearest half."""
    d = round(2 * abs(np.log10(b / a))) / 2
    return f"{d:g}"


def quotes(data: dict) -> dict:
    """The figures docs/gradcheck-error.md quotes."""
    h = np.array(data["steps"])
    rel64, rel32 = np.array(data["float64"]["rel_error"]), np.array(data["float32"]["rel_error"])
    passing = h[rel64 < TOLERANCE]
    at = data["steps"].index(DEFAULT)
    best32 = int(np.argmin(rel32))
    model = rounding_model(data, "float64")
    below = (h >= 1e-10) & (h < 1e-5)  # where rounding alone shows in float64
    return {
        "L": f"{data['L']:.1f}",
        "default_error": sci(rel64[at]),
        "pass_low": sci(passing.min()),
        "pass_high": sci(passing.max(), 1),
        "decades_below": decades(passing.min(), DEFAULT),
        "decades_above": decades(DEFAULT, passing.max()),
        "margin": decades(rel64[at], TOLERANCE),
        "float32_default": sci(rel32[at]),
        "float32_best": sci(rel32[best32]),
        "float32_best_h": sci(h[best32]),
        "float32_over": f"{rel32[best32] / TOLERANCE:,.0f}",
        "model_factor": f"{np.median(model[below] / rel64[below]):.0f}",
    }


def plot(data: dict, path: Path) -> None:
    h = np.array(data["steps"])

    def draw(ax):
        for j, dtype in enumerate(EPS):
            ax.loglog(h, data[dtype]["rel_error"], "o-", color=f"C{j}", ms=4, label=f"measured, {dtype}")
            ax.loglog(h, rounding_model(data, dtype), ":", color=f"C{j}", label=f"rounding model, {dtype}")
        rel64 = np.array(data["float64"]["rel_error"])
        top = int(np.argmax(h >= 1e-2))  # fit the O(h^2) line where truncation alone shows (h = 1e-2)
        ax.loglog(h, rel64[top] * (h / h[top]) ** 2, "--", color="grey", label=r"truncation $\propto \delta^2$")
        ax.axvline(DEFAULT, color="C3", lw=1, label=r"$\delta = 10^{-4}$ (the default)")
        ax.axhline(TOLERANCE, color="C3", lw=1, ls="-.", label="tolerance $10^{-6}$")
        ax.set_ylim(1e-12, 10)
        ax.set_xlabel(r"step $\delta$ of the centred difference")
        ax.set_ylabel("rel_error, eq. (15)")
        ax.legend(fontsize=9, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)

    panels.save(path, draw, height=5.0)


DATA = Path(__file__).with_name("gradcheck_error.json")

if __name__ == "__main__":
    if sys.argv[1:] == ["--plot"]:  # redraw from the json
        data = json.loads(DATA.read_text())
    else:
        corpus = builtin_corpus()
        data = {"provenance": provenance.record(corpus), **measure(corpus.ids, corpus.K)}
    data["quote"] = quotes(data)
    DATA.write_text(json.dumps(data, indent=1) + "\n")
    DATA.with_name("gradcheck_error_table.md").write_text(table(data))
    plot(data, ROOT / "docs" / "img" / "gradcheck_error.png")
    print(table(data))
