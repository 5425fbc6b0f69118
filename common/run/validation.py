"""The loss on the held-out part of the text: forward passes only, no update (docs: data.md#validation).

The held-out characters are read as one stream from h = 0, h carried from piece to piece, so
the figure does not depend on the piece length (the pieces only bound the memory a forward
pass takes). Reported per character, in bits per character, and as perplexity exp(loss per
character): a scale on which the summed (classic) and mean (2025) losses can be compared.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

from common.contract import Array, Backend

PIECE = 1000  # characters per forward pass


@dataclass(frozen=True)
class Loss:
    per_char: float  # nats per predicted character: eq. (5) summed, divided by the count
    bits_per_char: float  # per_char / ln 2
    perplexity: float  # exp(per_char)
    chars: int  # characters predicted

    def as_dict(self) -> dict:
        return asdict(self)


def per_char(total: float, chars: int) -> Loss:
    """A summed loss over chars predictions, on the per-character scales."""
    nats = total / chars
    return Loss(nats, nats / math.log(2), math.exp(nats) if nats < 700 else math.inf, chars)


def validation_loss(backend: Backend, theta: Array, ids: np.ndarray, piece: int = PIECE) -> Loss:
    """The loss of predicting ids[1:] from ids[:-1], one stream from h = 0, pieces of `piece`."""
    h = backend.to_device(np.zeros((backend.layout.m, 1)))
    total = 0.0
    for e in range(0, len(ids) - 1, piece):
        window = ids[e : e + piece + 1]  # inputs window[:-1], targets window[1:]
        loss, cache = backend.forward(theta, window[:-1, None], window[1:, None], h)  # (n, 1) each
        total += loss
        h = cache.H[-1]  # (m, 1) h at the end of the piece
    return per_char(total, len(ids) - 1)
