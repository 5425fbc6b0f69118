"""Every random number, from host generators: one stream per purpose (docs: determinism.md).

A stream is keyed by (seed, purpose, *keys), e.g. the sample taken at update k draws from
stream(seed, "sample", k). So stopping, resuming or sampling more often never shifts the
random numbers of anything else, and every backend sees the same numbers.
"""

import numpy as np

PURPOSES = {"weights": 0, "sample": 1, "final-sample": 2, "cli-sample": 3, "order": 4, "sampling-table": 5}


def stream(seed: int, purpose: str, *keys: int) -> np.random.Generator:
    """The generator for one purpose: PCG64 seeded by (seed, purpose, *keys)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, PURPOSES[purpose], *keys])))
