"""The unrolled network of docs/unrolled.md, drawn as SVG from this source: python docs/make/unrolled.py

Three steps of eqs. (1)-(5): x_t -> h_t -> o_t -> p_t -> L_t, h_{t-1} -> h_t through W, h_0 coming
in from the chunk before and h_3 going on to the next one. In red, the two paths by which the
gradient reaches h_2 (eq. 8): from its own output o_2 and from the next step's a_3.

Two drawings of the same picture: unrolled.svg with time running to the right (a wide screen), and
unrolled-phone.svg with time running down, narrow enough that its smallest label is 10 pixels on a
390-pixel phone. A test checks that both files are what this script writes.
"""

from pathlib import Path

IMG = Path(__file__).resolve().parents[1] / "img"
STEPS = (1, 2, 3)
QUANTITIES = ("x", "h", "o", "p", "L")
FILL = {"x": "#fff8e1", "h": "#e8eaf6", "o": "#e8f5e9", "p": "#e8f5e9", "L": "#fce4ec"}
RED, GREY = "#c62828", "#777777"
SMALL = 13  # the smallest font: 10 pixels when the drawing is shown at 0.77 of its size


class Layout:
    """Where each box goes: wide (time to the right, quantities upwards) or tall (time down, quantities right)."""

    def __init__(self, tall: bool):
        self.tall = tall
        if tall:
            self.width, self.height, self.box = 450, 620, (52, 36)
            self.along = {"x": 40, "h": 135, "o": 225, "p": 315, "L": 405}  # x of each quantity
            self.time = {0: 50, 1: 160, 2: 290, 3: 420}  # y of each step
        else:
            self.width, self.height, self.box = 840, 470, (64, 38)
            self.along = {"L": 45, "p": 120, "o": 200, "h": 295, "x": 395}  # y of each quantity
            self.time = {0: 60, 1: 230, 2: 420, 3: 610}  # x of each step

    def at(self, q: str, t: int) -> tuple[float, float]:
        return (self.along[q], self.time[t]) if self.tall else (self.time[t], self.along[q])

    def edge(self, a: tuple, b: tuple) -> tuple[float, float, float, float]:
        """The line from box a's edge to box b's edge, for two boxes in one row or one column."""
        (x1, y1), (x2, y2), (w, h) = a, b, self.box
        if y1 == y2:
            s = 1 if x2 > x1 else -1
            return x1 + s * w / 2, y1, x2 - s * (w / 2 + 2), y2
        s = 1 if y2 > y1 else -1
        return x1, y1 + s * h / 2, x2, y2 - s * (h / 2 + 2)


def label(
    name: str, sub: str, x: float, y: float, size: int = 18, anchor: str = "middle", colour: str = "black"
) -> str:
    """Text 'name_sub' with a real subscript, e.g. h_2, centred on (x, y)."""
    return (
        f'<text x="{x}" y="{y}" font-size="{size}" fill="{colour}" text-anchor="{anchor}" dominant-baseline="middle">'
        f'<tspan font-style="italic">{name}</tspan>'
        f'<tspan font-size="{max(SMALL, round(size * 0.72))}" dy="5">{sub}</tspan></text>'
    )


def note(text: str, x: float, y: float, colour: str = "black", anchor: str = "middle", size: int = SMALL) -> str:
    return f'<text x="{x}" y="{y}" font-size="{size}" fill="{colour}" text-anchor="{anchor}">{text}</text>'


def box(q: str, t: int, L: Layout) -> str:
    (x, y), (w, h) = L.at(q, t), L.box
    return (
        f'<rect x="{x - w / 2}" y="{y - h / 2}" width="{w}" height="{h}" rx="8" fill="{FILL[q]}" '
        f'stroke="#333" stroke-width="1.2"/>' + label(q, str(t), x, y)
    )


def arrow(x1, y1, x2, y2, colour="black", dash="", marker="arrow") -> str:
    style = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" stroke-width="1.6"{style} '
        f'marker-end="url(#{marker})"/>'
    )


def beside(line: tuple, text: str, L: Layout, gap: float = 12, size: int = 16, italic: bool = True) -> str:
    """A label beside the middle of a line: above a horizontal one, to the right of a vertical one."""
    x1, y1, x2, y2 = line
    x, y = (x1 + x2) / 2, (y1 + y2) / 2
    if y1 == y2:
        return label(text, "", x, y - gap, size) if italic else note(text, x, y - gap + 4, size=size)
    return (
        label(text, "", x + gap, y, size, "start") if italic else note(text, x + gap, y + 4, anchor="start", size=size)
    )


