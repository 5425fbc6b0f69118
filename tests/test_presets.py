"""The two handouts as presets (common/run/presets.py) and their initialisations (common/weights.py)."""

import numpy as np
import pytest

from common.contract import CLIP, Layout, Optimizer
from common.errors import BadInput
from common.rng import stream
from common.run.presets import PRESETS, preset
from common.weights import init_std, init_theta


def test_classic_is_todays_defaults():
    p = PRESETS["classic"]
    assert p.opt == Optimizer() and p.opt.eta == 0.1 and p.opt.clip == CLIP and p.opt.eps == 1e-8
    assert (p.reduction, p.init, p.sigma, p.gradcheck_m, p.scale(25)) == ("sum", "classic", 0.01, 5, 1.0)


def test_2025_is_the_new_handout():
    p = PRESETS["2025"]
    assert p.opt == Optimizer("adam", 0.001, None, 0.9, 0.999, 1e-8)
    assert (p.reduction, p.init, p.gradcheck_m) == ("mean", "2025", 10)
    assert p.scale(25) == 1 / 25
    assert p.as_dict()["opt"]["name"] == "adam"


def test_one_difference_at_a_time():
    assert preset("classic", reduction="mean").opt == PRESETS["classic"].opt
    assert preset("classic", clip=0).opt.clip is None
    assert preset("2025", clip=5.0).opt == Optimizer("adam", 0.001, 5.0)
    assert preset("classic", optimizer="adam").opt == Optimizer("adam", 0.001, CLIP)  # Adam's eta, classic clip
    assert preset("2025", optimizer="adagrad").opt == Optimizer("adagrad", 0.1, None)
    assert preset("2025", init="classic", eta=0.002).init == "classic"
    assert preset("2025", eta=None) == PRESETS["2025"]  # None: keep the preset's value


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        ("2024", {}, "unknown preset '2024'; choose one of: classic, 2025"),
        ("classic", {"beta1": 0.8}, "--beta1 and --beta2 belong to Adam"),
        ("2025", {"optimizer": "adagrad", "beta2": 0.9}, "--beta1 and --beta2 belong to Adam"),
        ("2025", {"optimizer": "sgd"}, "--optimizer must be one of adagrad, adam"),
        ("2025", {"beta2": 1.0}, "--beta2 must be in [0, 1)"),
        ("classic", {"eta": -1.0}, "--eta must be a positive number"),
        ("classic", {"clip": -1.0}, "--clip must be positive, or 0 for no clipping"),
        ("classic", {"reduction": "max"}, "--loss must be one of sum, mean"),
        ("classic", {"init": "xavier"}, "--init must be one of classic, 2025"),
    ],
)
def test_bad_values_are_one_line(name, overrides, message):
    with pytest.raises(BadInput) as e:
        preset(name, **overrides)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_classic_init_is_bit_for_bit_the_old_draw():
    layout = Layout(30, 12)
    rng = stream(7, "weights")
    U, W, V = (0.01 * rng.standard_normal(layout.shapes[n]) for n in "UWV")
    old = np.concatenate([U.T.ravel(), W.ravel(), V.ravel(), np.zeros(12 + 30)])
    assert np.array_equal(init_theta(layout, 0.01, 7), old)
    assert np.array_equal(init_theta(layout, 0.01, 7, "classic"), old)


def test_2025_init_statistics():
    layout = Layout(80, 1000)  # large: a sample std within a few percent of the formula
    theta = init_theta(layout, 0.01, seed=3, init="2025")
    p = layout.unpack(theta)
    expected = {"U": (1 / 160) ** 0.5, "W": (1 / 2000) ** 0.5, "V": (1 / 1000) ** 0.5}
    assert init_std(layout, "2025") == pytest.approx(expected)
    for name in "UWV":
        a = getattr(p, name)
        assert a.std() == pytest.approx(expected[name], rel=0.03), name
        assert abs(a.mean()) < 0.05 * expected[name], name
    assert not p.b.any() and not p.c.any()
