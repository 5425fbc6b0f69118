"""The bad-input table: every bad input against every command that takes it (issue 15, docs: runs.md#bad-input).

Each case must end at once with exit status 2, exactly one `error:` line on stderr and no
traceback. The cases run in this process (Typer's CliRunner) under an alarm, so that a command
that would wait on a FIFO or start training fails the test instead of hanging it; a few also run
as real processes, with a timeout, to show that a FIFO is refused at once from the shell too.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from tests.conftest import cli, make_text

ROOT = os.path.dirname(os.path.dirname(__file__))
TEMPLATE = os.path.join(ROOT, "docs", "examples", "rnn.py")  # a correct student file, for `check`
TIMEOUT = 30  # seconds; every refusal here takes well under one

# --data: (what is there, a fragment of the one line that refuses it)
TEXTS = {
    "missing": "does not exist",
    "folder": "is a directory",
    "empty": "is empty",
    "non-UTF-8": "not valid UTF-8",
    "FIFO": "a FIFO",
    "/dev/zero": "a character device",
    "/dev/null": "a character device",
    "socket": "a socket",
    "one distinct character": "1 distinct character",
    "dangling symlink": "does not exist",
    "sparse 64 GiB": "needs about .* GiB of memory",
}
TEXT_COMMANDS = {  # the commands that read a text, and their arguments before --data
    "train": ["train", "--out", "{fresh}", "--hidden", "8", "--updates", "5"],
    "train --resume": ["train", "--resume", "{run}"],
    "gradcheck": ["gradcheck"],
    "bench": ["bench", "--updates", "1", "--rounds", "1", "--dtype", "float64", "--hidden", "8"],
    "neurons": ["neurons", "{run}"],
    "check": ["check", TEMPLATE],
}
TOO_SHORT = ("too short for one chunk", "needs at least 26")  # the commands that cut it into chunks

# --hidden, --seq-length, --batch-size: taken by these commands (with a good text where they read one)
SIZES = [
    ("--hidden", "0", "--hidden must be a positive integer"),
    ("--hidden", "-3", "--hidden must be a positive integer"),
    ("--hidden", "100000", "--hidden 100000 needs about .* GiB of memory"),
    ("--hidden", "1000000000000", "needs about .* GiB of memory"),
    ("--seq-length", "0", "--seq-length must be a positive integer"),
    ("--seq-length", "-1", "--seq-length must be a positive integer"),
    ("--seq-length", "1000000000", "needs at least 1000000001|needs about .* GiB of memory"),
    ("--batch-size", "0", "--batch-size must be a positive integer"),
    ("--batch-size", "-2", "--batch-size must be a positive integer"),
    ("--batch-size", "1000000000", "use a batch size of at most|needs about .* GiB of memory"),
    ("--hidden", "many", "Invalid value for '--hidden'"),
    ("--seq-length", "2.5", "Invalid value for '--seq-length'"),
]
SIZE_COMMANDS = {
    "train": ["train", "--data", "{text}", "--out", "{fresh}"],
    "gradcheck": ["gradcheck", "--data", "{text}"],
    "bench": ["bench", "--data", "{text}", "--updates", "1", "--rounds", "1", "--dtype", "float64"],
    "launches": ["launches"],
    "check": ["check", TEMPLATE, "--data", "{text}"],  # no --batch-size: a student's function takes one stream
}

# a run folder or model file, for the commands that read one
MODELS = {
    "missing": "does not exist",
    "empty folder": "holds no best.npz or checkpoint.npz",
    "text file": "not a model file",
    "empty file": "not a model file",
    "random bytes": "not a model file",
    "FIFO": "is not a file",
    "/dev/zero": "is not a file",
    "best.npz is a FIFO": "is not a file",
    "truncated best.npz": "not a model file|not a readable|damaged",
    "pickle inside": "pickled objects",
    "stopped before its first checkpoint": "holds no best.npz or checkpoint.npz",
}
MODEL_COMMANDS = {"sample": ["sample", "{model}"], "neurons": ["neurons", "{model}", "--text", "ab"]}

RESUMES = {  # train --resume FOLDER
    "missing": "does not exist",
    "text file": "is not a run folder",
    "FIFO": "is not a run folder",
    "/dev/zero": "is not a run folder",
    "empty folder": "holds no run to resume .* start a run there with --out",
    "folder of something else": "holds no run to resume .* start a new run with another --out",
    "settings.json not JSON": "settings.json is damaged",
    "settings.json of another kind": "settings.json is damaged",
    "settings.json with an unknown setting": "damaged or not this program's",
    "checkpoint.npz is a FIFO": "is not a file",
    "truncated checkpoint.npz": "not a model file|not a readable|damaged",
}

# one command's own options, and the options of a backend
OPTIONS = [
    *[("train", ["--eta", v], "--eta must be a positive number") for v in ("nan", "inf", "-inf", "0", "-1")],
    *[("train", ["--sigma", v], "--sigma must be a positive number") for v in ("nan", "inf", "0", "-0.01")],
    *[("train", ["--clip", v], "--clip must be positive") for v in ("nan", "inf", "-1")],
    *[("train", ["--eps", v], "--eps must be a positive number") for v in ("nan", "inf", "0")],
    *[("train", ["--optimizer", "adam", "--beta1", v], r"--beta1 must be in \[0, 1\)") for v in ("nan", "1", "-0.1")],
    *[("train", ["--optimizer", "adam", "--beta2", v], r"--beta2 must be in \[0, 1\)") for v in ("nan", "inf", "1")],
    *[("train", ["--validation", v], "--validation must be a fraction") for v in ("nan", "inf", "-0.1", "0.9")],
    *[("train", [f, "0"], f"{f} must be a positive integer") for f in ("--epochs", "--updates", "--validate-every")],
    *[("train", [f, "-1"], f"{f} must be zero or positive") for f in ("--sample-every", "--checkpoint-every")],
    *[("train", [f, "x"], f"{f} must be one of") for f in ("--order", "--best-by", "--optimizer", "--loss", "--init")],
    ("train", ["--preset", "2024"], "unknown preset"),
    ("train", ["--dtype", "float16"], "'float16' is not one of"),
    ("train", ["--best-by", "validation"], "needs a held-out part"),
    ("train", ["--out", "{text}"], "is a file, not a folder"),
    ("train", ["--out", "{run}"], "already holds a run; continue it with --resume"),
    ("train", ["--out", "{junk}"], "already exists and is not an empty folder"),
    ("train", ["--out", "/proc/no/run"], "cannot create the run folder"),
    ("train --resume", ["--out", "{fresh}"], "--out does not go with --resume"),
    ("train --resume", ["--hidden", "9"], "--hidden 9 differs from the run's 8"),
    ("train --resume", ["--eta", "0.05"], "add --force to change it"),
    *[("gradcheck", ["--sigma", v], "--sigma must be a positive number") for v in ("nan", "inf", "0", "-1")],
    *[("gradcheck", ["--step", v], "--step must be a positive number") for v in ("nan", "inf", "0", "-1e-4")],
    ("gradcheck", ["--preset", "2024"], "unknown preset"),
    *[
        ("sample", ["{run}", "--temperature", v], "--temperature must be zero or positive")
        for v in ("nan", "inf", "-1")
    ],
    *[("sample", ["{run}", "--top-p", v], r"--top-p must be in \(0, 1\]") for v in ("nan", "0", "1.5", "inf")],
    *[("sample", ["{run}", "--length", v], "--length must be a positive integer") for v in ("0", "-5")],
    ("sample", ["{run}", "--prime", ""], "--prime must not be empty"),
    ("sample", ["{run}", "--prime", "\u20ac"], "not in the model's vocabulary"),
    ("sample", ["{run}", "--which", "newest"], "'newest' is not one of"),
    ("neurons", ["{run}", "--text", "ab", "--start", "-1"], "--start must be >= 0"),
    ("neurons", ["{run}", "--text", "ab", "--length", "1"], "--length >= 2"),
    ("neurons", ["{run}", "--text", "ab", "--show", "0"], "--show must be a positive integer"),
    ("neurons", ["{run}", "--text", ""], "nothing to show"),
    ("neurons", ["{run}"], "exactly one of --data"),
    ("neurons", ["{run}", "--text", "ab", "--out", "{missing}/x.html"], "cannot write .* does not exist"),
    ("neurons", ["{run}", "--text", "ab", "--out", "{junk}"], "is a folder"),
    ("neurons", ["{run}", "--text", "ab", "--feature", "colour"], "'colour' is not one of"),
    *[("bench", [f, "0"], f"{f} must be a positive integer") for f in ("--updates", "--rounds")],
    ("bench", ["--optimizer", "sgd"], "--optimizer must be one of"),
    ("bench", ["--plot", "{missing}/b.png"], "cannot write .* does not exist"),
    ("bench", ["--plot", "{junk}"], "is a folder"),
    ("bench", ["--json", "{missing}/b.json"], "cannot write .* does not exist"),
    ("bench", ["--json", "{junk}"], "is a folder"),
    ("check", ["{missing}/mine.py"], "does not exist"),
    ("check", ["{text}"], "is not path/to/file.py:NAME"),
    ("check", [f"{TEMPLATE}:nothing_here"], "has no 'nothing_here'"),
    ("check", [TEMPLATE, "--train", "-1"], "--train must be zero or positive"),
    ("check", [TEMPLATE, "--inputs", "columns"], "'columns' is not one of"),
    ("check", [TEMPLATE, "--loss", "max"], "'max' is not one of"),
    *[
        ("check", [TEMPLATE, f, v], "--timeout and --memory must be positive")
        for f in ("--timeout", "--memory")
        for v in ("0", "-1", "nan")
    ],
    ("check", [TEMPLATE, "--vectors", "3d"], "'3d' is not one of"),
    ("check", [TEMPLATE, "--convention", "diagonal"], "'diagonal' is not one of"),
    ("check", ["{missing}/mine.ipynb"], "does not exist"),
]
BACKENDS = [  # a backend that cannot run here (no GPU), or an option it does not take
    (["--backend", "cupy"], "backend cupy cannot run here"),
    (["--backend", "torch", "--device", "cuda"], "backend torch cannot run here"),
    (["--backend", "numpy", "--device", "cpu"], "--device does not apply to the numpy backend"),
    (["--backend", "tensorflow"], "unknown backend 'tensorflow'"),
    (["--backend", "{missing}/mine.py:MyRNN"], "does not exist"),
]
BACKEND_COMMANDS = {
    "train": ["train", "--data", "{text}", "--out", "{fresh}"],
    "gradcheck": ["gradcheck", "--data", "{text}"],
    "sample": ["sample", "{run}"],
    "bench": ["bench", "--data", "{text}", "--updates", "1", "--rounds", "1", "--yardstick"],
}
SEEDS = {
    "train": ["train", "--data", "{text}", "--out", "{fresh}"],
    "gradcheck": ["gradcheck"],
    "sample": ["sample", "{run}"],
    "check": ["check", TEMPLATE],
}


def cases() -> list:
    """(command, input, argument list with {placeholders}, fragment): the whole table."""
    out = [
        (c, name, [*a, "--data", f"{{text:{name}}}"], m) for c, a in TEXT_COMMANDS.items() for name, m in TEXTS.items()
    ]
    out += [
        (c, TOO_SHORT[0], [*TEXT_COMMANDS[c], "--data", "{short}"], TOO_SHORT[1])
        for c in ("train", "gradcheck", "bench", "check")
    ]
    out += [
        (c, f"{f} {v}", [*a, f, v], m)
        for c, a in SIZE_COMMANDS.items()
        for f, v, m in SIZES
        if not (c == "check" and f == "--batch-size")
    ]
    out += [
        (c, name, [x.replace("{model}", f"{{model:{name}}}") for x in a], m)
        for c, a in MODEL_COMMANDS.items()
        for name, m in MODELS.items()
    ]
    out += [("train --resume", name, ["train", "--resume", f"{{resume:{name}}}"], m) for name, m in RESUMES.items()]
    out += [(c, " ".join(a), [*BASE.get(c, [c]), *a], m) for c, a, m in OPTIONS]
    out += [
        (c, " ".join(a), [*BACKEND_COMMANDS[c], *a], m)
        for c in BACKEND_COMMANDS
        for a, m in BACKENDS
        if not (c == "bench" and "--device" in a and "numpy" in a)  # bench's --device is for the backends that have one
    ]
    out += [(c, "--seed -1", [*a, "--seed", "-1"], "--seed must be zero or positive") for c, a in SEEDS.items()]
    return out


BASE = {  # what an option of OPTIONS is given with: a good text, a folder to create
    "train": ["train", "--data", "{text}", "--out", "{fresh}"],
    "train --resume": ["train", "--resume", "{run}"],
    "gradcheck": ["gradcheck", "--data", "{text}"],
    "bench": ["bench", "--data", "{text}", "--updates", "1", "--rounds", "1", "--dtype", "float64", "--hidden", "8"],
}
CASES = cases()


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """Every bad thing of the table, made once: name -> path."""
    tmp = tmp_path_factory.mktemp("inputs")
    good = tmp / "tiny.txt"
    good.write_text(make_text(), encoding="utf-8")
    run = tmp / "run"
    r = cli(
        "train", "--data", good, "--hidden", 8, "--seq-length", 10, "--updates", 20, "--sample-every", 0, "--out", run
    )
    assert r.exit_code == 0, r.output
    texts = {name: tmp / "text" / name.replace("/", "_") for name in TEXTS}
    texts["/dev/zero"], texts["/dev/null"] = "/dev/zero", "/dev/null"
    (tmp / "text").mkdir()
    texts["folder"].mkdir()
    texts["empty"].write_bytes(b"")
    texts["non-UTF-8"].write_bytes("caf\u00e9 au lait".encode("latin-1"))
    os.mkfifo(texts["FIFO"])
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(texts["socket"]))
    texts["one distinct character"].write_text("a" * 1000)
    texts["dangling symlink"].symlink_to(tmp / "nowhere")
    with open(texts["sparse 64 GiB"], "wb") as f:
        f.truncate(2**36)  # sparse: no block is written
    short = tmp / "short.txt"
    short.write_text("too short")

    models = {name: tmp / "model" / name.replace("/", "_") for name in MODELS}
    models["/dev/zero"] = "/dev/zero"
    (tmp / "model").mkdir()
    models["empty folder"].mkdir()
    models["text file"].write_text("not a model")
    models["empty file"].write_bytes(b"")
    models["random bytes"].write_bytes(os.urandom(3000))
    os.mkfifo(models["FIFO"])
    models["best.npz is a FIFO"].mkdir()
    os.mkfifo(models["best.npz is a FIFO"] / "best.npz")
    raw = (run / "best.npz").read_bytes()
    models["truncated best.npz"].write_bytes(raw[: len(raw) // 2])
    models["pickle inside"] = pickled(tmp, run)
    models["stopped before its first checkpoint"].mkdir()
    shutil.copy(run / "settings.json", models["stopped before its first checkpoint"])

    resumes = {name: tmp / "resume" / name.replace("/", "_") for name in RESUMES}
    resumes["/dev/zero"] = "/dev/zero"
    (tmp / "resume").mkdir()
    resumes["text file"].write_text("a text")
    os.mkfifo(resumes["FIFO"])
    for name in ("empty folder", "folder of something else", "checkpoint.npz is a FIFO", "truncated checkpoint.npz"):
        resumes[name].mkdir()
    (resumes["folder of something else"] / "notes.txt").write_text("mine")
    os.mkfifo(resumes["checkpoint.npz is a FIFO"] / "checkpoint.npz")
    raw = (run / "checkpoint.npz").read_bytes()
    (resumes["truncated checkpoint.npz"] / "checkpoint.npz").write_bytes(raw[: len(raw) // 2])
    settings = json.loads((run / "settings.json").read_text())
    for name, text in (
        ("settings.json not JSON", json.dumps(settings)[:40]),
        ("settings.json of another kind", json.dumps(settings | {"kind": "model"})),
        (
            "settings.json with an unknown setting",
            json.dumps(settings | {"config": settings["config"] | {"colour": 1}}),
        ),
    ):
        resumes[name].mkdir()
        (resumes[name] / "settings.json").write_text(text)
    junk = tmp / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("mine")
    yield (
        {"run": run, "text": good, "short": short, "junk": junk, "missing": tmp / "no" / "such"},
        {
            "text": texts,
            "model": models,
            "resume": resumes,
        },
    )
    server.close()


def pickled(tmp, run):
    """best.npz with an object array inside: loading it would run code."""
    import numpy as np

    from common.run import npzfile

    arrays, meta = npzfile.load(run / "best.npz")
    arrays["W"] = np.array([{"a": 1}], dtype=object)
    blob = np.frombuffer(json.dumps({"format": "char-rnn", "version": 3, **meta}).encode(), np.uint8)
    path = tmp / "model" / "pickle.npz"
    with open(path, "wb") as f:
        np.savez(f, meta=blob, **arrays)
    return path


def fill(args: list[str], places) -> list[str]:
    named, kinds = places
    out = []
    for a in args:
        for kind, paths in kinds.items():
            a = re.sub(rf"\{{{kind}:([^}}]+)\}}", lambda m, paths=paths: str(paths[m.group(1)]), a)
        out.append(a.format(**named))
    return out


def invoke(args: list[str]):
    """The command line in this process, stopped by an alarm after TIMEOUT seconds."""

    def too_long(signum, frame):
        raise TimeoutError(f"still running after {TIMEOUT} s: {args}")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(TIMEOUT)
    try:
        return cli(*args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_the_table_has_at_least_150_cases_across_every_command():
    commands = {c.split()[0] for c, *_ in CASES}
    assert len(CASES) >= 150 and commands == {"train", "gradcheck", "sample", "neurons", "bench", "launches", "check"}


@pytest.mark.parametrize("command, what, args, message", CASES, ids=[f"{c}: {w}" for c, w, *_ in CASES])
def test_bad_input_is_one_line_and_exit_2(places, tmp_path, command, what, args, message):
    fresh = tmp_path / "new"  # a run folder to create: a refused run must leave it unmade
    r = invoke(fill(args, (places[0] | {"fresh": fresh}, places[1])))
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and re.search(message, lines[0]), r.stderr
    assert "Traceback" not in r.output and not fresh.exists()


@pytest.mark.parametrize("command", list(TEXT_COMMANDS))
def test_a_fifo_is_refused_at_once_by_a_real_process(places, tmp_path, command):
    args = fill(
        [*TEXT_COMMANDS[command], "--data", "{text:FIFO}"], (places[0] | {"fresh": tmp_path / "new"}, places[1])
    )
    r = subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "a FIFO" in r.stderr, r.stderr


def test_checked_takes_a_grid_of_sizes_and_refuses_its_worst_member(places):
    from common.errors import BadInput
    from common.run import inputs

    text = places[0]["text"]
    assert inputs.checked(text, [8, 16], [10, 20], [1, 2]).name == "tiny.txt"  # a benchmark's grid, all fine
    for grid, message in (
        (([8, 0], 10, 1), "--hidden must be a positive integer"),
        (([8], [10, 10**9], 1), "needs at least 1000000001"),
        (([8, 10**6], 10, [1, 2]), "--hidden 1000000 needs about"),
    ):
        with pytest.raises(BadInput, match=message):
            inputs.checked(text, *grid)
