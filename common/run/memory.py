"""Whether a model fits in memory, said before anything is allocated (docs: runs.md#when-something-goes-wrong)."""

from common.contract import Layout
from common.errors import BadInput

PARAMETER_COPIES = 6  # theta, AdaGrad's M, the gradient, the best model, the initial draw, a host copy


def estimate(layout: Layout, tau: int, B: int, itemsize: int) -> int:
    """Bytes a training run needs, about: parameter-sized arrays and the activations of one chunk."""
    activations = tau * B * (3 * layout.m + 3 * layout.K)  # a, h, dh; o, p, g: each (m or K, tau, B)
    return 8 * PARAMETER_COPIES * layout.size + itemsize * activations


def available() -> int | None:
    """Bytes of memory this machine can give now (Linux's MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check(layout: Layout, tau: int, B: int, itemsize: int) -> None:
    """One clear BadInput, with the estimate, when the run cannot fit in memory."""
    need, have = estimate(layout, tau, B, itemsize), available()
    if have is not None and need > have:
        raise BadInput(
            f"--hidden {layout.m} needs about {need / 2**30:,.1f} GiB of memory ({layout.size:,} parameters, "
            f"{PARAMETER_COPIES} copies); this machine has {have / 2**30:,.1f} GiB available"
        )
