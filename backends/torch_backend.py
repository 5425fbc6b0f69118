"""The RNN in PyTorch: the NumPy reference in torch idioms (docs: backends.md#torch).

This file mirrors backends/numpy_backend.py line for line, with the fewest torch operators: each
step of the recurrence is one in-place addmm_ ("W h + input", into a buffer that already holds
the input term) and one in-place activation; softmax and its log are one log_softmax; buffers
are reused from update to update (backends/torch_workspace.py), and a training step runs in
torch.inference_mode, where an operator skips autograd's bookkeeping. On the CPU the backend
sets torch's threads by a measured rule (backends/torch_threads.py). Two variants live in their
own files: grad="autograd", the gradient by torch.autograd as an independent oracle
(backends/torch_autograd.py), and on a CUDA device the whole step captured once as a CUDA graph
and replayed (backends/torch_graph.py).
"""

from typing import NamedTuple

import numpy as np
import torch

from backends import OPTIONS as CHOICES
from backends import torch_threads
from backends.torch_graph import CudaGraphs
from backends.torch_workspace import Workspace
from common.contract import Layout, Params
from common.errors import BadInput

GRADS = CHOICES["grad"]  # the choices, from the one list in backends/__init__.py


class Cache(NamedTuple):
    """What backward needs from forward."""

    x: torch.Tensor  # (tau, B) input indices
    y: torch.Tensor  # (tau, B) target indices
    H: torch.Tensor  # (tau + 1, m, B) h_0 ... h_tau
    P: torch.Tensor  # (K, tau*B) p_t of every step, column t*B + j
    ws: Workspace  # the buffers backward writes into


