"""The RNN in PyTorch: the NumPy reference in torch idioms (docs: backends.md#torch).

The manual mode mirrors backends/numpy_backend.py line for line, under torch.no_grad():
fused addmm for "W h + input", in-place AdaGrad (addcmul_, addcdiv_), index_add_ for the
scatter-add of dU. The autograd mode (grad="autograd") computes the same gradients with
torch.autograd from a forward pass written plainly, one step at a time: it shares no code with
our BPTT, so the tests use it as an independent oracle. On a CUDA device the whole training step
is captured once in a CUDA graph and replayed: one update is one replay.
"""

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from common.contract import ADAGRAD_EPS, CLIP, Layout, Params
from common.errors import BadInput

GRADS = ("manual", "autograd")


class Cache(NamedTuple):
    """What backward needs from forward (manual mode)."""

    x: torch.Tensor  # (tau, B) input indices
    y: torch.Tensor  # (tau, B) target indices
    H: torch.Tensor  # (tau + 1, m, B) h_0 ... h_tau
    P: torch.Tensor  # (K, tau*B) p_t of every step, column t*B + j
    ws: "Workspace"  # the buffers backward writes into


class Workspace(NamedTuple):
    """Buffers for one (tau, B), with a view of each step made once.

    A torch op costs microseconds of dispatch on the CPU, allocating and slicing included; at
    B = 1 that, not arithmetic, is most of an update. step() reuses one workspace per shape.
    """

    H: torch.Tensor  # (tau + 1, m, B) h_0 ... h_tau
    h: tuple  # H[t] for each t
    VG: torch.Tensor  # (tau*B, m) V^T g_t of every step, as rows
    vg: tuple  # (m, B) view of step t of VG
    D: torch.Tensor  # (tau, m, B) 1 - h_t^2
    d: tuple
    DA: torch.Tensor  # (tau, m, B) da_1 ... da_tau
    da: tuple
    grad: torch.Tensor  # the flat gradient
    dparams: Params  # its views dU, dW, dV, db, dc

    @staticmethod
    def new(backend: "TorchBackend", tau: int, B: int) -> "Workspace":
        m, opts = backend.layout.m, {"dtype": backend.tdtype, "device": backend.torch_device}
        H, D, DA = (
            torch.empty((tau + 1, m, B), **opts),
            torch.empty((tau, m, B), **opts),
            torch.empty((tau, m, B), **opts),
        )
        VG = torch.empty((tau * B, m), **opts)
        grad = torch.empty(backend.layout.size, **opts)
        vg = tuple(r.T for r in VG.view(tau, B, m).unbind(0))
        return Workspace(H, H.unbind(0), VG, vg, D, D.unbind(0), DA, DA.unbind(0), grad, backend.layout.views(grad))


class AutogradCache(NamedTuple):
    """The autograd mode's cache: the graph from theta to the loss."""

    leaf: torch.Tensor  # a detached copy of theta that requires grad
    loss: torch.Tensor  # () the loss, still attached to the graph
    h_tau: torch.Tensor  # (m, B)


class Graph(NamedTuple):
    """A captured training step and the tensors it reads and writes."""

    graph: torch.cuda.CUDAGraph
    x: torch.Tensor  # (tau, B) static inputs: copy new ones in before replay
    y: torch.Tensor
    h0: torch.Tensor  # (m, B)
    loss: torch.Tensor  # () written by replay
    h: torch.Tensor  # (m, B) h_tau, written by replay


