"""A line for a slow check: calls of theirs done, of how many, and an estimate of the time left (docs: check.md)."""

import sys
import time
from collections.abc import Callable

AFTER = 3.0  # seconds before the first line: a quick check shows none
EVERY = 1.0  # seconds between lines on a terminal (10 times that elsewhere)


class Progress:
    """Called with (calls, total) as the check goes; writes a line once it has taken AFTER seconds."""

    def __init__(self, write: Callable[[str], object] | None = None, tty: bool | None = None):
        self.write = write or sys.stderr.write
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    def __call__(self, calls: int, total: int) -> None:
        now = time.monotonic()
        spent = now - self.start
        if spent < AFTER or now - self.last < EVERY * (1 if self.tty else 10) or calls == 0:
            return
        self.last, self.shown = now, True
        left = spent / calls * max(0, total - calls)
        line = f"  {calls:,} of {total:,} calls of yours in {spent:.0f} s; about {left:.0f} s to go"
        self.write(f"\r{line:<78}" if self.tty else line + "\n")

    def done(self) -> None:
        if self.shown and self.tty:
            self.write("\n")
