"""Reusable buffers for the torch backend's manual BPTT (docs: backends.md#torch).

A torch op costs microseconds of dispatch on the CPU, allocating and slicing included; at B = 1
that, not arithmetic, is most of an update. So TorchBackend keeps one Workspace per (tau, B),
with a view of each time step made once, and writes into it update after update.

Each buffer that holds a vector per step and stream is stored step-major and stream-major,
(tau, B, m): row t*B + j is the vector of step t, stream j. The (tau, m, B) arrays of the
maths, each step's (m, B) block, and the (m, tau*B) matrix of every step side by side are then
all views of the same memory (transposes that BLAS reads as they are), so no product copies.
"""

from typing import NamedTuple

import torch

from common.contract import Params


class Workspace(NamedTuple):
    """Buffers for one (tau, B), with a view of each step made once."""

    H: torch.Tensor  # (tau + 1, m, B) h_0 ... h_tau, a view of rows stored (tau + 1, B, m)
    h: tuple  # (m, B) H[t] for each t
    D: torch.Tensor  # (tau, m, B) 1 - h_t^2, stored as rows
    d: tuple
    DA: torch.Tensor  # (tau, m, B) da_1 ... da_tau, stored as rows
    da: tuple
    G: torch.Tensor  # (K, tau*B) g_t of every step, column t*B + j
    cols: torch.Tensor  # (tau*B,) 0 ... tau*B - 1: the column of each step's target in eq. (6)
    minus_one: torch.Tensor  # () -1, added at each target in eq. (6)
    one: torch.Tensor  # () 1, for 1 - h_t^2
    grad: torch.Tensor  # the flat gradient
    dparams: Params  # its views dU, dW, dV, db, dc

    @staticmethod
    def new(backend, tau: int, B: int) -> "Workspace":
        K, m = backend.layout.K, backend.layout.m
        opts = {"dtype": backend.tdtype, "device": backend.torch_device}
        H, D, DA = (torch.empty((n, B, m), **opts).permute(0, 2, 1) for n in (tau + 1, tau, tau))
        G = torch.empty((K, tau * B), **opts)
        cols = torch.arange(tau * B, device=backend.torch_device)
        minus_one, one = torch.tensor(-1, **opts), torch.tensor(1, **opts)
        grad = torch.empty(backend.layout.size, **opts)
        views = backend.layout.views(grad)
        return Workspace(H, H.unbind(0), D, D.unbind(0), DA, DA.unbind(0), G, cols, minus_one, one, grad, views)
