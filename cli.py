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
    from common.check import check_file, regimes, student
    from common.check import progress as check_progress
    from common.check import report as report_text
    from common.check.file import train_file as check_train_file
    from common.contract import Layout
    from common.errors import BadInput
    from common.rng import stream
    from common.run import checkpoint, inputs, lifecycle, presets
    from common.run.config import Config
    from common.run.progress import ProgressBar, loss_text
    from common.sampling import check_settings, generate
    from common.tools import bench, bench_report, gradcheck_report, neurons, neurons_html, sweep
    from common.tools.contenders import checked_optimizers, contenders, libraries, optimizer_ratios
except ModuleNotFoundError as e:  # python cli.py outside the project's environment
    sys.exit(
        f"error: {e.name} is not installed for {sys.executable}; run `make train` once (it makes .venv), "
        "then .venv/bin/python cli.py ..."
    )
except KeyboardInterrupt:  # Ctrl-C while the libraries load: nothing has started; end as Typer does later
    sys.exit(130)

Sweep = co.choices("Sweep", sweep.SWEEPS)  # bench --sweep: the size whose grid is timed

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
    backend: co.BackendOpt = "numpy",
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
        t = lifecycle.new(cfg, backend, options, data, out, say=typer.echo)
    else:
        if out is not None:
            raise BadInput("--out does not go with --resume: the run continues in its own folder")
        name = backend if co.given(ctx, ["backend"]) else None
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
    backend: co.BackendOpt = "numpy",
    data: co.DataOpt = None,
    preset: Annotated[
        str, typer.Option(help="classic: summed loss, m = 5; 2025: mean loss, m = 10, and autograd.")
    ] = "classic",
    hidden: Annotated[int | None, typer.Option(help="Hidden units m. Default: the preset's (5 / 10).")] = None,
    seq_length: co.SeqOpt = 25,
    batch_size: co.BatchOpt = 1,
    seed: co.SeedOpt = 1,
    sigma: Annotated[
        float | None, typer.Option(help="Check the one regime U, W, V ~ N(0, sigma^2), h0 = 0. Default: three regimes.")
    ] = None,
    step: Annotated[float, typer.Option(help="h of the centred differences.")] = 1e-4,
    as_json: Annotated[bool, typer.Option("--json", metavar="", help="Print JSON instead of a table.")] = False,
    device: co.DeviceOpt = None,
    grad: co.GradOpt = None,
    kernels: co.KernelsOpt = None,
) -> None:
    """Compare BPTT gradients with centred differences (float64, unclipped, every entry) where bugs show."""
    p = presets.preset(preset, sigma=sigma)
    hidden = hidden if hidden is not None else p.gradcheck_m
    for flag, value in (("--sigma", sigma), ("--step", step)):
        if value is not None:
            inputs.positive_number(flag, value)
    inputs.natural("--seed", seed)
    corpus = inputs.checked(data, hidden, seq_length, batch_size)
    layout = Layout(corpus.K, hidden)
    model = backends.load(backend, layout, "float64", **co.backend_options(device, grad, kernels))
    if sigma is None:
        points = regimes.regimes(layout, corpus, p, seq_length, batch_size, seed)
    else:
        points = [regimes.at_sigma(layout, corpus, p, seq_length, batch_size, seed, sigma)]
    if not gradcheck_report.run(model, corpus, p, points, seq_length, step, as_json, typer.echo):
        raise typer.Exit(1)


Inputs, Reduction = co.choices("Inputs", student.INPUTS), co.choices("Reduction", student.LOSSES)
Vectors, Convention = co.choices("Vectors", student.VECTORS), co.choices("Convention", student.CONVENTIONS)


