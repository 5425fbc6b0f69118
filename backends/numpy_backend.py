"""The reference backend: the RNN in NumPy, written against self.xp (docs: backends.md#numpy).

CuPy runs this same body with xp = cupy (backends/cupy_backend.py). Arrays that hold one
vector per time step are time-major, (tau, m, B), so the vector of step t is one contiguous
block H[t] for the recurrence; the products that involve every step at once (eqs. 3, 7, 10)
see the same numbers as one (m, tau*B) matrix, column t*B + j for step t of stream j.
"""

from typing import NamedTuple

import numpy as np

from common.contract import Layout


class Cache(NamedTuple):
    """What backward needs from forward."""

    x: object  # (tau, B) input indices, on the device
    y: object  # (tau, B) target indices
    H: object  # (tau + 1, m, B) h_0 ... h_tau
    P: object  # (K, tau*B) p_t of every step, column t*B + j


class NumpyBackend:
    """The RNN on host arrays; the reference every other backend is tested against."""

    name = "numpy"
    xp = np
    device = "cpu"
    OPTIONS = ()

    def __init__(self, layout: Layout, dtype: str = "float64"):
        self.layout, self.dtype = layout, dtype
        self._hidden_range = self.xp.arange(layout.m)  # 0 ... m-1, for the scatter-add of dU
        self._delta = None  # the optimizer's theta-sized scratch array, kept from update to update

    @staticmethod
    def why_not(**options) -> str | None:
        return None  # NumPy is always here

    def to_device(self, a: np.ndarray):
        return self.xp.array(a, dtype=self.dtype)  # always a copy

    def to_host(self, a) -> np.ndarray:
        return np.array(a)

    def copy(self, a):
        return a.copy()

    def _ints(self, a: np.ndarray):
        """Host indices -> device indices."""
        return self.xp.asarray(a)

    def _columns(self, S):
        """(T, m, B) -> (m, T*B): each step's vectors side by side, contiguous for BLAS."""
        T, m, B = S.shape
        return self.xp.ascontiguousarray(S.transpose(1, 0, 2).reshape(m, T * B))

    def _rows(self, S):
        """(T, m, B) -> (T*B, m): the transpose of columns(S), also contiguous."""
        T, m, B = S.shape
        return self.xp.ascontiguousarray(S.transpose(0, 2, 1).reshape(T * B, m))

    # --8<-- [start:forward]
    def forward(self, theta, x, y, h0):
        """Eqs. (1)-(5) for every stream over tau steps (docs: model.md)."""
        xp = self.xp
        U, W, V, b, c = self.layout.views(theta)
        x, y = self._ints(x), self._ints(y)
        tau, B = x.shape
        m = self.layout.m

        # eq. (1)'s input term for every step: U x_t with one-hot x_t is column x_t of U
        A = U.T[x].transpose(0, 2, 1) + b  # (tau, m, B)
        H = xp.empty((tau + 1, m, B), dtype=self.dtype)  # h_0 ... h_tau
        H[0] = h0
        h = H[0]
        for a_in, h_next in zip(A, H[1:]):  # t = 1 ... tau
            h = xp.tanh(W.dot(h) + a_in, out=h_next)  # (m, B)  eqs. (1)-(2)

        O = V @ self._columns(H[1:])  # (K, tau*B)  eq. (3) for every step in one product
        O += c
        O -= O.max(axis=0)  # softmax is shift-invariant; the shift keeps exp from overflowing
        cols = xp.arange(tau * B)
        o_y = O[y.reshape(-1), cols]  # (tau*B,) shifted logit of each target
        P = xp.exp(O, out=O)  # (K, tau*B)
        S = P.sum(axis=0)  # (tau*B,)
        loss = float(xp.log(S).sum() - o_y.sum())  # eq. (5) as log-sum-exp: no log(0)
        P /= S  # eq. (4)
        return loss, Cache(x, y, H, P)

    # --8<-- [end:forward]
    # --8<-- [start:backward]
    def backward(self, theta, cache: Cache):
        """Eqs. (6)-(10): BPTT through the whole chunk, da_{tau+1} = 0 (docs: bptt.md)."""
        xp = self.xp
        U, W, V, b, c = self.layout.views(theta)
        x, y, H, P = cache
        tau, B = x.shape
        m = self.layout.m
        grad = xp.empty_like(theta)
        dU, dW, dV, db, dc = self.layout.views(grad)

        G = P.copy()  # (K, tau*B)  a copy: the cache stays valid for another backward
        G[y.reshape(-1), xp.arange(tau * B)] -= 1  # eq. (6): g_t = p_t - y_t
        xp.matmul(G, self._rows(H[1:]), out=dV)  # (K, m)  eq. (7): sum_t g_t h_t^T
        G.sum(axis=1, keepdims=True, out=dc)  # (K, 1)  eq. (7): sum_t g_t

        VG = (G.T @ V).reshape(tau, B, m).transpose(0, 2, 1)  # (tau, m, B)  V^T g_t, every t
        D = 1 - H[1:] * H[1:]  # (tau, m, B)  tanh'(a_t) = 1 - h_t^2
        DA = xp.empty((tau, m, B), dtype=self.dtype)  # da_1 ... da_tau
        da = xp.multiply(VG[-1], D[-1], out=DA[-1])  # (m, B)  eqs. (8)-(9) at t = tau: da_{tau+1} = 0
        WT = W.T
        for vg, d, da_out in zip(VG[-2::-1], D[-2::-1], DA[-2::-1]):  # t = tau-1 ... 1
            da = xp.multiply(vg + WT.dot(da), d, out=da_out)  # (m, B)  eqs. (8)-(9)

        self._recurrent_and_input_grads(x, H, DA, dU, dW, db)  # eq. (10)
        return grad

    def _recurrent_and_input_grads(self, x, H, DA, dU, dW, db) -> None:
        """Eq. (10) into dU, dW, db, from da_t (DA) and h_{t-1} (H[:-1])."""
        K, m = self.layout.K, self.layout.m
        self.xp.matmul(self._columns(DA), self._rows(H[:-1]), out=dW)  # (m, m)  sum_t da_t h_{t-1}^T
        DA.sum(axis=(0, 2), out=db[:, 0])  # (m,)  sum_t da_t
        # dU = sum_t da_t x_t^T adds da_t into column x_t of dU, i.e. row x_t of the stored dU^T:
        # a scatter-add, done as a weighted bincount over the flat positions of dU^T
        where = (x.reshape(-1, 1) * m + self._hidden_range).reshape(-1)  # (tau*B*m,)
        sums = self.xp.bincount(where, weights=self._rows(DA).reshape(-1), minlength=K * m)
        dU.T.reshape(-1)[:] = sums  # (K*m,) as dU^T

    # --8<-- [end:backward]
    # --8<-- [start:update]
    def update(self, theta, state, grad, opt, t):
        """Clip (eq. 11) unless opt.clip is None, then AdaGrad or Adam, in place (docs: optimizers.md)."""
        if opt.clip is not None:
            self.xp.clip(grad, -opt.clip, opt.clip, out=grad)  # eq. (11)
        if opt.name == "adagrad":
            self._adagrad(theta, state, grad, opt.eta, opt.eps)
        else:
            self._adam(theta, state, grad, opt, t)

    # --8<-- [end:update]
    # --8<-- [start:adagrad]
    def _adagrad(self, theta, M, grad, eta, eps):
        """Eq. (12), in place (docs: adagrad.md)."""
        xp, delta = self.xp, self._scratch(grad)
        xp.multiply(grad, grad, out=delta)
        M += delta  # eq. (12): M += g^2
        xp.add(M, eps, out=delta)
        xp.sqrt(delta, out=delta)
        xp.divide(grad, delta, out=delta)
        delta *= eta
        theta -= delta  # eq. (12): theta -= eta g / sqrt(M + eps)

    # --8<-- [end:adagrad]
    # --8<-- [start:adam]
    def _adam(self, theta, state, grad, opt, t):
        """Eqs. (16)-(18), in place: state = [m; v], t = 1, 2, ... (docs: optimizers.md#adam)."""
        xp, n, delta = self.xp, theta.shape[0], self._scratch(grad)
        m, v = state[:n], state[n:]  # Adam's first and second moments (not the hidden size m)
        m *= opt.beta1
        m += xp.multiply(grad, 1 - opt.beta1, out=delta)  # eq. (16): m = beta1 m + (1 - beta1) g
        v *= opt.beta2
        xp.multiply(grad, 1 - opt.beta2, out=delta)
        v += xp.multiply(delta, grad, out=delta)  # eq. (17): v = beta2 v + (1 - beta2) g^2
        step_size = opt.eta / (1 - opt.beta1**t)  # eq. (18): eta / (1 - beta1^t) corrects m's bias
        xp.sqrt(v, out=delta)
        delta /= (1 - opt.beta2**t) ** 0.5  # sqrt(v / (1 - beta2^t)): v's bias corrected
        delta += opt.eps
        xp.divide(m, delta, out=delta)
        delta *= step_size
        theta -= delta  # eq. (18): theta -= eta m_hat / (sqrt(v_hat) + eps)

    # --8<-- [end:adam]

    def _scratch(self, like):
        """The optimizer's scratch array: one kept from update to update, since a fresh array of
        theta's size at every update can make the allocator give its pages back to the system and
        fault them in again (a fresh process's update took 1.5 times as long)."""
        if self._delta is None or self._delta.shape != like.shape or self._delta.dtype != like.dtype:
            self._delta = self.xp.empty_like(like)
        return self._delta

    def step(self, theta, state, x, y, h0, opt, t, scale=1.0):
        """One update on the gradient of scale * L: forward, BPTT, update; scale * L and h_tau."""
        loss, cache = self.forward(theta, x, y, h0)
        grad = self.backward(theta, cache)
        if scale != 1:
            grad *= scale  # the gradient of the mean loss (scale = 1 / tau) is the sum's, scaled
        self.update(theta, state, grad, opt, t)
        return scale * loss, cache.H[-1]

    def predict(self, theta, h, x):
        """Eqs. (1)-(3) for one character of one stream."""
        U, W, V, b, c = self.layout.views(theta)
        h = self.xp.tanh(W.dot(h) + U[:, x : x + 1] + b)  # (m, 1)
        o = V.dot(h) + c  # (K, 1)
        return h, self.to_host(o[:, 0]).astype(np.float64)
