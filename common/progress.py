"""How a run shows itself on a terminal: a live bar, samples above it, warnings (docs: training.md)."""

import sys
import time


def loss_text(loss: float) -> str:
    """A loss for people: 2 decimals, or 4 significant digits when huge (not a 300-digit number)."""
    return f"{loss:.2f}" if abs(loss) < 1e6 else f"{loss:.4g}"


class ProgressBar:
    """The Reporter for a terminal (common/train.py): a live bar, and each sample printed above it."""

    def __init__(self, first: int, total: int):
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("update {task.completed:,}/{task.total:,}"),
            TextColumn("epoch {task.fields[epoch]}"),
            TextColumn("smooth loss {task.fields[smooth]}"),
            BarColumn(),
            TextColumn("{task.fields[rate]:,.0f} updates/s"),
            TimeRemainingColumn(),
        )
        self.task = self.bar.add_task("train", total=total, completed=first, epoch=1, smooth="-", rate=0.0)
        self.first, self.t0 = first, time.perf_counter()

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        self.bar.__exit__(*exc)

    def progress(self, update: int, total: int, epoch: int, smooth: float) -> None:
        rate = (update - self.first) / max(time.perf_counter() - self.t0, 1e-9)
        self.bar.update(self.task, completed=update, epoch=epoch, smooth=loss_text(smooth), rate=rate)

    def sample(self, update: int, smooth: float, text: str) -> None:
        header = f"--- update {update:,}, smooth loss {loss_text(smooth)} ---"
        self.bar.console.print(header, style="bold", highlight=False)
        self.bar.console.print(text, markup=False, highlight=False, soft_wrap=True)  # the sample's own lines

    def warn(self, message: str) -> None:
        print(f"warning: {message}; training goes on", file=sys.stderr, flush=True)
