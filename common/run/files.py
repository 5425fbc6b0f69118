"""Writing a training run's folder (docs: runs.md); reading it back to resume is common/run/resume.py.

    lock            the process id of the one process writing the folder (common/run/folder.py)
    settings.json   every setting of the run, written as its folder is claimed: a run stopped before
                    its first checkpoint resumes from update 0
    history.csv     update,loss,smooth_loss: one row per update (appended as training goes)
    samples.txt     the samples shown during training, each under its update and smooth loss
    checkpoint.npz  everything needed to continue exactly (common/run/checkpoint.py)
    best.npz        the parameters with the lowest smooth loss, and the hidden state they reached
    best_sample.txt 1,000 characters from the best model
    sampling_table.md  the best model at several temperatures and top-p (common/run/report.py)
    validation.csv  with --validation: the validation loss per character every validate_every updates
    loss.png        the smooth loss against the update (and per character, and the validation loss)
    summary.json    hyperparameters, backend, corpus (name, size, sha256), results and timings

Every file is replaced atomically (common/run/atomic.py), and history.csv only grows by whole rows
that are fsynced before the checkpoint that counts them, so a run killed at any moment can be
resumed. The folder is claimed and locked (common/run/folder.py), so it has one writer at a time.
"""

import datetime
import json
import math
import os
import platform
from dataclasses import asdict
from pathlib import Path

import numpy as np

from common.contract import Backend
from common.data import Corpus
from common.run import atomic, checkpoint
from common.run.config import Config, parts
from common.run.npzfile import FORMAT
from common.run.progress import loss_text
from common.run.train import State

MILESTONES = (1, 1_000, 4_000, 10_000, 30_000, 100_000, 150_000, 300_000)  # both handouts' figures
HISTORY_HEADER = "update,loss,smooth_loss\n"


def history_rows(losses: list[float], smooths: list[float], start: int) -> str:
    """Rows for updates start+1, start+2, ...; floats in repr form, so a reread gives the same bits."""
    return "".join(f"{k},{l!r},{s!r}\n" for k, (l, s) in enumerate(zip(losses, smooths), start + 1))


def validation_csv(validations: list[tuple[int, float]]) -> str:
    """update, validation loss per character (nats), bits per character, perplexity: one row each."""
    rows = "".join(f"{u},{v!r},{v / math.log(2)!r},{math.exp(min(v, 700))!r}\n" for u, v in validations)
    return "update,loss_per_char,bits_per_char,perplexity\n" + rows


def per_char(cfg: Config, state: State) -> dict:
    """The smooth losses in nats and bits per character, and the validation losses: one scale for both handouts."""
    nats = {"smooth_loss": cfg.per_char(state.smooth), "best_smooth_loss": cfg.per_char(state.best_smooth)}
    out = nats | {k.replace("loss", "bits"): v / math.log(2) for k, v in nats.items()}
    if state.validations:
        best = min(state.validations, key=lambda uv: uv[1])
        out |= {"validation_loss": state.validations[-1][1], "best_validation_loss": best[1]}
        out |= {
            "best_validation_update": best[0],
            "validation_perplexity": math.exp(min(state.validations[-1][1], 700)),
        }
    return out


def samples_txt(samples: list[tuple[int, float, str]]) -> str:
    return "".join(f"--- {heading(u, s)} ---\n{text}\n\n" for u, s, text in samples)


def heading(update: int, smooth: float) -> str:
    return f"update {update}, smooth loss {loss_text(smooth)}" if update else "before the first update"


