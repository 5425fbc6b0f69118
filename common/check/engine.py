"""The check's measurements and verdict: a student's loss and gradients against ours, regime by regime (docs: check.md).

In each regime (common/check/regimes.py) their function is called once and compared with our
float64 reference (backends/numpy_backend.py): per parameter the rel_error (eq. 15) of their
gradient, their loss and h_tau. Centred differences of their own loss (eq. 14) are taken on a
sample of SAMPLE entries per parameter (CS231n's sparse check), not on every weight. The first
regime's call is made twice: a function that keeps state between calls shows there. A gradient
is wrong past TOLERANCE against ours in any regime, the loss past LOSS_TOLERANCE; float32 code
(what it returns, or how far its right parameters are from ours) is judged at float32's.
What the evidence means is common/check/diagnosis.py's.
"""

import time
from dataclasses import dataclass

import numpy as np

from backends.numpy_backend import NumpyBackend
from common import gradcheck as gc
from common.check import diagnosis
from common.check.regimes import Regime
from common.check.report import RegimeResult, Report
from common.contract import NAMES, Backend, Layout
from common.data import Corpus

TOLERANCE = gc.TOLERANCE  # 1e-6: a gradient is wrong past this rel_error against ours
LOSS_TOLERANCE = 1e-8  # the loss (and h_tau) is wrong past this relative difference from ours
FLOAT64 = 1e-9  # correct float64 code agrees with ours to about 1e-15: past this, precision was lost
LOSS_FLOAT64 = 1e-12  # the same for the loss
FLOAT32 = 1e-5  # float32 code: gradients, loss and h_tau judged at this
STEP = 1e-4  # h of the centred differences (docs: gradcheck-error.md)
SAMPLE = 4  # entries per parameter checked by centred differences of their own loss


@dataclass
class Seen:
    """What one regime showed."""

    regime: Regime
    ours: dict[str, float]  # per parameter: rel_error of their gradient against our reference
    own: dict[str, float]  # per parameter: rel_error against centred differences of their loss, sampled
    loss: float  # theirs: scale * L
    our_loss: float
    h_tau: float | None  # rel_error of their h_tau against ours (None: not returned)
    grad: np.ndarray  # theirs, flat: the gradient of scale * L
    reference: np.ndarray  # ours, flat
    again: float = 0.0  # the largest relative change when the same call was made again (first regime)

    @property
    def loss_error(self) -> float:
        return abs(self.loss - self.our_loss) / abs(self.our_loss)

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.loss) and np.isfinite(self.grad).all())

    def wrong(self, name: str, tol: float = TOLERANCE) -> bool:
        return not self.ours[name] <= tol  # NaN is wrong too

    @property
    def worst(self) -> float:
        return max(self.ours.values())


def entries(layout: Layout, seed: int) -> np.ndarray:
    """Indices into theta, SAMPLE per parameter (all of a smaller one), drawn with the seed."""
    rng = np.random.default_rng(seed)
    picked = [
        rng.choice(np.arange(s.start, s.stop), min(SAMPLE, s.stop - s.start), replace=False)
        for s in layout.slices().values()
    ]
    return np.concatenate(picked)


def planned(layout: Layout, regimes: int) -> int:
    """The calls of theirs a check makes: one per regime, two per sampled entry, and the repeated call."""
    return regimes * (1 + 2 * len(entries(layout, 0))) + 1


def look(model: Backend, r: Regime, scale: float, sample: np.ndarray | None = None, repeat: bool = False) -> Seen:
    """The student's model at regime r, against ours and (on the sampled entries) against its own loss."""
    layout = model.layout
    reference = NumpyBackend(layout)
    our_loss, cache = reference.forward(r.theta, r.x, r.y, r.h0)
    ours = scale * reference.backward(r.theta, cache)
    grad, loss, h_tau = call(model, r.theta, r, scale)
    again = 0.0
    if repeat:
        grad2, loss2, _ = call(model, r.theta, r, scale)
        again = max(relative(grad2, grad), abs(loss2 - loss) / max(abs(loss), 1e-300))
    own = {}
    if sample is not None:
        numerical = differences(model, r, scale, sample)
        for name, s in layout.slices().items():
            mine = sample[(sample >= s.start) & (sample < s.stop)]
            own[name] = gc.errors(grad[mine], numerical[mine]).rel_error
    h_error = None if h_tau is None else gc.errors(h_tau, cache.H[-1]).rel_error
    errors = {n: e.rel_error for n, e in gc.compare(layout, grad, ours).items()}
    return Seen(r, errors, own, loss, scale * our_loss, h_error, grad, ours, again)


def call(model: Backend, theta: np.ndarray, r: Regime, scale: float):
    """Their gradient of scale * L (flat, float64), scale * L and h_tau (or None)."""
    on_device = model.to_device(theta)
    loss, cache = model.forward(on_device, r.x, r.y, model.to_device(r.h0))
    grad = scale * np.asarray(model.to_host(model.backward(on_device, cache)), dtype=np.float64)
    return grad, scale * float(loss), getattr(cache, "h_tau", None)  # a backend class returns none


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def differences(model: Backend, r: Regime, scale: float, sample: np.ndarray) -> np.ndarray:
    """Eq. (14) of their scale * L at the sampled entries of theta (NaN elsewhere)."""
    theta = r.theta.copy()
    n = np.full(theta.shape, np.nan)
    h0 = model.to_device(r.h0)
    for i in sample:
        old = theta[i]
        losses = []
        for value in (old + STEP, old - STEP):
            theta[i] = value
            losses.append(model.forward(model.to_device(theta), r.x, r.y, h0)[0])
        theta[i] = old
        n[i] = scale * (losses[0] - losses[1]) / (2 * STEP)
    return n


