"""check_file: a student's file (FILE[:NAME], .py or .ipynb) checked in a child process, never raising.

Docs: check.md. What `check FILE` and `grade` call for each submission: the file is read
(common/check/source.py) and judged (common/check/function.py) in a fork (common/check/isolate.py),
so a hang, a crash or an exit of their code is a "not judged" Report like any other.
`train_file` is `check --train N`: our training loop on their gradients, in a fork too.
"""

from collections.abc import Callable
from pathlib import Path

from common.check.function import examine, sender
from common.check.isolate import TimedOut, forked
from common.check.report import Report
from common.check.source import Loaded, split
from common.errors import BadInput

MEMORY = 4 << 30  # bytes of address space: enough for `import torch` (1 GiB is) and the check
TIMEOUT = 60.0  # seconds per call of theirs, and for importing their file


def check_file(
    target: str,
    *,
    inputs="onehot-cols",
    loss="sum",
    vectors="2d",
    convention="cols",
    hidden=5,
    seq_length=25,
    seed=1,
    data=None,
    timeout=TIMEOUT,
    memory=MEMORY,
    definitions_only: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """The Report on target's function; a hang, crash or exit of their code is a "not judged" Report.

    definitions_only: None is True for a notebook, False for a .py; progress(calls, total) as it goes."""
    options = dict(inputs=inputs, loss=loss, vectors=vectors, convention=convention, hidden=hidden)
    options |= dict(seq_length=seq_length, seed=seed, data=None if data is None else Path(data).resolve())
    options |= dict(timeout=timeout)  # the data's path resolved: the child works in a folder of its own

    def job(send, path: Path, name: str) -> Report:
        fn, loaded = load(path, name, target, definitions_only, timeout)
        report = examine(fn, loaded.path, f"{split(target)[0]}:{name}", sender(send), **options)
        report.reason = loaded.uses_skipped(report.reason)
        return report

    return run(job, target, seed, timeout, memory, progress)


def train_file(target: str, *, say: Callable[[str], None], updates: int, timeout=TIMEOUT, memory=MEMORY, **options):
    """`check --train N` on target's function in a fork: True when training went through (the lines said)."""
    from common.check.student import Function
    from common.check.train import side_by_side
    from common.contract import Layout
    from common.run import inputs as checks
    from common.run.presets import PRESETS

    definitions_only = options.pop("definitions_only", None)
    data = options.pop("data", None)
    data = None if data is None else Path(data).resolve()

    def job(send, path: Path, name: str) -> Report:
        fn, loaded = load(path, name, target, definitions_only, timeout)
        corpus = checks.checked(data, options["hidden"], options["seq_length"])
        layout = Layout(corpus.K, options["hidden"])
        model = Function(
            fn,
            f"{split(target)[0]}:{name}",
            layout,
            options["inputs"],
            options["loss"],
            loaded.path,
            options["vectors"],
            options["convention"],
            timeout,
        )
        p = PRESETS["classic" if options["loss"] == "sum" else "2025"]
        tau, seed = options["seq_length"], options["seed"]
        ok = side_by_side(model, corpus, p, tau, seed, updates, lambda line: send({"say": line}))
        return Report("passed" if ok else "wrong", target, seed)

    return run(job, target, options["seed"], timeout, memory, None, say)


def run(job, target: str, seed: int, timeout, memory, progress, say=None) -> Report:
    """job(send, path, name) in a fork, its BadInput a "not judged" Report; a file missing is one before any fork."""
    try:
        path, name = split(target)
        if not path.is_file():
            raise BadInput(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    except BadInput as e:
        return Report("not judged", target, seed, reason=str(e))

    resolved = path.resolve()  # before the fork: the child works in a folder of its own

    def guarded(send) -> Report:
        try:
            return job(send, resolved, name)
        except (BadInput, TimedOut) as e:
            return Report("not judged", target, seed, reason=str(e))

    try:
        report = forked(guarded, target, seed, timeout, memory, progress, say)
    except OSError as e:  # no process to be had (a limit on processes, no memory)
        return Report("not judged", target, seed, reason=f"check could not start a process for your code: {e}")
    report.target = target
    return report


def load(path: Path, name: str, target: str, definitions_only: bool | None, timeout) -> tuple[object, Loaded]:
    """In the child: the function (or backend class) NAME of the file at path (resolved), read as the student
    has the file; target is how they named it."""
    only = path.suffix == ".ipynb" if definitions_only is None else definitions_only
    loaded = Loaded(path, only, timeout, split(target)[0].as_posix())
    fn = loaded.get(name)
    if not callable(fn):
        raise BadInput(f"{target} is not a function or a backend class (it is of type {type(fn).__name__})")
    return fn, loaded
