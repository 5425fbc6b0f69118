"""The docs: they build strictly, a real browser renders their maths, and every command they show runs."""

import html
import html.parser
import json
import re
import shlex
import shutil
import struct
import subprocess
import sys
import threading
import zlib
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import typer
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
    "--hide-scrollbars",  # as on a phone: scroll bars are drawn over the content, and only while scrolling
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
    cli_text = html.unescape(re.sub(r"<[^>]+>", "", cli_page))
    for sub in typer.main.get_command(app).commands.values():  # summaries whole, not cut at 45 characters
        first = sub.help.strip().split("\n")[0]
        assert cli_text.count(first) >= 2, first  # in the list of commands and in the command's own section
    notebooks = sorted((site / "notebooks" / "rendered").glob("*/index.html"))  # docs/make/notebooks.py's
    assert len(notebooks) == 6 and (site / "notebooks" / "index.html").is_file()
    for page in notebooks:  # offline: no script from elsewhere (mkdocs-jupyter's default MathJax is a CDN's)
        assert not re.findall(r'<script[^>]+src="(?:https?:)?//', page.read_text()), page
    backends_text = html.unescape(re.sub(r"<[^>]+>", "", (site / "backends" / "index.html").read_text()))
    assert "def forward(self, theta, x, y, h0):" in backends_text  # the real source, via snippets
    assert "h_next.addmm_(W, h_prev).tanh_()" in backends_text


class Rendered(html.parser.HTMLParser):
    """What a reader sees of a page: its prose (not scripts, styles or code), the text of its
    rendered maths (MathJax's assistive MathML), and how many formulas MathJax could not render."""

    SKIP = {"script", "style", "code", "pre", "svg"}

    def __init__(self):
        super().__init__()
        self.skip, self.math, self.prose, self.maths, self.errors = 0, 0, [], [], 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in self.SKIP
        self.math += tag == "math"
        self.errors += tag in ("merror", "mjx-merror")

    def handle_endtag(self, tag):
        self.skip -= tag in self.SKIP
        self.math -= tag == "math"

    def handle_data(self, data):
        if not self.skip:
            (self.maths if self.math else self.prose).append(data)


# mkdocs-jupyter's copy of each notebook cell's code, for its copy button: never shown (display: none)
HIDDEN_CODE = re.compile(r'<div class="clipboard-copy-txt"[^>]*>.*?</div>', re.S)
TEX_IN_PROSE = re.compile(r"\\|\$|[_^]\{")  # any backslash (a command, an escape, \( \[), a dollar, x_{ or x^{


def leftover_tex(dom: str) -> list[str]:
    """Every piece of TeX a reader would see: in the prose, in the rendered maths (a backslash there
    is a command MathJax printed literally, as a text-mode escape of an underscore is), or a MathJax error."""
    page = Rendered()
    page.feed(HIDDEN_CODE.sub("", dom))
    prose, maths = "".join(page.prose), "".join(page.maths)
    found = [prose[max(0, m.start() - 30) : m.end() + 30] for m in TEX_IN_PROSE.finditer(prose)]
    found += [maths[max(0, i - 30) : i + 30] for i, ch in enumerate(maths) if ch == "\\"]
    return found + ["a formula MathJax could not render"] * page.errors


def test_leftover_tex_finds_any_command_escape_or_dollar():
    clean = (
        "<p>the loss <mjx-container><mjx-assistive-mml><math><mi>L</mi></math></mjx-assistive-mml></mjx-container></p>"
    )
    assert leftover_tex(clean + "<pre><code>a \\alpha $x$</code></pre>") == []  # code may show TeX
    for bad in (
        "<p>an unknown \\operatorname command</p>",
        "<p>a dollar: $x$</p>",
        "<p>x_{t}</p>",
        "<p><math><mtext>rel\\_error</mtext></math></p>",
        "<p><mjx-merror>Undefined control sequence</mjx-merror></p>",
    ):
        assert leftover_tex(bad), bad


