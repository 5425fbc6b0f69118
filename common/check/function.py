"""check_function: a function of the student's, in this process, against ours (docs: check.md#in-a-notebook)."""

from pathlib import Path

from common.check import engine
from common.check.regimes import regimes
from common.check.report import Report
from common.check.student import Function
from common.contract import Layout
from common.errors import BadInput
from common.run import inputs as checks
from common.run.presets import PRESETS


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
    """fn's loss and gradients against ours in every regime: a Report, never an exception of theirs."""
    target = getattr(fn, "__qualname__", None) or repr(fn)
    try:
        corpus = checks.checked(None if data is None else Path(data), hidden, seq_length)
        layout = Layout(corpus.K, hidden)
        path = Path(getattr(getattr(fn, "__code__", None), "co_filename", "<unknown>"))
        model = Function(fn, target, layout, inputs, loss, path=path)
        p = PRESETS["classic" if loss == "sum" else "2025"]
        points = regimes(layout, corpus, p, seq_length, 1, seed)
        return engine.report(model, target, corpus, points, p.scale(seq_length), seed)
    except BadInput as e:
        return Report("not judged", target, seed, reason=str(e))
