"""The gradient check's error against its step h, in float64 and float32 (docs: gradcheck-error.md).

    python docs/make/gradcheck_error.py          (--plot: redraw from the json)

takes the setting of `python cli.py gradcheck` (Python's docs corpus, m = 5, seq_length 25,
seed 1, sigma 0.01, the first chunk, h_0 = 0), computes the analytic gradient once in float64,
and for each h the centred differences of eq. (14) with common/gradcheck.py through the NumPy
backend in float64 and in float32. It writes docs/make/gradcheck_error.json,
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

STEPS = [float(f"{h:.1e}") for h in np.logspace(-10, 0, 21)]  # 1e-10, 3.2e-10, ..., 1
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
    rows = ["| $h$ | rel_error, float64 | rel_error, float32 |", "|---:|---:|---:|"]
    for h in shown:
        i = data["steps"].index(h)
        rows.append(f"| {h:.0e} | {data['float64']['rel_error'][i]:.1e} | {data['float32']['rel_error'][i]:.1e} |")
    return "\n".join(rows) + "\n"


def plot(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = np.array(data["steps"])
    fig, ax = plt.subplots(figsize=(10, 4.6), layout="constrained")
    for j, dtype in enumerate(EPS):
        ax.loglog(h, data[dtype]["rel_error"], "o-", color=f"C{j}", ms=4, label=f"measured, {dtype}")
        ax.loglog(
            h, rounding_model(data, dtype), ":", color=f"C{j}", label=rf"rounding $\approx \epsilon|L|/h$, {dtype}"
        )
    rel64 = np.array(data["float64"]["rel_error"])
    top = int(np.argmax(h >= 1e-2))  # fit the O(h^2) line where truncation alone shows (h = 1e-2)
    ax.loglog(h, rel64[top] * (h / h[top]) ** 2, "--", color="grey", label=r"truncation $\propto h^2$")
    ax.axvline(1e-4, color="C3", lw=1, label="$h = 10^{-4}$ (the default)")
    ax.axhline(1e-6, color="C3", lw=1, ls="-.", label="tolerance $10^{-6}$")
    ax.set_ylim(1e-12, 10)
    ax.set_xlabel("step $h$ of the centred difference")
    ax.set_ylabel("rel_error, eq. (15), all parameters")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.text(0.005, 0.005, "python docs/make/gradcheck_error.py", fontsize=7, color="grey")
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


DATA = Path(__file__).with_name("gradcheck_error.json")

if __name__ == "__main__":
    if sys.argv[1:] == ["--plot"]:  # redraw from the json
        data = json.loads(DATA.read_text())
    else:
        corpus = builtin_corpus()
        data = measure(corpus.ids, corpus.K)
        DATA.write_text(json.dumps(data, indent=1) + "\n")
    DATA.with_name("gradcheck_error_table.md").write_text(table(data))
    plot(data, ROOT / "docs" / "img" / "gradcheck_error.png")
    print(table(data))
