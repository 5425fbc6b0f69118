"""Vanishing and exploding gradients, and what truncation costs, on a real run (docs: gradients.md).

    python docs/make/gradients.py goblet_book.txt

trains the NumPy backend with the default hyperparameters (m = 100, tau = 25, eta = 0.1,
sigma = 0.01, seed 1) for 100,000 updates and, at updates 0, 1k, 10k and 100k, runs the
model forward (no update) over the next chunks of the text and measures

- the norm of dh_tau / dh_{tau-k} = prod diag(1 - h_t^2) W over k = 1 ... 25 steps (eq. 8-9:
  the backward pass multiplies by the transpose, W^T diag(1 - h_t^2), which has the same norm);
- the part of the gradient that truncation drops: how much the loss of one chunk would still
  add to dW, dU, db if BPTT went on through the 25 and 75 steps before the chunk.

It writes docs/img/gradients.png, docs/make/gradients.json (the numbers, with the machine that made
them: docs/make/provenance.py), and
docs/make/gradients_table.md and gradients_lost.md (the tables docs/gradients.md includes).
"""

import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backends.numpy_backend import NumpyBackend  # noqa: E402
from common.contract import Layout, Optimizer  # noqa: E402
from common.data import Streams, read_corpus  # noqa: E402
from common.weights import init_theta  # noqa: E402
from docs.make import panels, provenance  # noqa: E402

CHECKPOINTS = (0, 1_000, 10_000, 100_000)
M, TAU, ETA, SIGMA, SEED = 100, 25, 0.1, 0.01, 1
MEASURED_CHUNKS = 100  # chunks measured at each checkpoint
BACK = 3  # chunks of history before a measured chunk, for the truncation cost
# updates at which W's spectral radius is measured: densely at first, where it changes fastest
RADIUS_AT = sorted({*range(0, 100, 5), *range(100, 1000, 50), *range(1000, 100_001, 500)})


def jacobian_norms(W: np.ndarray, H: np.ndarray) -> np.ndarray:
    """||dh_tau / dh_{tau-k}||_2 for k = 1 ... tau, from the hidden states H (tau + 1, m) of one chunk."""
    tau, m = H.shape[0] - 1, H.shape[1]
    J, norms = np.eye(m), []
    for t in range(tau, 0, -1):  # one more step back: J <- J diag(1 - h_t^2) W
        J = J @ ((1 - H[t] ** 2)[:, None] * W)  # (m, m)  dh_t / dh_{t-1} = diag(1 - h_t^2) W
        norms.append(np.linalg.norm(J, 2))
    return np.array(norms)


def jacobian(W: np.ndarray, H: np.ndarray) -> np.ndarray:
    """dh_tau / dh_0 (m, m) for the hidden states H (tau + 1, m) of one chunk."""
    J = np.eye(H.shape[1])
    for t in range(H.shape[0] - 1, 0, -1):
        J = J @ ((1 - H[t] ** 2)[:, None] * W)  # (m, m)
    return J


