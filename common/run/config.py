"""A run's settings: the hyperparameters and every choice a run keeps on resume (docs: training.md).

The defaults are the classic handout's; common/run/presets.py resolves the 2025 handout's values.
"""

from dataclasses import dataclass, fields

import numpy as np

from common.contract import DTYPES, OPTIMIZERS, Optimizer
from common.data import ORDERS, Streams, split
from common.errors import BadInput
from common.run import inputs
from common.run.presets import PRESETS, REDUCTIONS
from common.weights import INITS


@dataclass(frozen=True)
class Config:
    """Hyperparameters; the defaults are the classic handout's (common/run/presets.py resolves the others)."""

    hidden: int = 100
    seq_length: int = 25
    eta: float = 0.1
    sigma: float = 0.01
    epochs: int = 6
    updates: int | None = None  # a total number of updates; overrides epochs
    batch_size: int = 1
    seed: int = 1  # a typical seed: docs/reproduction.md lists seeds 0-12
    dtype: str = "float64"
    sample_every: int = 10_000  # 0: no samples during training
    checkpoint_every: int = 10_000  # 0: a checkpoint only at the end
    preset: str = "classic"  # the handout the values below were resolved from (docs: handouts.md)
    optimizer: str = "adagrad"
    loss: str = "sum"  # "sum" over the tau steps (eq. 5), or "mean"
    clip: float = 5.0  # 0: no clipping
    init: str = "classic"
    beta1: float = 0.9  # Adam only
    beta2: float = 0.999  # Adam only
    eps: float = 1e-8
    validation: float = 0.0  # the fraction of the text held out at its end (0: none; docs: data.md#validation)
    validate_every: int = 1000  # updates between two validation losses
    order: str = "sequential"  # or "shuffled": each epoch's chunks in an order drawn from the seed, h = 0 each
    best_by: str = "smooth"  # the best model: lowest smooth training loss, or lowest validation loss

    def __post_init__(self) -> None:
        choices = {"dtype": DTYPES, "preset": PRESETS, "optimizer": OPTIMIZERS, "loss": REDUCTIONS, "init": INITS}
        choices |= {"order": ORDERS, "best_by": ("smooth", "validation")}
        for f in fields(self):
            value, flag = getattr(self, f.name), "--" + f.name.replace("_", "-")
            if f.name in choices:
                if value not in choices[f.name]:
                    raise BadInput(f"{flag} must be one of {', '.join(choices[f.name])} (got {value!r})")
            elif f.name in ("clip", "beta1", "beta2", "eps", "validation"):
                continue  # checked by common/presets.check through the Optimizer
            elif f.name in ("eta", "sigma"):
                inputs.positive_number(flag, value)
            elif f.name in ("seed", "sample_every", "checkpoint_every"):
                inputs.natural(flag, value)
            elif f.name == "validate_every" and self.best_by == "validation" and not self.validation:
                raise BadInput("--best-by validation needs a held-out part: give --validation FRACTION")
            elif value is not None:
                inputs.positive(flag, value)  # hidden, seq_length, batch_size, epochs, updates, validate_every

    @property
    def opt(self) -> Optimizer:
        """The update rule (docs: optimizers.md)."""
        return Optimizer(self.optimizer, self.eta, self.clip or None, self.beta1, self.beta2, self.eps)

    @property
    def scale(self) -> float:
        """The factor of Backend.step: 1 for the summed loss, 1 / tau for the mean (eq. 19)."""
        return 1.0 if self.loss == "sum" else 1.0 / self.seq_length

    def per_char(self, loss: float) -> float:
        """A loss of one chunk (summed or mean) as nats per character (docs: handouts.md)."""
        return loss / (self.seq_length * self.scale)


def parts(cfg: Config, ids: np.ndarray) -> tuple[Streams, np.ndarray | None]:
    """The training streams, and the held-out end of the text (None without --validation)."""
    train, held = split(ids, cfg.validation, cfg.seq_length) if cfg.validation else (ids, None)
    return Streams(train, cfg.seq_length, cfg.batch_size, cfg.order, cfg.seed), held
