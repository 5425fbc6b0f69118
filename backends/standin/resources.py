"""Registers and spills of the real kernels, from nvcc's ptxas (docs: gpu.md#resources).

The stand-in cannot see registers: they are the GPU compiler's business. nvcc can report them
without a GPU (`-Xptxas -v`). A block of T threads needs registers x T <= 65,536 (the register
file of one SM on sm_80 and sm_90), else the launch fails; a spill to local memory would be slow.
Run it: python -m backends.standin.resources
"""

import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SOURCES = [Path(__file__).parent.parent / name for name in ("cupy_kernels.cu", "cupy_persistent.cu")]
MOST_THREADS = {"rnn_forward": 1024, "rnn_backward": 1024, "softmax_xent": 128, "rnn_step": 1024}  # see the backend
REGISTER_FILE = 65536  # 32-bit registers per SM, and per block, on sm_80 and sm_90
ARCHS = ("sm_80", "sm_90")
REALS = ("float", "double")
ENTRY = re.compile(
    r"Compiling entry function '(\w+)'.*?(\d+) bytes spill stores, (\d+) bytes spill loads.*?Used (\d+) registers", re.S
)


def nvcc() -> str | None:
    """nvcc on PATH, or where CUDA 13 installs it; None when there is none."""
    for candidate in (shutil.which("nvcc"), "/usr/local/cuda-13.0/bin/nvcc", "/usr/local/cuda/bin/nvcc"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def usage(arch: str, real: str) -> dict[str, tuple[int, int]]:
    """kernel -> (registers per thread, spilled bytes) for one architecture and REAL, both sources in one compile."""
    with tempfile.TemporaryDirectory() as tmp:
        both = Path(tmp) / "both.cu"
        both.write_text("".join(f'#include "{source}"\n' for source in SOURCES))
        command = [nvcc(), f"-DREAL={real}", f"--gpu-architecture={arch}", "-Xptxas", "-v", "-c"]
        r = subprocess.run([*command, "-o", f"{tmp}/k.o", str(both)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return {name: (int(regs), int(st) + int(ld)) for name, st, ld, regs in ENTRY.findall(r.stderr)}


def table(threads: dict[str, int]) -> list[tuple[str, str, str, int, int, int]]:
    """(arch, REAL, kernel, registers, spilled bytes, registers x the most threads the backend launches it with)."""
    configs = [(arch, real) for arch in ARCHS for real in REALS]
    with ThreadPoolExecutor() as pool:  # nvcc runs side by side
        usages = pool.map(lambda config: usage(*config), configs)
    rows = []
    for (arch, real), found in zip(configs, usages):
        for name, (regs, spills) in sorted(found.items()):
            rows.append((arch, real, name, regs, spills, regs * threads[name]))
    return rows


if __name__ == "__main__":
    most = MOST_THREADS
    print(
        f"{'arch':<7}{'REAL':<8}{'kernel':<14}{'registers':>10}{'spilled':>9}{'x threads':>11}  (limit {REGISTER_FILE})"
    )
    for arch, real, name, regs, spills, total in table(most):
        print(f"{arch:<7}{real:<8}{name:<14}{regs:>10}{spills:>9}{total:>11}")
