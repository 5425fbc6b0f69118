"""A training run's folder and everything written into it (docs: runs.md).

history.csv     update,loss,smooth_loss: one row per update
samples.txt     the samples shown during training, each under its update and smooth loss
best.npz        the parameters with the lowest smooth loss (format: common/checkpoint.py)
best_sample.txt 1,000 characters from the best model
loss.png        the smooth loss against the update
summary.json    hyperparameters, backend, corpus (name, size, sha256), results and timings
"""

import datetime
import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

import numpy as np

from common.checkpoint import save_model
from common.contract import Backend
from common.data import Corpus
from common.errors import BadInput
from common.train import Config, State

MILESTONES = (1, 1_000, 10_000, 30_000, 100_000, 300_000)


def prepare(out: Path) -> Path:
    """Create the run folder; never write into one that already holds something."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BadInput(f"{out} already exists and is not an empty folder; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"cannot create the run folder {out}: {e.strerror}") from None
    return out


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically: a temporary file, then a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def history_csv(state: State) -> str:
    """One row per update; floats in repr form, so reading them back gives the same bits."""
    rows = (f"{k},{l!r},{s!r}\n" for k, (l, s) in enumerate(zip(state.losses, state.smooths), 1))
    return "update,loss,smooth_loss\n" + "".join(rows)


def samples_txt(samples: list[tuple[int, float, str]]) -> str:
    return "".join(f"--- update {u}, smooth loss {s:.2f} ---\n{text}\n\n" for u, s, text in samples)


def model_meta(corpus: Corpus, cfg: Config, backend: Backend) -> dict:
    """What a model file needs besides its arrays: the vocabulary, the sizes, the origin."""
    return {
        "chars": corpus.chars,
        "hidden": cfg.hidden,
        "dtype": cfg.dtype,
        "corpus": {"name": corpus.name, "sha256": corpus.sha256},
        "backend": backend.name,
    }


def summary(corpus: Corpus, cfg: Config, backend: Backend, state: State, chunks: int, status: str, wall: float) -> dict:
    smooths = state.smooths
    at = {str(k): smooths[k - 1] for k in MILESTONES if k <= len(smooths)}
    epoch_ends = [smooths[k - 1] for k in range(chunks, len(smooths) + 1, chunks)]
    chars = state.update * cfg.seq_length * cfg.batch_size
    return {
        "status": status,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "config": asdict(cfg),
        "backend": {"name": backend.name, "dtype": backend.dtype, "device": backend.device},
        "corpus": {
            "name": corpus.name,
            "characters": len(corpus.text),
            "vocabulary": corpus.K,
            "sha256": corpus.sha256,
        },
        "updates_per_epoch": chunks,
        "results": {
            "updates": state.update,
            "epochs": state.update / chunks,
            "smooth_loss": state.smooth,
            "best_smooth_loss": state.best_smooth,
            "best_update": state.best_update,
            "smooth_loss_at": at,
            "smooth_loss_at_epoch_end": epoch_ends,
        },
        "timings": {
            "wall_s": wall,
            "train_s": state.seconds,
            "ms_per_update": 1e3 * state.seconds / max(state.update, 1),
            "updates_per_s": state.update / state.seconds if state.seconds else None,
            "chars_per_s": chars / state.seconds if state.seconds else None,
        },
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "platform": platform.platform(),
            "processor": platform.processor(),
        },
    }


def write(
    out: Path, corpus: Corpus, cfg: Config, backend: Backend, state: State, summary_: dict, best_sample: str | None
) -> None:
    """Write every file of the run folder from the state."""
    write_text(out / "history.csv", history_csv(state))
    write_text(out / "samples.txt", samples_txt(state.samples))
    if state.best_theta is not None:
        best = backend.layout.unpack(state.best_theta)
        meta = model_meta(corpus, cfg, backend) | {"update": state.best_update, "smooth_loss": state.best_smooth}
        save_model(out / "best.npz", best, meta)
    if best_sample is not None:
        write_text(out / "best_sample.txt", best_sample + "\n")
    if state.smooths:
        from common.plot import plot_loss  # matplotlib loads only here

        plot_loss(out / "loss.png", state.smooths, title=f"{corpus.name}, {backend.name} {cfg.dtype}, m={cfg.hidden}")
    write_text(out / "summary.json", json.dumps(summary_, indent=2) + "\n")
