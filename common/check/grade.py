"""grade's body: find a class's submissions, check them in parallel, write the gradebook (docs: teachers.md).

A submission is each .py or .ipynb directly in a folder given, each subfolder of it (a student's
folder: the file in it that defines the function; its sibling modules importable), or a file
given; it is named by its path relative to the argument. Each is checked by `check_file`, which
runs the student's code isolated in a child process and never raises: a hang, a crash or an exit
is a "not judged" Report, and the batch goes on.
"""

import math
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from common.check import Report, check_file, credit, gradebook
from common.errors import BadInput
from common.run import inputs as checks

KINDS = (".py", ".ipynb")
FUNCTION = "loss_and_grads"
STOPPING = False  # in a worker: Ctrl-C came
WRITTEN = ("gradebook.csv", "summary.md")  # what makes a folder a former grading


@dataclass(frozen=True)
class Submission:
    name: str  # its path relative to the argument it was found under
    file: Path | None  # the file to check; None when there is none (reason says why)
    reason: str = ""


def grade(
    paths: list[Path], out: Path, force: bool, jobs: int, w: dict, options: dict, given: str, program: str
) -> tuple[list, int]:
    """Check every submission under paths, jobs at a time, and write out's files: (the rows, the submissions).
    After Ctrl-C, the files hold the submissions judged by then, and the summary says how many were not.

    given: check's options as the teacher gave them; `program check FILE given` shows a student the same Report."""
    subs = submissions(paths)
    output(out, force, paths)
    with Progress(len(subs)) as bar:
        results = run(subs, options, min(jobs, len(subs)), bar)
    rows = []
    for sub in subs:
        if sub.name in results:
            report, seconds = results[sub.name]
            rows.append(gradebook.Graded(sub.name, report, seconds, credit.score(report, w), credit.max_score(w)))
    files = {s.name: s.file or s.name for s in subs}
    seed = options["seed"]

    def again(g: gradebook.Graded) -> str:
        return f"{program} check {files[g.name]} {given}".strip()

    gradebook.write(out, rows, w, seed, given, again, len(subs) - len(rows))
    return rows, len(subs)


def submissions(paths: list[Path]) -> list[Submission]:
    """Every submission under paths, in name order; one BadInput line for a path that holds none."""
    found = []
    for path in paths:
        if path.is_file() and path.suffix in KINDS:
            found.append(Submission(path.name, path))
        elif path.is_dir():
            inside = sorted(p for p in path.iterdir() if not p.name.startswith((".", "_")))
            subs = [Submission(p.name, p) for p in inside if p.is_file() and p.suffix in KINDS]
            subs += [student(p) for p in inside if p.is_dir()]
            if not subs:
                raise BadInput(f"{path} holds no .py or .ipynb file and no subfolder: nothing to grade")
            found += subs
        elif not path.exists():
            raise BadInput(f"{path} does not exist")
        else:
            raise BadInput(f"{path} is not a .py or .ipynb file nor a folder of them")
    names = Counter(s.name for s in found)
    twice = sorted(n for n, k in names.items() if k > 1)
    if twice:
        raise BadInput(f"two submissions are named {twice[0]}: grade the folders that hold them one at a time")
    return sorted(found, key=lambda s: s.name)


def student(folder: Path) -> Submission:
    """A student's folder: its one .py or .ipynb, or the one of them that defines the function."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in KINDS and not p.name.startswith("."))
    if len(files) == 1:
        return Submission(folder.name, files[0])
    defining = [p for p in files if f"def {FUNCTION}(" in p.read_text(encoding="utf-8", errors="replace")]
    if len(defining) == 1:
        return Submission(folder.name, defining[0])
    if not files:
        return Submission(folder.name, None, f"the folder {folder.name} holds no .py or .ipynb file")
    names = ", ".join(p.name for p in (defining or files))
    which = "several define" if defining else "none defines"
    return Submission(folder.name, None, f"{names}: {which} {FUNCTION}, so none is the submission")


def output(out: Path, force: bool, paths: list[Path]) -> None:
    """The folder grade writes to, checked before anything runs."""
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out} is a file, not a folder")
    if out.is_dir() and any((out / name).exists() for name in WRITTEN) and not force:
        raise BadInput(f"--out {out} already holds a gradebook; add --force to write over it, or give another --out")
    where = out.resolve()
    for path in paths:
        if path.is_dir() and where.is_relative_to(path.resolve()):
            raise BadInput(f"--out {out} is inside {path}: its folders would be graded as submissions next time")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"cannot create --out {out}: {e.strerror or e}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write in --out {out}: permission denied")


def options(
    inputs: str,
    loss: str,
    vectors: str,
    convention: str,
    definitions_only: bool | None,
    timeout: float,
    memory: float,
    data: Path | None,
    hidden: int,
    seq_length: int,
    seed: int,
) -> dict:
    """check_file's keyword arguments (memory in GiB here), each checked once before any submission runs:
    a bad --data must be one line, not every row's verdict."""
    checks.natural("--seed", seed)
    checks.positive_number("--timeout", timeout)
    checks.positive_number("--memory", memory)
    checks.checked(data, hidden, seq_length)
    return {
        "inputs": inputs,
        "loss": loss,
        "vectors": vectors,
        "convention": convention,
        "hidden": hidden,
        "seq_length": seq_length,
        "seed": seed,
        "data": data,
        "timeout": timeout,
        "memory": round(memory * 2**30),
        "definitions_only": definitions_only,
    }


