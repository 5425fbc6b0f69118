"""How a run shows itself on a terminal: a live bar, samples above it, warnings (docs: training.md)."""

import math
import sys
import time


def loss_text(loss: float) -> str:
    """A loss for people: 2 decimals, or 4 significant digits when huge (not a 300-digit number)."""
    return f"{loss:.2f}" if abs(loss) < 1e6 else f"{loss:.4g}"


class ProgressBar:
    """The Reporter for a terminal (common/run/train.py): a live bar, and each sample printed above it."""

    def __init__(self, first: int, total: int, per_char: float = 1 / 25):
        """per_char: the factor that turns a loss into nats per character (1 / tau summed, 1 mean)."""
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("update {task.completed:,}/{task.total:,}"),
            TextColumn("epoch {task.fields[epoch]}"),
            TextColumn("smooth loss {task.fields[smooth]} ({task.fields[nats]} nats, {task.fields[bits]} bits/char)"),
            BarColumn(),
            TextColumn("{task.fields[rate]:,.0f} updates/s"),
            TimeRemainingColumn(),
        )
        self.task = self.bar.add_task(
            "train", total=total, completed=first, epoch=1, smooth="-", nats="-", bits="-", rate=0.0
        )
        self.first, self.t0, self.per_char = first, time.perf_counter(), per_char

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        self.bar.__exit__(*exc)

    def progress(self, update: int, total: int, epoch: int, smooth: float) -> None:
        rate = (update - self.first) / max(time.perf_counter() - self.t0, 1e-9)
        nats = smooth * self.per_char
        fields = {"smooth": loss_text(smooth), "nats": f"{nats:.3f}", "bits": f"{nats / math.log(2):.3f}"}
        self.bar.update(self.task, completed=update, epoch=epoch, rate=rate, **fields)

    def sample(self, update: int, smooth: float, text: str) -> None:
        header = f"--- update {update:,}, smooth loss {loss_text(smooth)} ---" if update else "--- before training ---"
        self.bar.console.print(header, style="bold", highlight=False)
        self.bar.console.print(text, markup=False, highlight=False, soft_wrap=True)  # the sample's own lines

    def warn(self, message: str) -> None:
        print(f"warning: {message}; training goes on", file=sys.stderr, flush=True)