@app.command("check")
def check_cmd(
    target: Annotated[
        str,
        typer.Argument(
            metavar="FILE[:NAME]",
            help="Your .py or .ipynb, and your function (default loss_and_grads) or backend class in it.",
        ),
    ],
    layout_in: Annotated[
        Inputs,
        typer.Option("--inputs", help="X and Y as one-hot columns (K, tau), one-hot rows (tau, K) or indices (tau,)."),
    ] = Inputs("onehot-cols"),
    loss: Annotated[
        Reduction, typer.Option(help="Your loss over the tau steps: sum (classic) or mean (2025).")
    ] = Reduction("sum"),
    vectors: Annotated[
        Vectors, typer.Option(help="b, c, h0 and h_tau as (m, 1) columns (2d) or (m,) vectors (1d).")
    ] = Vectors("2d"),
    convention: Annotated[
        Convention, typer.Option(help="cols: W @ h (the handout's); rows: h @ W, every parameter transposed.")
    ] = Convention("cols"),
    data: co.DataOpt = None,
    hidden: Annotated[int, typer.Option(help="Hidden units m of the check.")] = 5,
    seq_length: co.SeqOpt = 25,
    seed: co.SeedOpt = 1,
    train: Annotated[int, typer.Option(help="Then train N updates on your gradients beside ours (0: none).")] = 0,
    definitions_only: Annotated[
        bool | None,
        typer.Option(
            "--definitions-only/--run-all",
            help="Run only imports, defs and constants of your file (default for .ipynb), or all of it (.py).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds a call of yours (or importing your file) may take.")] = 60.0,
    memory: Annotated[float, typer.Option(help="GiB of memory your code may use.")] = 4.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check your own loss_and_grads (or backend class) against ours where bugs show, and name the bug."""
    inputs.natural("--seed", seed)
    inputs.natural("--train", train)
    if not timeout > 0 or not memory > 0:
        raise BadInput("--timeout and --memory must be positive")
    inputs.checked(data, hidden, seq_length)  # our inputs refused here, before any code of theirs runs
    options = dict(inputs=layout_in.value, loss=loss.value, vectors=vectors.value, convention=convention.value)
    options |= dict(hidden=hidden, seq_length=seq_length, seed=seed, data=data, timeout=timeout)
    options |= dict(memory=int(memory * 2**30), definitions_only=definitions_only)
    progress = check_progress.Progress(lambda text: typer.echo(text, nl=False, err=True))
    report = check_file(target, **options, progress=None if as_json else progress)
    progress.done()
    if as_json:
        typer.echo(report.to_json())
        raise typer.Exit(report.exit_code)
    if report.verdict == "not judged":
        if report.output:
            typer.echo(report_text.captured(report.output))
        raise BadInput(report.reason)
    typer.echo(str(report))
    say = lambda text: typer.echo("\n".join(map(report_text.wrap, text.split("\n"))))  # noqa: E731
    trained = check_train_file(target, say=say, updates=train, **options) if train else None
    if trained is not None and trained.verdict == "not judged":
        raise BadInput(trained.reason)
    if not report.passed or (trained is not None and not trained.passed):
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
    backend: co.BackendOpt = "numpy",
    device: co.DeviceOpt = None,
    kernels: co.KernelsOpt = None,
) -> None:
    """Print text from a trained model, on any backend, going on from the hidden state it reached."""
    check_settings(length, temperature, top_p, prime)
    inputs.natural("--seed", seed)
    path = checkpoint.model_file(path, which.value)
    model = checkpoint.load_model(path, which.value)
    layout, dtype = Layout(len(model.meta["chars"]), model.params.W.shape[0]), model.meta["dtype"]
    net = backends.load(backend, layout, dtype, **co.backend_options(device, kernels=kernels))
    rng = stream(seed, "cli-sample")
    text = generate(net, model, prime, from_zero, length, rng, temperature=temperature, top_p=top_p)
    h = "h = 0" if from_zero or model.h is None else "the hidden state saved with it"
    typer.echo(f"read {checkpoint.describe(path, model, which.value)}, from {h}", err=True)
    typer.echo(text)


@app.command("bench")
def bench_cmd(
    backend: Annotated[
        list[str] | None, typer.Option(help=f"{co.BACKEND_HELP} Repeat for more. Default: all that run here.")
    ] = None,
    dtype: Annotated[list[co.DType] | None, typer.Option(help="dtypes to time (repeat). Default: both.")] = None,
    hidden: Annotated[list[int] | None, typer.Option(help="Hidden sizes m (repeat). Default: 100.")] = None,
    batch_size: Annotated[list[int] | None, typer.Option(help="Batch sizes B (repeat). Default: 1.")] = None,
    seq_length: Annotated[list[int] | None, typer.Option(help="Sequence lengths tau (repeat). Default: 25.")] = None,
    optimizer: Annotated[
        list[str] | None, typer.Option(help="adagrad and/or adam (repeat): side by side. Default: adagrad.")
    ] = None,
    updates: Annotated[int, typer.Option(help="Updates per contender per round (at most, with --sweep).")] = 50,
    rounds: Annotated[
        int | None, typer.Option(help="Rounds, contenders in turns. Default: 40; 15 with --sweep.")
    ] = None,
    yardstick: Annotated[
        bool, typer.Option(metavar="", help="Also time min-char-rnn (B = 1) and torch.nn.RNN.")
    ] = True,
    device: co.DeviceOpt = None,
    data: co.DataOpt = None,
    plot: Annotated[Path | None, typer.Option(help="Write a bar chart (PNG) here.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    sweep_option: Annotated[
        Sweep | None,
        typer.Option(
            "--sweep", help="Time a grid of one size: hidden, batch or seq-length (its repeated option sets the grid)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="With --sweep: the folder for sweep-<option>.csv and .png.")] = None,
) -> None:
    """Time training updates of each backend side by side (ms/update, chars/s, s/epoch), or how cost grows (--sweep)."""
    names = backend if backend else [n for n in backends.names() if backends.why_not(n) is None]
    dtypes = [d.value for d in dtype] if dtype else ["float64", "float32"]
    option = sweep_option and sweep_option.value
    grid = sweep.grid(option, hidden, batch_size, seq_length, out)
    rounds = rounds if rounds is not None else (sweep.ROUNDS if option else 40)
    inputs.positive("--updates", updates)
    inputs.positive("--rounds", rounds)
    for flag, path in (("--plot", plot), ("--json", json_out)):
        if path is not None:
            inputs.output(flag, path)
    corpus = inputs.checked(data, grid["m"], grid["tau"], grid["B"])
    optimizers = checked_optimizers(optimizer)
    make = contenders(names, device, yardstick, corpus.K, optimizers)
    libs = libraries(names)
    budget = sweep.ROUND_S if option else None
    when = f"{datetime.datetime.now():%Y-%m-%d %H:%M}"
    typer.echo(bench_report.header(corpus, updates, rounds, when, list(libs.values()), budget))
    results = bench.run(
        corpus,
        make,
        dtypes,
        grid["m"],
        grid["B"],
        grid["tau"],
        updates,
        rounds,
        budget=budget,
        report=lambda r: typer.echo(bench_report.row(r)),
    )
    for line in filter(None, [bench_report.busy(results), *bench_report.ratios(results), *optimizer_ratios(results)]):
        typer.echo(line)
    if option:
        for path in sweep.write(results, option, out, corpus, libs, when):
            typer.echo(f"wrote {path}")
    if plot is not None:
        bench_report.plot(results, plot, f"ms per update, corpus {corpus.name}")
        typer.echo(f"wrote {plot}")
    if json_out is not None:
        rows = [r.as_dict() | bench_report.context(r, libs, when) for r in results]
        json_out.write_text(json.dumps(rows, indent=2) + "\n")
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
    """Count what one CuPy update asks of a GPU (launches, copies, syncs) on the CPU stand-in; estimate its time."""
    from backends.standin import launches

    inputs.sizes(hidden, seq_length, batch_size)
    inputs.fits(80, hidden, seq_length, batch_size)  # 80: the vocabulary launches.table counts with
    for line in launches.table(hidden, seq_length, batch_size):
        typer.echo(line)
    typer.echo(launches.numpy_line(hidden, seq_length, batch_size))


if __name__ == "__main__":
    app()
