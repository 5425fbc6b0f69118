"""One kernel launch per training update: the host side of cupy_persistent.cu (docs: gpu.md#one-kernel-per-update).

The kernel `rnn_step` runs a whole update in one block: forward, loss, BPTT, the five gradients,
clipping and AdaGrad or Adam. Per update the host copies x and y in (one copy from pinned
memory, asynchronous), launches the kernel once, and copies the loss out (the one wait). What
fits is decided by shared memory: W, V, the tau + 1 hidden states, the outputs and the da_t of
every step must fit in what the GPU gives one block (227 KB on an H100).
"""

from pathlib import Path
from typing import NamedTuple

import numpy as np

from common.errors import BadInput

SOURCE = Path(__file__).with_name("cupy_persistent.cu")
UPDATE, GRADIENT, LOSS, LOGITS = range(4)  # the kernel's modes
MAX_THREADS = 1024  # the kernel's __launch_bounds__
MAX_Q = 8  # threads per row of the chain's matrix-vector products: 13 + 8 dependent additions a step at m = 100


class Cache(NamedTuple):
    """What backward needs: the chunk itself (the kernel recomputes the forward pass)."""

    x: np.ndarray  # (tau, B) input indices, host
    y: np.ndarray  # (tau, B) target indices, host
    h0: object  # (m, B) on the device
    H: object  # (1, m, B): h_tau only (H[-1], as the contract asks)


