"""What single hidden units track: features a reader can see, correlated with h_t (docs: neurons.md).

Each feature gives one number per character of a passage, read as "after reading this
character": 1 inside a quotation, the position in the line, and so on. Each unit's activation
h_t[i] over the passage is correlated (Pearson's r) with each feature; the unit with the largest
|r| is the one that best tracks that feature. A correlation is a linear summary: a unit can track
a feature well and still score low if it fires only at the feature's edges.
"""

from pathlib import Path

import numpy as np

from common.contract import Params
from common.errors import BadInput
from common.run import inputs
from common.run.checkpoint import describe, load_model, model_file

WARMUP = 1000  # characters read before the passage, so that h_t is the state of a model mid-text
QUOTES_OPEN, QUOTES_CLOSE = "\u201c", "\u201d"  # curly double quotes; the straight one toggles


def in_quotes(text: str) -> np.ndarray:
    """1 from an opening double quote up to (not including) its closing one."""
    inside, out = False, np.zeros(len(text))
    for t, ch in enumerate(text):
        if ch == '"':
            inside = not inside
        elif ch in QUOTES_OPEN + QUOTES_CLOSE:
            inside = ch == QUOTES_OPEN
        out[t] = inside
    return out


def since(text: str, restart) -> np.ndarray:
    """Characters since the last one where restart(ch) holds (0 on that one)."""
    n, out = 0, np.zeros(len(text))
    for t, ch in enumerate(text):
        n = 0 if restart(ch) else n + 1
        out[t] = n
    return out


def capitalised_word(text: str) -> np.ndarray:
    """1 on the letters of a word whose first letter is a capital."""
    capital, out = False, np.zeros(len(text))
    for t, ch in enumerate(text):
        if not ch.isalpha():
            capital = False
        elif t == 0 or not text[t - 1].isalpha():
            capital = ch.isupper()
        out[t] = capital
    return out


def after_sentence_end(text: str) -> np.ndarray:
    """1 from a full stop, ! or ? up to the next letter (where a capital is due)."""
    waiting, out = False, np.zeros(len(text))
    for t, ch in enumerate(text):
        waiting = ch in ".!?" or (waiting and not ch.isalpha())
        out[t] = waiting
    return out


# name -> (what a reader sees, the feature)
FEATURES = {
    "quotes": ("inside a quotation", in_quotes),
    "line": ("position in the line", lambda s: since(s, lambda ch: ch == "\n")),
    "word": ("inside a word (a letter)", lambda s: np.array([ch.isalpha() for ch in s], dtype=float)),
    "word-position": ("position in the word", lambda s: since(s, lambda ch: not ch.isalpha())),
    "capital": ("in a word that starts with a capital", capitalised_word),
    "sentence-end": ("after the end of a sentence", after_sentence_end),
    "space": ("a space", lambda s: np.array([ch == " " for ch in s], dtype=float)),
    "vowel": ("a vowel (a, e, i, o, u)", lambda s: np.array([ch in "aeiouAEIOU" for ch in s], dtype=float)),
}


def features(text: str, names: list[str]) -> np.ndarray:
    """Each named feature of each character, (T, F)."""
    return np.stack([FEATURES[n][1](text) for n in names], axis=1)  # (T, F)


def model(path: Path, which: str = "best") -> tuple[Params, dict, np.ndarray, str]:
    """Parameters, meta, the h_0 that goes with them, and where they come from.

    best.npz holds the best parameters and the hidden state saved with them; a checkpoint's last
    parameters (which="last") go with the hidden state training left with them: states the model
    reads well from. From h = 0, or from another update's h, a trained model can fall into another
    attractor and never leave it (docs: neurons.md#where-h-starts). A file that holds no h
    (written before version 2) starts from h = 0.
    """
    path = model_file(path, which)
    found = load_model(path, which)  # h: (m, 1) or None
    origin = describe(path, found, which)
    if found.h is None or not np.isfinite(found.h).all():
        return found.params, found.meta, np.zeros(int(found.meta["hidden"])), f"{origin}, from h = 0"
    return found.params, found.meta, found.h[:, 0].astype(float), f"{origin}, from the h saved with it"


