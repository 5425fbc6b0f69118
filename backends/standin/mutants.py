"""Proof that the stand-in can fail: broken copies of the kernels, each caught (docs: gpu.md#mutants).

Each mutant is a kernel source with one `__syncthreads()` removed, or one planted bug: an index
off by one in each phase, a reduction that reads what nobody wrote, a race between blocks, a
max that misses a logit, a doubled clip bound. A mutant is caught when one update through it
raises (a barrier, bounds or race check of the stand-in) or differs from NumPy by more than
rounding, in one of the cases below; every launch runs every thread order with every poison.
Run it: python -m backends.standin.mutants (the table of docs/gpu.md: python docs/make/gpu_tables.py)
"""

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from backends import standin
from backends.standin import compare, kernels
from common.contract import Optimizer

ROOT = Path(__file__).parent.parent
SOURCES = {"fused": ROOT / "cupy_kernels.cu", "persistent": ROOT / "cupy_persistent.cu"}
TOLERANCE = 1e-12  # float64, normwise: correct kernels measure below 2e-15 on any CPU, BLAS, with FMA
LARGE = 1e4  # compare.conditioned_theta's logits: one logit of every step tops the rest by thousands
BUGS = {  # kernels -> (what, the text as written, the broken text)
    "fused": [
        ("forward reads h[m] (loop to j <= m)", "j < m; ++j) a += w", "j <= m; ++j) a += w"),
        ("backward reads h_t of step t-1", "ht = H[((t + 1) * m + i) * B + s];", "ht = H[(t * m + i) * B + s];"),
        ("softmax adds c to K + 1 logits", "k < K; k += n) {\n        o[k] +=", "k <= K; k += n) {\n        o[k] +="),
        (
            "max reduction starts at the wrong stride",
            "half = n / 2; half > 0; half /= 2) {\n        if (tid < half) red[tid] = fmax",
            "half = n / 4; half > 0; half /= 2) {\n        if (tid < half) red[tid] = fmax",
        ),
        ("max reads red[] entries nobody wrote", "    red[tid] = mx;", "    if (tid < K) red[tid] = mx;"),
        (
            "every block adds its loss into loss[0]",
            "if (tid == 0) loss[blockIdx.x] = log(sum) - oy;",
            "if (tid == 0) {\n        loss[blockIdx.x] = 0;\n        loss[0] += log(sum) - oy;\n    }",
        ),
    ],
    "persistent": [
        ("load: W's last entry missed", "k < m * m; k += T) WT[", "k < m * m - 1; k += T) WT["),
        ("chains: partial sums read v[m]", "k < m; k += Q) sum +=", "k <= m; k += Q) sum +="),
        ("chains: one partial sum left out", "q < Q; ++q) sum += part", "q < Q - 1; ++q) sum += part"),
        ("output: V h_t misses the last unit", "j < m; ++j) o += VT", "j < m - 1; ++j) o += VT"),
        ("softmax: the max misses the last logit", "k < K; ++k) mx = fmax", "k < K - 1; ++k) mx = fmax"),
        ("softmax: the sum misses the last exp", "k < K; ++k) sum += G", "k < K - 1; ++k) sum += G"),
        ("backward: V^T g_t misses the last output", "k < K; ++k) d += VT", "k < K - 1; ++k) d += VT"),
        ("forward: tanh of the input term alone", "a[o] = tanh(a[o] + row_sum(part, o, Bm, Q))", "a[o] = tanh(a[o])"),
        ("backward: tanh' of h_{t-1}", "const REAL* h = H + (t + 1) * Bm;   // h_t", "const REAL* h = H + t * Bm;"),
        (
            "gradient: dW pairs da_t with h_t",
            "g += DA[col * m + i] * H[col * m + j]",
            "g += DA[col * m + i] * H[(col + B) * m + j]",
        ),
        ("update: the clip bound doubled", "g = fmin(fmax(g, -clip), clip)", "g = fmin(fmax(g, -2 * clip), 2 * clip)"),
        # issue 28: three a kernel author makes, which the cases before MEAN_THAT_CLIPS let through
        (
            "update: clipped before the mean's 1/tau",
            "g *= scale;  // 1 / tau for the mean loss\n        if (clip > 0) g = fmin(fmax(g, -clip), clip);",
            "if (clip > 0) g = fmin(fmax(g, -clip), clip);\n        g *= scale;",
        ),
        (
            "chains: partial sums added in pairs",  # the last one is lost when Q is odd
            "for (int q = 0; q < Q; ++q) sum += part[q * Bm + o];",
            "for (int q = 0; q + 1 < Q; q += 2) sum += part[q * Bm + o] + part[(q + 1) * Bm + o];",
        ),
        (
            "chains: a one-warp block skips a barrier",  # warp-synchronous: wrong since Volta, without __syncwarp()
            "consecutive words\n        __syncthreads();",
            "consecutive words\n        if (T > 32) __syncthreads();",
        ),
    ],
}