class TorchBackend:
    """The RNN on torch tensors, on the CPU or a CUDA GPU."""

    name = "torch"
    OPTIONS = ("device", "grad")

    def __new__(cls, layout: Layout, dtype: str = "float64", device: str | None = None, grad: str = "manual"):
        if cls is TorchBackend and grad == "autograd":  # the oracle is a subclass, in its own file
            from backends.torch_autograd import AutogradTorchBackend

            cls = AutogradTorchBackend
        return super().__new__(cls)

    def __init__(self, layout: Layout, dtype: str = "float64", device: str | None = None, grad: str = "manual"):
        reason = self.why_not(device=device, grad=grad)  # load() has checked; a direct call may not
        if reason is not None:
            raise BadInput(reason)
        self.torch_device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.layout, self.dtype, self.grad = layout, dtype, grad
        self.device = str(self.torch_device)
        self.tdtype = getattr(torch, dtype)
        self.graphs = CudaGraphs(self) if self.torch_device.type == "cuda" else None
        self.workspaces: dict[tuple, Workspace] = {}
        self._theta_views = None
        self._buffer = None
        self._batches: set[int] = set()  # the batch sizes it has set torch's threads for

    @staticmethod
    def why_not(**options) -> str | None:
        device, grad = options.get("device"), options.get("grad", "manual")
        if grad not in GRADS:
            return f"--grad must be one of {', '.join(GRADS)} (got {grad!r})"
        if device is None:
            return None  # cuda when torch sees a GPU, else the CPU
        try:
            kind = torch.device(device).type
        except RuntimeError:
            return f"--device {device!r} is not a device torch knows (try cpu or cuda)"
        if kind == "cuda" and not torch.cuda.is_available():
            return "torch sees no CUDA GPU here (torch.cuda.is_available() is False); use --device cpu"
        if kind not in ("cpu", "cuda"):
            return f"--device {device!r}: this backend runs on cpu or cuda"
        return None

    def to_device(self, a: np.ndarray) -> torch.Tensor:
        return torch.tensor(a, dtype=self.tdtype, device=self.torch_device)  # always a copy

    def to_host(self, a: torch.Tensor) -> np.ndarray:
        return a.detach().cpu().numpy().copy()

    def copy(self, a: torch.Tensor) -> torch.Tensor:
        return a.detach().clone()  # on a GPU one device-to-device copy, asynchronous

    def _ints(self, a) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.long, device=self.torch_device)

    @staticmethod
    def _columns(S: torch.Tensor) -> torch.Tensor:
        """(T, m, B) -> (m, T*B): each step's vectors side by side."""
        T, m, B = S.shape
        return S.permute(1, 0, 2).view(m, T * B)

    @staticmethod
    def _rows(S: torch.Tensor) -> torch.Tensor:
        """(T, m, B) -> (T*B, m): the transpose of _columns(S)."""
        T, m, B = S.shape
        return S.permute(0, 2, 1).view(T * B, m)

    def _params(self, theta) -> Params:
        """U, W, V, b, c of theta; remembered, since theta is the same tensor update after update."""
        if self._theta_views is None or self._theta_views[0] is not theta:
            self._theta_views = (theta, self.layout.views(theta))
        return self._theta_views[1]

    def _workspace(self, tau: int, B: int) -> Workspace:
        ws = self.workspaces.get((tau, B))
        return ws if ws is not None else self.workspaces.setdefault((tau, B), Workspace.new(self, tau, B))

    def _threads(self, B: int) -> None:
        """Torch's CPU threads for this size, set at the first update of each batch size (process-wide)."""
        if self.torch_device.type == "cpu" and B not in self._batches:
            self._batches.add(B)
            torch_threads.use(self.layout.m, B)

    def forward(self, theta, x, y, h0):
        """Eqs. (1)-(5) (docs: model.md), in a workspace of its own: the cache outlives later steps."""
        self._threads(x.shape[1])  # gradcheck and check call forward, not step
        x, y = self._ints(x), self._ints(y)
        loss, cache = self._forward(theta, x, y, h0, Workspace.new(self, *x.shape))
        return loss.item(), cache

    # --8<-- [start:forward]
    @torch.no_grad()
    def _forward(self, theta, x, y, h0, ws: Workspace):
        U, W, V, b, c = self._params(theta)
        H, h = ws.H, ws.h  # (tau + 1, m, B) h_0 ... h_tau, and a view of each step

        # eq. (1)'s input term for every step, U x_t + b (a gather of columns of U), written
        # where h_1 ... h_tau go: each step then adds W h_{t-1} to it in place
        torch.index_select(U.T, 0, x.reshape(-1), out=self._rows(H[1:])).add_(b.T)  # (tau*B, m) as rows
        h[0].copy_(h0)
        for h_prev, h_next in zip(h, h[1:]):  # t = 1 ... tau
            h_next.addmm_(W, h_prev).tanh_()  # (m, B)  eqs. (1)-(2), in place

        O = torch.addmm(c, V, self._columns(H[1:]))  # (K, tau*B)  eq. (3) for every step at once
        P = torch.log_softmax(O, dim=0)  # (K, tau*B)  log p_t: eq. (4), max-shifted inside
        loss = -P.gather(0, y.reshape(1, -1)).sum()  # eq. (5); a tensor: no sync here
        P.exp_()  # (K, tau*B)  p_t
        return loss, Cache(x, y, H, P, ws)

    # --8<-- [end:forward]
    # --8<-- [start:backward]
    @torch.no_grad()
    def backward(self, theta, cache: Cache):
        """Eqs. (6)-(10), BPTT through the whole chunk, da_{tau+1} = 0 (docs: bptt.md)."""
        U, W, V, b, c = self._params(theta)
        x, y, H, P, ws = cache
        dU, dW, dV, db, dc = ws.dparams  # views into ws.grad

        G = ws.G.copy_(P)  # (K, tau*B)  a copy: the cache stays valid for another backward
        G.index_put_((y.reshape(-1), ws.cols), ws.minus_one, accumulate=True)  # eq. (6): g_t = p_t - y_t
        torch.mm(G, self._rows(H[1:]), out=dV)  # (K, m)  eq. (7): sum_t g_t h_t^T
        torch.sum(G, dim=1, keepdim=True, out=dc)  # (K, 1)  eq. (7): sum_t g_t

        DA, da, d = ws.DA, ws.da, ws.d  # (tau, m, B) da_1 ... da_tau, and a view of each step
        torch.mm(G.T, V, out=self._rows(DA))  # (tau*B, m)  V^T g_t of every step, written into DA
        torch.addcmul(ws.one, H[1:], H[1:], value=-1, out=ws.D)  # (tau, m, B)  tanh'(a_t) = 1 - h_t^2
        da[-1].mul_(d[-1])  # (m, B)  eqs. (8)-(9) at t = tau: da_{tau+1} = 0
        WT = W.T
        for da_t, da_next, d_t in zip(da[-2::-1], da[::-1], d[-2::-1]):  # t = tau-1 ... 1
            da_t.addmm_(WT, da_next).mul_(d_t)  # (m, B)  eqs. (8)-(9), in place on V^T g_t

        self._recurrent_and_input_grads(x, H, DA, dU, dW, db)  # eq. (10)
        return ws.grad

    def _recurrent_and_input_grads(self, x, H, DA, dU, dW, db) -> None:
        """Eq. (10) into dU, dW, db, from da_t (DA) and h_{t-1} (H[:-1])."""
        torch.mm(self._columns(DA), self._rows(H[:-1]), out=dW)  # (m, m)  sum_t da_t h_{t-1}^T
        torch.sum(self._rows(DA), dim=0, out=db[:, 0])  # (m,)  sum_t da_t
        # dU = sum_t da_t x_t^T adds da_t into column x_t of dU, i.e. row x_t of the stored dU^T
        dU.T.zero_().index_add_(0, x.reshape(-1), self._rows(DA))  # (K, m) as dU^T

    # --8<-- [end:backward]
    # --8<-- [start:update]
    @torch.no_grad()
    def update(self, theta, state, grad, opt, t):
        """Clip (eq. 11) unless opt.clip is None, then AdaGrad or Adam, in place (docs: optimizers.md)."""
        if opt.clip is not None:
            grad.clamp_(-opt.clip, opt.clip)  # eq. (11)
        if self._buffer is None or self._buffer.shape != theta.shape:
            self._buffer = torch.empty_like(theta)  # reused: a fresh large tensor each update costs page faults
        if opt.name == "adagrad":
            self._adagrad(theta, state, grad, opt.eta, opt.eps)
        else:
            self._adam(theta, state, grad, opt, t)

    # --8<-- [end:update]
    # --8<-- [start:adagrad]
    def _adagrad(self, theta, M, grad, eta, eps):
        """Eq. (12), in place (docs: adagrad.md)."""
        M.addcmul_(grad, grad)  # eq. (12): M += g^2
        denom = torch.add(M, eps, out=self._buffer).sqrt_()
        theta.addcdiv_(grad, denom, value=-eta)  # eq. (12): theta -= eta g / sqrt(M + eps)

    # --8<-- [end:adagrad]
    # --8<-- [start:adam]
    def _adam(self, theta, state, grad, opt, t):
        """Eqs. (16)-(18), in place: state = [m; v]; t = 1, 2, ... (a 0-d tensor in a CUDA graph)."""
        m, v = state.view(2, -1).unbind(0)  # Adam's first and second moments (not the hidden size m)
        m.mul_(opt.beta1).add_(grad, alpha=1 - opt.beta1)  # eq. (16): m = beta1 m + (1 - beta1) g
        v.mul_(opt.beta2).addcmul_(grad, grad, value=1 - opt.beta2)  # eq. (17): v = beta2 v + (1 - beta2) g^2
        step_size = opt.eta / (1 - opt.beta1**t)  # eq. (18): eta / (1 - beta1^t) corrects m's bias
        delta = torch.sqrt(v, out=self._buffer)
        delta.div_((1 - opt.beta2**t) ** 0.5).add_(opt.eps)  # sqrt(v / (1 - beta2^t)) + eps
        theta.sub_(torch.div(m, delta, out=delta).mul_(step_size))  # eq. (18): theta -= eta m_hat / (...)

    # --8<-- [end:adam]
    def step(self, theta, state, x, y, h0, opt, t, scale=1.0):
        """One update on the gradient of scale * L; one CUDA graph replay on a GPU."""
        if self.graphs is not None:
            return self.graphs.step(theta, state, x, y, h0, opt, t, scale)
        self._threads(x.shape[1])
        with torch.inference_mode():  # no autograd bookkeeping at all: every op dispatches faster
            loss, h = self._step_tensors(theta, state, self._ints(x), self._ints(y), h0, opt, t, scale)
        return loss.item(), h.clone()  # a copy (an ordinary tensor, made outside inference mode)

    @torch.no_grad()
    def _step_tensors(self, theta, state, x, y, h0, opt, t, scale):
        """The training step with no host synchronisation (what a CUDA graph captures)."""
        loss, cache = self._forward(theta, x, y, h0, self._workspace(*x.shape))
        grad = self.backward(theta, cache)
        if scale != 1:
            grad.mul_(scale)  # the gradient of the mean loss (scale = 1 / tau) is the sum's, scaled
            loss = loss * scale
        self.update(theta, state, grad, opt, t)
        return loss, cache.ws.h[-1]  # h_tau in the workspace: the caller copies it before the next step

    @torch.no_grad()
    def predict(self, theta, h, x):
        """Eqs. (1)-(3) for one character of one stream."""
        U, W, V, b, c = self.layout.views(theta)
        h = torch.tanh(torch.addmm(U[:, x : x + 1] + b, W, h))  # (m, 1)
        o = torch.addmm(c, V, h)  # (K, 1)
        return h, o[:, 0].double().cpu().numpy()
