"""The smooth-loss plot of a run, written atomically like every file of it (docs: runs.md)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402

from common import atomic  # noqa: E402


def plot_loss(path: Path, smooths: list[float], title: str) -> None:
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    ax.plot(range(1, len(smooths) + 1), smooths, lw=1.2)
    ax.set_xlabel("update")
    ax.set_ylabel("smooth loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    try:
        atomic.write(path, lambda f: fig.savefig(f, format="png", dpi=120))
    finally:
        plt.close(fig)
