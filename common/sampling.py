"""Synthesising text: one character at a time from the model's logits (docs: runs.md#sampling-from-a-trained-model).

The backend computes the logits o_t (eqs. 1-3); the choice of the next character happens here,
on the host in float64, from uniforms drawn on the host, so that every backend picks the same
characters from the same weights.
"""

import math

import numpy as np

from common.contract import Array, Backend
from common.data import encode
from common.errors import BadInput

MAX_LENGTH = 10**7  # characters sample generates at most: about 10 minutes, and 80 MB of uniforms


def check_settings(length: int, temperature: float, top_p: float, prime: str | None) -> None:
    """One BadInput line for a setting `python cli.py sample` cannot use."""
    for message, ok in (
        ("--length must be a positive integer", length >= 1),
        (f"--length must be at most {MAX_LENGTH:,} (got {length:,})", length <= MAX_LENGTH),
        ("--temperature must be zero or positive", math.isfinite(temperature) and temperature >= 0),
        ("--top-p must be in (0, 1]", 0 < top_p <= 1),
        ("--prime must not be empty", prime != ""),
    ):
        if not ok:
            raise BadInput(message)


def choose(o: np.ndarray, u: float, temperature: float = 1.0, top_p: float = 1.0) -> int:
    """The character for logits o (K,) and one uniform u in [0, 1), by inverse CDF.

    temperature T divides the logits (T -> 0 is greedy, T = 0 takes the argmax); top_p keeps
    the smallest set of most likely characters whose probabilities reach top_p (nucleus).
    """
    if temperature == 0:
        return int(np.argmax(o))
    with np.errstate(over="ignore"):  # a tiny temperature: -inf below the top logit, greedy as it should be
        z = (o - o.max()) / temperature
    p = np.exp(z)  # (K,) unnormalised: the CDF below is scaled by its last value
    if top_p < 1:
        order = np.argsort(-p, kind="stable")  # most likely first
        mass = np.cumsum(p[order])
        keep = order[: int(np.searchsorted(mass, top_p * mass[-1])) + 1]
        p = np.zeros_like(p)
        p[keep] = np.exp(z[keep])
    cdf = np.cumsum(p)
    return min(int(np.searchsorted(cdf, u * cdf[-1], side="right")), len(p) - 1)


def sample(
    backend: Backend,
    theta: Array,
    h: Array,
    prime: list[int],
    n: int,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_p: float = 1.0,
) -> list[int]:
    """n characters that follow the characters prime, fed in from the hidden state h (m, 1)."""
    u = rng.random(n)  # drawn up front: the same n uniforms whatever the backend does
    for x in prime[:-1]:
        h, _ = backend.predict(theta, h, x)  # warm up h on the priming text
    x, out = prime[-1], []
    for t in range(n):
        h, o = backend.predict(theta, h, x)
        x = choose(o, u[t], temperature, top_p)
        out.append(x)
    return out


def generate(backend: Backend, model, prime: str | None, from_zero: bool, n: int, rng, **choice) -> str:
    """Text from a saved model (common/run/checkpoint.py's Model): prime (if any), then n characters.

    By default sampling goes on from the hidden state the model reached in training (model.h)
    and the character that followed it, as min-char-rnn samples from its training state; prime
    warms that state further. from_zero starts from h = 0 instead: a trained W can carry h from 0
    into an attractor that the text never visits (docs: training.md#sampling-from-the-saved-hidden-state).
    """
    chars, m = model.meta["chars"], model.params.W.shape[0]
    h = model.h if model.h is not None and not from_zero else np.zeros((m, 1))  # (m, 1)
    if model.h is None or from_zero:
        prime = prime if prime is not None else ("\n" if "\n" in chars else chars[0])
        ids, shown = encode(prime, chars).tolist(), prime
    else:
        ids = [int(model.x_next)] + (encode(prime, chars).tolist() if prime else [])
        shown = prime if prime else chars[int(model.x_next)]
    theta = backend.to_device(backend.layout.pack(model.params))
    out = sample(backend, theta, backend.to_device(h), ids, n, rng, **choice)
    return shown + "".join(chars[i] for i in out)
