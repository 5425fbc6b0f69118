"""The train command's options that differ between the two handouts (docs: handouts.md).

Each is None unless given, so the chosen --preset supplies it; common/presets.py resolves them.
"""

from typing import Annotated

import typer

from common.presets import preset, settings

PresetOpt = Annotated[str, typer.Option(help="Handout whose values are the defaults: classic or 2025.")]
OptimizerOpt = Annotated[str | None, typer.Option(help="adagrad or adam. Default: the preset's.")]
LossOpt = Annotated[str | None, typer.Option(help="Loss over the tau steps: sum or mean. Default: the preset's.")]
ClipOpt = Annotated[float | None, typer.Option(help="Clip each gradient entry to [-X, X]; 0: no clipping.")]
InitOpt = Annotated[str | None, typer.Option(help="Initial weights: classic (N(0, sigma^2)) or 2025 (fan-in).")]
EtaOpt = Annotated[float | None, typer.Option(help="Learning rate. Default: the preset's (0.1 / 0.001).")]
SigmaOpt = Annotated[float | None, typer.Option(help="Std of the initial U, W, V (--init classic).")]
Beta1Opt = Annotated[float | None, typer.Option(help="Adam's beta1 (0.9).")]
Beta2Opt = Annotated[float | None, typer.Option(help="Adam's beta2 (0.999).")]
EpsOpt = Annotated[float | None, typer.Option(help="The optimizer's eps (1e-8).")]

NAMES = ("optimizer", "eta", "clip", "beta1", "beta2", "eps", "loss", "init", "sigma")


def resolve(params: dict) -> dict:
    """Config values from the preset named in params and the options given (None: the preset's)."""
    given = {"reduction" if n == "loss" else n: params[n] for n in NAMES}
    return settings(preset(params["preset"], **given))


ValidationOpt = Annotated[
    float, typer.Option(help="Hold out this fraction (0, 0.5] of the text's end for a validation loss; 0: none.")
]
ValidateEveryOpt = Annotated[int, typer.Option(help="Updates between two validation losses.")]
OrderOpt = Annotated[str, typer.Option(help="Chunks of an epoch: sequential, or shuffled (h = 0 at each chunk).")]
BestByOpt = Annotated[str, typer.Option(help="The best model: lowest smooth loss, or lowest validation loss.")]
