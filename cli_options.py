"""The command line's options: one-line errors, choices, the options several commands take, and the
options that differ between the two handouts (docs: cli.md, handouts.md). Typer lives here and in cli.py only."""

import os
import shutil
import sys
import textwrap
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated

import typer
from typer._click.core import ParameterSource  # typer vendors click; pinned in constraints.txt
from typer._click.exceptions import ClickException

import backends
from common.errors import BadInput, WriteFailed
from common.run.presets import preset, settings


class OneLineErrors(typer.core.TyperGroup):
    """Every usage error and bad input is one line on stderr and a non-zero exit, never a traceback;
    so is output that stdout cannot take (closed, full, a broken pipe), once the work is done and saved."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        out = sys.stdout = Stdout(sys.stdout)
        try:
            code = self.exit_code(*args, **kwargs)
        finally:
            sys.stdout = out.stream
        if out.error is not None:
            typer.echo(f"error: the output was lost: stdout {out.error}", err=True)
            code = code or 1
        if standalone_mode:
            sys.exit(code)
        return code

    def exit_code(self, *args, **kwargs) -> int:
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except ClickException as e:
            typer.echo(f"error: {e.format_message()}", err=True)
            return e.exit_code
        except (BadInput, WriteFailed) as e:
            typer.echo(f"error: {e}", err=True)
            return 2 if isinstance(e, BadInput) else 1
        return rv if isinstance(rv, int) else 0


class Stdout:
    """sys.stdout whose first failed write is kept, not raised, so that the work goes on and is saved."""

    def __init__(self, stream):
        self.stream, self.error = stream, None
        if stream is None:  # started with stdout closed (>&-): fd 1 must not become the next file opened
            null_fd1()
            self.stream, self.error = open(os.devnull, "w"), "was closed"  # noqa: SIM115  lives as long as the process

    def write(self, text: str) -> int:
        if self.error is None:
            try:
                return self.stream.write(text)
            except OSError as e:
                self.failed(e)
        return len(text)

    def flush(self) -> None:
        if self.error is None:
            try:
                self.stream.flush()
            except OSError as e:
                self.failed(e)

    def failed(self, e: OSError) -> None:
        self.error = "is a broken pipe" if isinstance(e, BrokenPipeError) else f"failed: {e.strerror or e}"
        try:
            if self.stream.fileno() == 1:  # what is still buffered for fd 1 goes nowhere, not to a failed exit
                null_fd1()
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def null_fd1() -> None:
    """Point file descriptor 1 at /dev/null."""
    fd = os.open(os.devnull, os.O_WRONLY)
    if fd != 1:
        os.dup2(fd, 1)
        os.close(fd)


def width() -> int:
    """The terminal's columns (COLUMNS where set); 80 when the output is a file or a pipe."""
    return shutil.get_terminal_size((80, 24)).columns


def wrap(text: str, indent: str = "") -> str:
    """Prose in lines of at most 80 columns, broken at spaces only: a path or a number is never cut."""
    return textwrap.fill(text, 80, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)


def progress_note():
    """A line of progress for a person watching stderr (a terminal); nothing where stderr is a file or a pipe,
    which keeps a refusal's one line the only line there."""
    if sys.stderr.isatty():
        return lambda line: typer.echo(line, err=True)
    return lambda line: None


def choices(name: str, values) -> type[Enum]:
    return Enum(name, {v: v for v in values}, type=str)


Grad, Kernels = choices("Grad", backends.OPTIONS["grad"]), choices("Kernels", backends.OPTIONS["kernels"])


class DType(StrEnum):
    float64 = "float64"
    float32 = "float32"


class Which(StrEnum):
    best = "best"
    last = "last"


def program() -> str:
    """This program as the user can type it again: char-rnn, or python cli.py with this very python."""
    if Path(sys.argv[0]).name == "char-rnn":
        return "char-rnn"
    python = Path(sys.executable)
    python = os.path.relpath(python) if python.is_relative_to(Path.cwd()) else python
    return f"{python} {os.path.relpath(Path(__file__).with_name('cli.py'))}"


