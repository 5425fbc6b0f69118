"""Figures for a laptop and for a phone (docs: the classes `wide` and `phone` of docs/css/extra.css).

A figure of two panels is saved three times: both panels side by side (NAME.png, 1,210 pixels wide,
for a laptop's column of about 690) and each panel alone (NAME-1.png, NAME-2.png, 700 pixels wide,
for a phone's column of 358). A one-panel figure is saved once, 700 pixels wide. So every figure is
shown at half its size or more, and its 10-point text at 10 pixels or more, on either screen.
"""

from collections.abc import Callable
from pathlib import Path

PANEL = (4.8, 3.6)  # inches per panel
WIDE_DPI, PHONE_DPI = 126, 146  # 2 x 4.8 x 126 = 1,210 pixels; 4.8 x 146 = 700


def save(path: Path, *panels: Callable, height: float = PANEL[1]) -> None:
    """Draw each panel (a function of a matplotlib Axes) into path, and into one file each if more than one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "legend.fontsize": 10, "axes.titlesize": 11})
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(PANEL[0] * n, height), layout="constrained", squeeze=False)
    for draw, ax in zip(panels, axes[0]):
        draw(ax)
    fig.savefig(path, dpi=WIDE_DPI if n > 1 else PHONE_DPI, metadata={"Software": None})
    plt.close(fig)
    if n == 1:
        return
    for i, draw in enumerate(panels, 1):
        fig, ax = plt.subplots(figsize=(PANEL[0], height), layout="constrained")
        draw(ax)
        fig.savefig(path.with_name(f"{path.stem}-{i}.png"), dpi=PHONE_DPI, metadata={"Software": None})
        plt.close(fig)


def thousands(axis) -> None:
    """Tick labels 0, 50k, 100k ... on a linear axis of updates, few enough to be read on a phone."""
    import matplotlib.ticker

    axis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v else "0"))