def site_pages() -> list[str]:
    """The path of every page of the site: each docs/**/*.md the site builds, each rendered notebook
    (docs/make/notebooks.py), and the generated CLI reference."""
    paths = []
    for md in sorted((ROOT / "docs").rglob("*.md")):
        if md.parent.name == "make":  # parts of pages, included by others (mkdocs.yml: exclude_docs)
            continue
        parts = md.relative_to(ROOT / "docs").with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "index" else parts
        paths.append("".join(f"{p}/" for p in parts))
    notebooks = [f"notebooks/rendered/{nb.stem}/" for nb in sorted((ROOT / "docs/notebooks/rendered").glob("*.ipynb"))]
    return paths + notebooks + ["cli/"]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


WIDTHS = (390, 1280)  # a phone held upright, and a laptop

# A page shown in an iframe of the given width (headless Chromium's window is at least 500 pixels
# wide): the iframe's media queries and layout are a phone's. When tests/layout_check.js has written
# its report inside, the report and the iframe's whole document are copied out for --dump-dom.
AT_WIDTH = """<!doctype html><html><body style="margin:0"><script>
const q = new URLSearchParams(location.search);
const f = document.createElement("iframe");
f.style.cssText = "border:0; display:block; height:2400px; width:" + q.get("width") + "px";
f.src = q.get("page");
document.body.appendChild(f);
(function copy() {
  const r = f.contentDocument && f.contentDocument.getElementById("layout-report");
  if (!r) return setTimeout(copy, 100);
  const page = f.contentDocument.documentElement.outerHTML;
  for (const [id, text] of [["layout-report", r.textContent], ["page-dom", page]]) {
    const out = document.createElement("pre");
    out.id = id;
    out.textContent = text;
    document.body.appendChild(out);
  }
})();
</script></body></html>"""


def png(width: int, height: int) -> bytes:
    """A grey PNG of that size, written without an image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + b"\x99" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# What the probe page holds: each item is fine at 1280 pixels and fails the layout check at 390.
PROBE = {
    "shown below half its natural width": '<p><img alt="probe" src="/_probe/wide.png"></p>',
    "SVG labels below 10 px": '<p><img alt="probe" src="/_probe/labels.svg"></p>',
    "scrolls without showing it": '<div class="arithmatex" style="background: none">\\[ '
    + " + ".join(f"x_{{{i}}}^2" for i in range(12))
    + " \\]</div>",
    "code broken across lines": "<table><tr><th>option</th><th>meaning</th></tr><tr><td>"
    '<code style="white-space: normal; word-break: break-all">--an-option-with-a-very-long-name</code></td>'
    "<td>" + "words that fill the cell " * 2 + "</td></tr></table>",
    "the page scrolls sideways": '<div style="width: 600px; height: 10px"></div>',
}
WRAPPED = '<pre><code style="white-space: pre-wrap">a table a command printed, its rows wrapped</code></pre>'
LABELS_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 100" width="100%">'
    '<text x="10" y="50" font-size="12">twelve units high: 5 pixels on a phone, 10 on a laptop</text></svg>'
)


@pytest.fixture(scope="module")
def server(site):
    """The built site over HTTP, with tests/layout_check.js added to every page, the page that shows
    a page at a given width, and a probe page (a real page of the site, its article replaced by PROBE)."""
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        page.write_text(text.replace("</body>", '<script src="/_layout_check.js"></script></body>'), encoding="utf-8")
    shutil.copy(ROOT / "tests" / "layout_check.js", site / "_layout_check.js")
    (site / "_at.html").write_text(AT_WIDTH)
    probe = site / "_probe"
    probe.mkdir()
    (probe / "wide.png").write_bytes(png(1000, 40))
    (probe / "labels.svg").write_text(LABELS_SVG)
    model = (site / "model" / "index.html").read_text(encoding="utf-8")
    head, rest = model.split('<article class="md-content__inner md-typeset">', 1)
    article = '<article class="md-content__inner md-typeset"><h1>Probe</h1>' + "".join(PROBE.values())
    (probe / "index.html").write_text(head + article + rest[rest.index("</article>") :], encoding="utf-8")
    (probe / "wrapped").mkdir()
    wrapped = '<article class="md-content__inner md-typeset"><h1>Probe</h1>' + WRAPPED
    (probe / "wrapped" / "index.html").write_text(head + wrapped + rest[rest.index("</article>") :], encoding="utf-8")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def chromium(*args, tmp: Path) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium here (Debian: apt-get install chromium; .ci/run installs it)")
    cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=15000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def at_width(server: str, page: str, width: int, tmp: Path) -> tuple[list[dict], str]:
    """What tests/layout_check.js found on the page at that width, and the page's rendered document."""
    url = f"{server}/_at.html?width={width}&page=/{page}"
    dom = chromium(f"--window-size={max(width, 500)},2400", "--dump-dom", url, tmp=tmp).stdout
    found = {k: re.search(rf'<pre id="{k}">(.*?)</pre>', dom, re.S) for k in ("layout-report", "page-dom")}
    assert all(found.values()), f"tests/layout_check.js did not run on {page} at {width} pixels"
    return json.loads(html.unescape(found["layout-report"].group(1))), html.unescape(found["page-dom"].group(1))