DataOpt = Annotated[
    Path | None,
    typer.Option(help="A UTF-8 text file to train on (e.g. goblet_book.txt). Default: Python's own docs."),
]
BACKEND_HELP = f"Array library that runs the model: {', '.join(backends.names())}, or path/to/file.py:ClassName."
BackendOpt = Annotated[str, typer.Option(help=BACKEND_HELP)]
HiddenOpt = Annotated[int, typer.Option(help="Hidden units m.")]
SeqOpt = Annotated[int, typer.Option(help="Characters per chunk (tau): BPTT length.")]
BatchOpt = Annotated[int, typer.Option(help="Streams trained in parallel (B); 1 is the assignment.")]
SeedOpt = Annotated[int, typer.Option(help="Seed of every random number (weights, samples).")]
DeviceOpt = Annotated[str | None, typer.Option(help="torch only: cpu or cuda. Default: cuda when torch sees a GPU.")]
GradOpt = Annotated[Grad | None, typer.Option(help="torch only: our BPTT (manual) or torch.autograd.")]
KernelsOpt = Annotated[
    Kernels | None,
    typer.Option(help="cupy only: the NumPy body as is (plain), fused kernels, or one per update (persistent)."),
]
WhichOpt = Annotated[Which, typer.Option(help="best.npz, the best model; or last, the checkpoint's latest parameters.")]


def backend_options(device: str | None = None, grad: Grad | None = None, kernels: Kernels | None = None) -> dict:
    """The backend options the user gave (None: not given)."""
    given = (("device", device), ("grad", grad and grad.value), ("kernels", kernels and kernels.value))
    return {k: v for k, v in given if v is not None}


def given(ctx: typer.Context, names) -> dict:
    """The options among names that the user gave (not their defaults), enums as their values."""
    sources = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)
    chosen = {n: ctx.params[n] for n in names if ctx.get_parameter_source(n) not in sources}
    return {n: getattr(v, "value", v) for n, v in chosen.items()}


def as_given(ctx: typer.Context, names) -> str:
    """The options among names that the user gave, and --seed always, as they could type them again."""
    words = []
    for name, value in (given(ctx, [n for n in names if n in ctx.params]) | {"seed": ctx.params["seed"]}).items():
        option = next(p for p in ctx.command.params if p.name == name)
        if isinstance(value, bool):
            words.append(option.opts[0] if value else option.secondary_opts[0])
        else:
            words += [option.opts[0], f"{value:g}" if isinstance(value, float) else str(value)]
    return " ".join(words)


# The options that differ between the handouts: each is None unless given, so --preset supplies it.
PresetOpt = Annotated[str, typer.Option(help="Handout whose values are the defaults: classic or 2025.")]
OptimizerOpt = Annotated[str | None, typer.Option(help="adagrad or adam. Default: the preset's.")]
LossOpt = Annotated[str | None, typer.Option(help="Loss over the tau steps: sum or mean. Default: the preset's.")]
ClipOpt = Annotated[float | None, typer.Option(help="Clip each gradient entry to [-X, X]; 0: no clipping.")]
InitOpt = Annotated[str | None, typer.Option(help="Initial weights: classic (N(0, sigma^2)) or 2025 (fan-in).")]
EtaOpt = Annotated[float | None, typer.Option(help="Learning rate. Default: the preset's (0.1 / 0.001).")]
SigmaOpt = Annotated[float | None, typer.Option(help="Std of the initial U, W, V (--init classic).")]
Beta1Opt = Annotated[float | None, typer.Option(help="Adam's beta1 (0.9).")]
Beta2Opt = Annotated[float | None, typer.Option(help="Adam's beta2 (0.999).")]
EpsOpt = Annotated[float | None, typer.Option(help="The optimizer's eps (1e-8).")]

NAMES = ("optimizer", "eta", "clip", "beta1", "beta2", "eps", "loss", "init", "sigma")


def resolve(params: dict) -> dict:
    """Config values from the preset named in params and the options given (None: the preset's)."""
    chosen = {"reduction" if n == "loss" else n: params[n] for n in NAMES}
    return settings(preset(params["preset"], **chosen))


ValidationOpt = Annotated[
    float, typer.Option(help="Hold out this fraction (0, 0.5] of the text's end for a validation loss; 0: none.")
]
ValidateEveryOpt = Annotated[int, typer.Option(help="Updates between two validation losses.")]
OrderOpt = Annotated[str, typer.Option(help="Chunks of an epoch: sequential, or shuffled (h = 0 at each chunk).")]
BestByOpt = Annotated[str, typer.Option(help="The best model: lowest smooth loss, or lowest validation loss.")]

# check's options that grade applies to a whole class (common/check/file.py: check_file)
DefinitionsOpt = Annotated[
    bool | None,
    typer.Option(
        "--definitions-only/--run-all",
        help="Run only imports, definitions and constants of the file, or all of it. Default: definitions-only "
        "for .ipynb, run-all for .py.",
    ),
]
TimeoutOpt = Annotated[float, typer.Option(help="Seconds one call of the function may take before it is a hang.")]
MemoryOpt = Annotated[float, typer.Option(help="GiB of memory the checked code may use.")]
PointsOpt = Annotated[
    list[str] | None,
    typer.Option(help="Weights of the credit, KEY=W (U W V b c loss h_tau, or a regime); comma-separated or repeated."),
]
