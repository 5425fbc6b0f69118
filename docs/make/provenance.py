"""Where a machine-dependent figure was made: the machine, the libraries, the date and the text (docs: index.md).

A training run is chaotic: another BLAS, another CPU's kernels or another version of a library adds
in another order, and after a few dozen updates the run is on another trajectory (determinism.md).
So every script whose numbers come from such a run records this beside them, and the page shows it
with `note`. Python's own docs, the default text, change between Python releases: hence the Python
version and the text's sha256.
"""

import ctypes
import datetime
import glob
import os
import platform


def cpu() -> str:
    """The CPU's model name and the cores this process may use."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name}, {len(os.sched_getaffinity(0))} cores"


def openblas_core() -> str | None:
    """The kernels NumPy's OpenBLAS chose at run time (Haswell, SkylakeX, ...), or None if it cannot say."""
    import numpy

    for lib in glob.glob(os.path.join(os.path.dirname(numpy.__file__) + ".libs", "lib*openblas*.so*")):
        for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
            try:
                f = getattr(ctypes.CDLL(lib), symbol)
            except (OSError, AttributeError):
                continue
            f.restype = ctypes.c_char_p
            return f().decode()
    return None


def blas() -> str:
    import numpy

    dep = numpy.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    name = f"{dep.get('name', 'an unknown BLAS')} {dep.get('version', '')}".strip()
    core = openblas_core()
    return f"{name} ({core} kernels)" if core else name


def record(corpus=None, torch: bool = False) -> dict:
    """This machine and process, now; with the text's name, size and sha256 when given a Corpus."""
    import numpy

    out = {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": f"{numpy.__version__} with {blas()}",
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
    libs = f"Python {p['python']}, NumPy {p['numpy']}" + (f", PyTorch {p['torch']}" if "torch" in p else "")
    return (
        f"*Measured {p['date']} {made if text else ''} on {p['cpu']} ({p['os']}), {libs}. "
        "These numbers come from a training trajectory: another machine or library version gives other "
        "digits ([why](determinism.md)).*"
    ).replace("  ", " ")


if __name__ == "__main__":
    print(record())
