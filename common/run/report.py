"""What the handouts' reports ask for beyond the run's samples (docs: handouts.md#the-report).

The 2025 handout: a sample before the first update. The bonus task of both: the same best model
sampled at low, medium and high temperature and top-p, one short paragraph each.
"""

from common.contract import Backend
from common.data import Corpus, Streams
from common.rng import stream
from common.sampling import sample

SETTINGS = (  # (label, temperature, top_p)
    ("temperature 0.5 (low)", 0.5, 1.0),
    ("temperature 1.0 (medium: the model as is)", 1.0, 1.0),
    ("temperature 1.5 (high)", 1.5, 1.0),
    ("top-p 0.5 (low)", 1.0, 0.5),
    ("top-p 0.9 (medium)", 1.0, 0.9),
    ("top-p 0.99 (high)", 1.0, 0.99),
)
TABLE_LENGTH = 300  # characters per paragraph


def first_sample(backend: Backend, corpus: Corpus, theta, h, streams: Streams, seed: int, n: int) -> str:
    """n characters from the untrained model, from h (h = 0), seeded with the first chunk's first input."""
    x0 = int(streams.chunk(streams.visit(0, 0))[0][0, 0])
    return corpus.decode(sample(backend, theta, h[:, :1], [x0], n, stream(seed, "sample", 0)))


def sampling_table(backend: Backend, corpus: Corpus, best_theta, best_h, x_next: int, seed: int) -> str:
    """Markdown: the best model (on the device) at each setting, each from best_h (m, 1) with the same uniforms."""
    rows = []
    for label, temperature, top_p in SETTINGS:
        rng = stream(seed, "sampling-table")  # the same uniforms for every row: only the setting differs
        text = corpus.decode(sample(backend, best_theta, best_h, [x_next], TABLE_LENGTH, rng, temperature, top_p))
        rows.append(f"## {label}\n\n```text\n{text}\n```\n")
    return "# The best model at several sampling settings\n\n" + "\n".join(rows)
