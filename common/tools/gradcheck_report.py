"""The gradcheck command's body: one preset's loss checked in each regime, as tables or JSON (docs: gradcheck.md).

classic: the summed loss at m = 5 against centred differences. 2025: the mean loss (scale 1 / tau)
at m = 10 against centred differences and against torch.autograd (when torch is installed). The
regimes are common/check/regimes.py's: the handout's own point, and two where bugs show.
"""

import json
import textwrap
from collections.abc import Callable

from common import gradcheck as gc
from common.check.regimes import Regime
from common.contract import Backend
from common.data import Corpus
from common.run.presets import Preset

WIDTH = 80  # columns of the prose lines; the tables are narrower


def run(
    model: Backend,
    corpus: Corpus,
    p: Preset,
    points: list[Regime],
    tau: int,
    step: float,
    as_json: bool,
    say: Callable,
    note: Callable = lambda line: None,
) -> bool:
    """Check model's gradient at every point; say each regime's result as it is done, note (stderr) what is
    being checked; True when every check passed in every regime."""
    scale, m, B = p.scale(tau), model.layout.m, points[0].h0.shape[1]
    if not as_json:
        say(
            textwrap.fill(
                f"gradient check: backend {model.name} ({model.device}), float64, preset {p.name} ({p.reduction} "
                f"loss, init {p.init}), m={m}, seq_length={tau}, batch {B}, h={step:g}, corpus {corpus.name} "
                f"(K={corpus.K})",
                WIDTH,
            )
        )
    results = []  # (regime, {oracle: errors per parameter, or None without torch})
    for k, r in enumerate(points, 1):
        note(f"checking {r.name} ({k} of {len(points)}): {2 * model.layout.size:,} losses")
        found = {"centred differences": gc.check(model, r.theta, r.x, r.y, r.h0, step, scale)}
        if p.name == "2025":
            found["torch.autograd"] = gc.check_autograd(model, r.theta, r.x, r.y, r.h0, scale)
        results.append((r, found))
        if not as_json:
            table(r, found, say)
    failed = [r.name for r, found in results if not all(gc.passed(e) for e in found.values() if e is not None)]
    if as_json:
        say(json.dumps({"passed": not failed, "regimes": [as_json_one(model, p, r, f) for r, f in results]}))
        return not failed
    where = f"all {len(results)} regimes" if len(results) > 1 else "the one regime"
    if failed:
        say(f"FAILED in {', '.join(failed)}: every rel_error must be < {gc.TOLERANCE:g}, in {where}")
    else:
        say(f"PASSED: every rel_error < {gc.TOLERANCE:g} in {where}")
    return not failed


def table(r: Regime, found: dict, say: Callable) -> None:
    """One regime's errors, per oracle and parameter."""
    say("\n" + textwrap.fill(f"{r.name}: {r.about}", WIDTH))
    for against, result in found.items():
        if result is None:
            say(f"against {against}: skipped (torch is not installed)")
            continue
        say(f"against {against}:\n{'param':<6}{'rel_error':>14}{'max_elem_rel':>16}{'max_abs':>14}")
        for name, e in result.items():
            say(f"{name:<6}{e.rel_error:>14.3e}{e.max_elem_rel_error:>16.3e}{e.max_abs_error:>14.3e}")


def as_json_one(model: Backend, p: Preset, r: Regime, found: dict) -> dict:
    """One regime in the form one check always had, with the regime's name and weights."""
    out = {"regime": r.name, "about": r.about} | gc.as_json(model, found["centred differences"])
    out |= {"preset": p.name, "loss": p.reduction}
    if "torch.autograd" in found:
        oracle = found["torch.autograd"]
        out["autograd"] = gc.as_json(model, oracle) if oracle is not None else None
    return out
