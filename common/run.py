"""A training run's folder: what is written into it, and reading it back to resume (docs: runs.md).

    history.csv     update,loss,smooth_loss: one row per update (appended as training goes)
    samples.txt     the samples shown during training, each under its update and smooth loss
    checkpoint.npz  everything needed to continue exactly (common/checkpoint.py)
    best.npz        the parameters with the lowest smooth loss
    best_sample.txt 1,000 characters from the best model
    loss.png        the smooth loss against the update
    summary.json    hyperparameters, backend, corpus (name, size, sha256), results and timings

Every file is replaced atomically, and history.csv only grows by whole rows that are fsynced
before the checkpoint that counts them, so a run killed at any moment can be resumed.
"""

import datetime
import json
import os
import platform
from dataclasses import asdict
from pathlib import Path

import numpy as np

from common import checkpoint
from common.contract import Backend
from common.data import BUILTIN_NAME, Corpus, Streams, builtin_corpus, read_corpus
from common.errors import BadInput
from common.rng import PURPOSES
from common.train import Config, State

MILESTONES = (1, 1_000, 10_000, 30_000, 100_000, 300_000)
HISTORY_HEADER = "update,loss,smooth_loss\n"


def prepare(out: Path) -> Path:
    """Create the run folder; never write into one that already holds something."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BadInput(f"{out} already exists and is not an empty folder; choose another --out (or --resume it)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"cannot create the run folder {out}: {e.strerror}") from None
    return out


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically: a temporary file, fsynced, then a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def history_rows(losses: list[float], smooths: list[float], start: int) -> str:
    """Rows for updates start+1, start+2, ...; floats in repr form, so a reread gives the same bits."""
    return "".join(f"{k},{l!r},{s!r}\n" for k, (l, s) in enumerate(zip(losses, smooths), start + 1))


def samples_txt(samples: list[tuple[int, float, str]]) -> str:
    return "".join(f"--- update {u}, smooth loss {s:.2f} ---\n{text}\n\n" for u, s, text in samples)


class Run:
    """The folder of one run, for one corpus, config and backend."""

    def __init__(self, out: Path, corpus: Corpus, cfg: Config, backend: Backend, data_path: Path | None):
        self.out, self.corpus, self.cfg, self.backend, self.data_path = Path(out), corpus, cfg, backend, data_path
        self.flushed = 0  # history rows already in history.csv
        self.saved_at = -1  # the update of the last checkpoint written

    @classmethod
    def reopen(cls, out: Path, corpus: Corpus, cfg: Config, backend: Backend, data_path, state: State) -> "Run":
        """The folder of a run resumed at state, made to agree with its checkpoint."""
        folder = cls(out, corpus, cfg, backend, data_path)
        folder.rewrite_history(state)  # rows written after the checkpoint are not part of the run
        for leftover in folder.out.glob(".*.tmp"):  # what a killed write left behind
            leftover.unlink()
        folder.saved_at = state.update
        return folder

    def meta(self) -> dict:
        """What every file of the run records: vocabulary, sizes, dtype, corpus, backend."""
        corpus, cfg = self.corpus, self.cfg
        return {
            "chars": corpus.chars,
            "hidden": cfg.hidden,
            "dtype": cfg.dtype,
            "config": asdict(cfg),
            "corpus": {
                "name": corpus.name,
                "characters": len(corpus.text),
                "sha256": corpus.sha256,
                "path": str(self.data_path.resolve()) if self.data_path else None,
            },
            "backend": {"name": self.backend.name, "dtype": self.backend.dtype, "device": self.backend.device},
        }

    def flush_history(self, state: State) -> None:
        """Append the rows not yet on disk, and make them durable."""
        path = self.out / "history.csv"
        if self.flushed == 0:
            write_text(path, HISTORY_HEADER)
        rows = history_rows(state.losses[self.flushed :], state.smooths[self.flushed :], self.flushed)
        with open(path, "a", encoding="utf-8") as f:
            f.write(rows)
            f.flush()
            os.fsync(f.fileno())
        self.flushed = state.update

    def rewrite_history(self, state: State) -> None:
        """history.csv exactly as state has it (on resume: rows past the checkpoint go)."""
        write_text(self.out / "history.csv", HISTORY_HEADER + history_rows(state.losses, state.smooths, 0))
        self.flushed = state.update

    def save(self, state: State, status: str, wall: float) -> None:
        """A checkpoint and everything that goes with it: history, samples, best model, summary."""
        self.flush_history(state)
        write_text(self.out / "samples.txt", samples_txt(state.samples))
        if state.best_theta is not None:
            best = self.backend.layout.unpack(state.best_theta)
            meta = self.meta() | {"update": state.best_update, "smooth_loss": state.best_smooth}
            checkpoint.save_model(self.out / "best.npz", best, meta)
        # a stopped run's theta is not finite: the last checkpoint stays; one already written stays too
        if state.update > 0 and status != "stopped" and state.update != self.saved_at:
            checkpoint.save_checkpoint(self.out / "checkpoint.npz", *self.checkpoint(state))
            self.saved_at = state.update
        write_text(self.out / "summary.json", json.dumps(self.summary(state, status, wall), indent=2) + "\n")

    def finish(self, state: State, status: str, wall: float, best_sample: str | None) -> None:
        """The last save, the final sample and the plot."""
        self.save(state, status, wall)
        if best_sample is not None:
            write_text(self.out / "best_sample.txt", best_sample + "\n")
        if state.smooths:
            from common.plot import plot_loss  # matplotlib loads only here

            cfg, name = self.cfg, self.backend.name
            plot_loss(self.out / "loss.png", state.smooths, f"{self.corpus.name}, {name} {cfg.dtype}, m={cfg.hidden}")

    def checkpoint(self, state: State) -> tuple[dict, dict]:
        """Arrays and meta that let training continue exactly where state stands."""
        b, chunks = self.backend, self.chunks()
        arrays = {
            "theta": b.to_host(state.theta),
            "mem": b.to_host(state.mem),
            "h": b.to_host(state.h),  # the hidden state carried into the next chunk
            "best_theta": state.best_theta,
            "losses": np.array(state.losses, dtype=np.float64),
            "smooths": np.array(state.smooths, dtype=np.float64),
        }
        meta = self.meta() | {
            "update": state.update,
            "epoch": state.update // chunks,  # epochs done; the next chunk is update % chunks of this epoch
            "offset": (state.update % chunks) * self.cfg.seq_length,  # where in each stream the next chunk starts
            "smooth": state.smooth,
            "best_smooth": state.best_smooth,
            "best_update": state.best_update,
            "samples": state.samples,
            "seconds": state.seconds,
            "rng": {
                "generator": "PCG64",
                "seed": self.cfg.seed,
                "streams": "SeedSequence([seed, purpose, key])",
                "purposes": PURPOSES,
            },
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        return arrays, meta

    def chunks(self) -> int:
        return Streams(self.corpus.ids, self.cfg.seq_length, self.cfg.batch_size).chunks

    def summary(self, state: State, status: str, wall: float) -> dict:
        cfg, corpus, chunks, smooths = self.cfg, self.corpus, self.chunks(), state.smooths
        chars = state.update * cfg.seq_length * cfg.batch_size
        return {
            "status": status,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "config": asdict(cfg),
            "backend": {"name": self.backend.name, "dtype": self.backend.dtype, "device": self.backend.device},
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
                "smooth_loss_at": {str(k): smooths[k - 1] for k in MILESTONES if k <= len(smooths)},
                "smooth_loss_at_epoch_end": [smooths[k - 1] for k in range(chunks, len(smooths) + 1, chunks)],
            },
            "timings": {
                "wall_s": wall,
                "train_s": state.seconds,
                "ms_per_update": 1e3 * state.seconds / max(state.update, 1),
                "updates_per_s": state.update / state.seconds if state.seconds else None,
                "chars_per_s": chars / state.seconds if state.seconds else None,
            },
            "machine": {"python": platform.python_version(), "numpy": np.__version__, "platform": platform.platform()},
        }


def restore(backend: Backend, arrays: dict, meta: dict) -> State:
    """The training state a checkpoint holds, on backend's device."""
    return State(
        theta=backend.to_device(arrays["theta"]),
        mem=backend.to_device(arrays["mem"]),
        h=backend.to_device(arrays["h"]),
        update=int(meta["update"]),
        smooth=float(meta["smooth"]),
        best_theta=arrays["best_theta"].copy(),
        best_smooth=float(meta["best_smooth"]),
        best_update=int(meta["best_update"]),
        losses=arrays["losses"].tolist(),
        smooths=arrays["smooths"].tolist(),
        samples=[(int(u), float(s), str(t)) for u, s, t in meta["samples"]],
        seconds=float(meta.get("seconds", 0.0)),
    )


