"""What wrong gradients mean: a bug of the catalogue (clipped or not), or advice that follows the evidence.

Docs: check.md#reading-it. Given what each regime showed (common/check/engine.py), `diagnose`
names every catalogue entry (common/check/catalogue.py) whose loss and gradients equal the
student's in every regime, also with clipping applied after it; when none does, it says what
the pattern of right and wrong parameters points to.
"""

from typing import NamedTuple

import numpy as np

from common import gradcheck as gc
from common.check import catalogue
from common.contract import CLIP, NAMES, Layout, Params

SAME = 1e-8  # a loss and gradients this close to a catalogue entry's are that entry's (float32 code: its tolerance)
SAME_CALL = 1e-12  # two calls on the same input agree to this, relative, or the function keeps state
STATE = (
    "your function keeps state between calls: called twice on the same input, it returned results "
    "{change:.0e} apart (relative); start every sum from zeros inside the function"
)


class Diagnosis(NamedTuple):
    bugs: list[str]  # catalogue names
    advice: list[str]  # sentences


def says(name: str) -> str:
    return catalogue.BY_NAME[name].says


def non_finite(loss: float, where: str) -> str:
    """One plain sentence for a loss or gradients that are not numbers."""
    if not np.isfinite(loss):
        return (
            f"your loss is {loss} in {where}: an exp that overflowed or a log of 0; "
            "subtract each o_t's largest entry before exp (the softmax is unchanged)"
        )
    return f"your gradients have inf or nan entries in {where}: an exp that overflowed, or a division by 0"


def diagnose(seen: list, layout: Layout, scale: float, tol: float, low: bool) -> Diagnosis:
    """The catalogue's bugs that match, or advice; nothing the evidence cannot carry (state, non-finite)."""
    if seen[0].again > SAME_CALL or not all(s.finite for s in seen):
        return Diagnosis([], [])
    matched = named(seen, layout, scale, max(SAME, tol) if low else SAME)
    if matched:
        return Diagnosis(
            sorted({n for names in matched for n in names}, key=list(catalogue.BY_NAME).index),
            [sentence(names) for names in matched],
        )
    return Diagnosis([], advice(seen, layout, tol))


def sentence(names: tuple[str, ...]) -> str:
    """'This is a known bug (NAME): ...', with clipping said when it came with a bug."""
    bug, *clipped = names
    if bug == "clipped" or not clipped:
        return f"This is a known bug ({bug}): {says(bug)}"
    return (
        f"This is a known bug ({bug}), and your gradients are clipped at {CLIP:g}: check without clipping. {says(bug)}"
    )


def named(seen: list, layout: Layout, scale: float, same: float) -> list[tuple[str, ...]]:
    """Every catalogue entry whose loss and gradients equal the student's in every regime; unclipped first,
    then each entry with clipping applied after it."""
    candidates = [b.name for b in catalogue.BUGS if not b.warning and b.name != "clipped"]
    plain, clipped = [], []
    for bug in [None, *candidates]:
        results = [ours(s, layout, bug, scale) for s in seen]
        if bug is not None and all(equal(s, layout, r, same) for s, r in zip(seen, results)):
            plain.append((bug,))
        if all(equal(s, layout, clip(r), same) for s, r in zip(seen, results)):
            clipped.append(("clipped",) if bug is None else (bug, "clipped"))
    return plain or clipped


def ours(s, layout: Layout, bug: str | None, scale: float) -> tuple[float, np.ndarray]:
    """The catalogue's loss and flat gradient at s's regime, with bug planted."""
    r = s.regime
    loss, grads, _ = catalogue.loss_and_grads(*layout.unpack(r.theta), r.x[:, 0], r.y[:, 0], r.h0, bug, scale)
    return loss, layout.pack(Params(**grads))


def clip(result: tuple[float, np.ndarray]) -> tuple[float, np.ndarray]:
    return result[0], np.clip(result[1], -CLIP, CLIP)


def equal(s, layout: Layout, result: tuple[float, np.ndarray], same: float) -> bool:
    loss, grad = result
    errors = gc.compare(layout, s.grad, grad)
    return abs(s.loss - loss) <= same * abs(loss) and all(e.rel_error <= same for e in errors.values())


def advice(seen: list, layout: Layout, tol: float) -> list[str]:
    """What the pattern of right and wrong parameters usually means, when no known bug matches."""
    bad = [n for n in NAMES if any(s.wrong(n, tol) for s in seen)]
    where = {s.regime.name for s in seen if any(s.wrong(n, tol) for n in NAMES)}
    out = []
    if any(not s.loss_error <= max(tol, 1e-6) for s in seen):
        out.append(
            "Your loss differs from ours, so look at the forward pass: h_1 from h0, p_t a softmax over the "
            "K characters of column t, the loss -log p_t[y_t] added over t."
        )
    if not bad:
        return out
    flipped = [n for n in bad if transposed(seen, layout, n, tol)]
    for n in flipped:
        shape = layout.shapes[n]
        out.append(f"d{n} is transposed: it is {shape[0]} x {shape[1]} either way round, so its shape cannot say so.")
    bad = [n for n in bad if n not in flipped]
    if not bad:
        return out
    if seen[0].regime.name == "handout" and "handout" not in where:
        out.append(
            "The handout's own check passes: the error hides where tanh(a) = a and h0 = 0. Look at "
            "tanh'(a_t) = 1 - h_t^2 and at every term with h_{t-1} or h_0."
        )
    if bad == ["c"]:
        out.append(
            "Only dc is wrong: dV is right, so g_t = p_t - y_t is; look at how dc adds g_t over the steps (eq. 7)."
        )
    elif bad == ["V"]:
        out.append("Only dV is wrong: dc is right, so g_t = p_t - y_t is; look at the h_t that eq. (7) pairs with g_t.")
    elif len(bad) == len(NAMES):
        out.append(
            "All five are wrong: look at what they share: g_t = p_t - y_t, and whether the backward loop "
            "visits each of the tau steps once, the first and the last included."
        )
    elif set(bad) <= {"U", "W", "b"}:
        out.append("dV and dc are right, so g_t = p_t - y_t is: the error is in da_t (eqs. 8-9) or in eq. (10).")
    else:
        out.append("dV or dc is wrong: look at g_t = p_t - y_t and eq. (7); an error there flows into da_t too.")
    gaps = [s.own[n] for s in seen for n in bad if n in s.own]
    if gaps and max(gaps) <= gc.TOLERANCE:
        out.append("Your gradients are those of your own loss (centred differences agree), so your loss is not ours.")
    elif gaps:
        out.append(
            f"Your gradients are not those of your own loss either ({max(gaps):.1e} from its centred differences)."
        )
    return out


def transposed(seen: list, layout: Layout, name: str, tol: float) -> bool:
    """Their gradient of a square parameter is ours transposed, in every regime."""
    shape, part = layout.shapes[name], layout.slices()[name]
    if shape[0] != shape[1]:
        return False
    return all(
        gc.errors(s.grad[part].reshape(shape).T, s.reference[part].reshape(shape)).rel_error <= tol for s in seen
    )
