"""How a run shows itself on a terminal: one live line, samples above it, warnings (docs: runs.md#the-progress-line)."""

import math
import sys
import time

BAR_MIN = 10  # columns: a bar narrower than this says too little to be worth a field
GAP = "  "


def loss_text(loss: float) -> str:
    """A loss for people: 2 decimals, or 4 significant digits when huge (not a 300-digit number)."""
    return f"{loss:.2f}" if abs(loss) < 1e6 else f"{loss:.4g}"


def clock(seconds: float) -> str:
    """h:mm:ss; -:--:-- while there is no rate to tell."""
    if not math.isfinite(seconds):
        return "-:--:--"
    m, s = divmod(round(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}"


def line(
    width: int, update: int, total: int, epoch: int, smooth: float | None, per_char: float, rate: float, bar="━─"
) -> str:
    """The progress line for a terminal `width` columns wide: the richest layout whose fields fit whole,
    with a bar in the columns left over (at least BAR_MIN). Where nothing fits, the plainest, which the
    terminal wraps: a number is never cut."""
    loss = f"{'-' if smooth is None else loss_text(smooth):>6}"  # padded, so that the bar keeps its length
    nats = 0.0 if smooth is None else smooth * per_char
    detail = "" if smooth is None else f" ({nats:.3f} nats, {nats / math.log(2):.3f} bits/char)"
    done = f"{update:>{len(f'{total:,}')},}/{total:,}"  # padded to the total's width, for the same reason
    left = clock((total - update) / rate if rate > 0 else math.inf)
    count, short, ep, speed = f"update {done}", done, f"epoch {epoch:,}", f"{rate:,.0f}"
    layouts = [  # (fields before the bar, fields after it), richest first
        ([count, ep, f"smooth loss {loss}{detail}"], [f"{speed} updates/s", f"{left} left"]),
        ([count, ep, f"smooth loss {loss}"], [f"{speed} updates/s", left]),
        ([count, ep, f"smooth loss {loss}"], [f"{speed}/s", left]),
        ([short, ep, f"loss {loss}"], [f"{speed}/s", left]),
        ([short, f"loss {loss}"], [left]),
        ([short, f"loss {loss}"], []),
    ]
    for before, after in layouts:
        room = width - len(GAP.join([*before, "", *after]))
        if room >= BAR_MIN:
            full = round(room * update / max(total, 1))
            return GAP.join([*before, bar[0] * full + bar[1] * (room - full), *after])
    plain = [short, f"loss {loss}", left]
    return GAP.join(plain if len(GAP.join(plain)) <= width else plain[:2])


class ProgressBar:
    """The Reporter for a terminal (common/run/train.py): a live line, and each sample printed above it."""

    def __init__(self, first: int, total: int, per_char: float = 1 / 25, console=None):
        """per_char: the factor that turns a loss into nats per character (1 / tau summed, 1 mean)."""
        from rich.console import Console
        from rich.live import Live

        self.first, self.total, self.per_char, self.t0 = first, total, per_char, time.perf_counter()
        self.update, self.epoch, self.smooth, self.rate = first, 1, None, 0.0
        self.console = console or Console()
        self.bar = "━─" if self.console.encoding.lower().startswith("utf") else "#-"
        self.live = Live(console=self.console, get_renderable=self.render, refresh_per_second=10)

    def render(self):
        from rich.text import Text

        width = self.console.width
        args = (self.update, self.total, self.epoch, self.smooth, self.per_char, self.rate, self.bar)
        return Text(line(width, *args))

    def __enter__(self):
        self.live.__enter__()
        return self

    def __exit__(self, *exc):
        self.live.__exit__(*exc)
        if not self.console.is_terminal:
            self.console.line()  # rich ends the last line itself only on a terminal

    def progress(self, update: int, total: int, epoch: int, smooth: float) -> None:
        self.rate = (update - self.first) / max(time.perf_counter() - self.t0, 1e-9)
        self.update, self.total, self.epoch, self.smooth = update, total, epoch, smooth

    def sample(self, update: int, smooth: float, text: str) -> None:
        header = f"--- update {update:,}, smooth loss {loss_text(smooth)} ---" if update else "--- before training ---"
        from rich.text import Text

        self.console.print(Text(header, style="bold"))  # not print(style=): that would make the live line bold too
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)  # the sample's own lines

    def warn(self, message: str) -> None:
        print(f"warning: {message}; training goes on", file=sys.stderr, flush=True)
