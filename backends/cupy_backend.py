"""The RNN on a CUDA GPU with CuPy (docs: backends.md#cupy).

kernels="plain" is the NumPy backend's body run with xp = cupy, unchanged: CuPy is almost a
drop-in for NumPy. It is also slow at batch 1, and why is the lesson: each NumPy call becomes a
kernel launch (commonly quoted at a few microseconds; never timed here), and an update makes
203 of them, most of them on 100 numbers (counted on the CPU stand-in: python cli.py launches).
kernels="fused" keeps the maths and changes the launches (backends/cupy_kernels.cu):

- the recurrence of a whole chunk, eqs. (1)-(2), is one launch, and BPTT's, eqs. (8)-(9) with
  the tanh backward, another: one block per stream, one thread per hidden unit, W in shared
  memory when it fits, else read from global memory (for m > 1024, more units than threads in
  a block: one cuBLAS product per step and a fused elementwise kernel);
- the output layer's softmax, loss and g_t = p_t - y_t, eqs. (4)-(6), is one launch;
- clipping and AdaGrad, eqs. (11)-(12), or clipping and Adam, eqs. (16)-(18), are one
  elementwise kernel over the flat theta.

21 launches per update instead of 203 (m = 100, B = 1, tau = 25). kernels="persistent" makes it
one: the whole update in one block of one launch (backends/cupy_persistent.py). The fused and
persistent kernels also draw samples (predict). No GPU has run this file in this project; every
test run executes it, kernels included, on the CPU stand-in (docs: gpu.md).
"""

from pathlib import Path
from typing import NamedTuple

import numpy as np

from backends import OPTIONS as CHOICES
from backends.numpy_backend import NumpyBackend
from common.contract import Layout
from common.errors import BadInput

KERNELS = CHOICES["kernels"]  # the choices, from the one list in backends/__init__.py
SOURCE = Path(__file__).with_name("cupy_kernels.cu")
CLIP = "if (clip > 0) g = fmin(fmax(g, -clip), clip);"  # eq. (11), g clipped in place; clip 0: none


def no_gpu(runtime) -> str:
    """Why CuPy sees no GPU, in CUDA's words: no driver at all, or the error of asking for the devices."""
    driver = runtime.driverGetVersion()
    if driver == 0:  # CUDA would say "driver version is insufficient" here too: the true reason first
        return "no NVIDIA driver here"
    try:
        count = runtime.getDeviceCount()
    except Exception as e:  # an old driver: cudaErrorInsufficientDriver; a broken one: its own error
        return f"{e} (driver {version(driver)}, CuPy's CUDA {version(runtime.runtimeGetVersion())})"
    return "CUDA finds no GPU here" if count == 0 else f"CUDA finds {count} GPU(s), but CuPy cannot use them"


def no_nvrtc(cupy) -> str | None:
    """None when CuPy finds NVRTC, which compiles every kernel it launches; else what to install."""
    try:
        cupy.cuda.nvrtc.getVersion()
    except Exception as e:  # cupy-cuda13x without [ctk] on a machine without the CUDA toolkit
        return f"no NVRTC to compile kernels ({type(e).__name__}): pip install -c constraints.txt '.[gpu]'"
    return None


def version(v: int) -> str:
    """CUDA's version number as a person reads it: 13020 -> 13.2."""
    return f"{v // 1000}.{v % 1000 // 10}"


class FusedCache(NamedTuple):
    """What the fused backward needs from the fused forward."""

    x: object  # (tau, B) input indices
    H: object  # (tau + 1, m, B) h_0 ... h_tau
    Hr: object  # (tau*B, m) h_1 ... h_tau as rows, row t*B + s
    GT: object  # (tau*B, K) g_t = p_t - y_t as rows (eq. 6)