def activations(p: Params, ids: np.ndarray, warmup: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """h_t after each character of ids by eqs. (1)-(2) (docs: model.md), from h0 and then warmup; (T, m)."""
    U, W, b = p.U, p.W, p.b[:, 0]
    h = h0  # (m,)
    for x in warmup:
        h = np.tanh(W @ h + U[:, x] + b)  # (m,)
    H = np.empty((len(ids), len(h)))  # (T, m)
    for t, x in enumerate(ids):
        h = H[t] = np.tanh(W @ h + U[:, x] + b)  # (m,)
    return H


def bits_per_char(p: Params, H: np.ndarray, ids: np.ndarray) -> float:
    """How well the model reads the passage: mean -log2 p_t[next character] by eqs. (3)-(5) (docs: model.md)."""
    O = H[:-1] @ p.V.T + p.c[:, 0]  # (T - 1, K)  o_t for every step but the last
    O -= O.max(axis=1, keepdims=True)  # softmax is shift-invariant
    loss = np.log(np.exp(O).sum(axis=1)) - O[np.arange(len(O)), ids[1:]]  # (T - 1,)  nats
    return float(loss.mean() / np.log(2))


def correlations(H: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Pearson's r of every unit (column of H) with every feature (column of F), (m, F); 0 where either is flat."""
    Hc, Fc = H - H.mean(axis=0), F - F.mean(axis=0)  # (T, m), (T, F)
    num = Hc.T @ Fc  # (m, F)
    den = np.sqrt((Hc * Hc).sum(axis=0))[:, None] * np.sqrt((Fc * Fc).sum(axis=0))[None, :]  # (m, F)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 1e-12)


def probe(H: np.ndarray, F: np.ndarray) -> np.ndarray:
    """r of the best linear readout of all units (least squares, fitted on the first half, measured on
    the second), (F,): how much of each feature h_t holds at all, spread over the units or not."""
    X = np.hstack([H, np.ones((len(H), 1))])  # (T, m + 1)
    half = len(H) // 2
    w = np.linalg.lstsq(X[:half], F[:half], rcond=None)[0]  # (m + 1, F)
    return np.diag(correlations(X[half:] @ w, F[half:]))  # (F,)


def pick(H: np.ndarray, text: str, names: list[str]) -> list[tuple[str, int, float, float]]:
    """(feature, unit, r, r of all units) for each named feature that varies in text: the unit with the largest |r|."""
    F = features(text, names)  # (T, F)
    R = correlations(H, F)  # (m, F)
    best = np.abs(R).argmax(axis=0)  # (F,)
    whole = probe(H, F)  # (F,)
    return [(n, int(best[j]), float(R[best[j], j]), float(whole[j])) for j, n in enumerate(names) if F[:, j].std() > 0]


def passage(data: Path | None, text: str | None, start: int, length: int) -> tuple[str, str, str]:
    """(name, warm-up text, passage): length characters of data from start, or text itself.

    The warm-up is the WARMUP characters before the passage, or the passage itself when it starts
    the text: either way h_t is measured on a model that has already been reading.
    """
    if (data is None) == (text is None):
        raise BadInput("give the passage as exactly one of --data PATH or --text STRING")
    if start < 0 or length < 2:
        raise BadInput(f"--start must be >= 0 and --length >= 2 (got {start} and {length})")
    name, whole = (data.name, inputs.text(data).text) if data is not None else ("--text", text)
    piece = whole[start : start + length]
    if len(piece) < 2:
        raise BadInput(f"{name} has {len(whole)} characters: nothing to show from --start {start}")
    return name, whole[max(0, start - WARMUP) : start] or piece, piece


def table(picks: list[tuple[str, int, float, float]], names: list[str]) -> str:
    """The picks as lines a terminal shows."""
    lines = [f"{'feature':<15}{'unit':>6}{'r':>8}{'all units':>11}  what a reader sees"]
    lines += [f"{n:<15}{u:>6}{r:>+8.2f}{a:>+11.2f}  {FEATURES[n][0]}" for n, u, r, a in picks]
    flat = [n for n in names if n not in {p[0] for p in picks}]
    return "\n".join(lines + ([f"not in the passage (no variation): {', '.join(flat)}"] if flat else []))
