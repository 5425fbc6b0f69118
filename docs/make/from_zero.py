"""Sampling from the saved hidden state or from h = 0, on short goblet models (docs: training.md).

    python docs/make/from_zero.py goblet_book.txt

trains the NumPy backend with the default hyperparameters for 3,000 updates from each of seeds 1 to
10 (in this process, through common/run/train.py, as `train --updates 3000` does), and from each
best model samples 1,000 characters five times (sampling seeds 0 to 4) from the hidden state saved
with it and five times from h = 0 (primed with a newline, as `sample --from-zero` is). It measures
the share of each sample that is letters, spaces and the text's punctuation, and the spectral
radius of W. It writes docs/make/from_zero.json and docs/make/from_zero_table.md; no sample text.
"""

import json
import string
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backends.numpy_backend import NumpyBackend  # noqa: E402
from common.contract import Layout  # noqa: E402
from common.data import read_corpus  # noqa: E402
from common.rng import stream  # noqa: E402
from common.run.config import Config  # noqa: E402
from common.run.train import start, train  # noqa: E402
from common.sampling import sample  # noqa: E402
from common.weights import init_theta  # noqa: E402
from docs.make import provenance  # noqa: E402

UPDATES, SEEDS, DRAWS, LENGTH = 3000, range(1, 11), range(5), 1000
READABLE = set(string.ascii_letters + " \n.,;:'\"!?-")  # as tests/test_sampling.py counts
DATA = Path(__file__).with_name("from_zero.json")


def readable(ids: list[int], chars: list[str]) -> float:
    return sum(chars[i] in READABLE for i in ids) / len(ids)


def model(corpus, seed: int, updates: int = UPDATES) -> dict:
    """One short model: W's spectral radius and the readable share of each sample from each start."""
    cfg = Config(updates=updates, seed=seed, sample_every=0)
    backend = NumpyBackend(Layout(corpus.K, cfg.hidden))
    state = train(backend, corpus, cfg, start(backend, init_theta(backend.layout, cfg.sigma, seed), 1))
    theta = state.best_theta
    W = backend.layout.views(theta).W
    newline = corpus.chars.index("\n")
    out = {"radius": float(np.abs(np.linalg.eigvals(W)).max()), "saved": [], "zero": []}
    for draw in DRAWS:
        saved = sample(backend, theta, state.best_h, [state.best_x_next], LENGTH, stream(draw, "cli-sample"))
        zero = sample(backend, theta, np.zeros_like(state.best_h), [newline], LENGTH, stream(draw, "cli-sample"))
        out["saved"].append(readable(saved, corpus.chars))
        out["zero"].append(readable(zero, corpus.chars))
    return out


def table(d: dict) -> str:
    rows = [
        "| seed | spectral radius of $W$ | readable, from the saved state | readable, from $h = 0$ |",
        "|---:|---:|---:|---:|",
    ]
    for seed, r in d["models"].items():
        saved, zero = (f"{min(r[k]):.1%} to {max(r[k]):.1%}" for k in ("saved", "zero"))
        rows.append(f"| {seed} | {r['radius']:.1f} | {saved} | {zero} |")
    return "\n".join(rows) + "\n"


def quotes(d: dict) -> dict:
    models = d["models"].values()
    stuck = [s for s, r in d["models"].items() if min(r["zero"]) < 0.9]
    return {
        "models": f"{len(models)}",
        "saved_low": f"{min(min(r['saved']) for r in models):.1%}",
        "zero_stuck": f"{len(stuck)}",
        "zero_low": f"{min(min(r['zero']) for r in models):.0%}",
        "radius_low": f"{min(r['radius'] for r in models):.1f}",
        "radius_high": f"{max(r['radius'] for r in models):.1f}",
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__.splitlines()[2].strip())
    corpus = read_corpus(Path(sys.argv[1]))
    d = {"models": {str(seed): model(corpus, seed) for seed in SEEDS}}
    out = {"provenance": provenance.record(corpus), "quote": quotes(d), "run": d}
    DATA.write_text(json.dumps(out, indent=1) + "\n")
    DATA.with_name("from_zero_table.md").write_text(table(d))
    print(table(d), json.dumps(out["quote"], indent=1), sep="\n")


if __name__ == "__main__":
    main()