class CupyBackend(NumpyBackend):
    """The NumPy body on a GPU, plus fused kernels."""

    name = "cupy"
    OPTIONS = ("kernels",)

    def __init__(self, layout: Layout, dtype: str = "float64", kernels: str = "fused"):
        reason = self.why_not(kernels=kernels)
        if reason is not None:
            raise BadInput(reason)
        import cupy

        self.xp = cupy  # before NumpyBackend's __init__, which makes arrays with it
        super().__init__(layout, dtype)
        self.kernels = kernels
        self.device = f"cuda:{cupy.cuda.Device().id}"
        if kernels != "plain":
            self._compile()
        if kernels == "persistent":
            from backends.cupy_persistent import Persistent

            self._persistent = Persistent(self)  # one BadInput line if W and V alone do not fit in a block

    @staticmethod
    def why_not(**options) -> str | None:
        kernels = options.get("kernels", "fused")
        if kernels not in KERNELS:
            return f"--kernels must be one of {', '.join(KERNELS)} (got {kernels!r})"
        try:
            import cupy
        except Exception as e:  # a broken install raises more than ImportError
            return f"cupy cannot be imported ({type(e).__name__}: {e})"
        try:
            gpu = None if cupy.cuda.is_available() else no_gpu(cupy.cuda.runtime)
        except Exception as e:
            gpu = f"CuPy cannot reach a GPU ({type(e).__name__}: {e})"
        reasons = [r for r in (gpu, no_nvrtc(cupy)) if r is not None]
        return "; ".join(reasons) if reasons else None

    def to_host(self, a) -> np.ndarray:
        return self.xp.asnumpy(a)

    def copy(self, a):
        out = self.xp.empty_like(a)
        self.xp.copyto(out, a)  # contiguous: one device-to-device memcpy in the stream, no kernel, no wait
        return out

    def _ints(self, a):
        return self.xp.asarray(np.ascontiguousarray(a, dtype=np.int64))  # the kernels read long long

    # ---- the fused kernels ----

    def _compile(self) -> None:
        cp, real = self.xp, "float" if self.dtype == "float32" else "double"
        code, options = SOURCE.read_text(), (f"-DREAL={real}",)
        self._k_forward, self._k_backward, self._k_softmax = (
            cp.RawKernel(code, name, options=options) for name in ("rnn_forward", "rnn_backward", "softmax_xent")
        )  # one source, compiled once (CuPy caches it by code and options)
        m, size = self.layout.m, np.dtype(self.dtype).itemsize
        device = cp.cuda.Device().id
        limit = cp.cuda.runtime.getDeviceProperties(device)["sharedMemPerBlockOptin"]
        self._threads = min(1024, 32 * -(-m // 32))  # one thread per hidden unit, whole warps
        self._recurrent_kernels = m <= 1024
        self._w_in_shared = (m * m + m) * size <= limit
        self._shared = (m * m + m) * size if self._w_in_shared else m * size
        if self._shared > 48 * 1024:  # above 48 KB a kernel must ask for its shared memory
            self._k_forward.max_dynamic_shared_size_bytes = self._shared
            self._k_backward.max_dynamic_shared_size_bytes = self._shared
        self._k_adagrad = cp.ElementwiseKernel(
            "T eta, T clip, T eps",
            "T g, T theta, T mem",
            CLIP + "mem += g * g; theta -= g / sqrt(mem + eps) * eta;",
            "rnn_adagrad_clip",
        )  # eqs. (11)-(12) in one pass; NumPy's order of operations
        self._k_adam = cp.ElementwiseKernel(
            "T step, T c2, T b1, T omb1, T b2, T omb2, T eps, T clip",
            "T g, T theta, T mo, T v",
            CLIP + "mo = mo * b1 + omb1 * g; v = v * b2 + omb2 * g * g; theta -= mo / (sqrt(v) / c2 + eps) * step;",
            "rnn_adam_clip",
        )  # eqs. (16)-(18) in one pass: read g, theta, m, v once, write them once; NumPy's order of operations
        self._k_tanh_step = cp.ElementwiseKernel("T u, T a", "T h", "h = tanh(u + a)", "rnn_tanh_step")
        self._k_tanh_back = cp.ElementwiseKernel(
            "T vg, T u, T h", "T da", "da = (vg + u) * (1 - h * h)", "rnn_tanh_back"
        )

    # --8<-- [start:forward]
    def forward(self, theta, x, y, h0):
        if self.kernels == "plain":
            return super().forward(theta, x, y, h0)
        if self.kernels == "persistent":
            return self._persistent.forward(theta, x, y, h0)
        cp, i32 = self.xp, np.int32
        U, W, V, b, c = self.layout.views(theta)
        x, y = self._ints(x), self._ints(y)
        tau, B = x.shape
        m, K = self.layout.m, self.layout.K
        H = cp.empty((tau + 1, m, B), dtype=self.dtype)  # h_0 ... h_tau
        h0 = cp.ascontiguousarray(h0, dtype=self.dtype)
        if self._recurrent_kernels:  # eqs. (1)-(2) for the whole chunk: one launch
            args = (U.T, cp.ascontiguousarray(W.T), b, x, h0, H, i32(tau), i32(m), i32(B), i32(self._w_in_shared))
            self._k_forward((B,), (self._threads,), args, shared_mem=self._shared)
        else:  # one cuBLAS product and one fused elementwise kernel per step
            A = U.T[x].transpose(0, 2, 1) + b  # (tau, m, B)
            H[0] = h0
            for t in range(tau):
                self._k_tanh_step(W @ H[t], A[t], H[t + 1])
        Hr = self._rows(H[1:])  # (tau*B, m)
        OT = Hr @ V.T  # (tau*B, K)  eq. (3) without c, as rows
        loss_rows = cp.empty(tau * B, dtype=self.dtype)
        n = 128 if K > 64 else 64
        self._k_softmax((tau * B,), (n,), (OT, c, y.reshape(-1), loss_rows, i32(K)), shared_mem=n * H.itemsize)
        return float(loss_rows.sum()), FusedCache(x, H, Hr, OT)  # OT now holds G^T

    # --8<-- [end:forward]
    # --8<-- [start:backward]
    def backward(self, theta, cache):
        if self.kernels == "plain":
            return super().backward(theta, cache)
        if self.kernels == "persistent":
            return self._persistent.gradient(theta, cache)  # its own BPTT, written out before any update
        cp, i32 = self.xp, np.int32
        U, W, V, b, c = self.layout.views(theta)
        x, H, Hr, GT = cache
        tau, B = x.shape
        m = self.layout.m
        grad = cp.empty_like(theta)
        dU, dW, dV, db, dc = self.layout.views(grad)

        cp.matmul(GT.T, Hr, out=dV)  # (K, m)  eq. (7)
        GT.sum(axis=0, out=dc[:, 0])  # (K,)  eq. (7)
        VG = GT @ V  # (tau*B, m)  V^T g_t of every step, as rows
        DA = cp.empty((tau, m, B), dtype=self.dtype)
        if self._recurrent_kernels:  # eqs. (8)-(9) for the whole chunk: one launch
            args = (W, VG, H, DA, i32(tau), i32(m), i32(B), i32(self._w_in_shared))
            self._k_backward((B,), (self._threads,), args, shared_mem=self._shared)
        else:
            VG3 = VG.reshape(tau, B, m).transpose(0, 2, 1)  # (tau, m, B)
            self._k_tanh_back(VG3[-1], 0, H[-1], DA[-1])
            for t in range(tau - 2, -1, -1):
                self._k_tanh_back(VG3[t], W.T @ DA[t + 1], H[t + 1], DA[t])
        self._recurrent_and_input_grads(x, H, DA, dU, dW, db)  # eq. (10), as in the NumPy body
        return grad

    # --8<-- [end:backward]
    # --8<-- [start:update]
    def update(self, theta, state, grad, opt, t):
        if self.kernels == "plain":
            return super().update(theta, state, grad, opt, t)
        clip = 0.0 if opt.clip is None else opt.clip
        if opt.name == "adagrad":
            self._k_adagrad(opt.eta, clip, opt.eps, grad, theta, state)
        else:  # the bias corrections of eq. (18) are two host scalars: eta / (1 - beta1^t), sqrt(1 - beta2^t)
            step, c2, n = opt.eta / (1 - opt.beta1**t), (1 - opt.beta2**t) ** 0.5, theta.shape[0]
            b1, b2 = opt.beta1, opt.beta2
            self._k_adam(step, c2, b1, 1 - b1, b2, 1 - b2, opt.eps, clip, grad, theta, state[:n], state[n:])

    # --8<-- [end:update]
    def step(self, theta, state, x, y, h0, opt, t, scale=1.0):
        if self.kernels == "persistent":  # forward, BPTT and the update in one launch
            return self._persistent.step(theta, state, x, y, h0, opt, t, scale)
        return super().step(theta, state, x, y, h0, opt, t, scale)

    def predict(self, theta, h, x):
        """Eqs. (1)-(3) for one character through the kernels: samples are drawn from what they compute."""
        if self.kernels == "persistent":
            return self._persistent.logits(theta, h, x)
        if self.kernels == "plain" or not self._recurrent_kernels:
            return super().predict(theta, h, x)
        cp, i32, m = self.xp, np.int32, self.layout.m
        U, W, V, b, c = self.layout.views(theta)
        H = cp.empty((2, m, 1), dtype=self.dtype)
        args = (U.T, cp.ascontiguousarray(W.T), b, self._ints(np.array([[x]])), cp.ascontiguousarray(h, self.dtype))
        args += (H, i32(1), i32(m), i32(1), i32(self._w_in_shared))
        self._k_forward((1,), (self._threads,), args, shared_mem=self._shared)  # eqs. (1)-(2)
        o = V @ H[1] + c  # (K, 1)  eq. (3)
        return H[1], self.to_host(o[:, 0]).astype(np.float64)
