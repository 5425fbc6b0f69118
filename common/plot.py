"""The smooth-loss plot of a run (docs: runs.md)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402


def plot_loss(path: Path, smooths: list[float], title: str) -> None:
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    ax.plot(range(1, len(smooths) + 1), smooths, lw=1.2)
    ax.set_xlabel("update")
    ax.set_ylabel("smooth loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)