class Run:
    """The folder of one run, for one corpus, config and backend."""

    def __init__(
        self, out: Path, corpus: Corpus, cfg: Config, backend: Backend, data_path: Path | None, options=None, lock=None
    ):
        self.out, self.corpus, self.cfg, self.backend, self.data_path = Path(out), corpus, cfg, backend, data_path
        self.options = options or {}  # the backend options the run was started with (--device, --kernels, ...)
        self.lock = lock  # the file descriptor of the folder's lock (common/run/folder.py), held until close()
        self.flushed = 0  # history rows already in history.csv
        self.saved_at = -1  # the update of the last checkpoint written

    def close(self) -> None:
        """Let another process write the folder."""
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None

    def write_settings(self) -> None:
        """settings.json: what `train --resume` needs to start the run again from update 0."""
        settings = {"format": FORMAT, "kind": "settings"} | self.meta()
        atomic.write_text(self.out / "settings.json", json.dumps(settings, indent=2) + "\n")

    def meta(self) -> dict:
        """What every file of the run records: vocabulary, sizes, dtype, every setting, corpus, backend."""
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
            "backend": self.backend_meta() | {"options": self.options},
        }

    def backend_meta(self) -> dict:
        return {"name": self.backend.name, "dtype": self.backend.dtype, "device": self.backend.device}

    def flush_history(self, state: State) -> None:
        """Append the rows not yet on disk, and make them durable."""
        path = self.out / "history.csv"
        if self.flushed == 0:
            atomic.write_text(path, HISTORY_HEADER)
        atomic.append(path, history_rows(state.losses[self.flushed :], state.smooths[self.flushed :], self.flushed))
        self.flushed = state.update

    def rewrite_history(self, state: State) -> None:
        """history.csv exactly as state has it (on resume: rows past the checkpoint go)."""
        atomic.write_text(self.out / "history.csv", HISTORY_HEADER + history_rows(state.losses, state.smooths, 0))
        self.flushed = state.update

    def save(self, state: State, status: str) -> None:
        """A checkpoint and everything that goes with it: history, samples, best model, summary."""
        self.flush_history(state)
        atomic.write_text(self.out / "samples.txt", samples_txt(state.samples))
        if self.cfg.validation:
            atomic.write_text(self.out / "validation.csv", validation_csv(state.validations))
        if state.best_theta is not None:  # the best model comes to the host only here and in the checkpoint
            best = self.backend.layout.unpack(self.backend.to_host(state.best_theta))
            meta = self.meta() | {"update": state.best_update, "smooth_loss": state.best_smooth}
            best_h = self.backend.to_host(state.best_h)  # (m, 1)
            checkpoint.save_model(self.out / "best.npz", best, meta, best_h, state.best_x_next)
        # a stopped run's theta is not finite: the last checkpoint stays; one already written stays too
        if state.update > 0 and status != "stopped" and state.update != self.saved_at:
            checkpoint.save_checkpoint(self.out / "checkpoint.npz", self.backend, state, self.meta(), self.chunks())
            self.saved_at = state.update
        self.write_summary(state, status)

    def write_summary(self, state: State, status: str) -> None:
        atomic.write_text(self.out / "summary.json", json.dumps(self.summary(state, status), indent=2) + "\n")

    def finish(self, state: State, status: str, best_sample: str | None, table: str | None = None) -> None:
        """The last save, the final sample, the sampling table and the plot."""
        self.save(state, status)
        if best_sample is not None:
            atomic.write_text(self.out / "best_sample.txt", best_sample + "\n")
        if table is not None:
            atomic.write_text(self.out / "sampling_table.md", table)
        if state.smooths:
            from common.run.plot import plot_loss  # matplotlib loads only here

            cfg, name = self.cfg, self.backend.name
            title = f"{self.corpus.name}, {name} {cfg.dtype}, m={cfg.hidden}, preset {cfg.preset}"
            plot_loss(self.out / "loss.png", state.smooths, title, cfg.per_char(1.0) ** -1, state.validations)

    def chunks(self) -> int:
        return parts(self.cfg, self.corpus.ids)[0].chunks

    def summary(self, state: State, status: str) -> dict:
        cfg, corpus, chunks, smooths = self.cfg, self.corpus, self.chunks(), state.smooths
        chars = state.update * cfg.seq_length * cfg.batch_size
        return {
            "status": status,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "config": asdict(cfg),
            "backend": self.backend_meta(),
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
                "per_char": per_char(cfg, state),
            },
            "timings": {
                "wall_s": state.wall,  # every process that worked on the run, like train_s
                "train_s": state.seconds,
                "ms_per_update": 1e3 * state.seconds / max(state.update, 1),
                "updates_per_s": state.update / state.seconds if state.seconds else None,
                "chars_per_s": chars / state.seconds if state.seconds else None,
            },
            "machine": {"python": platform.python_version(), "numpy": np.__version__, "platform": platform.platform()},
        }
