"""The notebooks' exercise checks: your function against the project's own on a few inputs (docs/notebooks/).

    check_answer(softmax, ours=reference_softmax, cases=[(o,), (o + 1000,)])

calls both on every case and compares what they return (numbers and arrays to a relative 1e-9,
anything else exactly). It never raises: a function that still raises NotImplementedError is
"not written yet", one that raises anything else or returns another value is "wrong", with what
differed. loss_and_grads is judged by common.check's check_function instead, the checker's own.
"""

import html
import traceback
from dataclasses import dataclass

import numpy as np

RTOL = 1e-9  # float64 code that does the same sums in another order agrees to about 1e-15


@dataclass(frozen=True)
class Answer:
    """What check_answer found: passed, and a sentence for the student."""

    name: str
    verdict: str  # "passed", "wrong" or "not written yet"
    detail: str

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    def __str__(self) -> str:
        mark = "✓" if self.passed else "✗"
        return f"{mark} {self.name}: {self.verdict}. {self.detail}"

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.passed else "#b3261e"
        said = f"<b>{html.escape(self.name)}: {self.verdict}.</b> {html.escape(self.detail)}"
        return f'<p style="color:{colour}">{said}</p>'


def differs(yours, ours, path: str = "the result") -> str | None:
    """Where yours differs from ours (a sentence), or None when they agree."""
    if isinstance(ours, tuple | list):
        if not isinstance(yours, tuple | list) or len(yours) != len(ours):
            return f"{path} should be {len(ours)} values, got {type(yours).__name__}"
        found = (differs(a, b, f"{path}[{i}]") for i, (a, b) in enumerate(zip(yours, ours)))
        return next((d for d in found if d), None)
    if isinstance(ours, str | int) and not isinstance(ours, bool | np.integer):
        return None if yours == ours else f"{path} is {yours!r}, expected {ours!r}"
    a, b = np.asarray(yours, dtype=float), np.asarray(ours, dtype=float)
    if a.shape != b.shape:
        return f"{path} has shape {a.shape}, expected {b.shape}"
    if not np.allclose(a, b, rtol=RTOL, atol=1e-12, equal_nan=False):
        worst = float(np.max(np.abs(a - b)))
        return f"{path} differs from the project's by up to {worst:.3g}"
    return None


def check_answer(yours, ours, cases: list[tuple], name: str | None = None) -> Answer:
    """Your function against ours on each case (a tuple of arguments; arrays are copied for each call)."""
    name = name or getattr(yours, "__name__", "your function")
    for k, args in enumerate(cases, 1):
        fresh = [np.array(a) if isinstance(a, np.ndarray) else a for a in args]
        try:
            got = yours(*fresh)
        except NotImplementedError:
            return Answer(name, "not written yet", "Replace `raise NotImplementedError()` with your code.")
        except Exception as e:
            where = traceback.extract_tb(e.__traceback__)[-1]
            return Answer(name, "wrong", f"case {k} raised {type(e).__name__}: {e} (line {where.lineno}).")
        want = ours(*[np.array(a) if isinstance(a, np.ndarray) else a for a in args])
        found = differs(got, want)
        if found:
            return Answer(name, "wrong", f"case {k} of {len(cases)}: {found}.")
    return Answer(name, "passed", f"it agrees with the project's code on {len(cases)} cases.")
