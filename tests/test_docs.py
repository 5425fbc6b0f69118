"""The docs: they build strictly, a real browser renders their maths, and every command they show runs."""

import html
import html.parser
import re
import shlex
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.conftest import skip_unless_runnable

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def test_docs_build_strictly_with_every_page(site):
    for page in ("model", "bptt", "adagrad", "gradcheck", "backends", "performance", "reproduction", "cli"):
        assert (site / page / "index.html").is_file(), page
    assert (site / "js" / "mathjax" / "tex-chtml.js").is_file()  # served by the site itself: offline
    cli_page = (site / "cli" / "index.html").read_text()
    for command in ("train", "gradcheck", "sample", "bench", "backends", "--checkpoint-every", "--top-p"):
        assert command in cli_page, command
    backends_text = html.unescape(re.sub(r"<[^>]+>", "", (site / "backends" / "index.html").read_text()))
    assert "def forward(self, theta, x, y, h0):" in backends_text  # the real source, via snippets
    assert "torch.addmm(a_in, W, h[t], out=h[t + 1]).tanh_()" in backends_text


class VisibleText(html.parser.HTMLParser):
    """The text a reader sees: not scripts, styles or code."""

    SKIP = {"script", "style", "code", "pre", "mjx-assistive-mml", "math"}

    def __init__(self):
        super().__init__()
        self.depth, self.text = 0, []

    def handle_starttag(self, tag, attrs):
        self.depth += tag in self.SKIP

    def handle_endtag(self, tag):
        self.depth -= tag in self.SKIP

    def handle_data(self, data):
        if not self.depth:
            self.text.append(data)


@pytest.fixture(scope="module")
def server(site):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def chromium(*args, tmp: Path) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium here (Debian: apt-get install chromium; .ci/run installs it)")
    cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=15000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("page", ["model", "bptt", "adagrad", "optimizers", "gradcheck", "data", "backends", "runs"])
def test_a_browser_renders_the_maths(server, tmp_path, page):
    url = f"{server}/{page}/"
    dom = chromium("--dump-dom", url, tmp=tmp_path).stdout
    formulas = dom.count('class="arithmatex"')
    rendered = dom.count("<mjx-container")
    assert formulas > 0 and rendered >= formulas, (formulas, rendered)
    parser = VisibleText()
    parser.feed(dom)
    visible = "".join(parser.text)
    for raw in ("$", "\\(", "\\[", "\\frac", "\\tag"):
        assert raw not in visible, f"raw TeX {raw!r} left on {url}"
    shot = tmp_path / f"{page}.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,1600", url, tmp=tmp_path)
    assert shot.stat().st_size > 20_000  # a real page, not a blank one


# ---- every command shown in the docs runs ----

COMMAND = re.compile(r"(?:\.venv/bin/)?python cli\.py ([^`\n#]*)")


def shown_commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for m in COMMAND.finditer(page.read_text(encoding="utf-8")):
            found.append((page.name, m.group(1).strip()))
    return sorted(set(found))


def test_the_docs_show_commands():
    subcommands = {shlex.split(c)[0] for _, c in shown_commands()}
    assert {"train", "gradcheck", "sample", "bench", "backends"} <= subcommands


SIZE_OPTIONS = {"--epochs", "--updates", "--rounds", "--hidden", "--batch-size", "--checkpoint-every", "--sample-every"}


def rewrite(args: list[str], data: Path, run_dir, tmp: Path, k: int) -> list[str]:
    """The same command on a small text, with small sizes, writing into tmp (never into docs/)."""
    out, i = [], 0
    while i < len(args):
        a = args[i]
        if a in SIZE_OPTIONS:
            i += 2
            continue
        if a in ("goblet_book.txt", "PATH") or a.endswith(".txt"):
            a = str(data)
        elif a.startswith("runs/"):
            a = str(run_dir())
        elif a.startswith("docs/"):
            a = str(tmp / Path(a).name)
        out.append(a)
        i += 1
    sub = out[0] if out else ""
    if "--help" in out:
        return out
    if sub == "train":
        out += ["--updates", "60" if "--resume" in out else "30", "--sample-every", "20", "--checkpoint-every", "20"]
        if "--resume" not in out:
            out += ["--hidden", "8"] + (["--out", str(tmp / f"new{k}")] if "--out" not in out else [])
    elif sub == "bench":
        out += ["--updates", "2", "--rounds", "1", "--hidden", "8"] + ([] if "--data" in out else ["--data", str(data)])
    elif sub == "gradcheck":
        out += ["--hidden", "3"] + ([] if "--data" in out else ["--data", str(data)])
    return out


@pytest.mark.slow
@pytest.mark.parametrize("page, command", shown_commands())
def test_every_command_in_the_docs_runs(tmp_path, corpus_file, page, command):
    runner = CliRunner()
    made = []

    def run_dir():  # a fresh copy of a small trained run for each use
        base = tmp_path / "base"
        if not base.exists():
            r = runner.invoke(
                app,
                [
                    "train",
                    "--data",
                    str(corpus_file),
                    "--hidden",
                    "8",
                    "--updates",
                    "40",
                    "--sample-every",
                    "20",
                    "--out",
                    str(base),
                ],
            )
            assert r.exit_code == 0, r.output
        copy = tmp_path / f"run{len(made)}"
        shutil.copytree(base, copy)
        made.append(copy)
        return copy

    args = rewrite(shlex.split(command), corpus_file, run_dir, tmp_path, 0)
    for name in ("cupy", "torch"):
        if name in args:  # a GPU command: run it where it can run
            options = {"device": "cuda"} if "cuda" in args else {}
            skip_unless_runnable(name, options)
    r = runner.invoke(app, args)
    assert r.exit_code == 0, f"{page}: python cli.py {command}\n-> {args}\n{r.output}"


def test_the_adagrad_figure_script_runs(tmp_path):
    r = subprocess.run(
        [sys.executable, "docs/figures.py", str(tmp_path / "a.png")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.png").stat().st_size > 10_000
