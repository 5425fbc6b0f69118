"""The command line: parse, pick a backend, call common/ (docs: cli.md). No maths here."""

import datetime
import json
import math
import signal
import sys
import time
from dataclasses import fields
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from typer._click.core import ParameterSource  # typer vendors click; pinned in constraints.txt
from typer._click.exceptions import ClickException

import backends
from common import bench, checkpoint, run
from common import gradcheck as gc
from common.contract import Layout
from common.data import Corpus, Streams, builtin_corpus, encode, read_corpus
from common.errors import BadInput, TrainingStopped
from common.rng import stream
from common.sampling import sample
from common.train import Config, final_sample, start, total_updates, train
from common.weights import init_theta


class OneLineErrors(typer.core.TyperGroup):
    """Every usage error and bad input is one line on stderr and a non-zero exit, never a traceback."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except ClickException as e:
            typer.echo(f"error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except BadInput as e:
            typer.echo(f"error: {e}", err=True)
            sys.exit(2)
        if standalone_mode:
            sys.exit(rv if isinstance(rv, int) else 0)
        return rv


app = typer.Typer(
    cls=OneLineErrors,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="A character-level vanilla RNN (DD2424 Assignment 4, min-char-rnn) on NumPy, PyTorch or CuPy.",
)

BackendName = Enum("BackendName", {n: n for n in backends.names()}, type=str)


class DType(StrEnum):
    float64 = "float64"
    float32 = "float32"


DataOpt = Annotated[
    Path | None,
    typer.Option(help="A UTF-8 text file to train on (e.g. goblet_book.txt). Default: Python's own docs."),
]
BackendOpt = Annotated[BackendName, typer.Option(help="Array library that runs the model.")]
HiddenOpt = Annotated[int, typer.Option(help="Hidden units m.")]
SeqOpt = Annotated[int, typer.Option(help="Characters per chunk (tau): BPTT length.")]
BatchOpt = Annotated[int, typer.Option(help="Streams trained in parallel (B); 1 is the assignment.")]
SeedOpt = Annotated[int, typer.Option(help="Seed of every random number (weights, samples).")]
DeviceOpt = Annotated[str | None, typer.Option(help="torch only: cpu or cuda. Default: cuda when torch sees a GPU.")]


class Grad(StrEnum):
    manual = "manual"
    autograd = "autograd"


GradOpt = Annotated[Grad | None, typer.Option(help="torch only: our BPTT (manual) or torch.autograd.")]


class Kernels(StrEnum):
    plain = "plain"
    fused = "fused"


KernelsOpt = Annotated[Kernels | None, typer.Option(help="cupy only: the NumPy body as is (plain) or fused kernels.")]


def backend_options(device: str | None = None, grad: Grad | None = None, kernels: Kernels | None = None) -> dict:
    """The backend options the user gave (None: not given)."""
    given = (("device", device), ("grad", grad and grad.value), ("kernels", kernels and kernels.value))
    return {k: v for k, v in given if v is not None}


def load_corpus(data: Path | None) -> Corpus:
    if data is not None:
        return read_corpus(data)
    corpus = builtin_corpus()
    typer.echo(
        f"No --data given: training on Python's reference documentation ({len(corpus.text):,} "
        f"characters, {corpus.K} distinct), which ships with Python. Use --data PATH for your own "
        "text, e.g. goblet_book.txt."
    )
    return corpus


class ProgressBar:
    """The Reporter for a terminal: a live bar, and each sample printed above it."""

    def __init__(self, first: int, total: int):
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("update {task.completed:,}/{task.total:,}"),
            TextColumn("epoch {task.fields[epoch]}"),
            TextColumn("smooth loss {task.fields[smooth]:.2f}"),
            BarColumn(),
            TextColumn("{task.fields[rate]:,.0f} updates/s"),
            TimeRemainingColumn(),
        )
        self.task = self.bar.add_task("train", total=total, completed=first, epoch=1, smooth=float("nan"), rate=0.0)
        self.first, self.t0 = first, time.perf_counter()

    def progress(self, update: int, total: int, epoch: int, smooth: float) -> None:
        rate = (update - self.first) / max(time.perf_counter() - self.t0, 1e-9)
        self.bar.update(self.task, completed=update, epoch=epoch, smooth=smooth, rate=rate)

    def sample(self, update: int, smooth: float, text: str) -> None:
        self.bar.console.print(f"--- update {update:,}, smooth loss {smooth:.2f} ---", style="bold", highlight=False)
        self.bar.console.print(text, markup=False, highlight=False, soft_wrap=True)  # the sample's own lines


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


@app.command("train")
def train_cmd(
    ctx: typer.Context,
    data: DataOpt = None,
    backend: BackendOpt = BackendName.numpy,
    hidden: HiddenOpt = 100,
    seq_length: SeqOpt = 25,
    eta: Annotated[float, typer.Option(help="AdaGrad learning rate.")] = 0.1,
    sigma: Annotated[float, typer.Option(help="Std of the initial U, W, V.")] = 0.01,
    epochs: Annotated[int, typer.Option(help="Passes over the text.")] = 6,
    updates: Annotated[int | None, typer.Option(help="Total updates; overrides --epochs.")] = None,
    batch_size: BatchOpt = 1,
    seed: SeedOpt = 1,
    dtype: Annotated[DType, typer.Option(help="Floating-point type.")] = DType.float64,
    sample_every: Annotated[int, typer.Option(help="Show a 200-character sample every N updates (0: never).")] = 10_000,
    out: Annotated[Path | None, typer.Option(help="Run folder to create. Default: runs/<date>-<time>.")] = None,
    device: DeviceOpt = None,
    grad: GradOpt = None,
    kernels: KernelsOpt = None,
    checkpoint_every: Annotated[
        int, typer.Option(help="Write a checkpoint every N updates (0: only at the end).")
    ] = 10_000,
    resume: Annotated[Path | None, typer.Option(help="Continue the run in this folder from its checkpoint.")] = None,
    force: Annotated[bool, typer.Option(help="On --resume, allow a different --eta.")] = False,
) -> None:
    """Train the RNN and write a run folder (history, samples, checkpoint, best model, plot, summary)."""
    wall0 = time.perf_counter()
    if checkpoint_every < 0:
        raise BadInput(f"--checkpoint-every must be zero or positive (got {checkpoint_every})")
    options = backend_options(device, grad, kernels)
    if resume is None:
        cfg = Config(hidden, seq_length, eta, sigma, epochs, updates, batch_size, seed, dtype.value, sample_every)
        backends.ensure(backend.value, **options)  # before any other work: one clear line if it cannot run
        corpus = load_corpus(data)
        layout = Layout(corpus.K, cfg.hidden)
        Streams(corpus.ids, cfg.seq_length, cfg.batch_size)  # one clear line now if the text is too short
        model = backends.load(backend.value, layout, cfg.dtype, **options)
        out = run.prepare(out or Path("runs") / datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
        state = start(model, init_theta(layout, cfg.sigma, cfg.seed), cfg.batch_size)
        folder = run.Run(out, corpus, cfg, model, data)
    else:
        if out is not None:
            raise BadInput("--out does not go with --resume: the run continues in its own folder")
        arrays, meta = checkpoint.read_checkpoint(resume / "checkpoint.npz")
        given = {f.name: ctx.params[f.name] for f in fields(Config) if was_given(ctx, f.name)}
        given = {name: getattr(value, "value", value) for name, value in given.items()}  # enums -> str
        cfg = run.resumed_config(meta, given, force)
        corpus, data = run.resumed_corpus(meta, data)
        name = backend.value if was_given(ctx, "backend") else meta["backend"]["name"]
        model = backends.load(name, Layout(corpus.K, cfg.hidden), cfg.dtype, **options)
        state = run.restore(model, arrays, meta)
        out, folder = resume, run.Run.reopen(resume, corpus, cfg, model, data, state)
        typer.echo(f"resuming {out} at update {state.update:,} on {model.name} ({model.device})")

    total = total_updates(cfg, Streams(corpus.ids, cfg.seq_length, cfg.batch_size))
    if state.update >= total:
        typer.echo(f"{out} is already at update {state.update:,} of {total:,}; ask for more with --updates or --epochs")
        return
    reporter, stopped = ProgressBar(state.update, total), None
    with StopFlag() as stop, reporter.bar:
        try:
            train(
                model,
                corpus,
                cfg,
                state,
                reporter,
                checkpoint_every,
                save=lambda s: folder.save(s, "running", time.perf_counter() - wall0),
                stop=stop,
            )
        except TrainingStopped as e:
            stopped = str(e)
    wall = time.perf_counter() - wall0
    if stopped:
        folder.finish(state, "stopped", wall, None)
        typer.echo(f"error: {stopped}; training stopped. The best model so far is in {out / 'best.npz'}", err=True)
        raise typer.Exit(1)
    if stop.signal is not None:
        folder.finish(state, "interrupted", wall, None)
        typer.echo(
            f"interrupted at update {state.update:,}: everything up to it is saved in {out}. "
            f"Resume with: python cli.py train --resume {out}",
            err=True,
        )
        raise typer.Exit(128 + stop.signal)
    best = final_sample(model, corpus, cfg, state)
    folder.finish(state, "completed", wall, best)
    typer.echo(f"--- 1,000 characters from the best model (update {state.best_update:,}) ---\n{best}")
    ms = 1e3 * state.seconds / state.update
    typer.echo(
        f"best smooth loss {state.best_smooth:.2f} at update {state.best_update:,}; {state.update:,} updates "
        f"in {state.seconds:.1f} s of training ({ms:.3f} ms/update); wrote {out}"
    )


def was_given(ctx: typer.Context, name: str) -> bool:
    """Whether the user gave this option (not its default)."""
    return ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)


@app.command("gradcheck")
def gradcheck_cmd(
    backend: BackendOpt = BackendName.numpy,
    data: DataOpt = None,
    hidden: HiddenOpt = 5,
    seq_length: SeqOpt = 25,
    batch_size: BatchOpt = 1,
    seed: SeedOpt = 1,
    sigma: Annotated[float, typer.Option(help="Std of the random U, W, V checked.")] = 0.01,
    step: Annotated[float, typer.Option(help="h of the centred differences.")] = 1e-4,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    device: DeviceOpt = None,
    grad: GradOpt = None,
    kernels: KernelsOpt = None,
) -> None:
    """Compare BPTT gradients with centred differences (float64, unclipped, every entry)."""
    Config(hidden=hidden, seq_length=seq_length, sigma=sigma, batch_size=batch_size, seed=seed)  # checks them
    if not step > 0:
        raise BadInput(f"--step must be a positive number (got {step})")
    corpus = read_corpus(data) if data is not None else builtin_corpus()
    layout = Layout(corpus.K, hidden)
    model = backends.load(backend.value, layout, "float64", **backend_options(device, grad, kernels))
    x, y = Streams(corpus.ids, seq_length, batch_size).chunk(0)
    theta = init_theta(layout, sigma, seed)
    result = gc.check(model, theta, x, y, np.zeros((hidden, batch_size)), step)
    ok = gc.passed(result)
    if as_json:
        typer.echo(json.dumps(gc.as_json(model, result)))
    else:
        typer.echo(
            f"gradient check: backend {model.name} ({model.device}), float64, m={hidden}, "
            f"seq_length={seq_length}, batch {batch_size}, h={step:g}, corpus {corpus.name} (K={corpus.K})"
        )
        typer.echo(f"{'param':<6}{'rel_error':>14}{'max_elem_rel':>16}{'max_abs':>14}")
        for name, e in result.items():
            typer.echo(f"{name:<6}{e.rel_error:>14.3e}{e.max_elem_rel_error:>16.3e}{e.max_abs_error:>14.3e}")
        typer.echo(f"{'PASSED' if ok else 'FAILED'}: every rel_error {'<' if ok else 'must be <'} {gc.TOLERANCE:g}")
    if not ok:
        raise typer.Exit(1)


class Which(StrEnum):
    best = "best"
    last = "last"


@app.command("sample")
def sample_cmd(
    path: Annotated[Path, typer.Argument(help="A run folder, or a best.npz / checkpoint.npz file.")],
    length: Annotated[int, typer.Option(help="Characters to generate.")] = 200,
    temperature: Annotated[
        float, typer.Option(help="Divides the logits; near 0 is greedy, 1 is the model as is.")
    ] = 1.0,
    top_p: Annotated[
        float, typer.Option(help="Nucleus sampling: keep the likeliest characters up to this mass.")
    ] = 1.0,
    prime: Annotated[
        str | None, typer.Option(help="Text that warms up the hidden state first. Default: a newline.")
    ] = None,
    seed: SeedOpt = 1,
    which: Annotated[
        Which, typer.Option(help="The best model, or the last parameters (checkpoints only).")
    ] = Which.best,
    backend: BackendOpt = BackendName.numpy,
    device: DeviceOpt = None,
    kernels: KernelsOpt = None,
) -> None:
    """Print text from a trained model, on any backend."""
    for message, ok in (
        ("--length must be a positive integer", length >= 1),
        ("--temperature must be zero or positive", math.isfinite(temperature) and temperature >= 0),
        ("--top-p must be in (0, 1]", 0 < top_p <= 1),
    ):
        if not ok:
            raise BadInput(message)
    if path.is_dir():
        path = path / ("checkpoint.npz" if which is Which.last or not (path / "best.npz").exists() else "best.npz")
    params, meta = checkpoint.load_model(path, which.value)
    chars, layout = meta["chars"], checkpoint.layout_of(meta, path)
    prime = prime if prime is not None else ("\n" if "\n" in chars else chars[0])
    if not prime:
        raise BadInput("--prime must not be empty")
    ids = encode(prime, chars).tolist()
    model = backends.load(backend.value, layout, meta["dtype"], **backend_options(device, kernels=kernels))
    h = model.to_device(np.zeros((layout.m, 1)))
    out = sample(
        model, model.to_device(layout.pack(params)), h, ids, length, stream(seed, "cli-sample"), temperature, top_p
    )
    typer.echo(prime + "".join(chars[i] for i in out))


@app.command("bench")
def bench_cmd(
    backend: Annotated[
        list[BackendName] | None, typer.Option(help="Backends to time (repeat). Default: all that run here.")
    ] = None,
    dtype: Annotated[list[DType] | None, typer.Option(help="dtypes to time (repeat). Default: both.")] = None,
    hidden: Annotated[list[int] | None, typer.Option(help="Hidden sizes m (repeat). Default: 100.")] = None,
    batch_size: Annotated[list[int] | None, typer.Option(help="Batch sizes B (repeat). Default: 1.")] = None,
    seq_length: SeqOpt = 25,
    updates: Annotated[int, typer.Option(help="Updates per contender per round.")] = 300,
    rounds: Annotated[int, typer.Option(help="Rounds; the figure is the median round.")] = 5,
    yardstick: Annotated[bool, typer.Option(help="Also time min-char-rnn (B = 1) and torch.nn.RNN.")] = True,
    device: DeviceOpt = None,
    data: DataOpt = None,
    plot: Annotated[Path | None, typer.Option(help="Write a bar chart (PNG) here.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
) -> None:
    """Time training updates of each backend side by side (ms/update, chars/s, s/epoch)."""
    names = [b.value for b in backend] if backend else [n for n in backends.names() if backends.why_not(n) is None]
    dtypes = [d.value for d in dtype] if dtype else ["float64", "float32"]
    sizes, batches = hidden or [100], batch_size or [1]
    for flag, values in (
        ("--hidden", sizes),
        ("--batch-size", batches),
        ("--updates", [updates]),
        ("--rounds", [rounds]),
    ):
        if min(values) < 1:
            raise BadInput(f"{flag} must be a positive integer (got {min(values)})")
    corpus = read_corpus(data) if data is not None else builtin_corpus()
    variants = [(n, opts) for n in names for opts in bench_variants(n, device)]
    for n, opts in variants:
        backends.load(n, Layout(corpus.K, 1), "float64", **opts)  # one clear line now if one cannot run

    def make(layout: Layout, dt: str, theta0, streams) -> list[bench.Contender]:
        out = [
            bench.backend_contender(label(n, opts), backends.load(n, layout, dt, **opts), theta0, streams)
            for n, opts in variants
        ]
        if yardstick and streams.B == 1:
            out.append(bench.min_char_contender(layout, dt, theta0, streams))
        if yardstick and "torch" in names:
            from backends.torch_nn import NNRNN

            net = NNRNN(layout, dt, device or backends.load("torch", layout, dt).device, theta0)
            out.append(bench.Contender("torch.nn.RNN", net.step, net.zeros(streams.B), streams))
        return out

    typer.echo(
        f"bench {datetime.datetime.now():%Y-%m-%d %H:%M}, corpus {corpus.name} (K={corpus.K}), "
        f"seq_length={seq_length}, {updates} updates x {rounds} rounds per contender, median round"
    )
    typer.echo(
        f"{'contender':<16}{'dtype':<9}{'m':>6}{'B':>5}{'ms/update':>11}{'spread':>9}{'chars/s':>12}{'s/epoch':>10}"
    )

    def show(r: bench.Result) -> None:
        typer.echo(
            f"{r.name:<16}{r.dtype:<9}{r.m:>6}{r.B:>5}{r.ms_per_update:>11.4f}{r.ms_spread:>9.4f}"
            f"{r.chars_per_s:>12,.0f}{r.s_per_epoch:>10.1f}"
        )

    results = bench.run(corpus, make, dtypes, sizes, batches, seq_length, updates, rounds, report=show)
    for r, speedup in bench.speedups(results):
        typer.echo(f"{r.name} is {speedup:.2f}x as fast as {bench.YARDSTICK} ({r.dtype}, m={r.m}, B={r.B})")
    if plot is not None:
        bench.plot(results, plot, f"ms per update, corpus {corpus.name}")
        typer.echo(f"wrote {plot}")
    if json_out is not None:
        json_out.write_text(json.dumps([r.as_dict() for r in results], indent=2) + "\n")
        typer.echo(f"wrote {json_out}")


def bench_variants(name: str, device: str | None) -> list[dict]:
    """The options each backend is timed with: torch both ways (our BPTT, autograd), cupy both ways."""
    if name == "torch":
        opts = {"device": device} if device else {}
        return [opts, opts | {"grad": "autograd"}]
    if name == "cupy":
        return [{"kernels": "plain"}, {"kernels": "fused"}]
    return [{}]


def label(name: str, opts: dict) -> str:
    return "-".join([name, *(v for k, v in opts.items() if k != "device")])


@app.command("backends")
def backends_cmd() -> None:
    """List the backends and whether each can run here (and if not, why)."""
    for name in backends.names():
        reason = backends.why_not(name)
        if reason is None:
            device = backends.load(name, Layout(K=2, m=1), "float64").device
            typer.echo(f"{name:<7}available (default device: {device})")
        else:
            typer.echo(f"{name:<7}unavailable: {reason}")


@app.command("launches")
def launches_cmd(hidden: HiddenOpt = 100, seq_length: SeqOpt = 25, batch_size: BatchOpt = 1) -> None:
    """Count what one CuPy training update asks of a GPU (launches, transfers, syncs), on the CPU stand-in."""
    from backends.standin import launches

    for line in launches.table(hidden, seq_length, batch_size):
        typer.echo(line)


if __name__ == "__main__":
    app()
