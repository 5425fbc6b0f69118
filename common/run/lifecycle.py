"""A training run from start to end (docs: runs.md#a-runs-life).

start a new run (check every input, then claim and lock its folder and write its settings) or
resume one (lock its folder, read it back, and only then sign the lock and write) -> train until
done or stopped, with checkpoints -> finish with an Outcome -> the final sample and the summary.
The CLI parses options, calls `new` or `resume`, then `run` inside `with training:` (which lets
go of the folder's lock), and prints the Ending.
"""

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import backends
from common.contract import Backend, Layout
from common.data import Corpus
from common.errors import BadInput, TrainingStopped, WriteFailed
from common.run import folder as run_folder
from common.run import inputs
from common.run import resume as reading
from common.run.checkpoint import restore
from common.run.config import Config, parts
from common.run.files import Run
from common.run.report import sampling_table
from common.run.resume import Finished  # noqa: F401  a resume with nothing to do, for the CLI
from common.run.train import Reporter, State, final_sample, start, total_updates, train
from common.weights import init_theta


class Outcome(Enum):
    completed = "completed"  # every update asked for: the final sample is written
    stopped = "stopped"  # the loss became NaN or infinite: the last good checkpoint stays
    interrupted = "interrupted"  # Ctrl-C, SIGTERM or SIGHUP: saved between two updates; --resume finishes it
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

    stop: "StopFlag | None" = None  # set while the run is entered: Ctrl-C then stops it between two updates

    def __enter__(self) -> "Training":
        self.stop = StopFlag().__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.__exit__()
        self.folder.close()  # the lock: another process may write the folder now


@dataclass
class Ending:
    outcome: Outcome
    message: str  # one line for the user
    code: int  # the process's exit status
    best_sample: str | None = None
    table: str | None = None  # the sampling table (common/run/report.py)


def new(cfg: Config, name: str, options: dict, data: Path | None, out: Path | None, say: Callable) -> Training:
    """A fresh run: every check first, then its folder is claimed (so a refusal leaves nothing behind)."""
    backends.ensure(name, **options)  # before any other work: one clear line if it cannot run
    inputs.output_folder("--out", out or Path(run_folder.RUNS), "the run folder")
    corpus = inputs.checked(data, cfg.hidden, cfg.seq_length, cfg.batch_size, cfg.dtype)
    if data is None:
        say(
            f"No --data given: training on the prose of Python's reference documentation ({len(corpus.text):,} "
            f"characters, {corpus.K} distinct), which ships with Python. Use --data PATH for your own "
            "text, e.g. goblet_book.txt."
        )
    streams = parts(cfg, corpus.ids)[0]  # one clear line now if the held-out part is too short
    model = backends.load(name, Layout(corpus.K, cfg.hidden), cfg.dtype, **options)
    state = fresh(model, cfg)
    out, lock = run_folder.reserve(out)
    folder = Run(out, corpus, cfg, model, data, options, lock)
    try:
        folder.write_settings()  # from now on the run can be resumed, from update 0 on
    except BaseException:
        folder.close()
        raise
    return Training(folder, model, corpus, cfg, state, total_updates(cfg, streams))


def resume(out: Path, changes: dict, force: bool, name: str | None, options: dict, data: Path | None) -> Training:
    """The run in folder out, at its checkpoint (or at update 0, before its first), with the changes it may take."""
    if not out.is_dir():
        raise BadInput(f"{out} is not a run folder" if out.exists() else f"{out} does not exist")
    reading.holds_run(out)  # before the lock: a folder that is not a run gets no lock file
    lock = run_folder.lock(out)  # before reading: what is read is what a second writer would change
    try:
        arrays, meta = reading.read(out)
        cfg = reading.resumed_config(meta, changes, force)
        corpus, data = reading.resumed_corpus(meta, data)
        name, options = reading.resumed_backend(meta, name, options)
        inputs.fits(corpus.K, cfg.hidden, cfg.seq_length, cfg.batch_size, cfg.dtype)  # this machine may have less
        model = backends.load(name, Layout(corpus.K, cfg.hidden), cfg.dtype, **options)
        state = restore(model, arrays, meta) if arrays is not None else fresh(model, cfg)
        total = total_updates(cfg, parts(cfg, corpus.ids)[0])
        reading.reachable(out, state.update, total, changes)  # every refusal before the first write
        folder = reading.reopen(out, corpus, cfg, model, data, options, state, run_folder.sign(lock))
    except BaseException:
        os.close(lock)
        raise
    return Training(folder, model, corpus, cfg, state, total)


def fresh(model: Backend, cfg: Config) -> State:
    """The state before the first update: the initial weights of cfg's seed, h = 0, the optimizer's state 0."""
    return start(model, init_theta(model.layout, cfg.sigma, cfg.seed, cfg.init), cfg.batch_size, cfg.opt)


def senseless(cfg: Config) -> list[str]:
    """Hyperparameters far outside sense: worth a warning, not a refusal (someone may mean it)."""
    said = []
    if cfg.sigma >= 1:
        said.append(f"--sigma {cfg.sigma:g} is far above the usual 0.01: tanh saturates and the loss starts huge")
    if cfg.eta > 1:
        said.append(f"--eta {cfg.eta:g} is far above the usual 0.1: AdaGrad's first steps are that large")
    return said


STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, kill, the terminal closed


class StopFlag:
    """Set by SIGINT (Ctrl-C), SIGTERM or SIGHUP: training stops between two updates and saves."""

    def __init__(self):
        self.signal: int | None = None

    def __call__(self) -> bool:
        return self.signal is not None

    def __enter__(self):
        self.previous = {s: signal.signal(s, self.handler) for s in STOPS}
        return self

    def __exit__(self, *exc):
        for s, handler in self.previous.items():
            signal.signal(s, handler)

    def handler(self, signum, frame) -> None:
        self.signal = signum


def run(t: Training, reporter: Reporter) -> Ending:
    """Train t (entered: `with t:`) to its total or until stopped, and finish: every path ends in one Outcome."""
    folder, state, out = t.folder, t.state, t.folder.out
    if state.update == 0:
        for message in senseless(t.cfg):
            reporter.warn(message)
    t0, wall0 = time.perf_counter(), state.wall

    def save(s: State, status: str = "running") -> None:
        s.wall = wall0 + time.perf_counter() - t0
        folder.save(s, status)

    stop = t.stop  # signals only set the flag until the run's files are written
    try:
        train(t.model, t.corpus, t.cfg, state, reporter, save, stop)
        if stop.signal is not None:
            ending = Ending(
                Outcome.interrupted,
                f"interrupted at update {state.update:,}: everything up to it is saved in {out}",
                128 + stop.signal,
            )
        else:
            best = final_sample(t.model, t.corpus, t.cfg, state)
            table = sampling_table(t.model, t.corpus, state.best_theta, state.best_h, state.best_x_next, t.cfg.seed)
            ending = Ending(Outcome.completed, f"wrote {out}", 0, best, table)
    except TrainingStopped as e:
        ending = Ending(Outcome.stopped, f"{e}; training stopped. The best model so far is in {out / 'best.npz'}", 1)
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