def threads_per_row(m: int, B: int) -> int:
    """Q: as many threads per row as the block has room for, at most MAX_Q and at most m."""
    return max(1, min(MAX_Q, m, MAX_THREADS // (m * B)))


def shared_bytes(m: int, K: int, tau: int, B: int, itemsize: int) -> int:
    """Dynamic shared memory of one launch: the layout at the top of cupy_persistent.cu."""
    cols, Q = tau * B, threads_per_row(m, B)
    reals = m * (m | 1) + m * (K | 1) + (cols + B) * m + cols * K + cols * m + Q * B * m + 2 * cols
    return reals * itemsize


class Persistent:
    """The rnn_step kernel for one backend's sizes and dtype, its launches and its pinned buffers."""

    def __init__(self, backend):
        cp = self.cp = backend.xp
        self.layout, self.dtype = backend.layout, np.dtype(backend.dtype)
        self.real = self.dtype.type  # kernel scalars must have REAL's width, not Python's double
        real = "float" if self.dtype == np.float32 else "double"
        self.kernel = cp.RawKernel(SOURCE.read_text(), "rnn_step", options=(f"-DREAL={real}",))
        device = cp.cuda.Device().id
        self.limit = cp.cuda.runtime.getDeviceProperties(device)["sharedMemPerBlockOptin"]
        self.check(1, 1)  # W and V alone must fit
        self.kernel.max_dynamic_shared_size_bytes = self.limit
        self.nothing = cp.asarray(np.zeros(1, self.dtype))  # for the pointers a mode does not use
        self.buffers = {}  # (tau, B) -> pinned host x and y, their device copy, pinned host loss, device loss

    def check(self, tau: int, B: int) -> None:
        """One BadInput line when an update of tau steps and B streams does not fit in one block."""
        K, m = self.layout.K, self.layout.m
        need = shared_bytes(m, K, tau, B, self.dtype.itemsize)
        if need > self.limit:
            raise BadInput(
                f"--kernels persistent needs {need:,} bytes of shared memory for m={m}, K={K}, "
                f"seq_length={tau}, batch {B}, {self.dtype.name}, and this GPU gives one block {self.limit:,}; "
                "--kernels fused and --kernels plain still work"
            )

    def launch(self, theta, state, xy, t0, t1, h0, h_out, loss, out, mode, opt=None, t=1, scale=1.0):
        """One launch of rnn_step on steps t0 ... t1-1 of the chunk xy (2, tau, B) on the device."""
        K, m = self.layout.K, self.layout.m
        tau, B = t1 - t0, h0.shape[1]
        Q = threads_per_row(m, B)
        threads = min(MAX_THREADS, 32 * -(-Q * B * m // 32))
        i32, r = np.int32, self.real
        clip = 0.0 if opt is None or opt.clip is None else opt.clip
        adam = opt is not None and opt.name == "adam"
        if adam:  # the bias corrections of eq. (18): eta / (1 - beta1^t) and sqrt(1 - beta2^t)
            eta, c2 = opt.eta / (1 - opt.beta1**t), (1 - opt.beta2**t) ** 0.5
            hyper = (eta, clip, opt.eps, opt.beta1, 1 - opt.beta1, opt.beta2, 1 - opt.beta2, c2, scale)
        else:
            hyper = (0.0 if opt is None else opt.eta, clip, 0.0 if opt is None else opt.eps, 0, 0, 0, 0, 1, scale)
        x, y = xy[0, t0:t1], xy[1, t0:t1]
        args = (theta, state, x, y, h0, h_out, loss, out, i32(tau), i32(m), i32(K), i32(B), i32(Q), i32(mode))
        args += (i32(adam), *(r(v) for v in hyper))
        shared = shared_bytes(m, K, tau, B, self.dtype.itemsize)
        self.kernel((1,), (threads,), args, shared_mem=shared)

    def io(self, x: np.ndarray, y: np.ndarray, pieces: int = 1):
        """x and y on the device through one asynchronous copy from pinned memory; a loss buffer per piece.

        Every caller reads a result back (a wait) before it returns, so the copy is done before
        the next call writes the pinned buffer again.
        """
        key = (x.shape, pieces)
        if key not in self.buffers:
            cp = self.cp
            xy = np.frombuffer(cp.cuda.alloc_pinned_memory(2 * x.size * 8), np.int64, 2 * x.size).reshape(2, *x.shape)
            loss = np.frombuffer(cp.cuda.alloc_pinned_memory(pieces * 8), self.dtype, pieces)
            self.buffers[key] = IO(xy, cp.empty(xy.shape, np.int64), loss, cp.empty(pieces, self.dtype))
        io = self.buffers[key]
        io.host_xy[0], io.host_xy[1] = x, y
        io.xy.set(io.host_xy)
        return io

    def step(self, theta, state, x, y, h0, opt, t, scale):
        """One update in one launch: scale * L and h_tau."""
        tau, B = x.shape
        self.check(tau, B)
        io, h = self.io(x, y), self.cp.empty((self.layout.m, B), self.dtype)
        h0 = self.cp.ascontiguousarray(h0, self.dtype)  # sampling hands over h[:, :1], a strided view
        self.launch(theta, state, io.xy, 0, tau, h0, h, io.loss, self.nothing, UPDATE, opt, t, scale)
        return scale * float(io.loss.get(out=io.host_loss)[0]), h

    def forward(self, theta, x, y, h0):
        """The loss and h_tau, in pieces of as many steps as fit in one block (validation reads 1,000)."""
        tau, B = x.shape
        piece = self.steps_that_fit(B)
        h0 = self.cp.ascontiguousarray(h0, self.dtype)
        starts = range(0, tau, piece)
        io = self.io(x, y, len(starts))
        h = h0
        for p, t0 in enumerate(starts):
            h_next = self.cp.empty((self.layout.m, B), self.dtype)
            t1 = min(tau, t0 + piece)
            self.launch(theta, self.nothing, io.xy, t0, t1, h, h_next, io.loss[p : p + 1], self.nothing, LOSS)
            h = h_next
        loss = float(io.loss.get(out=io.host_loss).astype(np.float64).sum())
        return loss, Cache(x, y, h0, h[None])

    def gradient(self, theta, cache: Cache):
        """The kernel's own BPTT: the unclipped gradient of the summed loss, before any update."""
        tau, B = cache.x.shape
        self.check(tau, B)
        xy = self.cp.asarray(np.stack((cache.x, cache.y)).astype(np.int64))  # no wait follows: not the pinned buffer
        grad, h = self.cp.empty(theta.shape, self.dtype), self.cp.empty((self.layout.m, B), self.dtype)
        self.launch(theta, self.nothing, xy, 0, tau, cache.h0, h, self.cp.empty(1, self.dtype), grad, GRADIENT)
        return grad

    def logits(self, theta, h, x: int):
        """One step of eqs. (1)-(3) for one stream: h_t (m, 1) and o_t (K,) on the host."""
        ids = np.array([[x]])
        io = self.io(ids, ids)
        h_next, o = self.cp.empty((self.layout.m, 1), self.dtype), self.cp.empty((self.layout.K, 1), self.dtype)
        h = self.cp.ascontiguousarray(h, self.dtype)
        self.launch(theta, self.nothing, io.xy, 0, 1, h, h_next, self.nothing, o, LOGITS)
        return h_next, o.get()[:, 0].astype(np.float64)

    def steps_that_fit(self, B: int) -> int:
        """The most steps one launch holds for B streams (at least 1, else BadInput): the need grows linearly."""
        self.check(1, B)
        K, m, size = self.layout.K, self.layout.m, self.dtype.itemsize
        base, per_step = shared_bytes(m, K, 0, B, size), shared_bytes(m, K, 1, B, size) - shared_bytes(m, K, 0, B, size)
        return (self.limit - base) // per_step


class IO(NamedTuple):
    """One chunk shape's buffers: pinned host memory and its device copy."""

    host_xy: np.ndarray  # (2, tau, B) int64, pinned: x then y
    xy: object  # (2, tau, B) on the device
    host_loss: np.ndarray  # (pieces,) pinned
    loss: object  # (pieces,) on the device
