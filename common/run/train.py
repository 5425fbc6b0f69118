"""The training loop every backend shares (docs: training.md).

It walks the text in chunks of seq_length, carries h from chunk to chunk (reset at each epoch),
takes one update per chunk through Backend.step, keeps the smooth loss (eq. 13) and the
parameters with the lowest smooth loss (with the hidden state they reached), and shows a sample
every sample_every updates. The best model stays on the device (Backend.copy: on a GPU no wait)
and reaches the host only when a file is written (docs: gpu.md#a-training-update). What starts,
saves and ends a run is common/run/lifecycle.py.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from common.contract import Array, Backend, Optimizer, opt_state_size
from common.data import Corpus, Streams
from common.errors import TrainingStopped
from common.rng import stream
from common.run.config import Config, parts
from common.run.report import first_sample
from common.run.validation import validation_loss
from common.sampling import sample

SAMPLE_LENGTH = 200  # characters shown every sample_every updates
FINAL_SAMPLE_LENGTH = 1000  # characters from the best model at the end
SMOOTHING = 0.999  # eq. (13)
STUCK_AFTER = 1000  # updates after which a loss never below its start is worth a warning


class Reporter(Protocol):
    """Where the loop tells a person how it goes (the CLI's progress bar; tests' recorders)."""

    def progress(self, update: int, total: int, epoch: int, smooth: float) -> None: ...

    def sample(self, update: int, smooth: float, text: str) -> None: ...

    def warn(self, message: str) -> None: ...


class Silent:
    """A Reporter that says nothing."""

    def progress(self, update: int, total: int, epoch: int, smooth: float) -> None:
        pass

    def sample(self, update: int, smooth: float, text: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass


@dataclass
class State:
    """Everything that changes as training goes (docs: training.md#the-training-state)."""

    theta: Array  # parameters, on the device
    mem: Array  # the optimizer's state on the device: AdaGrad's M (n), or Adam's [m; v] (2n)
    h: Array  # (m, B) hidden state carried to the next chunk
    update: int = 0  # updates done
    smooth: float = math.nan  # smooth loss after the last update
    best_theta: Array | None = None  # device copy of the parameters with the lowest smooth loss
    best_smooth: float = math.inf
    best_update: int = 0
    best_h: Array | None = None  # (m, 1) device copy of stream 0's h at the best update: sampling goes on from it
    best_x_next: int = 0  # the character that followed it in the text
    best_validation: float = math.inf  # with --best-by validation: the best model's validation loss per character
    validations: list[tuple[int, float]] = field(default_factory=list)  # (update, validation loss per character)
    x_next: int = 0  # the character that follows h in stream 0 (the last target)
    losses: list[float] = field(default_factory=list)  # per update, per stream (loss / B)
    smooths: list[float] = field(default_factory=list)
    samples: list[tuple[int, float, str]] = field(default_factory=list)  # (update, smooth, text)
    seconds: float = 0.0  # time spent in updates (no sampling, no writing)
    wall: float = 0.0  # wall-clock time of every process that worked on the run


def total_updates(cfg: Config, streams: Streams) -> int:
    return cfg.updates if cfg.updates is not None else cfg.epochs * streams.chunks


def start(backend: Backend, theta0: np.ndarray, B: int, opt: Optimizer = Optimizer()) -> State:
    """A fresh state from initial parameters theta0 (host), with opt's state at zero."""
    m = backend.layout.m
    return State(
        theta=backend.to_device(theta0),
        mem=backend.to_device(np.zeros(opt_state_size(opt, theta0.size))),
        h=backend.to_device(np.zeros((m, B))),
    )


def train(
    backend: Backend,
    corpus: Corpus,
    cfg: Config,
    state: State,
    reporter: Reporter = Silent(),
    save: Callable[[State], None] = lambda state: None,
    stop: Callable[[], bool] = lambda: False,
) -> State:
    """Run updates until the total of cfg, or until stop() says so; returns the state.

    save(state) is called every cfg.checkpoint_every updates (0: never) and when stop() ends the
    run early, always between two updates. Raises TrainingStopped when a loss is not finite:
    the history, counters and best model in state then end at the last good update, while
    theta and mem already hold the failed update (so that state must not be saved).
    """
    with np.errstate(all="ignore"):  # a diverging loss is said once, by TrainingStopped, not by NumPy
        return updates(backend, corpus, cfg, state, reporter, save, stop)


def updates(backend, corpus, cfg, state, reporter, save, stop) -> State:
    streams, held = parts(cfg, corpus.ids)
    if state.update == 0 and cfg.sample_every and cfg.preset == "2025":  # the 2025 report: one before training
        text = first_sample(backend, corpus, state.theta, state.h, streams, cfg.seed, SAMPLE_LENGTH)
        state.samples.append((0, math.nan, text))
        reporter.sample(0, math.nan, text)
    total, B, m = total_updates(cfg, streams), cfg.batch_size, backend.layout.m
    next_report, opt = 0.0, cfg.opt
    while state.update < total:
        if stop():
            save(state)
            break
        epoch, i = divmod(state.update, streams.chunks)
        if i == 0 or cfg.order == "shuffled":  # shuffled: the chunk before is not the text before
            state.h = backend.to_device(np.zeros((m, B)))  # each epoch starts from h = 0
        x, y = streams.chunk(streams.visit(epoch, i))  # (tau, B) each
        t0 = time.perf_counter()
        loss, h = backend.step(state.theta, state.mem, x, y, state.h, opt, state.update + 1, cfg.scale)
        loss /= B  # per stream, so the numbers read the same for every batch size
        if not math.isfinite(loss):
            raise TrainingStopped(f"the loss became {loss} at update {state.update + 1}")
        state.h, state.x_next = h, int(y[-1, 0])
        state.smooth = loss if state.update == 0 else SMOOTHING * state.smooth + (1 - SMOOTHING) * loss
        state.update += 1
        state.losses.append(loss)
        state.smooths.append(state.smooth)
        if held is not None and (state.update == 1 or state.update % cfg.validate_every == 0):
            v0 = time.perf_counter()
            state.validations.append((state.update, validation_loss(backend, state.theta, held).per_char))
            t0 += time.perf_counter() - v0  # like sampling, not part of the update's time
        at, val = state.validations[-1] if state.validations else (0, math.inf)
        by_validation = cfg.best_by == "validation"
        if (at == state.update and val < state.best_validation) if by_validation else state.smooth < state.best_smooth:
            state.best_validation = val if by_validation else math.inf
            state.best_theta = backend.copy(state.theta)  # on the device: a copy, no transfer, no wait
            state.best_h = backend.copy(h[:, :1])  # (m, 1) where sampling from the best model starts
            state.best_smooth, state.best_update, state.best_x_next = state.smooth, state.update, state.x_next
        state.seconds += time.perf_counter() - t0

        if state.update == STUCK_AFTER and min(state.losses[1:]) >= state.losses[0]:
            reporter.warn(f"the loss has not gone below its start ({state.losses[0]:.4g}) in {STUCK_AFTER:,} updates")
        if cfg.sample_every and (state.update == 1 or state.update % cfg.sample_every == 0):
            rng = stream(cfg.seed, "sample", state.update)
            ids = sample(backend, state.theta, state.h[:, :1], [int(x[0, 0])], SAMPLE_LENGTH, rng)
            text = corpus.decode(ids)
            state.samples.append((state.update, state.smooth, text))
            reporter.sample(state.update, state.smooth, text)
        if cfg.checkpoint_every and state.update % cfg.checkpoint_every == 0:
            save(state)
        if time.perf_counter() >= next_report or state.update == total:
            reporter.progress(state.update, total, epoch + 1, state.smooth)
            next_report = time.perf_counter() + 0.1
    return state


def final_sample(backend: Backend, corpus: Corpus, cfg: Config, state: State) -> str:
    """FINAL_SAMPLE_LENGTH characters from the best model, going on from the hidden state it reached.

    Not from h = 0: a trained W can carry h from 0 into an attractor the text never visits
    (docs: training.md#sampling-from-the-saved-hidden-state).
    """
    rng = stream(cfg.seed, "final-sample")
    ids = sample(backend, state.best_theta, state.best_h, [state.best_x_next], FINAL_SAMPLE_LENGTH, rng)
    return corpus.decode(ids)
