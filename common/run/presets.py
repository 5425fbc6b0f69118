"""The two handouts of DD2424 Assignment 4, each as one set of resolved values (docs: optimizers.md).

classic (until 2024; the default): AdaGrad, eta 0.1, clipping to [-5, 5], the loss summed over
the tau steps, U, W, V ~ N(0, 0.01^2), gradient check at m = 5. 2025 (the 2025 and 2026
handouts): Adam, eta 0.001, no clipping, the mean loss over the tau steps, fan-in scaled
initialisation, gradient check at m = 10 against centred differences and autograd.
"""

import math
from dataclasses import asdict, dataclass, replace

from common.contract import CLIP, Optimizer
from common.errors import BadInput
from common.run import inputs
from common.weights import INITS

REDUCTIONS = ("sum", "mean")


@dataclass(frozen=True)
class Preset:
    """Everything the handouts differ in; every other setting is shared (m = 100, tau = 25, ...)."""

    name: str
    opt: Optimizer
    reduction: str  # "sum" (eq. 5) or "mean": L / tau
    init: str  # "classic" or "2025" (common/weights.py)
    sigma: float  # the classic initialisation's standard deviation
    gradcheck_m: int  # hidden units of the gradient check

    def scale(self, tau: int) -> float:
        """The factor of Backend.step: 1 for the summed loss, 1 / tau for the mean."""
        return 1.0 if self.reduction == "sum" else 1.0 / tau

    def as_dict(self) -> dict:
        """The resolved values, for the run's summary."""
        return asdict(self)


PRESETS = {
    "classic": Preset("classic", Optimizer("adagrad", 0.1, CLIP), "sum", "classic", 0.01, 5),
    "2025": Preset("2025", Optimizer("adam", 0.001, None, 0.9, 0.999, 1e-8), "mean", "2025", 0.01, 10),
}


def preset(name: str, **overrides) -> Preset:
    """The named preset with some values changed, one at a time (None: keep the preset's).

    overrides: optimizer, eta, clip (a number, or 0 for no clipping), beta1, beta2, eps,
    reduction, init, sigma. An option that has no meaning for the chosen optimizer is refused.
    """
    if name not in PRESETS:
        raise BadInput(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    p, given = PRESETS[name], {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - {"optimizer", "eta", "clip", "beta1", "beta2", "eps", "reduction", "init", "sigma"}
    if unknown:
        raise ValueError(f"not a preset value: {', '.join(sorted(unknown))}")  # a programming error
    opt = p.opt
    if "optimizer" in given and given["optimizer"] != opt.name:
        Optimizer(given["optimizer"])  # one BadInput line for a name that is not an optimizer
        base = PRESETS["classic" if given["optimizer"] == "adagrad" else "2025"].opt
        opt = replace(base, clip=opt.clip)  # that optimizer's handout values, this preset's clipping
    if opt.name == "adagrad" and ({"beta1", "beta2"} & set(given)):
        raise BadInput("--beta1 and --beta2 belong to Adam; they have no meaning with --optimizer adagrad")
    if "clip" in given:
        opt = replace(opt, clip=given["clip"] or None)
    opt = replace(opt, **{k: given[k] for k in ("eta", "beta1", "beta2", "eps") if k in given})
    check(opt)
    if given.get("reduction", p.reduction) not in REDUCTIONS:
        raise BadInput(f"--loss must be one of {', '.join(REDUCTIONS)} (got {given['reduction']!r})")
    if given.get("init", p.init) not in INITS:
        raise BadInput(f"--init must be one of {', '.join(INITS)} (got {given['init']!r})")
    rest = {k: given[k] for k in ("reduction", "init", "sigma") if k in given}
    return replace(p, opt=opt, **rest)


def check(opt: Optimizer) -> None:
    """One BadInput line for a value outside what the update rule can use."""
    inputs.positive_number("--eta", opt.eta)
    if opt.clip is not None and not (math.isfinite(opt.clip) and opt.clip > 0):
        raise BadInput(f"--clip must be positive, or 0 for no clipping (got {opt.clip})")
    for flag, beta in (("--beta1", opt.beta1), ("--beta2", opt.beta2)):
        if not 0 <= beta < 1:  # nan fails this too
            raise BadInput(f"{flag} must be in [0, 1) (got {beta})")
    inputs.positive_number("--eps", opt.eps)


def settings(p: Preset) -> dict:
    """The preset's resolved values as common/run/train.py's Config fields (kept on resume, in the summary)."""
    o = p.opt
    return {
        "preset": p.name,
        "optimizer": o.name,
        "eta": o.eta,
        "clip": o.clip or 0.0,
        "beta1": o.beta1,
        "beta2": o.beta2,
        "eps": o.eps,
        "loss": p.reduction,
        "init": p.init,
        "sigma": p.sigma,
    }
