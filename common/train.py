"""The training loop every backend shares (docs: training.md).

It walks the text in chunks of seq_length, carries h from chunk to chunk (reset at each epoch),
takes one update per chunk through Backend.step, keeps the smooth loss (eq. 13) and the
parameters with the lowest smooth loss, and shows a sample every sample_every updates.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Protocol

import numpy as np

from common.contract import DTYPES, Array, Backend, Optimizer
from common.data import Corpus, Streams
from common.errors import BadInput, TrainingStopped
from common.rng import stream
from common.sampling import sample

SAMPLE_LENGTH = 200  # characters shown every sample_every updates
FINAL_SAMPLE_LENGTH = 1000  # characters from the best model at the end
SMOOTHING = 0.999  # eq. (13)


@dataclass(frozen=True)
class Config:
    """Hyperparameters; the defaults are the assignment's."""

    hidden: int = 100
    seq_length: int = 25
    eta: float = 0.1
    sigma: float = 0.01
    epochs: int = 6
    updates: int | None = None  # a total number of updates; overrides epochs
    batch_size: int = 1
    seed: int = 1  # a typical seed: docs/reproduction.md lists seeds 0-12
    dtype: str = "float64"
    sample_every: int = 10_000  # 0: no samples during training

    def __post_init__(self) -> None:
        for f in fields(self):
            value, flag = getattr(self, f.name), "--" + f.name.replace("_", "-")
            if f.name == "dtype":
                if value not in DTYPES:
                    raise BadInput(f"{flag} must be one of {', '.join(DTYPES)} (got {value!r})")
            elif f.name in ("eta", "sigma"):
                if not (math.isfinite(value) and value > 0):
                    raise BadInput(f"{flag} must be a positive number (got {value})")
            elif f.name in ("seed", "sample_every"):
                if value < 0:
                    raise BadInput(f"{flag} must be zero or positive (got {value})")
            elif value is not None and value < 1:
                raise BadInput(f"{flag} must be a positive integer (got {value})")


class Reporter(Protocol):
    """Where the loop tells a person how it goes (the CLI's progress bar; tests' recorders)."""

    def progress(self, update: int, total: int, epoch: int, smooth: float) -> None: ...

    def sample(self, update: int, smooth: float, text: str) -> None: ...


class Silent:
    """A Reporter that says nothing."""

    def progress(self, update: int, total: int, epoch: int, smooth: float) -> None:
        pass

    def sample(self, update: int, smooth: float, text: str) -> None:
        pass


@dataclass
class State:
    """Everything that changes as training goes (docs: training.md#state)."""

    theta: Array  # parameters, on the device
    mem: Array  # AdaGrad's M, on the device
    h: Array  # (m, B) hidden state carried to the next chunk
    update: int = 0  # updates done
    smooth: float = math.nan  # smooth loss after the last update
    best_theta: np.ndarray | None = None  # host copy of the parameters with the lowest smooth loss
    best_smooth: float = math.inf
    best_update: int = 0
    losses: list[float] = field(default_factory=list)  # per update, per stream (loss / B)
    smooths: list[float] = field(default_factory=list)
    samples: list[tuple[int, float, str]] = field(default_factory=list)  # (update, smooth, text)
    seconds: float = 0.0  # time spent in updates (no sampling, no writing)


def total_updates(cfg: Config, streams: Streams) -> int:
    return cfg.updates if cfg.updates is not None else cfg.epochs * streams.chunks


def start(backend: Backend, theta0: np.ndarray, B: int) -> State:
    """A fresh state from initial parameters theta0 (host)."""
    m = backend.layout.m
    return State(
        theta=backend.to_device(theta0),
        mem=backend.to_device(np.zeros_like(theta0)),
        h=backend.to_device(np.zeros((m, B))),
    )


def train(
    backend: Backend,
    corpus: Corpus,
    cfg: Config,
    state: State,
    reporter: Reporter = Silent(),
    checkpoint_every: int = 0,
    save: Callable[[State], None] = lambda state: None,
    stop: Callable[[], bool] = lambda: False,
) -> State:
    """Run updates until the total of cfg, or until stop() says so; returns the state.

    save(state) is called every checkpoint_every updates (0: never) and when stop() ends the
    run early, always between two updates. Raises TrainingStopped when a loss is not finite:
    the history, counters and best model in state then end at the last good update, while
    theta and mem already hold the failed update (so that state must not be saved).
    """
    streams = Streams(corpus.ids, cfg.seq_length, cfg.batch_size)
    total, B, m = total_updates(cfg, streams), cfg.batch_size, backend.layout.m
    next_report = 0.0
    while state.update < total:
        if stop():
            save(state)
            break
        epoch, i = divmod(state.update, streams.chunks)
        if i == 0:
            state.h = backend.to_device(np.zeros((m, B)))  # each epoch starts from h = 0
        x, y = streams.chunk(i)
        t0 = time.perf_counter()
        loss, h = backend.step(state.theta, state.mem, x, y, state.h, Optimizer("adagrad", cfg.eta), state.update + 1)
        loss /= B  # per stream, so the numbers read the same for every batch size
        if not math.isfinite(loss):
            raise TrainingStopped(f"the loss became {loss} at update {state.update + 1}")
        state.h = h
        state.smooth = loss if state.update == 0 else SMOOTHING * state.smooth + (1 - SMOOTHING) * loss
        state.update += 1
        state.losses.append(loss)
        state.smooths.append(state.smooth)
        if state.smooth < state.best_smooth:
            state.best_theta = backend.to_host(state.theta)  # a true copy, not a view
            state.best_smooth, state.best_update = state.smooth, state.update
        state.seconds += time.perf_counter() - t0

        if cfg.sample_every and (state.update == 1 or state.update % cfg.sample_every == 0):
            rng = stream(cfg.seed, "sample", state.update)
            ids = sample(backend, state.theta, state.h[:, :1], [int(x[0, 0])], SAMPLE_LENGTH, rng)
            text = corpus.decode(ids)
            state.samples.append((state.update, state.smooth, text))
            reporter.sample(state.update, state.smooth, text)
        if checkpoint_every and state.update % checkpoint_every == 0:
            save(state)
        if time.perf_counter() >= next_report or state.update == total:
            reporter.progress(state.update, total, epoch + 1, state.smooth)
            next_report = time.perf_counter() + 0.1
    return state


def final_sample(backend: Backend, corpus: Corpus, cfg: Config, state: State) -> str:
    """FINAL_SAMPLE_LENGTH characters from the best model, its h warmed up on the text's first chunk."""
    theta = backend.to_device(state.best_theta)
    h = backend.to_device(np.zeros((backend.layout.m, 1)))
    prime = corpus.ids[: cfg.seq_length].tolist()
    rng = stream(cfg.seed, "final-sample")
    return corpus.decode(sample(backend, theta, h, prime, FINAL_SAMPLE_LENGTH, rng))
