"""The validation loss (common/run/validation.py): forward passes only, the same figure for any piece length."""

import math

import numpy as np
import pytest

from common.contract import Layout
from common.run.validation import per_char, validation_loss
from common.weights import init_theta
from tests.conftest import hidden_states


def reference_loss(layout, theta, ids) -> float:
    """-sum log p(next character), one stream from h = 0, written out on the host."""
    _, _, V, _, c = layout.unpack(theta)
    hs = hidden_states(layout, theta, ids[:-1, None], np.zeros((layout.m, 1)))  # (m, 1) each
    total = 0.0
    for h, target in zip(hs, ids[1:]):
        o = (V @ h + c)[:, 0]
        total += np.log(np.exp(o - o.max()).sum()) + o.max() - o[target]
    return total


def test_validation_loss_is_the_per_character_loss_of_the_held_out_text(make_backend, corpus):
    layout = Layout(corpus.K, 12)
    backend = make_backend(layout)
    theta = init_theta(layout, 0.3, seed=2)
    ids = corpus.ids[-301:]
    expected = reference_loss(layout, theta, ids) / 300
    whole = validation_loss(backend, backend.to_device(theta), ids)
    pieces = validation_loss(backend, backend.to_device(theta), ids, piece=7)  # h carried across pieces
    assert whole.chars == pieces.chars == 300
    assert whole.per_char == pytest.approx(expected, rel=1e-12)
    assert pieces.per_char == pytest.approx(expected, rel=1e-12)
    assert whole.perplexity == pytest.approx(math.exp(expected), rel=1e-12)
    assert whole.bits_per_char == pytest.approx(expected / math.log(2), rel=1e-12)


def test_validation_does_not_change_the_parameters(corpus):
    from backends.numpy_backend import NumpyBackend

    layout = Layout(corpus.K, 6)
    theta = init_theta(layout, 0.1, seed=1)
    before = theta.copy()
    validation_loss(NumpyBackend(layout), theta, corpus.ids[:200], piece=25)
    assert np.array_equal(theta, before)


def test_uniform_prediction_has_perplexity_K():
    assert per_char(300 * math.log(80), 300).perplexity == pytest.approx(80)
    assert per_char(1e6, 1).perplexity == math.inf  # no overflow error