def float32(seen: list[Seen], returned: bool) -> bool:
    """Float32 code: it returned float32 arrays, or its closest agreement with ours is float32's rounding."""
    closest = min([*(e for s in seen for e in s.ours.values()), *(s.h_tau for s in seen if s.h_tau is not None)])
    return returned or FLOAT64 < closest <= FLOAT32


def verdict(seen: list[Seen]) -> tuple[list[str], list[str]]:
    """(what is wrong, warnings), one line each, float32 inferred from the evidence alone."""
    return judge(seen, float32(seen, False))


def tolerances(low: bool) -> tuple[float, float]:
    """(a gradient's, the loss's and h_tau's) at float64, or at float32 when low."""
    return (FLOAT32, FLOAT32) if low else (TOLERANCE, LOSS_TOLERANCE)


def judge(seen: list[Seen], low: bool) -> tuple[list[str], list[str]]:
    """(what is wrong, warnings) at float64's tolerances, or float32's when low."""
    tol, reach = tolerances(low)
    wrong, warnings = [], []
    if seen[0].again > diagnosis.SAME_CALL:
        wrong.append(diagnosis.STATE.format(change=seen[0].again))
    broken = [s for s in seen if not s.finite]
    if broken:
        wrong.append(diagnosis.non_finite(broken[0].loss, regimes_of(broken)))
    for name in NAMES:
        bad = [s for s in seen if s.wrong(name, tol)]
        if bad and not broken:
            worst = max(s.ours[name] for s in bad)
            wrong.append(f"d{name} in {regimes_of(bad)}: rel_error up to {worst:.1e} against ours")
    if low:
        closest = min(e for s in seen for e in s.ours.values())
        warnings.append(f"your gradients agree with ours to {closest:.0e} at best: {diagnosis.says('float32')}")
    bad = [s for s in seen if not s.loss_error <= reach]
    if bad and not broken:
        worst = max(s.loss_error for s in bad)
        wrong.append(f"the loss in {regimes_of(bad)}: up to {worst:.1e} from ours (relative)")
    elif not low and not broken and max(s.loss_error for s in seen) > LOSS_FLOAT64:
        off = max(s.loss_error for s in seen)
        warnings.append(f"your loss is {off:.0e} from ours only: {diagnosis.says('epsilon in log')}")
    bad = [s for s in seen if s.h_tau is not None and not s.h_tau <= reach]
    if bad and not broken:
        wrong.append(
            f"h_tau in {regimes_of(bad)}: it must be h_t of the last step, the state the next chunk starts from"
        )
    return wrong, warnings


def result(s: Seen, low: bool) -> RegimeResult:
    """One regime's figures for the Report, with what is wrong there."""
    tol, reach = tolerances(low)
    wrong = [n for n in NAMES if s.wrong(n, tol)] + (["loss"] if not s.loss_error <= reach else [])
    wrong += ["h_tau"] if s.h_tau is not None and not s.h_tau <= reach else []
    own = {n: s.own.get(n) for n in NAMES}
    return RegimeResult(
        s.regime.name, s.regime.about, dict(s.ours), own, s.loss_error, s.h_tau, s.loss, s.our_loss, wrong
    )


def regimes_of(seen: list[Seen]) -> str:
    names = [s.regime.name for s in seen]
    return f"the {names[0]} regime" if len(names) == 1 else "the " + ", ".join(names[:-1]) + f" and {names[-1]} regimes"


def report(model: Backend, target: str, corpus: Corpus, points: list[Regime], scale: float, seed: int) -> Report:
    """Check model in every regime: the Report of what was found."""
    start = time.perf_counter()
    layout, tau = model.layout, len(points[0].x)
    sample = entries(layout, seed)
    calls = planned(layout, len(points))
    header = [
        f"checking {target} ({'summed' if scale == 1 else 'mean'} loss) against our float64 NumPy RNN",
        f"sizes: K={corpus.K} ({corpus.name}), m={layout.m}, seq_length={tau} (--data, --hidden and "
        f"--seq-length change them); in each of {len(points)} regimes all {layout.size:,} weights against ours, "
        f"{len(sample)} by centred differences of your own loss: {calls:,} calls of yours",
    ]
    seen = [look(model, r, scale, sample, repeat=i == 0) for i, r in enumerate(points)]
    low = float32(seen, getattr(model, "float32", False))
    wrong, warnings = judge(seen, low)
    found = diagnosis.diagnose(seen, layout, scale, tolerances(low)[0], low) if wrong else diagnosis.Diagnosis([], [])
    return Report(
        "wrong" if wrong else "passed",
        target,
        seed,
        [result(s, low) for s in seen],
        wrong,
        found.bugs,
        found.advice,
        warnings,
        header=header,
        calls=getattr(model, "calls", 0),
        seconds=time.perf_counter() - start,
    )
