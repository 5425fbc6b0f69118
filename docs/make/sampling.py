"""Samples at several settings, and what starting from h = 0 does (docs: sampling.md).

    python docs/make/sampling.py

trains the NumPy backend on Python's docs corpus (the CLI's default text; free to quote) with
the default hyperparameters and seed 1 for 20,000 updates, through common/run/train.py, then

- samples 160 characters from the final weights and hidden state at several temperatures and
  top-p values (common/sampling.py), all from the same uniforms;
- reads the text from many places twice, once from h = 0 and once from the state the model had
  there (warmed up on the 100 characters before), and measures how far apart the two hidden
  states are after t characters and the loss of the t-th character in each case.

It writes docs/make/sampling.json (with the figures the page quotes and the machine that made
them), docs/make/sampling_samples.md, sampling_reset.md and docs/img/sampling.png (with one file per
panel). `--plot` redraws and rewrites them from the json.
"""

import json
import math
import sys
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backends.numpy_backend import NumpyBackend  # noqa: E402
from common.contract import Layout  # noqa: E402
from common.data import builtin_corpus  # noqa: E402
from common.rng import stream  # noqa: E402
from common.run.config import Config  # noqa: E402
from common.run.train import start, train  # noqa: E402
from common.sampling import sample  # noqa: E402
from common.weights import init_theta  # noqa: E402
from docs.make import panels, provenance  # noqa: E402

UPDATES, SEED, LENGTH, PRIME = 100_000, 1, 160, "The "
SETTINGS = [(1.0, 1.0), (0.8, 1.0), (0.5, 1.0), (1.5, 1.0), (1.0, 0.9), (1.0, 0.5), (0.0, 1.0)]  # (temperature, top_p)
WARM, STEPS, PLACES = 100, 40, 300  # characters of warm-up, characters followed, places in the text
MET = 0.01  # two hidden states closer than this have met


def probabilities(o: np.ndarray, temperature: float = 1.0, top_p: float = 1.0) -> np.ndarray:
    """The distribution the sampler draws from, as docs/sampling.md writes it (temperature, then top-p)."""
    if temperature == 0:
        return np.eye(len(o))[np.argmax(o)]
    q = np.exp((o - o.max()) / temperature)
    q /= q.sum()  # softmax(o / T)
    order = np.argsort(-q, kind="stable")
    k = int(np.searchsorted(np.cumsum(q[order]), top_p * (1 - 1e-12))) + 1  # smallest k with mass >= top_p
    kept = np.zeros_like(q)
    kept[order[:k]] = q[order[:k]]
    return kept / kept.sum()


def read(backend, theta, h: np.ndarray, ids) -> tuple[list[np.ndarray], list[float]]:
    """Feed ids[:-1] from h: the hidden states after each character and the loss of each next character."""
    states, losses = [], []
    for x, y in zip(ids[:-1], ids[1:]):
        h, o = backend.predict(theta, h, int(x))
        z = o - o.max()
        losses.append(float(np.log(np.exp(z).sum()) - z[y]))  # eq. (5), one term
        states.append(h[:, 0].copy())
    return states, losses


