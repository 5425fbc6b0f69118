"""The command line: parse, pick a backend, call common/ (docs: cli.md). No maths here."""

import sys

if sys.version_info < (3, 11):  # noqa: UP036  an older python3 on PATH gets one line, not a traceback
    sys.exit(f"error: this program needs Python 3.11 or newer; {sys.executable} is {sys.version.split()[0]}")
try:
    import datetime
    import json
    from dataclasses import fields
    from pathlib import Path
    from typing import Annotated

    import typer

    import backends
    import cli_options as co
    from common.contract import Layout
    from common.errors import BadInput
    from common.rng import stream
    from common.run import checkpoint, inputs, lifecycle, presets
    from common.run.config import Config
    from common.run.progress import ProgressBar, loss_text
    from common.sampling import check_settings, generate
    from common.tools import bench, gradcheck_report, neurons, neurons_html
    from common.tools.contenders import checked_optimizers, contenders, optimizer_ratios
except ModuleNotFoundError as e:  # python cli.py outside the project's environment
    sys.exit(
        f"error: {e.name} is not installed for {sys.executable}; run `make train` once (it makes .venv), "
        "then .venv/bin/python cli.py ..."
    )
except KeyboardInterrupt:  # Ctrl-C while the libraries load: nothing has started; end as Typer does later
    sys.exit(130)

app = typer.Typer(
    cls=co.OneLineErrors,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="A character-level vanilla RNN (DD2424 Assignment 4, min-char-rnn) on NumPy, PyTorch or CuPy.",
)


@app.command("train")
def train_cmd(
    ctx: typer.Context,
    data: co.DataOpt = None,
    backend: co.BackendOpt = co.BackendName.numpy,
    hidden: co.HiddenOpt = 100,
    seq_length: co.SeqOpt = 25,
    preset: co.PresetOpt = "classic",
    optimizer: co.OptimizerOpt = None,
    loss: co.LossOpt = None,
    clip: co.ClipOpt = None,
    init: co.InitOpt = None,
    eta: co.EtaOpt = None,
    sigma: co.SigmaOpt = None,
    beta1: co.Beta1Opt = None,
    beta2: co.Beta2Opt = None,
    eps: co.EpsOpt = None,
    validation: co.ValidationOpt = 0.0,
    validate_every: co.ValidateEveryOpt = 1000,
    order: co.OrderOpt = "sequential",
    best_by: co.BestByOpt = "smooth",
    epochs: Annotated[int, typer.Option(help="Passes over the text.")] = 6,
    updates: Annotated[int | None, typer.Option(help="Total updates; overrides --epochs.")] = None,
    batch_size: co.BatchOpt = 1,
    seed: co.SeedOpt = 1,
    dtype: Annotated[co.DType, typer.Option(help="Floating-point type.")] = co.DType.float64,
    sample_every: Annotated[int, typer.Option(help="Show a 200-character sample every N updates (0: never).")] = 10_000,
    checkpoint_every: Annotated[
        int, typer.Option(help="Write a checkpoint every N updates (0: only at the end).")
    ] = 10_000,
    out: Annotated[Path | None, typer.Option(help="Run folder to create. Default: runs/<date>-<time>.")] = None,
    device: co.DeviceOpt = None,
    grad: co.GradOpt = None,
    kernels: co.KernelsOpt = None,
    resume: Annotated[
        Path | None, typer.Option(help="Continue the run in this folder from its checkpoint, with its settings.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", metavar="", help="On --resume, allow a different --eta.")] = False,
) -> None:
    """Train the RNN and write a run folder (history, samples, checkpoint, best model, plot, summary)."""
    options = co.backend_options(device, grad, kernels)
    settings = [f.name for f in fields(Config)]
    if resume is None:
        values = {name: getattr(ctx.params[name], "value", ctx.params[name]) for name in settings}
        cfg = Config(**(values | co.resolve(ctx.params)))
        t = lifecycle.new(cfg, backend.value, options, data, out, say=typer.echo)
    else:
        if out is not None:
            raise BadInput("--out does not go with --resume: the run continues in its own folder")
        name = backend.value if co.given(ctx, ["backend"]) else None
        t = lifecycle.resume(resume, co.given(ctx, settings), force, name, options, data)
        typer.echo(f"resuming {resume} at update {t.state.update:,} on {t.model.name} ({t.model.device})")
    state = t.state
    with t:  # the folder's lock is held, and Ctrl-C stops between two updates, until the run is over
        if state.update >= t.total:
            total = f"{state.update:,} of {t.total:,}"
            typer.echo(f"{resume} is already at update {total}; ask for more with --updates or --epochs")
            return
        with ProgressBar(state.update, t.total, t.cfg.per_char(1.0)) as bar:
            end = lifecycle.run(t, bar)
    if end.outcome is lifecycle.Outcome.interrupted:
        typer.echo(f"{end.message}. Resume with: {co.program()} train --resume {t.folder.out}", err=True)
    elif end.outcome is not lifecycle.Outcome.completed:
        typer.echo(f"error: {end.message}", err=True)
    if end.code:
        raise typer.Exit(end.code)
    typer.echo(f"--- 1,000 characters from the best model (update {state.best_update:,}) ---\n{end.best_sample}")
    ms = 1e3 * state.seconds / state.update
    typer.echo(
        f"best smooth loss {loss_text(state.best_smooth)} at update {state.best_update:,}; {state.update:,} updates "
        f"in {state.seconds:.1f} s of training ({ms:.3f} ms/update); {end.message}"
    )


