"""The unrolled network of docs/unrolled.md, drawn as SVG from this source: python docs/make/unrolled.py

Three steps of eqs. (1)-(5): x_t -> h_t -> o_t -> p_t -> L_t, h_{t-1} -> h_t through W, h_0 coming
in from the chunk before and h_3 going on to the next one. In red, the two paths by which the
gradient reaches h_2 (eq. 8): from its own output o_2 and from the next step's a_3. A test checks
that docs/img/unrolled.svg is what this script writes.
"""

from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "img" / "unrolled.svg"
STEPS = (1, 2, 3)
COL = {0: 60, 1: 230, 2: 420, 3: 610}  # x of h_0 and of each step
ROW = {"L": 40, "p": 115, "o": 195, "h": 290, "x": 390}  # y of each quantity
BOX_W, BOX_H = 64, 38
RED, GREY = "#c62828", "#777777"


def label(name: str, sub: str, x: float, y: float, size: int = 17, anchor: str = "middle", extra: str = "") -> str:
    """Text 'name_sub' with a real subscript, e.g. h_2, centred on (x, y)."""
    return (
        f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}" dominant-baseline="middle"{extra}>'
        f'<tspan font-style="italic">{name}</tspan>'
        f'<tspan font-size="{int(size * 0.7)}" dy="5">{sub}</tspan></text>'
    )


def note(text: str, x: float, y: float, colour: str = "black", anchor: str = "middle", size: int = 13) -> str:
    return f'<text x="{x}" y="{y}" font-size="{size}" fill="{colour}" text-anchor="{anchor}">{text}</text>'


def box(name: str, sub: str, x: float, y: float, fill: str) -> str:
    return (
        f'<rect x="{x - BOX_W / 2}" y="{y - BOX_H / 2}" width="{BOX_W}" height="{BOX_H}" rx="8" '
        f'fill="{fill}" stroke="#333" stroke-width="1.2"/>' + label(name, sub, x, y)
    )


def arrow(x1, y1, x2, y2, colour="black", dash="", marker="arrow") -> str:
    style = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" stroke-width="1.6"{style} '
        f'marker-end="url(#{marker})"/>'
    )


def svg() -> str:
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 840 460" width="100%" '
        'font-family="DejaVu Serif, Georgia, serif" role="img" '
        'aria-label="The RNN unrolled over three steps, with the two paths of the gradient into h_2">',
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="black"/></marker>',
        f'<marker id="red" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{RED}"/></marker>',
        f'<marker id="grey" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{GREY}"/></marker>',
        "</defs>",
        '<rect width="840" height="460" fill="white"/>',
    ]
    add = parts.append
    half = BOX_H / 2
    add(box("h", "0", COL[0], ROW["h"], "#e8eaf6"))
    add(note("from the chunk before", COL[0] + 18, ROW["h"] + 42, GREY, size=12))
    add(note("(no gradient)", COL[0] + 18, ROW["h"] + 58, GREY, size=12))
    for t in STEPS:
        x = COL[t]
        add(box("x", str(t), x, ROW["x"], "#fff8e1"))
        add(box("h", str(t), x, ROW["h"], "#e8eaf6"))
        add(box("o", str(t), x, ROW["o"], "#e8f5e9"))
        add(box("p", str(t), x, ROW["p"], "#e8f5e9"))
        add(box("L", str(t), x, ROW["L"], "#fce4ec"))
        add(arrow(x, ROW["x"] - half, x, ROW["h"] + half))
        add(label("U", "", x + 12, (ROW["x"] + ROW["h"]) / 2, 15, "start"))
        add(arrow(x, ROW["h"] - half, x, ROW["o"] + half))
        add(label("V", "", x + 12, (ROW["h"] + ROW["o"]) / 2 + 10, 15, "start"))
        add(arrow(x, ROW["o"] - half, x, ROW["p"] + half))
        add(note("softmax", x + 10, (ROW["o"] + ROW["p"]) / 2 + 5, anchor="start", size=12))
        add(arrow(x, ROW["p"] - half, x, ROW["L"] + half))
        add(label("y", str(t), x + 62, ROW["L"], 15, "start"))
        add(arrow(x + 58, ROW["L"], x + BOX_W / 2 + 2, ROW["L"]))
        prev = COL[t - 1]
        add(arrow(prev + BOX_W / 2, ROW["h"], x - BOX_W / 2, ROW["h"]))
        add(label("W", "", (prev + x) / 2, ROW["h"] - 14, 15))
    add(arrow(COL[3] + BOX_W / 2, ROW["h"], 750, ROW["h"], GREY, "5,4", "grey"))
    add(note("h₃ goes on to the next chunk", 745, ROW["h"] + 42, GREY, size=12))
    add(note("(no gradient comes back)", 745, ROW["h"] + 58, GREY, size=12))
    # the two paths of eq. (8) into h_2, drawn against the forward arrows
    x2 = COL[2]
    add(arrow(x2 - 22, ROW["o"] + half, x2 - 22, ROW["h"] - half, RED, "6,4", "red"))
    add(note("V\u1d40 g\u2082", x2 - 30, (ROW["o"] + ROW["h"]) / 2 + 10, RED, "end", 14))
    y_back = ROW["h"] + 34
    add(arrow(COL[3] - BOX_W / 2, y_back - 12, x2 + BOX_W / 2, y_back - 12, RED, "6,4", "red"))
    add(note("W\u1d40 \u2202L/\u2202a\u2083", (x2 + COL[3]) / 2, y_back + 8, RED, size=14))
    add(
        note(
            "forward: black, eqs. (1)-(5).  Backward into h\u2082 (red, eq. 8): from its own output and from the "
            "next step.",
            420,
            450,
            size=13,
        )
    )
    add(note("made by: python docs/make/unrolled.py", 10, 18, GREY, "start", 11))
    add("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    OUT.write_text(svg())
    print(f"wrote {OUT}")
