"""The neurons page: a passage coloured by one hidden unit's h_t, one section per unit (docs: neurons.md).

Self-contained: one HTML file, its style inline, no script, no font, no URL. Each character is
one <span> whose background says h_t of that unit after reading it: red for h > 0, blue for
h < 0, deeper for larger |h|, in LEVELS steps each way; a newline shows as a return arrow; the
characters where a yes-or-no feature holds are underlined.
"""

import html
from pathlib import Path

import numpy as np

from common.data import encode
from common.errors import BadInput
from common.run import inputs
from common.tools import neurons
from common.tools.neurons import FEATURES

LEVELS = 10  # colour steps on each side of zero; |h| < 0.5 / LEVELS is left white

STYLE = """
body { font-family: sans-serif; max-width: 60rem; margin: 1rem auto; padding: 0 1rem; color: #222; }
.passage { font-family: monospace; font-size: 14px; line-height: 1.6; white-space: pre-wrap;
  overflow-wrap: anywhere; border: 1px solid #ccc; padding: 0.5rem; }
table { border-collapse: collapse; } td, th { padding: 0.1rem 0.8rem; text-align: left; }
.f { text-decoration: underline 2px; text-underline-offset: 3px; }
.scale span { display: inline-block; width: 1.6rem; text-align: center; font-size: 11px; }
"""


def level(h: np.ndarray) -> np.ndarray:
    """h in [-1, 1] -> colour level -LEVELS ... LEVELS (0: white)."""
    return np.rint(np.clip(h, -1, 1) * LEVELS).astype(int)


def colour_css() -> str:
    """One class per level: .p1 ... .pLEVELS red, .n1 ... .nLEVELS blue."""
    rules = []
    for k in range(1, LEVELS + 1):
        a = 0.8 * k / LEVELS  # at most 0.8: the letters stay legible
        rules.append(f".p{k} {{ background: rgba(220, 40, 30, {a:.2f}); }}")
        rules.append(f".n{k} {{ background: rgba(30, 90, 220, {a:.2f}); }}")
    return "\n".join(rules)


def cls(k: int) -> str:
    return f"p{k}" if k > 0 else f"n{-k}" if k < 0 else "z"


def coloured(text: str, h: np.ndarray, f: np.ndarray) -> str:
    """The passage as spans, one per character, coloured by h (T,); underlined where a 0/1 feature f is 1."""
    binary = set(np.unique(f)) <= {0, 1}
    out = []
    for ch, k, v, on in zip(text, level(h), h, f):
        shown = "\u21b5" if ch == "\n" else html.escape(ch)
        u = " f" if binary and on else ""
        out.append(f'<span class="{cls(k)}{u}" title="{v:+.2f}">{shown}</span>' + ("\n" if ch == "\n" else ""))
    return "".join(out)


def page(title: str, note: str, text: str, H: np.ndarray, picks: list[tuple[str, int, float, float]]) -> str:
    """The whole page: a table of the picks, a colour scale, then the passage once per pick."""
    rows = "".join(
        f"<tr><td>{html.escape(FEATURES[n][0])}</td><td>{u}</td><td>{r:+.2f}</td><td>{a:+.2f}</td></tr>"
        for n, u, r, a in picks
    )
    scale = "".join(f'<span class="{cls(k)}">{k / LEVELS:+.1f}</span>' for k in range(-LEVELS, LEVELS + 1, 2))
    sections = "".join(
        f'<h2 id="{n}">Unit {u}: {html.escape(FEATURES[n][0])} (r = {r:+.2f})</h2>\n'
        f'<div class="passage" data-unit="{u}">{coloured(text, H[: len(text), u], FEATURES[n][1](text))}</div>\n'
        for n, u, r, _ in picks
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{STYLE}{colour_css()}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>Each character is coloured by one hidden unit's h<sub>t</sub> after the model has read it:
red h &gt; 0, blue h &lt; 0 (hover a character for its value); underlined where a yes-or-no
feature holds. Each unit shown is the one whose
activation correlates best (Pearson's r) with something a reader can see. "All units" is the r of
the best linear readout of every unit at once (least squares fitted on the first half of the passage,
measured on the second): how much of the feature the hidden state holds at all. {html.escape(note)}.</p>
<table><tr><th>feature</th><th>unit</th><th>r</th><th>all units, r</th></tr>{rows}</table>
<p class="scale">h: {scale}</p>
{sections}</body></html>
"""


def write(path: Path, page: str) -> None:
    """The page to path; one clear BadInput if it cannot be written there."""
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as e:
        raise BadInput(f"cannot write {path}: {e.strerror}") from None


def report(
    path: Path, data, text, start: int, length: int, show: int, names: list[str], out: Path | None, which: str = "best"
) -> tuple[str, list[str]]:
    """`python cli.py neurons`: find the units, write the page (default: the run's neurons.html).

    Returns the file the model was read from (with where h starts) and the lines that say what was found.
    """
    if show < 1:
        raise BadInput(f"--show must be a positive integer (got {show})")
    out = out or (path if path.is_dir() else path.parent) / "neurons.html"
    inputs.output("--out", out)  # before the work, not after it
    name, warmup, passage = neurons.passage(data, text, start, length)
    params, meta, h0, origin = neurons.model(path, which)
    ids = encode(passage, meta["chars"])
    H = neurons.activations(params, ids, encode(warmup, meta["chars"]), h0)  # (T, m)
    picks = neurons.pick(H, passage, names)
    write(out, page(f"What the units track in {name}", f"Model: {origin}", passage[:show], H, picks))
    bits = neurons.bits_per_char(params, H, ids)
    return origin, [
        f"the model reads the passage at {bits:.2f} bits/character",
        neurons.table(picks, names),
        f"wrote {out}",
    ]
