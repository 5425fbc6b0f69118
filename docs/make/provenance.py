"""Where a machine-dependent figure was made: the machine, the libraries, the date and the text (docs: index.md).

A training run is chaotic: another BLAS, another CPU's kernels or another version of a library adds
in another order, and after a few dozen updates the run is on another trajectory (determinism.md).
`arithmetic` (common/tools/machine.py) names what decides the last digits: a test reproduces a
figure only on a machine whose arithmetic is the one recorded.
So every script whose numbers come from such a run records this beside them, and the page shows it
with `note`. Python's own docs, the default text, change between Python releases: hence the Python
version and the text's sha256.
"""

import datetime
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from common.tools import machine  # noqa: E402


def record(corpus=None, torch: bool = False) -> dict:
    """This machine and process, now; with the text's name, size and sha256 when given a Corpus."""
    import numpy

    out = {
        "date": datetime.date.today().isoformat(),
        "cpu": machine.cpu(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": f"{numpy.__version__} with {machine.blas()}",
        "arithmetic": machine.arithmetic(),  # what the last digits depend on: tests compare it, not "cpu"
    }
    if torch:
        import torch as t

        out["torch"] = f"{t.__version__} with {t.backends.cpu.get_cpu_capability()}, {t.get_num_threads()} threads"
    if corpus is not None:
        out["text"] = {"name": corpus.name, "characters": len(corpus.text), "K": corpus.K, "sha256": corpus.sha256}
    return out


def note(p: dict) -> str:
    """One line for the page, under the figure: what made these numbers, and that another machine differs."""
    text = p.get("text")
    made = f"from {text['name']} ({text['characters']:,} characters, K = {text['K']}, sha256 `{text['sha256'][:12]}`)"
    simd = f" and {p['arithmetic']['simd']} loops" if "arithmetic" in p else ""
    libs = f"Python {p['python']}, NumPy {p['numpy']}{simd}" + (f", PyTorch {p['torch']}" if "torch" in p else "")
    return (
        f"*Measured {p['date']} {made if text else ''} on {p['cpu']} ({p['os']}), {libs}. "
        "These numbers come from a training trajectory: on another machine (another CPU, SIMD level or BLAS "
        "kernel) or library version the last digits differ, and after a while the run itself "
        "([why](determinism.md)).*"
    ).replace("  ", " ")


def rounding_note(p: dict, built: str) -> str:
    """One line under a table of rounding differences: the arithmetic that made it, and that others differ."""
    a = p["arithmetic"]
    return (
        f"*Measured {p['date']} on {a['cpu']}: NumPy {a['numpy']} with {a['simd']} loops and {a['blas']}; {built}. "
        "These are rounding differences: on another CPU, SIMD level, BLAS kernel or compiler (FMA) the last "
        "digits differ, and the tests hold every machine to bounds, not to these digits.*"
    )


if __name__ == "__main__":
    print(record())
