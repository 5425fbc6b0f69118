"""One cell of the RNN, the picture docs/index.md starts with, drawn as SVG: python docs/make/cell.py

One step of eqs. (1)-(4): the character x_t comes in through U, the state h_{t-1} through W, the
new state h_t goes out through V to the logits o_t and the probabilities p_t of the next character,
and on to the next step. One drawing for every screen: 440 units wide, so that its smallest label
is 10 pixels or more on a 390-pixel phone. A test checks that the file is what this script writes.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from docs.make.unrolled import FILL, GREY, arrow, beside, label, note  # noqa: E402

IMG = Path(__file__).resolve().parents[1] / "img"
WIDTH, HEIGHT = 440, 455
SMALL = 14
BOXES = {  # name, subscript: centre x, centre y, width, height
    ("p", "t"): (220, 70, 60, 38),
    ("o", "t"): (220, 165, 60, 38),
    ("h", "t"): (220, 275, 96, 46),
    ("x", "t"): (220, 385, 60, 38),
    ("h", "t\u22121"): (52, 275, 70, 38),
}


def box(name: str, sub: str) -> str:
    x, y, w, h = BOXES[name, sub]
    colour = FILL["L" if name == "p" else name]
    stroke = 2.2 if (name, sub) == ("h", "t") else 1.2
    return (
        f'<rect x="{x - w / 2}" y="{y - h / 2}" width="{w}" height="{h}" rx="8" fill="{colour}" '
        f'stroke="#333" stroke-width="{stroke}"/>' + label(name, sub, x, y, 20)
    )


def up(lower: tuple, upper: tuple) -> tuple:
    """The vertical line from the top of box `lower` to the bottom of box `upper`."""
    (x, y1, _, h1), (_, y2, _, h2) = BOXES[lower], BOXES[upper]
    return x, y1 - h1 / 2, x, y2 + h2 / 2 + 2


def svg() -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        'font-family="DejaVu Serif, Georgia, serif" role="img" '
        'aria-label="One cell of the RNN: x_t and h_(t-1) make h_t, which makes o_t, p_t and the next step">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="black"/></marker></defs>',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        note("made by: python docs/make/cell.py", 10, 20, GREY, "start", SMALL - 1),
    ]
    add = parts.append
    for name, sub in BOXES:
        add(box(name, sub))
    for lower, upper, text in (
        (("x", "t"), ("h", "t"), "U"),
        (("h", "t"), ("o", "t"), "V"),
        (("o", "t"), ("p", "t"), "softmax"),
    ):
        line = up(lower, upper)
        add(arrow(*line))
        add(beside(line, text, None, size=18 if len(text) == 1 else SMALL, italic=len(text) == 1))
    x0, y0, w0, _ = BOXES["h", "t\u22121"]
    x1, _, w1, _ = BOXES["h", "t"]
    line = (x0 + w0 / 2, y0, x1 - w1 / 2 - 2, y0)
    add(arrow(*line))
    add(beside(line, "W", None, gap=14, size=18))
    add(arrow(x1 + w1 / 2, y0, WIDTH - 30, y0))
    add(note("to step t+1", WIDTH - 40, y0 - 12, anchor="end", size=SMALL))
    add(note("the memory", x0, y0 + 36, size=SMALL))
    add(note("h\u209c = tanh(W h\u209c\u208b\u2081 + U x\u209c + b)", WIDTH / 2, HEIGHT - 14, size=SMALL + 2))
    add(note("one character, one-hot", 260, 390, anchor="start", size=SMALL))
    add(note("of the next character", 260, 75, anchor="start", size=SMALL))
    add(note("probabilities", 260, 58, anchor="start", size=SMALL))
    add(note("logits", 260, 170, anchor="start", size=SMALL))
    add("</svg>")
    return "\n".join(parts) + "\n"


FILE = IMG / "cell.svg"

if __name__ == "__main__":
    FILE.write_text(svg())
    print(f"wrote {FILE}")
