"""How many CPU threads torch's operators use, as the torch backend sets it (docs: performance.md#threads).

A second thread only pays once each product has enough work to share: below that, every
operator pays to wake the other thread, and on a busy machine it waits for a core. So the
backend sets torch's intra-op threads from the work of one step's product, 2 m^2 B flops:
one thread below MIN_WORK, and from there on torch's own default, but never more threads than
the machine has idle cores (the CPUs this process may use less the load average, at least 1).
MIN_WORK is measured by `python docs/threads.py`, which times both counts through Backend.step.

torch.set_num_threads is process-wide, so the torch backend built last decides for every torch
tensor in the process. A user's choice stands: OMP_NUM_THREADS or MKL_NUM_THREADS in the
environment, or a torch.set_num_threads call made after a torch backend set its count.
"""

import math
import os

import torch

# docs/threads.py on an idle 2-core machine (AMD EPYC, 2026-12-01, load average 1.6): two threads were
# 10-26% slower up to 2 m^2 B = 1.3e5 (m = 64, B = 16), and 11-46% faster at every point from 5.2e5 on
MIN_WORK = 524288  # 2 * 64**2 * 64

ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
DEFAULT = torch.get_num_threads()  # torch's own count, read before this module ever sets one
_last_set = DEFAULT


def rule(m: int, B: int, idle: int | None = None) -> int:
    """The intra-op threads for hidden size m and batch B on a machine with `idle` idle cores (None: now)."""
    if 2 * m * m * B < MIN_WORK:
        return 1
    return max(1, min(DEFAULT, idle_cores() if idle is None else idle))


def idle_cores() -> int:
    """The CPUs this process may use less the 1-minute load average, rounded: cores no one is waiting for."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return round(cpus - os.getloadavg()[0])


def user_chose() -> bool:
    """True when the user set torch's threads: in the environment, or since this module last did."""
    return any(os.environ.get(v) for v in ENV) or torch.get_num_threads() != _last_set


def use(m: int, B: int) -> int:
    """Set torch's intra-op threads by the rule, unless the user chose; the count in force."""
    global _last_set
    if not user_chose():
        _last_set = rule(m, B)
        torch.set_num_threads(_last_set)
    return torch.get_num_threads()


def describe() -> str:
    """torch's version, its BLAS, and its threads, for the bench's header."""
    blas = "MKL" if torch.backends.mkl.is_available() else "its own BLAS"
    config = torch.__config__.show()
    for line in config.splitlines():
        if "Math Kernel Library Version" in line:
            blas = "MKL " + line.split("Version")[1].split("-")[0].strip()
            break
    if user_chose():
        how = "the user's choice"
    elif math.isinf(MIN_WORK):
        how = "1 at every size (no size measured here paid for a second)"
    else:
        how = f"1 below 2 m^2 B = {MIN_WORK:.3g} flops per product, else up to {DEFAULT} (idle cores)"
    return f"torch {torch.__version__}: {blas}; intra-op threads: {how}"
