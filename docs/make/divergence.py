"""How fast two correct trainings part (docs: determinism.md).

    python docs/make/divergence.py [--data PATH] [--updates N]    (--tables: rewrite from the json)


From the same initial weights (seed 1, m = 100, float64, seq_length 25), it trains the NumPy
backend, the NumPy backend again with one weight of W changed by 1 part in 10^15, min-char-rnn
(common/tools/minchar.py) and the torch backend (CPU), update by update on the same chunks, and
prints the relative gap between each one's loss and NumPy's: at a few updates, the first update
where it passes 1e-6 and 1e-2, and the smooth losses at the end. Default text: Python's docs corpus.
Run with neither option, it writes docs/make/divergence.json (the gaps, the machine) and
docs/make/divergence_table.md, which the page includes.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import backends  # noqa: E402
from common.contract import Layout, Optimizer  # noqa: E402
from common.data import Streams, builtin_corpus, read_corpus  # noqa: E402
from common.tools.minchar import MinCharRNN  # noqa: E402
from common.weights import init_theta  # noqa: E402
from docs.make import provenance  # noqa: E402

SEED, M, TAU, ETA, UPDATES = 1, 100, 25, 0.1, 1000
MARKS = (1, 10, 20, 30, 50, 100, 200, 500, 1000, 10_000, 30_000, 100_000)
LIMITS = (1e-6, 1e-2)
NUDGED, MINCHAR, TORCH = "NumPy, one weight of W changed by 1 part in 10^15", "min-char-rnn", "torch (CPU)"
DATA = Path(__file__).with_name("divergence.json")


def losses(step, h0, streams: Streams, updates: int) -> np.ndarray:
    """The loss of every update; h is reset at each epoch start, as in training."""
    out, h = [], h0
    for i in range(updates):
        if i % streams.chunks == 0:
            h = h0
        x, y = streams.chunk(i % streams.chunks)
        loss, h = step(x, y, h)
        out.append(loss)
    return np.array(out)


def backend_losses(name, options, layout, theta0, streams, updates) -> np.ndarray:
    model = backends.load(name, layout, "float64", **options)
    theta, mem = model.to_device(theta0), model.to_device(np.zeros_like(theta0))
    h0 = model.to_device(np.zeros((layout.m, 1)))
    return losses(lambda x, y, h: model.step(theta, mem, x, y, h, Optimizer("adagrad", ETA), 1), h0, streams, updates)


def smooth(loss) -> float:
    """Eq. (13) over the whole run."""
    s = loss[0]
    for v in loss[1:]:
        s = 0.999 * s + 0.001 * v
    return float(s)


def record(corpus, updates: int) -> dict:
    """Every update's loss for NumPy and the relative gap of each other run to it."""
    layout = Layout(corpus.K, M)
    theta = init_theta(layout, 0.01, SEED)
    nudged = theta.copy()
    nudged[layout.slices()["W"].start + 17] *= 1 + 1e-15
    streams = Streams(corpus.ids, TAU, 1)
    ref = backend_losses("numpy", {}, layout, theta, streams, updates)
    rnn = MinCharRNN(layout.unpack(theta))
    others = {
        NUDGED: backend_losses("numpy", {}, layout, nudged, streams, updates),
        MINCHAR: losses(lambda x, y, h: rnn.step(x[:, 0], y[:, 0], h, ETA), np.zeros((M, 1)), streams, updates),
    }
    if backends.why_not("torch", device="cpu") is None:
        others[TORCH] = backend_losses("torch", {"device": "cpu"}, layout, theta, streams, updates)
    return {
        "updates": updates,
        "smooth": {"NumPy": smooth(ref), **{name: smooth(v) for name, v in others.items()}},
        "gap": {name: [float(f"{g:.3g}") for g in np.abs(v - ref) / ref] for name, v in others.items()},
    }


def sci(v: float) -> str:
    return "0" if v == 0 else f"{v:.1e}".replace("e-0", "e-")


def first_above(gap: list, limit: float) -> int | None:
    return next((i + 1 for i, g in enumerate(gap) if g > limit), None)


def table(d: dict) -> str:
    """The table of docs/determinism.md: the gap at a few updates, and the first update past each limit."""
    names = list(d["gap"])
    rows = ["| update | " + " | ".join(names) + " |", "|---:|" + "---:|" * len(names)]
    for k in (k for k in MARKS if k <= d["updates"]):
        rows.append(f"| {k:,} | " + " | ".join(sci(d["gap"][n][k - 1]) for n in names) + " |")
    for limit in LIMITS:
        first = [first_above(d["gap"][n], limit) for n in names]
        cells = " | ".join("never" if f is None else f"{f:,}" for f in first)
        rows.append(f"| first update with a gap > {sci(limit).replace('.0', '')} | {cells} |")
    return "\n".join(rows) + "\n"


def quotes(d: dict) -> dict:
    """The figures docs/determinism.md and reproduction.md quote."""
    s, n = d["smooth"], d["updates"]
    per_char = s["NumPy"] / TAU
    out = {
        "updates": f"{n:,}",
        "smooth_numpy": f"{s['NumPy']:.2f}",
        "smooth_numpy_nats": f"{per_char:.2f}",
        "smooth_numpy_bits": f"{per_char / math.log(2):.2f}",
        "smooth_others": ", ".join(f"{s[k]:.2f}" for k in d["gap"]),
    }
    for limit, key in zip(LIMITS, ("6", "2")):
        for name, short in ((NUDGED, "nudged"), (MINCHAR, "minchar"), (TORCH, "torch")):
            if name in d["gap"]:
                f = first_above(d["gap"][name], limit)
                out[f"{short}_1e{key}"] = "never" if f is None else f"{f:,}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="a text file (default: Python's docs corpus)")
    ap.add_argument("--updates", type=int, default=UPDATES)
    ap.add_argument("--tables", action="store_true", help="rewrite the page's table from docs/make/divergence.json")
    args = ap.parse_args()
    if args.tables:
        out = json.loads(DATA.read_text())
        out["quote"] = quotes(out["run"])
        DATA.write_text(json.dumps(out))
        DATA.with_name("divergence_table.md").write_text(table(out["run"]))
        return
    corpus = read_corpus(args.data) if args.data else builtin_corpus()
    d = record(corpus, args.updates)
    print(f"{corpus.name} (K = {corpus.K}), m = {M}, seq_length {TAU}, float64, seed {SEED}, {args.updates:,} updates")
    print("relative gap |L - L_numpy| / L_numpy of each update's loss:")
    print(table(d))
    print("smooth loss at the end: " + ", ".join(f"{k} {v:.2f}" for k, v in d["smooth"].items()))
    if args.data is None and args.updates == UPDATES:
        DATA.write_text(json.dumps({"provenance": provenance.record(corpus, torch=True), "quote": quotes(d), "run": d}))
        DATA.with_name("divergence_table.md").write_text(table(d))
        print(f"wrote {DATA} and divergence_table.md")


if __name__ == "__main__":
    main()
