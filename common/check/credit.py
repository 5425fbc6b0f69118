"""Partial credit: a point per regime and parameter, plus the loss and h_tau per regime (docs: teachers.md#credit).

An item is one thing `check` judges in one regime: a parameter's gradient (U, W, V, b, c), the
loss, or h_tau. It earns its points unless `check` finds it wrong there (RegimeResult.wrong): a
submission that passed earns them all, one that was not judged none, and an h_tau not returned
earns its points, as it passes `check`. `--points` weights them: a key's weight
multiplies each item of that key (U=2 doubles dU in every regime) and a regime's multiplies each
item of that regime (trained=2), so that the maximum is the same for every submission.
"""

import math
from dataclasses import dataclass

from common.contract import NAMES
from common.errors import BadInput

KEYS = (*NAMES, "loss", "h_tau")
REGIMES = ("handout", "realistic", "trained")  # common/check/regimes.py, in its order


@dataclass(frozen=True)
class Item:
    regime: str
    key: str  # U, W, V, b, c, loss or h_tau
    points: float  # earned
    max_points: float
    error: float | None  # its rel_error against ours (None: not measured)

    @property
    def name(self) -> str:
        return f"{self.regime}: {'d' + self.key if self.key in NAMES else self.key}"


def weights(spec: list[str] | None) -> dict[str, float]:
    """--points KEY=WEIGHT[,KEY=WEIGHT...] (repeatable) -> a weight for every key and regime (default 1)."""
    out = dict.fromkeys((*KEYS, *REGIMES), 1.0)
    for part in (p.strip() for s in spec or [] for p in s.split(",")):
        key, eq, value = part.partition("=")
        if key.strip() not in out or not eq:
            raise BadInput(f"--points takes KEY=WEIGHT with KEY one of {', '.join(out)} (got {part!r})")
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        if not (math.isfinite(weight) and weight >= 0):
            raise BadInput(f"--points {key.strip()} must be zero or a positive number (got {value!r})")
        out[key.strip()] = weight
    if max_score(out) == 0:
        raise BadInput("--points leaves nothing to earn: every item weighs 0")
    return out


def max_score(w: dict[str, float]) -> float:
    return sum(w[k] * w[r] for r in REGIMES for k in KEYS)


def items(report, w: dict[str, float]) -> list[Item]:
    """Every item of every regime, with the points report earns for it."""
    seen = {r.name: r for r in report.regimes} if report.verdict != "not judged" else {}
    out = []
    for regime in REGIMES:
        r = seen.get(regime)
        for key in KEYS:
            top = w[key] * w[regime]
            error = None if r is None else {"loss": r.loss_error, "h_tau": r.h_tau_error}.get(key, r.rel_error.get(key))
            right = r is not None and key not in r.wrong
            out.append(Item(regime, key, top if right else 0.0, top, error))
    return out


def score(report, w: dict[str, float]) -> float:
    return sum(i.points for i in items(report, w))


def number(x: float) -> str:
    """A score for people: 18, 17.5, never 18.000000000000004."""
    return f"{round(x, 6):g}"