@dataclass(frozen=True)
class Case:
    """One update of K characters, m units, B streams, tau steps, compared with NumPy."""

    K: int
    m: int
    B: int
    tau: int
    opt: Optimizer = Optimizer()  # AdaGrad: from these weights no gradient entry reaches the clip
    scale: float = 1.0
    logits: float = 0.0  # LARGE: a softmax without the true max shift overflows
    limit: int = kernels.OPTIN_SHARED  # 0: the fused kernels read W from global memory


ADAM_THAT_CLIPS = Optimizer("adam", 0.01, clip=0.5)  # the summed loss's gradients peak near 2: many are clipped
MEAN_THAT_CLIPS = Optimizer("adagrad", 0.1, clip=0.05)  # the mean loss (1/8) with a clip that binds on it
CASES = {
    "fused": [
        Case(80, 100, 2, 8),
        Case(42, 100, 2, 8, limit=0),
        Case(80, 16, 2, 8, ADAM_THAT_CLIPS),
        Case(80, 16, 2, 8, logits=LARGE),
    ],
    "persistent": [
        Case(80, 32, 2, 8),
        Case(42, 16, 3, 8, ADAM_THAT_CLIPS),
        Case(80, 16, 2, 8, logits=LARGE),
        Case(42, 16, 2, 8, MEAN_THAT_CLIPS, scale=1 / 8),  # the mean loss with a clip that binds
        Case(42, 20, 7, 8),  # Q = 7: an odd number of partial sums per row
        Case(42, 4, 2, 8),  # Q * B * m = 32: one product in one warp, the block one warp
    ],
}


def mutants(name: str) -> list[tuple[str, str]]:
    """(what, source) for every barrier removed and every bug planted in the kernels of `name`."""
    code = SOURCES[name].read_text()
    lines, out = code.split("\n"), []
    for n, line in enumerate(lines):
        if "__syncthreads();" in line:
            kernel = re.findall(r"__global__ void (?:__launch_bounds__\([^)]*\)\s+)?(\w+)", "\n".join(lines[:n]))[-1]
            out.append((f"{kernel}: no barrier at line {n + 1}", "\n".join(lines[:n] + lines[n + 1 :])))
    for what, old, new in BUGS[name]:
        assert code.count(old) == 1, old
        out.append((what, code.replace(old, new)))
    return out


def verdict(name: str, source: str, cases: list[Case] | None = None) -> str:
    """How one update with this kernel source is caught, or "not caught"; the stand-in must be installed."""
    from backends import cupy_backend, cupy_persistent

    module = cupy_persistent if name == "persistent" else cupy_backend
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mutant.cu"
        path.write_text(source)
        saved = module.SOURCE, kernels.OPTIN_SHARED
        module.SOURCE = path
        try:
            for case in CASES[name] if cases is None else cases:
                kernels.OPTIN_SHARED = case.limit
                try:
                    diff = compare.differences(
                        case.K, case.m, case.B, case.tau, "float64", name, case.opt, case.scale, case.logits
                    )
                except (kernels.LaunchError, standin.arrays.OverrunError) as e:
                    return f"{type(e).__name__}: {e}"
                bad = {k: v for k, v in diff.items() if not v <= TOLERANCE}
                if bad:
                    return "differs from NumPy: " + ", ".join(f"{k} {v:.1e}" for k, v in bad.items())
            return "not caught"
        finally:
            module.SOURCE, kernels.OPTIN_SHARED = saved


RUNS = re.compile(r"between runs (\S+) \(poison (\S+)\) and (\S+) \(poison (\S+)\)")


def kind(verdict: str) -> str:
    """A verdict in a few words: which check caught the mutant."""
    if verdict == "not caught":
        return "**not caught**"
    if verdict.startswith("differs from NumPy"):
        return "differs from NumPy" + (" (inf, NaN)" if "inf" in verdict or "nan" in verdict else "")
    if verdict.startswith("RaceError"):
        order1, poison1, order2, poison2 = RUNS.search(verdict).groups()
        return "race (thread order)" if order1 != order2 else "unwritten read (poison)"
    if verdict.startswith("OverrunError"):
        return "write past an array"
    for words in ("divergent barriers", "exited while", "dynamic shared memory"):
        if words in verdict:
            return f"refused ({words})"
    return "refused"


def run(name: str, orders: list[str], poisons: list[str]) -> list[tuple[str, str]]:
    """(mutant, verdict) for every mutant of `name`, every launch run in these orders with these poisons."""
    saved = kernels.ORDERS, kernels.POISONS, kernels.MATRIX
    kernels.ORDERS, kernels.MATRIX = orders, True
    kernels.POISONS = {p: kernels.POISONS[p] for p in poisons}
    try:
        with standin.installed():
            return [(what, verdict(name, code)) for what, code in mutants(name)]
    finally:
        kernels.ORDERS, kernels.POISONS, kernels.MATRIX = saved


if __name__ == "__main__":
    for name in SOURCES:
        print(f"{name}: every order ({', '.join(kernels.ORDERS)}) with every poison ({', '.join(kernels.POISONS)})")
        for what, how in run(name, kernels.ORDERS, list(kernels.POISONS)):
            print(f"  {what:<46} {how}")