@app.command("gradcheck")
def gradcheck_cmd(
    backend: co.BackendOpt = co.BackendName.numpy,
    data: co.DataOpt = None,
    preset: Annotated[
        str, typer.Option(help="classic: summed loss, m = 5; 2025: mean loss, m = 10, and autograd.")
    ] = "classic",
    hidden: Annotated[int | None, typer.Option(help="Hidden units m. Default: the preset's (5 / 10).")] = None,
    seq_length: co.SeqOpt = 25,
    batch_size: co.BatchOpt = 1,
    seed: co.SeedOpt = 1,
    sigma: Annotated[float, typer.Option(help="Std of the random U, W, V checked (--init classic).")] = 0.01,
    step: Annotated[float, typer.Option(help="h of the centred differences.")] = 1e-4,
    as_json: Annotated[bool, typer.Option("--json", metavar="", help="Print JSON instead of a table.")] = False,
    device: co.DeviceOpt = None,
    grad: co.GradOpt = None,
    kernels: co.KernelsOpt = None,
) -> None:
    """Compare BPTT gradients with centred differences (float64, unclipped, every entry), and autograd for 2025."""
    p = presets.preset(preset, sigma=sigma)
    hidden = hidden if hidden is not None else p.gradcheck_m
    for flag, value in (("--sigma", sigma), ("--step", step)):
        inputs.positive_number(flag, value)
    inputs.natural("--seed", seed)
    corpus = inputs.checked(data, hidden, seq_length, batch_size)
    model = backends.load(
        backend.value, Layout(corpus.K, hidden), "float64", **co.backend_options(device, grad, kernels)
    )
    if not gradcheck_report.run(model, corpus, p, seq_length, batch_size, seed, step, as_json, typer.echo):
        raise typer.Exit(1)


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
        str | None, typer.Option(help="Text that warms up the saved hidden state further before sampling.")
    ] = None,
    from_zero: Annotated[
        bool,
        typer.Option("--from-zero", metavar="", help="Start from h = 0 (min-char-rnn), not the saved hidden state."),
    ] = False,
    seed: co.SeedOpt = 1,
    which: co.WhichOpt = co.Which.best,
    backend: co.BackendOpt = co.BackendName.numpy,
    device: co.DeviceOpt = None,
    kernels: co.KernelsOpt = None,
) -> None:
    """Print text from a trained model, on any backend, going on from the hidden state it reached."""
    check_settings(length, temperature, top_p, prime)
    inputs.natural("--seed", seed)
    path = checkpoint.model_file(path, which.value)
    model = checkpoint.load_model(path, which.value)
    layout, dtype = Layout(len(model.meta["chars"]), model.params.W.shape[0]), model.meta["dtype"]
    net = backends.load(backend.value, layout, dtype, **co.backend_options(device, kernels=kernels))
    rng = stream(seed, "cli-sample")
    text = generate(net, model, prime, from_zero, length, rng, temperature=temperature, top_p=top_p)
    h = "h = 0" if from_zero or model.h is None else "the hidden state saved with it"
    typer.echo(f"read {checkpoint.describe(path, model, which.value)}, from {h}", err=True)
    typer.echo(text)


