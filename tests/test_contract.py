"""The contract: the parameter layout, and every backend speaking the same interface."""

import importlib
import inspect

import numpy as np
import pytest

import backends
from common.contract import NAMES, Backend, Layout, Params


def test_views_are_views_into_theta():
    layout = Layout(K=7, m=4)
    theta = np.zeros(layout.size)
    p = layout.views(theta)
    for name, a in zip(NAMES, p):
        assert a.shape == layout.shapes[name]
        a[...] = 1
    assert theta.sum() == layout.size  # every entry of theta belongs to exactly one parameter
    p.U[2, 5] = 9  # U is stored transposed: column 5 of U is contiguous
    assert theta[5 * 4 + 2] == 9


def test_pack_unpack_round_trip():
    layout = Layout(K=6, m=3)
    rng = np.random.default_rng(0)
    p = Params(*(rng.standard_normal(layout.shapes[n]) for n in NAMES))
    q = layout.unpack(layout.pack(p))
    for a, b in zip(p, q):
        assert np.array_equal(a, b) and b.flags.c_contiguous
    with pytest.raises(ValueError, match="shape"):
        layout.pack(Params(p.W, p.W, p.V, p.b, p.c))


def public_methods(cls) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize("name", backends.names())
def test_every_backend_has_the_contracts_signatures(name):
    # thinc's consistency test: the same public methods, with the same parameters in the same order
    module, cls_name, library, _ = backends.REGISTRY[name]
    if library and importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed")
    cls = getattr(importlib.import_module(module), cls_name)
    expected = public_methods(Backend)
    got = public_methods(cls)
    assert got.keys() == expected.keys()
    for method, sig in expected.items():
        assert list(got[method].parameters) == list(sig.parameters), method
    for attr in ("name", "device"):
        assert hasattr(cls, attr) or attr in inspect.signature(cls.__init__).parameters