class TorchBackend:
    """The RNN on torch tensors, on the CPU or a CUDA GPU."""

    name = "torch"
    OPTIONS = ("device", "grad")

    def __init__(self, layout: Layout, dtype: str = "float64", device: str | None = None, grad: str = "manual"):
        reason = self.why_not(device=device, grad=grad)  # load() has checked; a direct call may not
        if reason is not None:
            raise BadInput(reason)
        self.torch_device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.layout, self.dtype, self.grad = layout, dtype, grad
        self.device = str(self.torch_device)
        self.tdtype = getattr(torch, dtype)
        self.graphs: dict[tuple, Graph] = {}
        self.workspaces: dict[tuple, Workspace] = {}
        self._theta_views = None
        self._denom = None

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

    def _ints(self, a) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.long, device=self.torch_device)

    @staticmethod
    def _columns(S: torch.Tensor) -> torch.Tensor:
        """(T, m, B) -> (m, T*B): each step's vectors side by side."""
        T, m, B = S.shape
        return S.permute(1, 0, 2).reshape(m, T * B)

    @staticmethod
    def _rows(S: torch.Tensor) -> torch.Tensor:
        """(T, m, B) -> (T*B, m): the transpose of _columns(S)."""
        T, m, B = S.shape
        return S.permute(0, 2, 1).reshape(T * B, m)

    def forward(self, theta, x, y, h0):
        """Eqs. (1)-(5) (docs: model.md)."""
        x, y = self._ints(x), self._ints(y)
        if self.grad == "autograd":
            return self._forward_autograd(theta, x, y, h0)
        loss, cache = self._forward(theta, x, y, h0, Workspace.new(self, *x.shape))
        return loss.item(), cache

    def backward(self, theta, cache):
        """Eqs. (6)-(10), BPTT (docs: bptt.md); autograd's gradient in autograd mode."""
        if isinstance(cache, AutogradCache):
            return torch.autograd.grad(cache.loss, cache.leaf, retain_graph=True)[0]
        return self._backward(theta, cache)

    def _params(self, theta) -> Params:
        """U, W, V, b, c of theta; remembered, since theta is the same tensor update after update."""
        if self._theta_views is None or self._theta_views[0] is not theta:
            self._theta_views = (theta, self.layout.views(theta))
        return self._theta_views[1]

    # --8<-- [start:forward]
    @torch.no_grad()
    def _forward(self, theta, x, y, h0, ws: "Workspace"):
        U, W, V, b, c = self._params(theta)
        tau, B = x.shape

        A = U.T[x].permute(0, 2, 1) + b  # (tau, m, B)  U x_t + b: a gather of columns of U
        H, h = ws.H, ws.h  # (tau + 1, m, B) h_0 ... h_tau, and a view of each step
        H[0] = h0
        for t, a_in in enumerate(A.unbind(0)):
            torch.addmm(a_in, W, h[t], out=h[t + 1]).tanh_()  # (m, B)  eqs. (1)-(2), in place

        O = torch.addmm(c, V, self._columns(H[1:]))  # (K, tau*B)  eq. (3) for every step at once
        O -= O.amax(dim=0)  # the max shift of eq. (4)
        o_y = O.gather(0, y.reshape(1, -1))  # (1, tau*B) shifted logit of each target
        P = O.exp_()  # (K, tau*B)
        S = P.sum(dim=0)  # (tau*B,)
        loss = S.log().sum() - o_y.sum()  # eq. (5) as log-sum-exp; a tensor: no sync here
        P /= S  # eq. (4)
        return loss, Cache(x, y, H, P, ws)

    # --8<-- [end:forward]
    # --8<-- [start:backward]
    @torch.no_grad()
    def _backward(self, theta, cache: Cache):
        U, W, V, b, c = self._params(theta)
        x, y, H, P, ws = cache
        tau, B = x.shape
        dU, dW, dV, db, dc = ws.dparams  # views into ws.grad

        G = P.clone()  # (K, tau*B)  a copy: the cache stays valid for another backward
        G.scatter_add_(0, y.reshape(1, -1), G.new_full((1, tau * B), -1.0))  # eq. (6): g_t = p_t - y_t
        torch.mm(G, self._rows(H[1:]), out=dV)  # (K, m)  eq. (7)
        torch.sum(G, dim=1, keepdim=True, out=dc)  # (K, 1)  eq. (7)

        torch.mm(G.T, V, out=ws.VG)  # (tau*B, m)  V^T g_t of every step, as rows; ws.vg[t]: (m, B)
        torch.mul(H[1:], H[1:], out=ws.D).neg_().add_(1)  # (tau, m, B)  tanh'(a_t) = 1 - h_t^2
        vg, d, da = ws.vg, ws.d, ws.da
        torch.mul(vg[-1], d[-1], out=da[-1])  # (m, B)  eqs. (8)-(9) at t = tau: da_{tau+1} = 0
        WT = W.T
        for t in range(tau - 2, -1, -1):  # t = tau-1 ... 1
            torch.addmm(vg[t], WT, da[t + 1], out=da[t]).mul_(d[t])  # (m, B)  eqs. (8)-(9), in place

        torch.mm(self._columns(ws.DA), self._rows(H[:-1]), out=dW)  # (m, m)  eq. (10)
        torch.sum(ws.DA, dim=(0, 2), out=db[:, 0])  # (m,)  eq. (10)
        dU.T.zero_().index_add_(0, x.reshape(-1), self._rows(ws.DA))  # eq. (10): scatter-add into dU^T
        return ws.grad

    # --8<-- [end:backward]
    # --8<-- [start:adagrad]
    @torch.no_grad()
    def adagrad(self, theta, mem, grad, eta):
        """Eqs. (11)-(12), in place (docs: adagrad.md)."""
        grad.clamp_(-CLIP, CLIP)  # eq. (11)
        mem.addcmul_(grad, grad)  # eq. (12): M += g^2
        if self._denom is None or self._denom.shape != mem.shape:
            self._denom = torch.empty_like(mem)  # reused: a fresh large tensor each update costs page faults
        denom = torch.add(mem, ADAGRAD_EPS, out=self._denom).sqrt_()
        theta.addcdiv_(grad, denom, value=-eta)  # eq. (12): theta -= eta g / sqrt(M + eps)

    # --8<-- [end:adagrad]
    def step(self, theta, mem, x, y, h0, eta):
        """One update: forward, BPTT, clip, AdaGrad; one CUDA graph replay on a GPU."""
        if self.torch_device.type == "cuda" and self.grad == "manual":
            return self._replay(theta, mem, x, y, h0, eta)
        if self.grad == "autograd":
            loss, cache = self.forward(theta, x, y, h0)
            self.adagrad(theta, mem, self.backward(theta, cache), eta)
            return loss, cache.h_tau.detach()
        loss, h = self._step_tensors(theta, mem, self._ints(x), self._ints(y), h0, eta)
        return loss.item(), h

    @torch.no_grad()
    def _step_tensors(self, theta, mem, x, y, h0, eta):
        """The training step with no host synchronisation (what a CUDA graph captures)."""
        key = tuple(x.shape)
        ws = self.workspaces.get(key) or self.workspaces.setdefault(key, Workspace.new(self, *key))
        loss, cache = self._forward(theta, x, y, h0, ws)
        self.adagrad(theta, mem, self._backward(theta, cache), eta)
        return loss, ws.H[-1].clone()  # a copy: the next step reuses ws.H

    def _replay(self, theta, mem, x, y, h0, eta):
        key = (theta.data_ptr(), mem.data_ptr(), x.shape, eta)
        g = self.graphs.get(key)
        if g is None:
            g = self.graphs[key] = self._capture(theta, mem, x, y, h0, eta)
        g.x.copy_(self._ints(x))
        g.y.copy_(self._ints(y))
        g.h0.copy_(h0)
        g.graph.replay()
        return g.loss.item(), g.h.clone()  # the clone: the next replay overwrites g.h

    def _capture(self, theta, mem, x, y, h0, eta) -> Graph:
        """Record one training step of these shapes in a CUDA graph (theta, mem updated by each replay)."""
        sx, sy, sh0 = self._ints(x).clone(), self._ints(y).clone(), h0.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up on copies: cuBLAS and the allocator settle first
            for _ in range(2):
                self._step_tensors(theta.clone(), mem.clone(), sx, sy, sh0, eta)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            loss, h = self._step_tensors(theta, mem, sx, sy, sh0, eta)
        return Graph(graph, sx, sy, sh0, loss, h)

    @torch.no_grad()
    def predict(self, theta, h, x):
        """Eqs. (1)-(3) for one character of one stream."""
        U, W, V, b, c = self.layout.views(theta)
        h = torch.tanh(torch.addmm(U[:, x : x + 1] + b, W, h))  # (m, 1)
        o = torch.addmm(c, V, h)  # (K, 1)
        return h, o[:, 0].double().cpu().numpy()

    # --8<-- [start:autograd]
    def _forward_autograd(self, theta, x, y, h0):
        """Eqs. (1)-(5) written plainly, one step at a time, for torch.autograd to differentiate."""
        leaf = theta.detach().requires_grad_(True)
        U, W, V, b, c = self.layout.views(leaf)
        h = h0
        logits = []
        for t in range(x.shape[0]):
            h = torch.tanh(W @ h + U[:, x[t]] + b)  # (m, B)  eqs. (1)-(2)
            logits.append(V @ h + c)  # (K, B)  eq. (3)
        O = torch.stack(logits)  # (tau, K, B)
        K = self.layout.K
        loss = F.cross_entropy(O.permute(0, 2, 1).reshape(-1, K), y.reshape(-1), reduction="sum")  # (4)-(5)
        return loss.item(), AutogradCache(leaf, loss, h)

    # --8<-- [end:autograd]
