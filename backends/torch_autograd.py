"""The torch backend with grad="autograd": an independent oracle for the gradient (docs: backends.md#torch).

The forward pass is written plainly, one step at a time, and torch.autograd differentiates it:
it shares no code with our BPTT, so the tests use it to check the manual backward of every
backend. `backends.load("torch", layout, dtype, grad="autograd")` gives this class.
"""

from typing import NamedTuple

import torch
import torch.nn.functional as F

from backends.torch_backend import TorchBackend


class AutogradCache(NamedTuple):
    """The graph from theta to the loss."""

    leaf: torch.Tensor  # a detached copy of theta that requires grad
    loss: torch.Tensor  # () the loss, still attached to the graph
    H: torch.Tensor  # (tau + 1, m, B) h_0 ... h_tau, detached: the field every backend's cache has


class AutogradTorchBackend(TorchBackend):
    """TorchBackend with forward and backward by torch.autograd; the same update."""

    # --8<-- [start:autograd]
    def forward(self, theta, x, y, h0):
        """Eqs. (1)-(5) written plainly, one step at a time, for torch.autograd to differentiate."""
        self._threads(x.shape[1])  # gradcheck calls forward, not step
        x, y = self._ints(x), self._ints(y)
        leaf = theta.detach().requires_grad_(True)
        U, W, V, b, c = self.layout.views(leaf)
        hs, logits = [h0], []
        for t in range(x.shape[0]):
            hs.append(torch.tanh(W @ hs[-1] + U[:, x[t]] + b))  # (m, B)  eqs. (1)-(2)
            logits.append(V @ hs[-1] + c)  # (K, B)  eq. (3)
        O = torch.stack(logits)  # (tau, K, B)
        K = self.layout.K
        loss = F.cross_entropy(O.permute(0, 2, 1).reshape(-1, K), y.reshape(-1), reduction="sum")  # (4)-(5)
        return loss.item(), AutogradCache(leaf, loss, torch.stack(hs).detach())

    def backward(self, theta, cache):
        """The gradient of the loss by torch.autograd, in place of eqs. (6)-(10)."""
        return torch.autograd.grad(cache.loss, cache.leaf, retain_graph=True)[0]

    # --8<-- [end:autograd]
    def step(self, theta, state, x, y, h0, opt, t, scale=1.0):
        self._threads(x.shape[1])
        loss, cache = self.forward(theta, x, y, h0)
        grad = self.backward(theta, cache)
        if scale != 1:
            grad *= scale
        self.update(theta, state, grad, opt, t)
        return scale * loss, cache.H[-1]