@app.command("bench")
def bench_cmd(
    backend: Annotated[
        list[co.BackendName] | None, typer.Option(help="Backends to time (repeat). Default: all that run here.")
    ] = None,
    dtype: Annotated[list[co.DType] | None, typer.Option(help="dtypes to time (repeat). Default: both.")] = None,
    hidden: Annotated[list[int] | None, typer.Option(help="Hidden sizes m (repeat). Default: 100.")] = None,
    batch_size: Annotated[list[int] | None, typer.Option(help="Batch sizes B (repeat). Default: 1.")] = None,
    seq_length: co.SeqOpt = 25,
    optimizer: Annotated[
        list[str] | None, typer.Option(help="adagrad and/or adam (repeat): side by side. Default: adagrad.")
    ] = None,
    updates: Annotated[int, typer.Option(help="Updates per contender per round.")] = 50,
    rounds: Annotated[int, typer.Option(help="Rounds; the table shows the fastest, median and slowest.")] = 40,
    yardstick: Annotated[
        bool, typer.Option(metavar="", help="Also time min-char-rnn (B = 1) and torch.nn.RNN.")
    ] = True,
    device: co.DeviceOpt = None,
    data: co.DataOpt = None,
    plot: Annotated[Path | None, typer.Option(help="Write a bar chart (PNG) here.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
) -> None:
    """Time training updates of each backend side by side (ms/update, chars/s, s/epoch)."""
    names = [b.value for b in backend] if backend else [n for n in backends.names() if backends.why_not(n) is None]
    dtypes = [d.value for d in dtype] if dtype else ["float64", "float32"]
    sizes, batches = hidden or [100], batch_size or [1]
    inputs.positive("--updates", updates)
    inputs.positive("--rounds", rounds)
    for flag, path in (("--plot", plot), ("--json", json_out)):
        if path is not None:
            inputs.output(flag, path)
    corpus = inputs.checked(data, sizes, seq_length, batches)
    optimizers = checked_optimizers(optimizer)
    make = contenders(names, device, yardstick, corpus.K, optimizers)
    typer.echo(bench.header(corpus, seq_length, updates, rounds, f"{datetime.datetime.now():%Y-%m-%d %H:%M}"))
    results = bench.run(
        corpus, make, dtypes, sizes, batches, seq_length, updates, rounds, report=lambda r: typer.echo(bench.row(r))
    )
    for r, speedup in bench.speedups(results):
        typer.echo(f"{r.name} is {speedup:.2f}x as fast as {bench.YARDSTICK} ({r.dtype}, m={r.m}, B={r.B})")
    for line in optimizer_ratios(results):
        typer.echo(line)
    if plot is not None:
        bench.plot(results, plot, f"ms per update, corpus {corpus.name}")
        typer.echo(f"wrote {plot}")
    if json_out is not None:
        json_out.write_text(json.dumps([r.as_dict() for r in results], indent=2) + "\n")
        typer.echo(f"wrote {json_out}")


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


FeatureName = co.choices("FeatureName", neurons.FEATURES)


@app.command("neurons")
def neurons_cmd(
    path: Annotated[Path, typer.Argument(help="A run folder, or a best.npz / checkpoint.npz file.")],
    data: Annotated[Path | None, typer.Option(help="A UTF-8 text file holding the passage.")] = None,
    text: Annotated[str | None, typer.Option(help="The passage itself, instead of --data.")] = None,
    start: Annotated[int, typer.Option(help="Where the passage starts in --data (characters).")] = 0,
    length: Annotated[int, typer.Option(help="Characters in the passage (units are found on all of them).")] = 3000,
    show: Annotated[int, typer.Option(help="Characters of the passage coloured in the page.")] = 1000,
    feature: Annotated[
        list[FeatureName] | None, typer.Option(help="Features to find units for (repeat). Default: all.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="The HTML page to write. Default: neurons.html in the run.")] = None,
    which: co.WhichOpt = co.Which.best,
) -> None:
    """Colour a passage by the hidden units that best track quotes, line position, words, capitals (HTML)."""
    names = [f.value for f in feature] if feature else list(neurons.FEATURES)
    origin, lines = neurons_html.report(path, data, text, start, length, show, names, out, which.value)
    typer.echo(f"read {origin}", err=True)
    for line in lines:
        typer.echo(line)


@app.command("launches")
def launches_cmd(hidden: co.HiddenOpt = 100, seq_length: co.SeqOpt = 25, batch_size: co.BatchOpt = 1) -> None:
    """Count what one CuPy training update asks of a GPU (launches, transfers, syncs), on the CPU stand-in."""
    from backends.standin import launches

    inputs.sizes(hidden, seq_length, batch_size)
    inputs.fits(80, hidden, seq_length, batch_size)  # 80: the vocabulary launches.table counts with
    for line in launches.table(hidden, seq_length, batch_size):
        typer.echo(line)


if __name__ == "__main__":
    app()
