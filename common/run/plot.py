"""The loss plot of a run, written atomically like every file of it (docs: runs.md).

The smooth training loss on the left axis (summed or mean, as trained), the same in nats per
character on the right axis, and the validation loss per character, when there is one, drawn
on that scale (docs: handouts.md#one-scale-for-both).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402

from common.run import atomic  # noqa: E402


def plot_loss(
    path: Path, smooths: list[float], title: str, chars: float = 1.0, validations: list[tuple[int, float]] = ()
) -> None:
    """chars: characters one loss is summed over (tau for the summed loss, 1 for the mean)."""
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    ax.plot(range(1, len(smooths) + 1), smooths, lw=1.2, label="smooth training loss")
    if validations:
        updates, per_char = zip(*validations)
        ax.plot(updates, [chars * v for v in per_char], "o-", ms=2.5, lw=0.8, label="validation loss")
        ax.legend()
    ax.set_xlabel("update")
    ax.set_ylabel("smooth loss" + (" (summed over the chunk)" if chars != 1 else ""))
    right = ax.secondary_yaxis("right", functions=(lambda y: y / chars, lambda y: y * chars))
    right.set_ylabel("nats per character")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    try:
        atomic.write(path, lambda f: fig.savefig(f, format="png", dpi=120))
    finally:
        plt.close(fig)
