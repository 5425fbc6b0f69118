"""check_function: a student's function against ours, in this process or a fork (docs: check.md#in-a-notebook)."""

import time
from pathlib import Path

import backends
from common.check import engine
from common.check.isolate import TimedOut, forked
from common.check.progress import Progress
from common.check.regimes import regimes
from common.check.report import Report
from common.check.student import CONVENTIONS, VECTORS, Function
from common.contract import Layout
from common.errors import BadInput
from common.run import inputs as checks
from common.run.presets import PRESETS

SEND_EVERY = 0.5  # seconds between progress messages from a fork


def check_function(
    fn,
    *,
    inputs="onehot-cols",
    loss="sum",
    vectors="2d",
    convention="cols",
    hidden=5,
    seq_length=25,
    seed=1,
    data=None,
    timeout=None,
    isolate=False,
) -> Report:
    """fn's loss and gradients against ours in every regime: a Report, never an exception of theirs.

    timeout: seconds per call of fn (SIGALRM; None: no limit); isolate: run it in a forked child."""
    code = getattr(fn, "__code__", None)
    path = Path(code.co_filename) if code else None
    target = getattr(fn, "__name__", None) or type(fn).__name__
    options = dict(inputs=inputs, loss=loss, vectors=vectors, convention=convention, hidden=hidden)
    options |= dict(seq_length=seq_length, seed=seed, data=data, timeout=timeout)
    progress = Progress()
    if isolate:
        job = lambda send: examine(fn, path, target, sender(send), **options)  # noqa: E731
        report = forked(job, target, seed, timeout, None, progress)
    else:
        report = examine(fn, path, target, progress, **options)
    progress.done()
    return report


def sender(send):
    """A progress callback that sends (calls, total) from a fork, at most every SEND_EVERY seconds."""
    last = [0.0]

    def progress(calls: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= SEND_EVERY:
            last[0] = now
            send({"calls": calls, "total": total})

    return progress


def examine(fn, path, target, progress, *, inputs, loss, vectors, convention, hidden, seq_length, seed, data, timeout):
    """The Report on fn; anything their code does wrong (raising, hanging, odd returns) is "not judged"."""
    try:
        corpus = checks.checked(None if data is None else Path(data), hidden, seq_length)
        layout = Layout(corpus.K, hidden)
        p = PRESETS["classic" if loss == "sum" else "2025"]
        points = regimes(layout, corpus, p, seq_length, 1, seed)
        if isinstance(fn, type):  # a backend class of theirs
            model = backends.load(f"{path}:{fn.__name__}", layout, "float64")
        else:
            model = Function(fn, target, layout, inputs, loss, path, vectors, convention, timeout)
            total = engine.planned(layout, len(points))
            model.on_call = lambda calls: progress(calls, total)
        try:
            return engine.report(model, target, corpus, points, p.scale(seq_length), seed)
        except BadInput as e:
            hint = convention_hint(model, points[0]) if isinstance(model, Function) and model.calls == 0 else ""
            raise BadInput(f"{e}{hint}") from None
    except (BadInput, TimedOut) as e:
        return Report("not judged", target, seed, reason=str(e))


def convention_hint(model: Function, regime) -> str:
    """'; it returns the right shapes with --convention rows: give that', when one other reading fits."""
    fits = []
    for vectors in VECTORS:
        for convention in CONVENTIONS:
            if (vectors, convention) == (model.vectors, model.convention):
                continue
            try:
                model.other(vectors, convention).forward(regime.theta, regime.x, regime.y, regime.h0)
                fits.append((vectors, convention))
            except (BadInput, TimedOut):
                pass
    if len(fits) != 1:
        return ""
    vectors, convention = fits[0]
    options = [f"--{o} {v}" for o, v, d in (("vectors", vectors, "2d"), ("convention", convention, "cols")) if v != d]
    return f"; with {' '.join(options) or 'the defaults'} it returns the right shapes: give that"
