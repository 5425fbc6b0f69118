"""Proof that the stand-in can fail: broken copies of the kernels, each caught (docs: gpu.md).

Each mutant is cupy_kernels.cu with one `__syncthreads()` removed, or with an index off by one.
A mutant is caught when one update through it raises (a barrier, bounds or race check of the
stand-in) or differs from NumPy by more than rounding. Run it: python -m backends.standin.mutants
"""

import re
import tempfile
from pathlib import Path

from backends import standin
from backends.standin import compare, kernels

SOURCE = Path(__file__).parent.parent / "cupy_kernels.cu"
TOLERANCE = 1e-13  # float64, normwise: a correct kernel measures below 2e-15
OFF_BY_ONE = [  # (what, the text as written, the broken text)
    ("forward reads h[m]", "j < m; ++j) a += w", "j <= m; ++j) a += w"),
    ("backward reads h_t of step t-1", "ht = H[((t + 1) * m + i) * B + s];", "ht = H[(t * m + i) * B + s];"),
    ("softmax adds c to K+1 logits", "k < K; k += n) {\n        o[k] +=", "k <= K; k += n) {\n        o[k] +="),
]
# (K, m, B, tau, opt-in limit): W in shared memory, then W in global memory; K > 64: 128-thread softmax
CASES = [(80, 100, 2, 8, kernels.OPTIN_SHARED), (42, 100, 2, 8, 0)]


def mutants(code: str) -> list[tuple[str, str]]:
    """(what, source) for every barrier removed and every off-by-one planted."""
    lines, out = code.split("\n"), []
    for n, line in enumerate(lines):
        if "__syncthreads();" in line:
            kernel = [k for k in re.findall(r"__global__ void (\w+)", "\n".join(lines[:n]))][-1]
            out.append((f"{kernel}: no barrier at line {n + 1}", "\n".join(lines[:n] + lines[n + 1 :])))
    for what, old, new in OFF_BY_ONE:
        assert code.count(old) == 1, old
        out.append((what, code.replace(old, new)))
    return out


def verdict(source: str) -> str:
    """How one update with this kernel source is caught, or "not caught"."""
    from backends import cupy_backend

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mutant.cu"
        path.write_text(source)
        saved = cupy_backend.SOURCE, kernels.OPTIN_SHARED
        cupy_backend.SOURCE = path
        try:
            for K, m, B, tau, limit in CASES:
                kernels.OPTIN_SHARED = limit
                try:
                    diff = compare.differences(K, m, B, tau, "float64", "fused")
                except (kernels.LaunchError, standin.arrays.OverrunError) as e:
                    return f"{type(e).__name__}: {e}"
                bad = {k: v for k, v in diff.items() if not v <= TOLERANCE}
                if bad:
                    return "differs from NumPy: " + ", ".join(f"{k} {v:.1e}" for k, v in bad.items())
            return "not caught"
        finally:
            cupy_backend.SOURCE, kernels.OPTIN_SHARED = saved


def run(orders: list[str]) -> list[tuple[str, str]]:
    """(mutant, verdict) for every mutant, through the stand-in, its threads run in these orders."""
    saved, kernels.ORDERS = kernels.ORDERS, orders
    try:
        with standin.installed():
            return [(what, verdict(code)) for what, code in mutants(SOURCE.read_text())]
    finally:
        kernels.ORDERS = saved


if __name__ == "__main__":
    for orders in (kernels.ORDERS, ["forward"]):
        print(f"threads in the orders {', '.join(orders)}:")
        for what, how in run(orders):
            print(f"  {what:<38} {how}")
