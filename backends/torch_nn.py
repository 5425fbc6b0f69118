"""What a PyTorch user would write instead: nn.RNN + nn.Linear, autograd, torch.optim.

A yardstick for the benchmark (docs: performance.md), not a backend: the same model and sizes
(cuDNN's RNN on a GPU), the way the library's tutorials put it together, one-hot inputs included,
with torch's own Adagrad or Adam (docs: optimizers.md). torch.optim.Adagrad divides by
sqrt(M) + eps rather than sqrt(M + eps), and nn.RNN has a second hidden bias; neither changes
what is timed.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from common.contract import Layout, Optimizer


class NNRNN:
    def __init__(self, layout: Layout, dtype: str, device: str, theta0: np.ndarray, opt: Optimizer = Optimizer()):
        opts = {"dtype": getattr(torch, dtype), "device": torch.device(device)}
        K, m = layout.K, layout.m
        self.K, self.opts, self.clip = K, opts, opt.clip
        self.rnn = nn.RNN(K, m, nonlinearity="tanh", **opts)
        self.out = nn.Linear(m, K, **opts)
        U, W, V, b, c = (torch.tensor(a, **opts) for a in layout.unpack(theta0))
        with torch.no_grad():  # the same initial weights as the backends
            self.rnn.weight_ih_l0.copy_(U)
            self.rnn.weight_hh_l0.copy_(W)
            self.rnn.bias_ih_l0.copy_(b[:, 0])
            self.rnn.bias_hh_l0.zero_()
            self.out.weight.copy_(V)
            self.out.bias.copy_(c[:, 0])
        self.params = [*self.rnn.parameters(), *self.out.parameters()]
        if opt.name == "adagrad":
            self.opt = torch.optim.Adagrad(self.params, lr=opt.eta, eps=opt.eps)
        else:
            self.opt = torch.optim.Adam(self.params, lr=opt.eta, betas=(opt.beta1, opt.beta2), eps=opt.eps)

    def zeros(self, B: int) -> torch.Tensor:
        return torch.zeros(1, B, self.rnn.hidden_size, **self.opts)

    def step(self, x: np.ndarray, y: np.ndarray, h: torch.Tensor) -> tuple[float, torch.Tensor]:
        """One update on inputs x and targets y, each (tau, B); h is (1, B, m)."""
        device = self.opts["device"]
        inputs = F.one_hot(torch.as_tensor(x, device=device), self.K).to(self.opts["dtype"])  # (tau, B, K)
        hs, h_last = self.rnn(inputs, h)  # (tau, B, m)
        logits = self.out(hs)  # (tau, B, K)
        targets = torch.as_tensor(y, device=device).reshape(-1)
        loss = F.cross_entropy(logits.reshape(-1, self.K), targets, reduction="sum")
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip is not None:
            nn.utils.clip_grad_value_(self.params, self.clip)
        self.opt.step()
        return loss.item(), h_last.detach()