def svg(tall: bool = False) -> str:
    L = Layout(tall)
    marker = (
        '<marker id="{}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{}"/></marker>'
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {L.width} {L.height}" width="100%" '
        'font-family="DejaVu Serif, Georgia, serif" role="img" '
        'aria-label="The RNN unrolled over three steps, with the two paths of the gradient into h_2">',
        "<defs>",
        *(marker.format(name, colour) for name, colour in (("arrow", "black"), ("red", RED), ("grey", GREY))),
        "</defs>",
        f'<rect width="{L.width}" height="{L.height}" fill="white"/>',
    ]
    add = parts.append
    add(box("h", 0, L))
    x0, y0 = L.at("h", 0)
    if tall:
        add(note("from the chunk before (no gradient)", x0 + 40, y0 + 5, GREY, "start"))
    else:
        add(note("from the chunk before", x0 + 18, y0 + 42, GREY))
        add(note("(no gradient)", x0 + 18, y0 + 58, GREY))
    for t in STEPS:
        for q in QUANTITIES:
            add(box(q, t, L))
        names = ("U", "V", "" if tall else "softmax", "")  # tall: no room between o and p; the legend says it
        for (a, b), text in zip(zip(QUANTITIES, QUANTITIES[1:]), names):
            line = L.edge(L.at(a, t), L.at(b, t))
            add(arrow(*line))
            if text:
                add(beside(line, text, L, size=16 if len(text) == 1 else SMALL, italic=len(text) == 1))
        xL, yL = L.at("L", t)
        y_at = (xL, yL + 62) if tall else (xL + 62, yL)
        add(label("y", str(t), *y_at, 16, "middle" if tall else "start"))
        add(arrow(xL, yL + 50, xL, yL + L.box[1] / 2 + 2) if tall else arrow(xL + 58, yL, xL + L.box[0] / 2 + 2, yL))
        line = L.edge(L.at("h", t - 1), L.at("h", t))
        add(arrow(*line))
        add(beside(line, "W", L, gap=-14 if tall else 14))
    x3, y3 = L.at("h", 3)
    end = (x3, y3 + 90) if tall else (750, y3)
    add(arrow(*L.edge((x3, y3), end)[:2], *end, GREY, "5,4", "grey"))
    if tall:
        add(note("goes on to the next chunk", x3 + 14, y3 + 62, GREY, "start"))
        add(note("(no gradient comes back)", x3 + 14, y3 + 78, GREY, "start"))
    else:
        add(note("h₃ goes on to the next chunk", 745, y3 + 42, GREY))
        add(note("(no gradient comes back)", 745, y3 + 58, GREY))
    # the two paths of eq. (8) into h_2, drawn against the forward arrows, beside them
    h2, o2, h3 = L.at("h", 2), L.at("o", 2), L.at("h", 3)
    if tall:
        back_o = (o2[0] - L.box[0] / 2, o2[1] + 12, h2[0] + L.box[0] / 2 + 2, h2[1] + 12)
        back_a = (h3[0] + 14, h3[1] - L.box[1] / 2, h2[0] + 14, h2[1] + L.box[1] / 2 + 2)
        add(note("V\u1d40 g\u2082", (o2[0] + h2[0]) / 2, o2[1] + 34, RED, size=14))
        add(note("W\u1d40 \u2202L/\u2202a\u2083", h2[0] + 24, (h2[1] + h3[1]) / 2 + 5, RED, "start", 14))
    else:
        back_o = (o2[0] - 22, o2[1] + L.box[1] / 2, h2[0] - 22, h2[1] - L.box[1] / 2 - 2)
        back_a = (h3[0] - L.box[0] / 2, h3[1] + 22, h2[0] + L.box[0] / 2 + 2, h2[1] + 22)
        add(note("V\u1d40 g\u2082", h2[0] - 30, (o2[1] + h2[1]) / 2 + 10, RED, "end", 14))
        add(note("W\u1d40 \u2202L/\u2202a\u2083", (h2[0] + h3[0]) / 2, h2[1] + 42, RED, size=14))
    add(arrow(*back_o, RED, "6,4", "red"))
    add(arrow(*back_a, RED, "6,4", "red"))
    legend = (
        "forward: black, eqs. (1)-(5).",
        "Backward into h\u2082 (red, eq. 8): from its own output and from the next step.",
    )
    if tall:  # one line would be wider than the drawing
        lines = ("forward: black, eqs. (1)-(5); p = softmax(o).", *legend[1].split(": "))
        for i, line in enumerate(lines):
            add(note(line + (":" if i == 1 else ""), 10, L.height - 50 + 17 * i, anchor="start"))
    else:
        add(note("  ".join(legend), L.width / 2, L.height - 10))
    add(note("made by: python docs/make/unrolled.py", 10, 20, GREY, "start"))
    add("</svg>")
    return "\n".join(parts) + "\n"


FILES = {False: IMG / "unrolled.svg", True: IMG / "unrolled-phone.svg"}

if __name__ == "__main__":
    for tall, path in FILES.items():
        path.write_text(svg(tall))
        print(f"wrote {path}")