FREE_ON_RESUME = {"updates", "epochs", "sample_every"}  # a new target, more or fewer samples
FORCE_ON_RESUME = {"eta"}  # a different learning rate, with --force


def resumed_config(meta: dict, changes: dict, force: bool) -> Config:
    """The run's config with the changes the user asked for, if a resumed run may take them."""
    old = Config(**meta["config"])
    for name, value in changes.items():
        flag, was = "--" + name.replace("_", "-"), getattr(old, name)
        if value == was or name in FREE_ON_RESUME or (name in FORCE_ON_RESUME and force):
            continue
        if name in FORCE_ON_RESUME:
            raise BadInput(f"{flag} {value} differs from the run's {was}; add --force to change it on resume")
        raise BadInput(f"{flag} {value} differs from the run's {was}; a resumed run keeps its {flag}")
    if "epochs" in changes and "updates" not in changes:
        changes = changes | {"updates": None}  # a new number of epochs replaces a total of updates
    return Config(**(asdict(old) | changes))


def resumed_corpus(meta: dict, data: Path | None) -> tuple[Corpus, Path | None]:
    """The run's text, from --data or from where the run read it; it must be the same text."""
    was = meta["corpus"]
    if data is None and was.get("path"):
        data = Path(was["path"])
    corpus = read_corpus(data) if data is not None else builtin_corpus()
    if data is None and was["name"] != BUILTIN_NAME:
        raise BadInput(f"this run trained on {was['name']}; give it with --data")
    if corpus.sha256 != was["sha256"]:
        raise BadInput(
            f"the data differs from the run's: {corpus.name} has sha256 {corpus.sha256[:12]}..., "
            f"the run trained on {was['name']} with sha256 {was['sha256'][:12]}..."
        )
    if corpus.chars != meta["chars"]:
        raise BadInput(f"the vocabulary of {corpus.name} differs from the run's ({corpus.K} vs {len(meta['chars'])})")
    return corpus, data
