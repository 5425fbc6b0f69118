"""The student's code in a child process of its own, against accidents, not malice (docs: check.md#isolation).

`forked(job, ...)` runs job in a forked child: its own process group, an address-space limit
(--memory), stdin at end of file, a temporary folder as cwd and HOME, its stdout and stderr
captured in a file. The child sends JSON lines on a pipe of its own (progress, then the Report):
whatever their code prints, closes or exits, the channel stays ours. A child that dies, exits or
falls silent past the timeout is a one-line "not judged" Report; the whole group is ended after.
`deadline` is the per-call timeout inside a process: SIGALRM.
"""

import json
import os
import resource
import select
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager, suppress

from common.check.report import Report

GRACE = 10.0  # seconds of silence past the per-call timeout before the parent ends the child
OUTPUT_LINES = 8  # of their output, the first and last lines kept
OUTPUT_WIDTH = 76


class TimedOut(BaseException):
    """A call of theirs ran past --timeout (a BaseException: their `except Exception` does not swallow it)."""


@contextmanager
def deadline(seconds: float | None, what: str):
    """Raise TimedOut("{what} within N s") if the block runs past seconds (main thread only; None: never)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def ring(signum, frame):
        raise TimedOut(f"{what} within {seconds:g} s (--timeout)")

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def forked(
    job: Callable[[Callable[[dict], None]], Report],
    target: str,
    seed: int,
    timeout: float | None,
    memory: int | None,
    progress: Callable[[int, int], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> Report:
    """job(send) run in a child process; its Report, or a "not judged" one saying what became of the child.

    The child's messages: {"calls": n, "total": N} to progress, {"say": line} to say, {"report": json}."""
    read, write = os.pipe()
    with tempfile.TemporaryDirectory(prefix="check-") as home, tempfile.TemporaryFile() as output:
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read)
            child(job, write, home, output.fileno(), memory)
        os.close(write)
        try:
            report = listen(read, pid, target, seed, timeout, memory, progress, say)
        finally:
            os.close(read)
            end(pid)
        output.seek(0)
        report.output = shorten(output.read().decode("utf-8", "replace"))
    return report


def child(job, write: int, home: str, output: int, memory: int | None) -> None:
    """In the fork: its own group, limits, a bare folder, stdin closed, output captured; job's Report sent."""
    status = 0
    try:
        os.setsid()
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        sys.stdin = open(os.devnull)  # noqa: SIM115  theirs to read: end of file at once
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115  a test runner's is no file
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        os.chdir(home)
        os.environ["HOME"] = home
        channel = os.fdopen(write, "w")

        def send(message: dict) -> None:
            channel.write(json.dumps(message) + "\n")
            channel.flush()

        report = job(send)
        for stream in (sys.stdout, sys.stderr):  # what they printed without a newline: before the output is read
            with suppress(Exception):
                stream.flush()
        send({"report": report.to_json()})
    except BaseException:  # ours, not theirs: their code's exceptions are Reports already
        with suppress(OSError):
            os.write(write, (json.dumps({"error": traceback.format_exc(limit=-3)}) + "\n").encode())
        status = 3
    os._exit(status)


def listen(read: int, pid: int, target: str, seed: int, timeout, memory, progress, say) -> Report:
    """The child's messages until its Report; or what became of it."""
    silence = None if timeout is None else timeout + GRACE
    buffer, last = b"", time.monotonic()
    while True:
        wait = None if silence is None else max(0.0, last + silence - time.monotonic())
        ready, _, _ = select.select([read], [], [], wait)
        if not ready:
            return Report(
                "not judged", target, seed, reason=f"your code did not return within {timeout:g} s (--timeout)"
            )
        chunk = os.read(read, 1 << 16)
        if not chunk:
            return Report("not judged", target, seed, reason=died(pid, memory))
        last = time.monotonic()
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            message = json.loads(line)
            if "report" in message:
                return Report.from_json(message["report"])
            if "error" in message:
                last_line = message["error"].strip().splitlines()[-1]
                return Report("not judged", target, seed, reason=f"check itself failed: {last_line}")
            if "say" in message and say is not None:
                say(message["say"])
            if "calls" in message and progress is not None:
                progress(message["calls"], message["total"])


def died(pid: int, memory: int | None) -> str:
    """What ended the child before it sent a Report, in one line."""
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        limit = f" (--memory {memory / 2**30:g} GiB)" if memory else ""
        return f"your code was ended by {sig}: a crash, or the memory ran out{limit}"
    return f"your code ended the process (exit status {os.WEXITSTATUS(status)}: os._exit?) before a verdict"


def end(pid: int) -> None:
    """The child's whole process group ended, the child reaped."""
    for kill in (os.killpg, os.kill):
        with suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)
    with suppress(ChildProcessError):
        os.waitpid(pid, 0)


def shorten(text: str) -> str:
    """Their output: the first and last lines, each cut to fit the terminal, the middle counted."""
    lines = [line if len(line) <= OUTPUT_WIDTH else line[: OUTPUT_WIDTH - 3] + "..." for line in text.splitlines()]
    if len(lines) <= 2 * OUTPUT_LINES:
        return "\n".join(lines)
    left = len(lines) - 2 * OUTPUT_LINES
    return "\n".join([*lines[:OUTPUT_LINES], f"... {left:,} lines more ...", *lines[-OUTPUT_LINES:]])
