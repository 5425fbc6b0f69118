"""A training run from start to end (docs: runs.md#a-runs-life).

start a new run or resume one -> reserve its folder -> train until done or stopped, with
checkpoints -> finish with an Outcome -> the final sample and the summary. The CLI parses
options, calls `new` or `resume`, then `run`, and prints the Ending.
"""

import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

import backends
from common.contract import Backend, Layout
from common.data import Corpus, builtin_corpus, read_text
from common.errors import TrainingStopped, WriteFailed
from common.run import memory
from common.run import resume as reading
from common.run.checkpoint import restore
from common.run.config import Config, parts
from common.run.files import Run
from common.run.folder import reserve
from common.run.report import sampling_table
from common.run.train import Reporter, State, final_sample, start, total_updates, train
from common.weights import init_theta


class Outcome(Enum):
    completed = "completed"  # every update asked for: the final sample is written
    stopped = "stopped"  # the loss became NaN or infinite: the last good checkpoint stays
    interrupted = "interrupted"  # Ctrl-C or SIGTERM: saved between two updates, resumable
    failed = "failed"  # a file could not be written (disk full): the last good checkpoint stays


@dataclass
class Training:
    """A run ready to train: its folder, backend, text, settings and state."""

    folder: Run
    model: Backend
    corpus: Corpus
    cfg: Config
    state: State
    total: int  # updates the run is to reach


@dataclass
class Ending:
    outcome: Outcome
    message: str  # one line for the user
    code: int  # the process's exit status
    best_sample: str | None = None
    table: str | None = None  # the sampling table (common/run/report.py)


def new(cfg: Config, name: str, options: dict, data: Path | None, out: Path | None, say: Callable) -> Training:
    """A fresh run: every check first, then the folder is reserved (so a refusal leaves nothing behind)."""
    backends.ensure(name, **options)  # before any other work: one clear line if it cannot run
    if data is not None:
        corpus = read_text(data)
    else:
        corpus = builtin_corpus()
        say(
            f"No --data given: training on Python's reference documentation ({len(corpus.text):,} "
            f"characters, {corpus.K} distinct), which ships with Python. Use --data PATH for your own "
            "text, e.g. goblet_book.txt."
        )
    layout = Layout(corpus.K, cfg.hidden)
    streams = parts(cfg, corpus.ids)[0]  # one clear line now if the text (or its held-out part) is too short
    memory.check(layout, cfg.seq_length, cfg.batch_size, np.dtype(cfg.dtype).itemsize)
    model = backends.load(name, layout, cfg.dtype, **options)
    state = start(model, init_theta(layout, cfg.sigma, cfg.seed, cfg.init), cfg.batch_size, cfg.opt)
    folder = Run(reserve(out), corpus, cfg, model, data, options)
    return Training(folder, model, corpus, cfg, state, total_updates(cfg, streams))


def resume(out: Path, changes: dict, force: bool, name: str | None, options: dict, data: Path | None) -> Training:
    """The run in folder out, at its checkpoint, with the changes a resumed run may take."""
    arrays, meta = reading.read(out)
    cfg = reading.resumed_config(meta, changes, force)
    corpus, data = reading.resumed_corpus(meta, data)
    name, options = reading.resumed_backend(meta, name, options)
    model = backends.load(name, Layout(corpus.K, cfg.hidden), cfg.dtype, **options)
    state = restore(model, arrays, meta)
    folder = reading.reopen(out, corpus, cfg, model, data, options, state)
    return Training(folder, model, corpus, cfg, state, total_updates(cfg, parts(cfg, corpus.ids)[0]))


def senseless(cfg: Config) -> list[str]:
    """Hyperparameters far outside sense: worth a warning, not a refusal (someone may mean it)."""
    said = []
    if cfg.sigma >= 1:
        said.append(f"--sigma {cfg.sigma:g} is far above the usual 0.01: tanh saturates and the loss starts huge")
    if cfg.eta > 1:
        said.append(f"--eta {cfg.eta:g} is far above the usual 0.1: AdaGrad's first steps are that large")
    return said


class StopFlag:
    """Set by SIGINT (Ctrl-C) or SIGTERM: training stops between two updates and saves."""

    def __init__(self):
        self.signal: int | None = None

    def __call__(self) -> bool:
        return self.signal is not None

    def __enter__(self):
        self.previous = {s: signal.signal(s, self.handler) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for s, handler in self.previous.items():
            signal.signal(s, handler)

    def handler(self, signum, frame) -> None:
        self.signal = signum


def run(t: Training, reporter: Reporter) -> Ending:
    """Train t to its total or until stopped, and finish: every path ends in one Outcome."""
    folder, state, out = t.folder, t.state, t.folder.out
    if state.update == 0:
        for message in senseless(t.cfg):
            reporter.warn(message)
    t0, wall0 = time.perf_counter(), state.wall

    def save(s: State, status: str = "running") -> None:
        s.wall = wall0 + time.perf_counter() - t0
        folder.save(s, status)

    with StopFlag() as stop:  # signals only set the flag until the run's files are written
        try:
            train(t.model, t.corpus, t.cfg, state, reporter, save, stop)
            if stop.signal is not None:
                ending = Ending(
                    Outcome.interrupted,
                    f"interrupted at update {state.update:,}: everything up to it is saved in {out}. "
                    f"Resume with: python cli.py train --resume {out}",
                    128 + stop.signal,
                )
            else:
                best = final_sample(t.model, t.corpus, t.cfg, state)
                table = sampling_table(t.model, t.corpus, state.best_theta, state.best_h, state.best_x_next, t.cfg.seed)
                ending = Ending(Outcome.completed, f"wrote {out}", 0, best, table)
        except TrainingStopped as e:
            ending = Ending(
                Outcome.stopped, f"{e}; training stopped. The best model so far is in {out / 'best.npz'}", 1
            )
        except WriteFailed as e:
            return failed(t, str(e))
        try:
            state.wall = wall0 + time.perf_counter() - t0
            folder.finish(state, ending.outcome.value, ending.best_sample, ending.table)
        except WriteFailed as e:
            return failed(t, str(e))
    return ending


def failed(t: Training, why: str) -> Ending:
    """A file could not be written: say so in the summary if the disk still lets us, and end."""
    with contextlib.suppress(WriteFailed):  # the disk may still be full
        t.folder.write_summary(t.state, Outcome.failed.value)
    where = "its last checkpoint stays in" if (t.folder.out / "checkpoint.npz").exists() else "no checkpoint yet in"
    return Ending(Outcome.failed, f"{why}; training stopped, {where} {t.folder.out}", 1)
