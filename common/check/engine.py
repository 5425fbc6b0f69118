"""The check command's body: a student's loss and gradients against ours, regime by regime (docs: check.md).

In each regime (common/check/regimes.py) it measures, per parameter, the student's gradient
against our float64 reference (backends/numpy_backend.py) and against centred differences of the
student's own loss (eq. 14), and the student's loss against ours. A gradient is wrong past a
rel_error (eq. 15) of 1e-6 against ours in any regime, the loss past a relative 1e-8. When the
student's gradients equal a known bug's (common/check/catalogue.py) it names the bug; else it
says which parameters and regimes disagree, and what that usually means.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import backends
from backends import own
from backends.numpy_backend import NumpyBackend
from common import gradcheck as gc
from common.check import catalogue
from common.check.regimes import Regime
from common.check.report import RegimeResult, Report
from common.check.student import Function
from common.contract import NAMES, Backend, Layout, Params
from common.data import Corpus
from common.errors import BadInput

LOSS_TOLERANCE = 1e-8  # the loss is wrong past this relative difference from ours
FLOAT64 = 1e-9  # correct float64 code agrees with ours to about 1e-15: past this, precision was lost
LOSS_FLOAT64 = 1e-12  # the same for the loss
FLOAT32_LOSS = 1e-6  # float32 gets the loss to about 5e-8: a warning, when the gradients say float32 too
SAME = 1e-8  # a loss and gradients this close to a catalogue entry's are that entry's
STEP = 1e-4  # h of the centred differences (docs: gradcheck-error.md)


@dataclass
class Seen:
    """What one regime showed."""

    regime: Regime
    ours: dict[str, gc.Errors]  # per parameter: their gradient against our reference
    own: dict[str, gc.Errors]  # per parameter: their gradient against centred differences of their loss
    loss: float  # theirs: scale * L
    our_loss: float
    h_tau: float | None  # rel_error of their h_tau against ours (None: not returned)
    grad: np.ndarray  # theirs, flat: the gradient of scale * L

    @property
    def loss_error(self) -> float:
        return abs(self.loss - self.our_loss) / abs(self.our_loss)

    def wrong(self, name: str) -> bool:
        return not self.ours[name].rel_error <= gc.TOLERANCE  # NaN is wrong too

    @property
    def worst(self) -> float:
        return max(e.rel_error for e in self.ours.values())


def model_of(target: str, layout: Layout, inputs: str, loss: str) -> Backend:
    """FILE[:NAME] -> their function (default loss_and_grads) as a backend, or their backend class."""
    path, name = own.split(target, default="loss_and_grads")
    obj = own.load(f"{path}:{name}")
    if isinstance(obj, type):
        return backends.load(f"{path}:{name}", layout, "float64")
    if not callable(obj):
        raise BadInput(f"{path}:{name} is not a function or a backend class (it is of type {type(obj).__name__})")
    return Function(obj, f"{path}:{name}", layout, inputs, loss)


def look(model: Backend, r: Regime, scale: float, step: float | None = STEP) -> Seen:
    """The student's model at regime r, against ours and (unless step is None) against its own loss."""
    reference = NumpyBackend(model.layout)
    our_loss, cache = reference.forward(r.theta, r.x, r.y, r.h0)
    ours = scale * reference.backward(r.theta, cache)
    theta = model.to_device(r.theta)
    loss, theirs = model.forward(theta, r.x, r.y, model.to_device(r.h0))
    grad = scale * np.asarray(model.to_host(model.backward(theta, theirs)), dtype=np.float64)
    layout = model.layout
    numerical = None if step is None else gc.numerical_gradient(model, r.theta.copy(), r.x, r.y, r.h0, step, scale)
    vs_own = {} if numerical is None else gc.compare(layout, grad, numerical)
    h_tau = getattr(theirs, "h_tau", None)
    h_error = None if h_tau is None else gc.errors(h_tau, cache.H[-1]).rel_error
    return Seen(r, gc.compare(layout, grad, ours), vs_own, scale * loss, scale * our_loss, h_error, grad)


