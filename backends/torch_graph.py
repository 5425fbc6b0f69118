"""The torch backend's training step as a CUDA graph: captured once, replayed every update.

On a GPU at batch 1 an update is about a hundred small kernels, and launching them from Python
costs more than running them. A CUDA graph records the launches of one TorchBackend._step_tensors
once, for fixed tensors, and replays them with one call (docs: backends.md#torch). What changes
between updates (x, y, h0, and Adam's update count t) is copied into the captured tensors first.
"""

from typing import NamedTuple

import torch


class Graph(NamedTuple):
    """A captured training step and the tensors it reads and writes."""

    graph: torch.cuda.CUDAGraph
    x: torch.Tensor  # (tau, B) static inputs: copy new ones in before replay
    y: torch.Tensor
    h0: torch.Tensor  # (m, B)
    t: torch.Tensor  # () the 1-based update count, for Adam's bias correction (eq. 18)
    loss: torch.Tensor  # () written by replay
    h: torch.Tensor  # (m, B) h_tau, written by replay


class CudaGraphs:
    """One captured step per (theta, state, shapes, optimizer, scale) of one backend."""

    def __init__(self, backend):
        self.backend = backend
        self.graphs: dict[tuple, Graph] = {}

    def __len__(self) -> int:
        return len(self.graphs)

    def step(self, theta, state, x, y, h0, opt, t, scale):
        """TorchBackend.step as one replay: scale * L and h_tau."""
        key = (theta.data_ptr(), state.data_ptr(), x.shape, opt, scale)
        g = self.graphs.get(key)
        if g is None:
            g = self.graphs[key] = self._capture(theta, state, x, y, h0, opt, t, scale)
        g.x.copy_(self.backend._ints(x))
        g.y.copy_(self.backend._ints(y))
        g.h0.copy_(h0)
        g.t.fill_(t)
        g.graph.replay()
        return g.loss.item(), g.h.clone()  # the clone: the next replay overwrites g.h

    def _capture(self, theta, state, x, y, h0, opt, t, scale) -> Graph:
        """Record one training step of these shapes (theta, state updated by each replay)."""
        b = self.backend
        sx, sy, sh0 = b._ints(x).clone(), b._ints(y).clone(), h0.clone()
        st = torch.tensor(float(t), dtype=torch.float64, device=b.torch_device)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up on copies: cuBLAS and the allocator settle first
            for _ in range(2):
                b._step_tensors(theta.clone(), state.clone(), sx, sy, sh0, opt, st, scale)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            loss, h = b._step_tensors(theta, state, sx, sy, sh0, opt, st, scale)
        return Graph(graph, sx, sy, sh0, st, loss, h)