@pytest.mark.slow
def test_the_layout_check_fails_at_390_pixels_on_what_fits_at_1280(server, tmp_path):
    assert at_width(server, "_probe/", 1280, tmp_path)[0] == []
    found = at_width(server, "_probe/", 390, tmp_path)[0]
    for what in PROBE:
        assert any(f["what"].startswith(what) for f in found), (what, found)
    found = at_width(server, "_probe/wrapped/", 1280, tmp_path)[0]  # at every width
    assert [f["what"].split(":")[0] for f in found] == ["code wraps (white-space"], found


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", site_pages())
def test_a_browser_renders_every_page(server, tmp_path, page, width):
    """Chromium at a phone's and a laptop's width: the maths rendered, no TeX left, nothing cut off or
    wider than the page, code in its columns, figures at half their size or more, labels readable."""
    found, dom = at_width(server, page, width, tmp_path)
    formulas = dom.count('class="arithmatex"')
    assert dom.count("<mjx-container") >= formulas, page
    assert leftover_tex(dom) == [], f"TeX left on {page}"
    assert found == [], f"{page} at {width} pixels: {found}"
    article = Rendered()
    article.feed(dom[dom.index('class="md-content__inner') :])
    assert len("".join(article.prose).split()) > 50, f"{page}: no text"  # a real page, not a blank one


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


TEMPLATE = ROOT / "docs" / "examples" / "rnn.py"  # a correct student file


def notebook(path: Path) -> Path:
    """A notebook at path whose one code cell is the template."""
    cell = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": TEMPLATE.read_text()}
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


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
        elif a.startswith("docs/") and not a.startswith("docs/examples/"):  # examples are read, not written
            a = str(tmp / Path(a).name)
        elif a.endswith(".ipynb") and not (ROOT / a).exists():  # a student's notebook: the template in a cell
            a = str(notebook(tmp / a))
        elif a == "submissions/":  # a class: two copies of the template
            a = str(tmp / a)
            for name in ("ada.py", "bo.py"):
                (tmp / "submissions").mkdir(exist_ok=True)
                shutil.copy(TEMPLATE, tmp / "submissions" / name)
        elif args[i - 1] == "--out" and args[0] == "grade":
            a = str(tmp / a)
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
        if "--sweep" in out:  # a tiny grid of the swept size, not the default one
            swept = {"hidden": "--hidden", "batch": "--batch-size", "seq-length": "--seq-length"}[
                out[out.index("--sweep") + 1]
            ]
            out = [a for i, a in enumerate(out) if swept not in (a, out[i - 1])] + [swept, "2", swept, "3"]
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


def script(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


def test_the_per_call_script_prints_every_figure():
    out = script("docs/percall.py", "--repeats", "1").stdout
    rows = [line for line in out.splitlines() if line.startswith(("numpy", "torch"))]
    assert len(rows) >= 13 and all(float(r.split()[-2]) > 0 for r in rows)