def verdict(seen: list[Seen]) -> tuple[list[str], list[str]]:
    """(what is wrong, warnings), one line each."""
    wrong, warnings = [], []
    for name in NAMES:
        bad = [s for s in seen if s.wrong(name)]
        if bad:
            worst = max(s.ours[name].rel_error for s in bad)
            wrong.append(f"d{name} in {regimes_of(bad)}: rel_error up to {worst:.1e} against ours")
    lost = max(s.worst for s in seen)
    float32 = not wrong and lost > FLOAT64
    if float32:
        warnings.append(f"your gradients agree with ours to {lost:.0e} only: {catalogue.BY_NAME['float32'].says}")
    reach = FLOAT32_LOSS if float32 else LOSS_TOLERANCE
    bad = [s for s in seen if not s.loss_error <= reach]
    if bad:
        worst = max(s.loss_error for s in bad)
        wrong.append(f"the loss in {regimes_of(bad)}: up to {worst:.1e} from ours (relative)")
    elif not float32 and max(s.loss_error for s in seen) > LOSS_FLOAT64:
        off = max(s.loss_error for s in seen)
        warnings.append(f"your loss is {off:.0e} from ours only: {catalogue.BY_NAME['epsilon in log'].says}")
    bad = [s for s in seen if s.h_tau is not None and not s.h_tau <= reach]
    if bad:
        wrong.append(
            f"h_tau in {regimes_of(bad)}: it must be h_t of the last step, the state the next chunk starts from"
        )
    return wrong, warnings


def regimes_of(seen: list[Seen]) -> str:
    names = [s.regime.name for s in seen]
    return f"the {names[0]} regime" if len(names) == 1 else "the " + ", ".join(names[:-1]) + f" and {names[-1]} regimes"


def named(seen: list[Seen], layout: Layout, scale: float) -> list[catalogue.Bug]:
    """The catalogue's bugs whose loss and gradients equal the student's in every regime."""
    return [b for b in catalogue.BUGS if not b.warning and all(same(s, layout, b.name, scale) for s in seen)]


def same(s: Seen, layout: Layout, bug: str, scale: float) -> bool:
    r = s.regime
    loss, grads, _ = catalogue.loss_and_grads(*layout.unpack(r.theta), r.x[:, 0], r.y[:, 0], r.h0, bug, scale)
    errors = gc.compare(layout, s.grad, layout.pack(Params(**grads)))
    return abs(s.loss - loss) <= SAME * abs(loss) and all(e.rel_error <= SAME for e in errors.values())


def advice(seen: list[Seen]) -> list[str]:
    """What a disagreement usually means, when no known bug matches."""
    bad = {n for n in NAMES if any(s.wrong(n) for s in seen)}
    where = {s.regime.name for s in seen if any(s.wrong(n) for n in NAMES)}
    out = []
    if any(not s.loss_error <= FLOAT32_LOSS for s in seen):
        out.append(
            "Your loss differs from ours, so look at the forward pass: h_1 from h0, p_t a softmax over the "
            "K characters of column t, the loss -log p_t[y_t] added over t."
        )
    if not bad:
        return out
    if seen[0].regime.name == "handout" and "handout" not in where:
        out.append(
            "The handout's own check passes: the error hides where tanh(a) = a and h0 = 0. Look at "
            "tanh'(a_t) = 1 - h_t^2 and at every term with h_{t-1} or h_0."
        )
    if bad <= {"U", "W", "b"}:
        out.append("dV and dc are right, so g_t = p_t - y_t is: the error is in da_t (eqs. 8-9) or in eq. (10).")
    elif bad & {"V", "c"}:
        out.append("dV or dc is wrong: look at g_t = p_t - y_t and eq. (7); an error there flows into da_t too.")
    gap = max(s.own[n].rel_error for s in seen for n in bad)
    if gap <= gc.TOLERANCE:
        out.append("Your gradients are those of your own loss (centred differences agree), so your loss is not ours.")
    else:
        out.append(f"Your gradients are not those of your own loss either ({gap:.1e} from its centred differences).")
    return out