def jobs_default() -> int:
    """The CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def interruptible() -> None:
    """A worker's start: Ctrl-C ends the check it runs (the engine ends its student's process group) and
    every later one at once, so that the pool stops instead of judging the submissions queued to it."""

    def stop(signum, frame):
        global STOPPING
        STOPPING = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)


def judge(sub: Submission, options: dict) -> tuple[Report, float]:
    """One submission's Report and the seconds it took; whatever happens, a Report (until Ctrl-C)."""
    if STOPPING:
        raise KeyboardInterrupt
    t0 = time.perf_counter()
    if sub.file is None:
        report = Report("not judged", sub.name, options["seed"], reason=sub.reason)
    else:
        try:
            report = check_file(str(sub.file), **options)
        except Exception as e:  # the checker's own failure: this submission's row says so, the batch goes on
            report = Report("not judged", str(sub.file), options["seed"], reason=f"the checker failed: {e!r}")
    return report, time.perf_counter() - t0


def run(subs: list[Submission], options: dict, jobs: int, done: Callable) -> dict[str, tuple[Report, float]]:
    """Every submission judged, jobs at a time; done(name, report) after each. After Ctrl-C: those judged."""
    results = {}
    pool = ProcessPoolExecutor(jobs, mp_context=get_context("forkserver"), initializer=interruptible)
    futures = {pool.submit(judge, s, options): s for s in subs}
    try:
        for future in as_completed(futures):
            sub = futures[future]
            try:
                results[sub.name] = future.result()
            except Exception as e:  # a worker died (killed from outside): this row says so, the rest go on
                results[sub.name] = (
                    Report("not judged", sub.name, options["seed"], reason=f"grading failed: {e!r}"),
                    0.0,
                )
            done(sub.name, results[sub.name][0])
    except KeyboardInterrupt:  # the workers had it too: each ended its student's process group
        pass
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


class Progress:
    """The live line on a terminal while a class is graded (the plain end line elsewhere)."""

    def __init__(self, total: int, console=None):
        from rich.console import Console
        from rich.live import Live

        self.total, self.done, self.verdicts, self.t0 = total, 0, Counter(), time.perf_counter()
        self.console = console or Console(stderr=True)
        self.bar = "━─" if self.console.encoding.lower().startswith("utf") else "#-"
        self.live = Live(console=self.console, get_renderable=self.render, refresh_per_second=4)

    def render(self):
        from rich.text import Text

        seconds = time.perf_counter() - self.t0
        return Text(progress_line(self.console.width, self.done, self.total, self.verdicts, seconds, self.bar))

    def __enter__(self):
        self.live.__enter__()
        return self

    def __exit__(self, *exc):
        self.live.__exit__(*exc)
        if not self.console.is_terminal:
            self.console.line()  # rich ends the last line itself only on a terminal

    def __call__(self, name: str, report: Report) -> None:
        self.done += 1
        self.verdicts[report.verdict] += 1


def progress_line(width: int, done: int, total: int, verdicts: Counter, seconds: float, bar: str = "━─") -> str:
    """The live line: how many graded, a bar, the verdicts so far and the time left, within width columns."""
    left = seconds * (total - done) / done if done else math.inf
    m, s = divmod(round(left), 60) if math.isfinite(left) else (None, None)
    eta = "-:--:--" if m is None else f"{m // 60}:{m % 60:02d}:{s:02d}"
    count = f"{done:>{len(str(total))}}/{total}"
    tally = [f"{verdicts['passed']} passed", f"{verdicts['wrong']} wrong", f"{verdicts['not judged']} not judged"]
    layouts = [
        ([f"graded {count}"], [", ".join(tally), f"{eta} left"]),
        ([count], [", ".join(tally), eta]),
        ([count], [eta]),
    ]
    for before, after in layouts:
        room = width - len("  ".join([*before, "", *after]))
        if room >= 10:
            full = round(room * done / max(total, 1))
            return "  ".join([*before, bar[0] * full + bar[1] * (room - full), *after])
    return f"{count}  {eta}"
