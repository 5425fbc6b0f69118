"""The gradcheck command's body: one preset's loss checked, printed as a table or JSON (docs: gradcheck.md).

classic: the summed loss at m = 5 against centred differences. 2025: the mean loss (scale 1 / tau)
at m = 10 against centred differences and against torch.autograd (when torch is installed).
"""

import json
from collections.abc import Callable

import numpy as np

from common import gradcheck as gc
from common.contract import Backend
from common.data import Corpus, Streams
from common.run.presets import Preset
from common.weights import init_theta


def run(
    model: Backend, corpus: Corpus, p: Preset, tau: int, B: int, seed: int, step: float, as_json: bool, say: Callable
) -> bool:
    """Check model's gradient at p's initialisation; say the result; True when every check passed."""
    m, scale = model.layout.m, p.scale(tau)
    x, y = Streams(corpus.ids, tau, B).chunk(0)
    theta, h0 = init_theta(model.layout, p.sigma, seed, p.init), np.zeros((m, B))
    results = {"centred differences": gc.check(model, theta, x, y, h0, step, scale)}
    if p.name == "2025":
        results["torch.autograd"] = gc.check_autograd(model, theta, x, y, h0, scale)
    ok = all(gc.passed(r) for r in results.values() if r is not None)
    if as_json:
        out = gc.as_json(model, results["centred differences"]) | {"preset": p.name, "loss": p.reduction}
        if "torch.autograd" in results:
            oracle = results["torch.autograd"]
            out["autograd"] = gc.as_json(model, oracle) if oracle is not None else None
        say(json.dumps(out))
        return ok
    say(
        f"gradient check: backend {model.name} ({model.device}), float64, preset {p.name} ({p.reduction} loss, "
        f"init {p.init}), m={m}, seq_length={tau}, batch {B}, h={step:g}, corpus {corpus.name} (K={corpus.K})"
    )
    for against, result in results.items():
        if result is None:
            say(f"against {against}: skipped (torch is not installed)")
            continue
        say(f"against {against}:\n{'param':<6}{'rel_error':>14}{'max_elem_rel':>16}{'max_abs':>14}")
        for name, e in result.items():
            say(f"{name:<6}{e.rel_error:>14.3e}{e.max_elem_rel_error:>16.3e}{e.max_abs_error:>14.3e}")
    say(f"{'PASSED' if ok else 'FAILED'}: every rel_error {'<' if ok else 'must be <'} {gc.TOLERANCE:g}")
    return ok