def table(s: Seen, wrong_loss: bool) -> list[str]:
    """One regime: each parameter's rel_error against ours and against their own loss, then the loss."""
    lines = [f"{s.regime.name}: {s.regime.about}", f"{'':<7}{'against ours':>14}{'against your own loss':>24}"]
    for n in NAMES:
        mark = "  wrong" if s.wrong(n) else ""
        lines.append(f"{'d' + n:<7}{s.ours[n].rel_error:>14.1e}{s.own[n].rel_error:>24.1e}{mark}")
    mark = "  wrong" if wrong_loss else ""
    lines.append(f"{'loss':<7}{s.loss_error:>14.1e}   yours {s.loss:.12g}, ours {s.our_loss:.12g}{mark}")
    if s.h_tau is not None:
        lines.append(f"{'h_tau':<7}{s.h_tau:>14.1e}")
    return lines


def report(model: Backend, target: str, corpus: Corpus, points: list[Regime], scale: float, seed: int) -> Report:
    """Check model in every regime: the Report of what was found."""
    n, tau = model.layout.size, len(points[0].x)
    header = [
        f"checking {target} ({'summed' if scale == 1 else 'mean'} loss) against our NumPy RNN in float64",
        f"sizes: K={corpus.K} ({corpus.name}), m={model.layout.m}, seq_length={tau} (--data, --hidden and "
        f"--seq-length change them); {n:,} weights, each moved by +/-{STEP:g} in {len(points)} regimes: "
        f"{2 * n * len(points):,} calls of yours for the centred differences",
    ]
    seen = [look(model, r, scale, STEP) for r in points]
    wrong, warnings = verdict(seen)
    bugs = named(seen, model.layout, scale) if wrong else []
    results = [
        RegimeResult(
            s.regime.name,
            s.regime.about,
            {n: s.ours[n].rel_error for n in NAMES},
            {n: s.own[n].rel_error if n in s.own else None for n in NAMES},
            s.loss_error,
            s.h_tau,
            s.loss,
            s.our_loss,
            [n for n in NAMES if s.wrong(n)],
        )
        for s in seen
    ]
    return Report(
        "wrong" if wrong else "passed",
        target,
        seed,
        results,
        wrong,
        [b.name for b in bugs],
        [f"This is a known bug ({b.name}): {b.says}" for b in bugs] or (advice(seen) if wrong else []),
        warnings,
        header=header,
    )


def run(model: Backend, target: str, corpus: Corpus, points: list[Regime], scale: float, say: Callable) -> bool:
    """Check model in every regime and say what was found; True when nothing is wrong (warnings allowed)."""
    n, tau = model.layout.size, len(points[0].x)
    say(f"checking {target} ({'summed' if scale == 1 else 'mean'} loss) against our NumPy RNN in float64")
    say(
        f"sizes: K={corpus.K} ({corpus.name}), m={model.layout.m}, seq_length={tau} (--data, --hidden and "
        f"--seq-length change them); {n:,} weights, each moved by +/-{STEP:g} in {len(points)} regimes: "
        f"{2 * n * len(points):,} calls of yours for the centred differences"
    )
    seen = [look(model, r, scale, STEP) for r in points]
    wrong, warnings = verdict(seen)
    loss_wrong = any(line.startswith("the loss") for line in wrong)
    for s in seen:
        say("\n".join(["", *table(s, loss_wrong and not s.loss_error <= LOSS_TOLERANCE)]))
    say("")
    for line in warnings:
        say(f"warning: {line}")
    if not wrong:
        say(
            f"PASSED: in all {len(seen)} regimes every gradient is within {gc.TOLERANCE:g} of ours (rel_error) "
            f"and the loss within {LOSS_TOLERANCE:g} (relative)"
        )
        return True
    say("FAILED:\n" + "\n".join(f"  {line}" for line in wrong))
    bugs = named(seen, model.layout, scale)
    for bug in bugs:
        say(f"This is a known bug ({bug.name}): {bug.says}")
    for line in [] if bugs else advice(seen):
        say(line)
    return False
