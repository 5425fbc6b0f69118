"""Reusable buffers for the torch backend's manual BPTT (docs: backends.md#torch).

A torch op costs microseconds of dispatch on the CPU, allocating and slicing included; at B = 1
that, not arithmetic, is most of an update. So TorchBackend keeps one Workspace per (tau, B),
with a view of each time step made once, and writes into it update after update.
"""

from typing import NamedTuple

import torch

from common.contract import Params


class Workspace(NamedTuple):
    """Buffers for one (tau, B), with a view of each step made once."""

    H: torch.Tensor  # (tau + 1, m, B) h_0 ... h_tau
    h: tuple  # H[t] for each t
    VG: torch.Tensor  # (tau*B, m) V^T g_t of every step, as rows
    vg: tuple  # (m, B) view of step t of VG
    D: torch.Tensor  # (tau, m, B) 1 - h_t^2
    d: tuple
    DA: torch.Tensor  # (tau, m, B) da_1 ... da_tau
    da: tuple
    cols: torch.Tensor  # (tau*B,) 0 ... tau*B - 1: the column of each step's target in eq. (6)
    grad: torch.Tensor  # the flat gradient
    dparams: Params  # its views dU, dW, dV, db, dc

    @staticmethod
    def new(backend, tau: int, B: int) -> "Workspace":
        m, opts = backend.layout.m, {"dtype": backend.tdtype, "device": backend.torch_device}
        H, D, DA = (
            torch.empty((tau + 1, m, B), **opts),
            torch.empty((tau, m, B), **opts),
            torch.empty((tau, m, B), **opts),
        )
        VG = torch.empty((tau * B, m), **opts)
        grad = torch.empty(backend.layout.size, **opts)
        vg = tuple(r.T for r in VG.view(tau, B, m).unbind(0))
        cols = torch.arange(tau * B, device=backend.torch_device)
        views = backend.layout.views(grad)
        return Workspace(H, H.unbind(0), VG, vg, D, D.unbind(0), DA, DA.unbind(0), cols, grad, views)