def reset_effect(backend, theta, ids: np.ndarray, places=PLACES, warm=WARM, steps=STEPS, seed=SEED) -> dict:
    """Read the text at `places` random places from h = 0 and from two warmed-up states; compare them.

    The warmed-up states have read the warm (and 2.5 warm) characters before the place, from h = 0.
    Per step t: the median distance between the states from h = 0 and from the first warm state,
    the same between the two warm states, the share of places where the state from h = 0 has met
    the warm one (distance below MET), and the mean loss of the t-th character from each start.
    Along the warm trajectories: how saturated the units are, and the mean log growth per step of
    a small perturbation (eq. 20 applied step by step: negative means the dynamics contract).
    """
    m, W = backend.layout.m, backend.layout.views(theta).W
    rng = np.random.default_rng(seed)
    starts = rng.integers(3 * warm, len(ids) - steps - 1, size=places)
    zero_warm, warm_warm, loss0, loss_warm, states, growth = [], [], [], [], [], []
    for s in starts:
        h1 = read(backend, theta, np.zeros((m, 1)), ids[s - warm : s + 1])[0][-1].reshape(m, 1)  # (m, 1)
        h2 = read(backend, theta, np.zeros((m, 1)), ids[s - 5 * warm // 2 : s + 1])[0][-1].reshape(m, 1)
        z, lz = read(backend, theta, np.zeros((m, 1)), ids[s : s + steps + 1])
        a, la = read(backend, theta, h1, ids[s : s + steps + 1])
        b, _ = read(backend, theta, h2, ids[s : s + steps + 1])
        zero_warm.append([np.linalg.norm(h1)] + [np.linalg.norm(p - q) for p, q in zip(z, a)])
        warm_warm.append([np.linalg.norm(h1 - h2)] + [np.linalg.norm(p - q) for p, q in zip(a, b)])
        loss0.append(lz)
        loss_warm.append(la)
        states += a
        v = rng.standard_normal(m)
        for h in a:  # a perturbation carried along the trajectory: v <- diag(1 - h_t^2) W v
            v = (1 - h**2) * (W @ v)  # (m,)
            growth.append(math.log(np.linalg.norm(v)))
            v /= np.linalg.norm(v)
    zero_warm, warm_warm, states = np.array(zero_warm), np.array(warm_warm), np.abs(np.array(states))
    return {
        "distance_zero_warm": np.median(zero_warm, axis=0).tolist(),
        "distance_warm_warm": np.median(warm_warm, axis=0).tolist(),
        "met": np.mean(zero_warm < MET, axis=0).tolist(),
        "loss_from_zero": np.mean(loss0, axis=0).tolist(),
        "loss_warm": np.mean(loss_warm, axis=0).tolist(),
        "state_norm_median": float(np.median(zero_warm[:, 0])),
        "mean_abs_h": float(states.mean()),
        "saturated": float(np.mean(states > 0.95)),
        "growth_per_step": float(np.mean(growth)),
        "W_norm": float(np.linalg.norm(W, 2)),
        "W_radius": float(np.abs(np.linalg.eigvals(W)).max()),
    }


def trained(corpus, updates=UPDATES, m=100):
    """The NumPy backend and the state after `updates` updates with the default hyperparameters."""
    cfg = Config(hidden=m, updates=updates, seed=SEED, sample_every=0)
    backend = NumpyBackend(Layout(corpus.K, m))
    state = train(backend, corpus, cfg, start(backend, init_theta(backend.layout, cfg.sigma, cfg.seed), 1))
    return backend, state


def samples(backend, corpus, theta, h, settings=SETTINGS, length=LENGTH) -> list[tuple[float, float, str]]:
    """length characters at each (temperature, top_p), from h, primed with PRIME, the same uniforms for all."""
    prime = [corpus.chars.index(ch) for ch in PRIME]
    out = []
    for T, top_p in settings:
        ids = sample(backend, theta, h.copy(), prime, length, stream(SEED, "cli-sample"), T, top_p)
        out.append((T, top_p, corpus.decode(ids)))
    return out


def shown(text: str, width: int = 70) -> str:
    """A sample as lines of at most width characters, its own line breaks shown as a return sign."""
    return "\n".join(textwrap.wrap(text.replace("\n", "\u21b5"), width, drop_whitespace=False)) or " "


def snippet(data: dict) -> str:
    smooth = data["smooth"]
    out = [
        "<!-- generated by python docs/make/sampling.py; do not edit -->",
        "",
        f"The model: {data['updates']:,} updates on Python's docs corpus (K = {data['K']}), smooth loss "
        f"{smooth:.1f} ({smooth / 25:.2f} per character, {smooth / 25 / math.log(2):.2f} bits per character). "
        f"Every sample starts from the hidden state training ended with, is primed with `{PRIME}` (not shown) "
        "and uses the same uniform random numbers; a return sign stands for a newline of the sample, and lines "
        "are wrapped at 70.",
        "",
    ]
    for T, top_p, text in data["samples"]:
        name = "greedy (argmax)" if T == 0 else f"temperature {T:g}, top-p {top_p:g}"
        out += [f"**{name}**", "", "```text", shown(text), "```", ""]
    return "\n".join(out)


def reset_table(data: dict) -> str:
    """The table of docs/sampling.md#why-h-0-is-an-unusual-state."""
    r, bits = data["reset"], 1 / math.log(2)
    z, w = np.array(r["loss_from_zero"]) * bits, np.array(r["loss_warm"]) * bits
    met = r["met"]
    rows = [
        (
            "median norm of the warmed-up state $\\lVert h \\rVert$ (the most possible: 10)",
            f"{r['state_norm_median']:.2f}",
        ),
        ("mean $\\lvert h_i \\rvert$ over units, characters and places", f"{r['mean_abs_h']:.2f}"),
        ("share of units with $\\lvert h_i \\rvert > 0.95$", f"{100 * r['saturated']:.0f}%"),
        (
            "$\\lVert W \\rVert_2$, spectral radius of $W$",
            f"{r['W_norm']:.1f}, {r['W_radius']:.1f}",
        ),
        (
            "mean log growth of a small perturbation per step along the text (factor per step)",
            f"{r['growth_per_step']:.2f} ({math.exp(r['growth_per_step']):.2f})",
        ),
        (
            "share of places where the state from $h = 0$ met the warmed-up one, after 10 / 20 / 40 characters",
            f"{100 * met[10]:.0f}% / {100 * met[20]:.0f}% / {100 * met[40]:.0f}%",
        ),
        ("bits for the first character, from $h = 0$ / warmed up", f"{z[0]:.2f} / {w[0]:.2f}"),
        (
            "bits per character over characters 1-10, from $h = 0$ / warmed up",
            f"{z[:10].mean():.2f} / {w[:10].mean():.2f}",
        ),
        (
            "bits per character over characters 11-40, from $h = 0$ / warmed up",
            f"{z[10:].mean():.2f} / {w[10:].mean():.2f}",
        ),
        ("extra bits in all, over the first 40 characters, from $h = 0$", f"{(z - w).sum():.1f}"),
    ]
    out = ["| measured (300 places, 40 characters each) | |", "|---|---:|"]
    return "\n".join(out + [f"| {name} | {value} |" for name, value in rows]) + "\n"


def period(text: str, tail: int = 60) -> str:
    """The shortest piece that repeats to make the last tail characters (from a word's start if it holds a
    space), or "" if they do not repeat."""
    end = text[-tail:]
    for p in range(1, tail // 2 + 1):
        if all(end[i] == end[i - p] for i in range(p, tail)):
            piece = end[-p:]
            cut = piece.find(" ") + 1
            return (piece[cut:] + piece[:cut]).strip()
    return ""


def quotes(data: dict) -> dict:
    """The figures docs/sampling.md (and gradients.md) quote in their text."""
    r, bits = data["reset"], 1 / math.log(2)
    z, w = np.array(r["loss_from_zero"]) * bits, np.array(r["loss_warm"]) * bits
    met = np.array(r["met"])
    close = np.flatnonzero(z - w <= 0.1)  # characters predicted within 0.1 bits of the warmed-up state
    greedy = next(text for T, _, text in data["samples"] if T == 0)
    warm = next(text for T, top_p, text in data["samples"] if (T, top_p) == (0.8, 1.0))
    return {
        "updates": f"{data['updates']:,}",
        "chunks": f"{data['chunks']:,}",
        "met_first": f"{int(np.argmax(met > 0))}",
        "met_end": f"{met[-1]:.0%}",
        "distance_end": f"{r['distance_zero_warm'][-1]:.0f}",
        "first_extra_bits": f"{z[0] - w[0]:.1f}",
        "settled": f"{close[0] + 1}" if len(close) else "never",
        "saturated": f"{r['saturated']:.0%}",
        "W_norm": f"{r['W_norm']:.1f}",
        "greedy_loop": period(greedy).replace("\n", "\u21b5"),
        "sample_08": shown(warm),  # what index.md shows a trained model write
        "per_char": f"{data['smooth'] / 25:.2f}",
        "perplexity": f"{math.exp(data['smooth'] / 25):.1f}",  # eq. (5a)
    }


def plot(data: dict, path: Path) -> None:
    r = data["reset"]
    t = np.arange(len(r["distance_zero_warm"]))

    def distance(a):
        a.plot(t, r["distance_zero_warm"], label="from $h = 0$ against warmed up")
        a.plot(t, r["distance_warm_warm"], label="two warm-ups, 100 and 250 characters")
        a.set_ylim(0, 1.15 * max(r["distance_warm_warm"]))
        a.set_xlabel("characters read, t")
        a.set_ylabel(r"median $\|h_t - h'_t\|$ (lines)")
        a.set_title("two states reading the same text")
        share = a.twinx()
        share.plot(t, r["met"], ls="--", color="C2", label="share of places where they met")
        share.set_ylim(0, 1)
        share.set_ylabel("share of places (dashed)")
        lines, more = a.get_legend_handles_labels(), share.get_legend_handles_labels()
        a.legend(lines[0] + more[0], lines[1] + more[1], fontsize=9, loc="lower right")

    def cost(b):
        k = np.arange(1, len(r["loss_warm"]) + 1)
        b.plot(k, np.array(r["loss_from_zero"]) / math.log(2), "o-", ms=3, label="from $h = 0$")
        b.plot(k, np.array(r["loss_warm"]) / math.log(2), "o-", ms=3, label="from the warmed-up state")
        b.set_xlabel("t, the character predicted")
        b.set_ylabel("bits per character (mean over places)")
        b.set_title("the cost of starting from $h = 0$")
        b.legend()

    panels.save(path, distance, cost)


DATA = Path(__file__).with_name("sampling.json")

if __name__ == "__main__":
    if sys.argv[1:] == ["--plot"]:  # redraw from the json
        data = json.loads(DATA.read_text())
    else:
        corpus = builtin_corpus()
        backend, state = trained(corpus)
        data = {
            "provenance": provenance.record(corpus),
            "updates": state.update,
            "chunks": (len(corpus.ids) - 1) // 25,
            "K": corpus.K,
            "smooth": state.smooth,
            "samples": samples(backend, corpus, state.theta, state.h),
            "zero_sample": samples(backend, corpus, state.theta, np.zeros((100, 1)), [(1.0, 1.0)])[0][2],
            "reset": reset_effect(backend, state.theta, corpus.ids),
        }
    data["quote"] = quotes(data)
    DATA.write_text(json.dumps(data, indent=1) + "\n")
    DATA.with_name("sampling_samples.md").write_text(snippet(data))
    DATA.with_name("sampling_reset.md").write_text(reset_table(data))
    plot(data, ROOT / "docs" / "img" / "sampling.png")
    print(snippet(data))