def da_of_chunk(layout: Layout, theta: np.ndarray, H: np.ndarray, P: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dL/da_t (tau, m) of one stream's chunk by eqs. (6), (8), (9), written out step by step."""
    U, W, V, b, c = layout.views(theta)
    tau = len(y)
    DA, da = np.zeros((tau, layout.m)), np.zeros(layout.m)
    for t in range(tau, 0, -1):
        g = P[:, t - 1].copy()  # (K,)  eq. (6)
        g[y[t - 1]] -= 1
        da = (V.T @ g + W.T @ da) * (1 - H[t] ** 2)  # (m,)  eqs. (8)-(9)
        DA[t - 1] = da
    return DA


def beyond(layout: Layout, theta: np.ndarray, da1: np.ndarray, history: list) -> list[np.ndarray]:
    """What BPTT would add to the flat gradient if it went on before the chunk, one entry per chunk of history.

    da1 is dL/da_1 of the chunk; history is [(x, H), ...] of the chunks before it, nearest first,
    with H (tau + 1, m) their hidden states. Entry j is the extra gradient after going back j + 1
    chunks (zero for V and c: the output layer does not cross the recurrence).
    """
    U, W, V, b, c = layout.views(theta)
    extra = np.zeros(layout.size)
    dU, dW, dV, db, dc = layout.views(extra)
    dh = W.T @ da1  # (m,)  dL/dh_0 of the chunk = dL/dh_tau of the chunk before
    out = []
    for x, H in history:
        for t in range(len(x), 0, -1):
            da = dh * (1 - H[t] ** 2)  # (m,)  eq. (9); no loss term of its own: only the later chunk's loss
            dW += np.outer(da, H[t - 1])  # eq. (10)
            dU[:, x[t - 1]] += da
            db[:, 0] += da
            dh = W.T @ da  # eq. (8) without V^T g_t
        out.append(extra.copy())
    return out


def measure(backend: NumpyBackend, theta: np.ndarray, streams: Streams, first: int, h: np.ndarray, n: int) -> dict:
    """Jacobian norms and truncation cost over chunks first ... first + n + BACK - 1, carrying h."""
    layout = backend.layout
    W = layout.views(theta).W
    norms, lost, history = [], {j: [] for j in range(BACK)}, []
    rec = np.concatenate([np.arange(s.start, s.stop) for name, s in layout.slices().items() if name in "UWb"])
    for i in range(first, first + n + BACK):
        i %= streams.chunks
        if i == 0:
            h, history = np.zeros_like(h), []  # an epoch starts from h = 0: no history before it
        x, y = streams.chunk(i)
        _, cache = backend.forward(theta, x, y, h)
        H = cache.H[:, :, 0]  # (tau + 1, m)
        g = backend.backward(theta, cache)
        if len(history) >= BACK:
            norms.append(jacobian_norms(W, H))
            da = da_of_chunk(layout, theta, H, cache.P, y[:, 0])
            for j, e in enumerate(beyond(layout, theta, da[0], history[:BACK])):
                lost[j].append(np.linalg.norm(e[rec]) / np.linalg.norm(g[rec]))
        history.insert(0, (x[:, 0], H))
        h = cache.H[-1]
    norms = np.array(norms)  # (n, tau)
    return {
        "median": np.median(norms, axis=0).tolist(),
        "p10": np.percentile(norms, 10, axis=0).tolist(),
        "p90": np.percentile(norms, 90, axis=0).tolist(),
        "lost_median": [float(np.median(v)) for v in lost.values()],
        "lost_p90": [float(np.percentile(v, 90)) for v in lost.values()],
    }


def spectral(W: np.ndarray) -> tuple[float, float]:
    """Spectral radius max |eigenvalue| and largest singular value of W."""
    return float(np.abs(np.linalg.eigvals(W)).max()), float(np.linalg.norm(W, 2))


def first_updates(corpus, n: int = 5, m: int = M) -> list[tuple]:
    """For each of the first n updates: the largest change of an entry of W, the norm of the change, ||W||_2, rho(W)."""
    layout = Layout(corpus.K, m)
    backend = NumpyBackend(layout)
    theta, mem = init_theta(layout, SIGMA, SEED), np.zeros(layout.size)
    streams, h = Streams(corpus.ids, TAU, 1), np.zeros((m, 1))
    rows = []
    for u in range(n):
        x, y = streams.chunk(u)
        before = layout.views(theta).W.copy()  # (m, m)
        _, h = backend.step(theta, mem, x, y, h, Optimizer("adagrad", ETA), u + 1)
        step = layout.views(theta).W - before  # (m, m)
        rho, norm = spectral(layout.views(theta).W)
        rows.append((u + 1, float(np.abs(step).max()), float(np.linalg.norm(step, 2)), norm, rho))
    return rows


def record(corpus, checkpoints=CHECKPOINTS, m=M, n=MEASURED_CHUNKS, radius_at=RADIUS_AT) -> dict:
    """Train (numpy, defaults, seed 1) to the last checkpoint, measuring at each checkpoint."""
    layout = Layout(corpus.K, m)
    backend = NumpyBackend(layout)
    theta, mem = init_theta(layout, SIGMA, SEED), np.zeros(layout.size)
    streams, h = Streams(corpus.ids, TAU, 1), np.zeros((m, 1))
    out = {"checkpoints": {}, "radius": [], "smooth": {}}
    smooth = math.nan
    radius_at = set(radius_at) | set(checkpoints)
    for u in range(checkpoints[-1] + 1):
        if u in radius_at:
            out["radius"].append((u, *spectral(layout.views(theta).W)))
        if u in checkpoints:
            out["checkpoints"][u] = measure(backend, theta, streams, u, h, n)
            out["smooth"][u] = smooth
        if u == checkpoints[-1]:
            break
        i = u % streams.chunks
        if i == 0:
            h = np.zeros((m, 1))
        x, y = streams.chunk(i)
        loss, h = backend.step(theta, mem, x, y, h, Optimizer("adagrad", ETA), u + 1)
        smooth = loss if u == 0 else 0.999 * smooth + 0.001 * loss
    return out


def table(data: dict) -> str:
    """The tables of docs/gradients.md#measured-on-a-real-run: the model and W; the norms of eq. (20)."""
    radius = {int(u): (r, n) for u, r, n in data["radius"]}
    one = [
        "| update | smooth loss (sum over 25) | per character | bits per character "
        "| spectral radius of $W$ | $\\lVert W \\rVert_2$ |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    two = ["| update | norm of (20), $k = 1$ | $k = 5$ | $k = 10$ | $k = 25$ |", "|---:|---:|---:|---:|---:|"]
    for u, c in data["checkpoints"].items():
        s, (rho, norm) = data["smooth"][u], radius[int(u)]
        loss = "- | - | -" if math.isnan(s) else f"{s:.1f} | {s / TAU:.2f} | {s / TAU / math.log(2):.2f}"
        one.append(f"| {int(u):,} | {loss} | {rho:.2f} | {norm:.2f} |")
        med = c["median"]
        two.append(f"| {int(u):,} | {med[0]:.3g} | {med[4]:.3g} | {med[9]:.3g} | {med[24]:.2g} |")
    return "\n".join(one) + "\n\n" + "\n".join(two) + "\n"


def lost_table(data: dict) -> str:
    """The table of docs/gradients.md#truncated-bptt: what truncation drops, relative to what it keeps."""
    rows = [
        "| update | lost, 25 steps back (median) | lost, 75 steps back (median) "
        "| lost, 25 steps back (90th percentile) |",
        "|---:|---:|---:|---:|",
    ]
    for u, c in data["checkpoints"].items():
        lost = c["lost_median"]
        rows.append(f"| {int(u):,} | {100 * lost[0]:.1f}% | {100 * lost[2]:.1f}% | {100 * c['lost_p90'][0]:.0f}% |")
    return "\n".join(rows) + "\n"


def first_table(data: dict) -> str:
    """What `--first-updates` prints: W in the first five updates (docs/gradients.md)."""
    rows = [
        "$ python docs/make/gradients.py --first-updates goblet_book.txt",
        "update  max |change of W_ij|  ||change of W||_2  ||W||_2  spectral radius",
    ]
    rows += ["{:6d}  {:20.4f}  {:17.2f}  {:7.2f}  {:15.2f}".format(*row) for row in data["first_updates"]]
    return "```text\n" + "\n".join(rows) + "\n```\n"


def quotes(data: dict) -> dict:
    """The figures docs/gradients.md quotes in its text."""
    radius = {int(u): (r, n) for u, r, n in data["radius"]}
    c = {int(u): v for u, v in data["checkpoints"].items()}
    last, trained = max(c), [u for u in c if u > 0]
    med = np.array(c[last]["median"])
    lost = [c[u]["lost_median"][0] for u in trained]
    agree = min(
        -math.log10(abs(c[u]["lost_median"][2] - c[u]["lost_median"][0]) / c[u]["lost_median"][0] + 1e-17) for u in c
    )
    five = data["first_updates"][-1]
    return {
        "radius_0": f"{radius[0][0]:.2f}",
        "norm_0": f"{radius[0][1]:.2f}",
        "shrink_0": f"{1 / c[0]['median'][0]:.0f}",
        "k25_0": f"10^{{{math.floor(math.log10(c[0]['median'][24]))}}}",  # TeX
        "radius_5": f"{five[4]:.1f}",
        "norm_5": f"{five[3]:.1f}",
        "radius_end": f"{radius[last][0]:.1f}",
        "norm_end": f"{radius[last][1]:.1f}",
        "k1_end": f"{med[0]:.1f}",
        "below_1_at": f"{int(np.argmax(med < 1)) + 1}",
        "k10_end": f"{med[9]:.2f}",
        "k25_low": f"{min(c[u]['median'][24] for u in trained):.0e}".replace("e-0", "e-"),
        "k25_high": f"{max(c[u]['median'][24] for u in trained):.0e}".replace("e-0", "e-"),
        "per_step": f"{(med[24] / med[0]) ** (1 / 24):.2f}",
        "k25_first": f"{c[min(trained)]['median'][24]:.1e}".replace("e-0", "e-"),
        "k25_last": f"{med[24]:.1e}".replace("e-0", "e-"),
        "p90_over_median": f"{c[last]['p90'][24] / med[24]:.0f}",
        "lost_low": f"{100 * min(lost):.0f}%",
        "lost_high": f"{100 * max(lost):.0f}%",
        "lost_0": f"{100 * c[0]['lost_median'][0]:.1f}%",
        "lost_p90_high": f"{100 * max(c[u]['lost_p90'][0] for u in trained):.0f}%",
        "agree_digits": f"{math.floor(agree)}",
        "bound_norm": f"{radius[last][1]:.1f}",
        "bound": f"10^{{{math.floor(24 * math.log10(radius[last][1]))}}}",  # TeX
    }


def plot(data: dict, path: Path) -> None:
    k = np.arange(1, TAU + 1)

    def products(a):
        for j, (u, c) in enumerate(data["checkpoints"].items()):
            a.semilogy(k, c["median"], color=f"C{j}", label=f"update {int(u):,}")
            a.fill_between(k, c["p10"], c["p90"], color=f"C{j}", alpha=0.2, lw=0)
        a.set_xlabel("k, steps back")
        a.set_ylabel(r"$\|\partial h_\tau / \partial h_{\tau-k}\|_2$")
        a.set_title("eq. (20) over k steps (median, 10-90%)")
        a.legend()

    def radius(b):
        u, rho, sigma = np.array(data["radius"]).T
        b.plot(u, rho, label="spectral radius of $W$")
        b.plot(u, sigma, label=r"largest singular value $\|W\|_2$")
        b.axhline(1, color="grey", ls=":", lw=1)
        b.set_xscale("symlog", linthresh=100)
        b.set_xlim(0, u[-1])
        b.set_xlabel("update (linear to 100, then logarithmic)")
        b.set_title("$W$ as training goes")
        b.legend()

    panels.save(path, products, radius)


DATA = Path(__file__).with_name("gradients.json")

if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python docs/make/gradients.py PATH/TO/goblet_book.txt  (or --plot: redraw from the json)")
    if sys.argv[1] == "--first-updates":  # python docs/make/gradients.py --first-updates PATH
        print(first_table({"first_updates": first_updates(read_corpus(sys.argv[2]))}).strip("`\n").split("\n", 2)[2])
        sys.exit()
    if sys.argv[1] == "--plot":
        data = json.loads(DATA.read_text())
    else:
        corpus = read_corpus(sys.argv[1])
        data = record(corpus)
        data["first_updates"] = first_updates(corpus)
        data["provenance"] = provenance.record(corpus)
    data["quote"] = quotes(data)
    DATA.write_text(json.dumps(data, indent=1) + "\n")
    here = Path(__file__).parent
    (here / "gradients_first.md").write_text(first_table(data))
    (here / "gradients_table.md").write_text(table(data))
    (here / "gradients_lost.md").write_text(lost_table(data))
    plot(data, ROOT / "docs" / "img" / "gradients.png")
    print(table(data))
