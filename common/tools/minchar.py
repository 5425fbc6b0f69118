"""Karpathy's min-char-rnn algorithm, kept faithful: the yardstick of the benchmark (docs: performance.md).

One-hot input vectors, one small product per time step in both passes, five separate
parameter arrays and AdaGrad memories. The names map to ours as Wxh = U, Whh = W, Why = V,
bh = b, by = c. It computes the same maths as the backends (a test checks the gradients of
one step from identical weights); it is here only to be measured against. Not a backend.
"""

import numpy as np

from common.contract import ADAGRAD_EPS, CLIP, Params


class MinCharRNN:
    def __init__(self, p: Params, dtype: str = "float64"):
        self.dtype = np.dtype(dtype)
        self.Wxh, self.Whh, self.Why, self.bh, self.by = (np.array(a, dtype=self.dtype) for a in p)
        self.mem = [np.zeros_like(a) for a in self.params()]

    def params(self) -> list[np.ndarray]:
        return [self.Wxh, self.Whh, self.Why, self.bh, self.by]

    def loss_fun(self, inputs, targets, hprev):
        """min-char-rnn's lossFun: the loss, the clipped gradients and the last hidden state."""
        Wxh, Whh, Why, bh, by = self.params()
        vocab_size = Why.shape[0]
        xs, hs, ys, ps = {}, {}, {}, {}
        hs[-1] = np.copy(hprev)
        loss = 0
        for t in range(len(inputs)):
            xs[t] = np.zeros((vocab_size, 1), dtype=self.dtype)  # one-hot
            xs[t][inputs[t]] = 1
            hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)
            ys[t] = np.dot(Why, hs[t]) + by
            ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
            loss += -np.log(ps[t][targets[t], 0])
        dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
        dbh, dby = np.zeros_like(bh), np.zeros_like(by)
        dhnext = np.zeros_like(hs[0])
        for t in reversed(range(len(inputs))):
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1
            dWhy += np.dot(dy, hs[t].T)
            dby += dy
            dh = np.dot(Why.T, dy) + dhnext
            dhraw = (1 - hs[t] * hs[t]) * dh
            dbh += dhraw
            dWxh += np.dot(dhraw, xs[t].T)
            dWhh += np.dot(dhraw, hs[t - 1].T)
            dhnext = np.dot(Whh.T, dhraw)
        grads = [dWxh, dWhh, dWhy, dbh, dby]
        for dparam in grads:
            np.clip(dparam, -CLIP, CLIP, out=dparam)
        return float(loss), grads, hs[len(inputs) - 1]

    def step(self, inputs, targets, hprev, learning_rate):
        """lossFun, then min-char-rnn's AdaGrad update of each parameter."""
        loss, grads, hprev = self.loss_fun(inputs, targets, hprev)
        for param, dparam, mem in zip(self.params(), grads, self.mem):
            mem += dparam * dparam
            param += -learning_rate * dparam / np.sqrt(mem + ADAGRAD_EPS)
        return loss, hprev
