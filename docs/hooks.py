"""mkdocs hooks: the CLI reference from the Typer app, generated figures in the pages, wide figures on a
phone, and MathJax served from the site itself.

- cli.md is generated at every build from `cli.app`, so it always matches `--help`.
- `{{ name.key }}` in a page is the figure `key` of docs/make/name.json, written there by the script
  that measured it; `{{ name.made }}` says where and when (docs/make/provenance.py). An unknown
  name or key stops the build. `{{ inputs.key }}` is counted at the build from the bad-input table
  itself (tests/test_inputs.py), so no count is typed by hand.
- A PNG too wide to be shown at half its width on a phone, with no phone version of its own (the
  classes `wide` and `phone`), keeps half its width there and scrolls in its own box.
- MathJax 3 comes from the PyPI package django-static-mathjax (installed with the docs extra)
  and is copied into the built site: the maths renders with no network at all. A notebook's
  markdown cells (mkdocs-jupyter) keep their $...$ as typed: they are wrapped as arithmatex wraps
  the pages' maths, so the same MathJax renders them.
"""

import json
import posixpath
import re
import shutil
import struct
import sys
from collections import Counter
from importlib import resources
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docs.make import provenance  # noqa: E402

FIGURE = re.compile(r"\{\{ (\w+)\.(\w+) \}\}")
PNG = re.compile(r'<img (?P<before>[^>]*)src="(?P<src>[^"]+\.png)"(?P<after>[^>]*)>')
PHONE_COLUMN = 358  # pixels: the content column of a 390-pixel phone
MARKDOWN_CELL = re.compile(r'(<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown[^>]*>)(.*?)(</div>)', re.S)
NOTEBOOK_MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)  # $$display$$ or $inline$


def bad_inputs() -> dict:
    """The bad-input table of tests/test_inputs.py, counted: in all and per command (runs.md#bad-input)."""
    try:
        from tests.test_inputs import CASES
    except ImportError as e:  # the table is a test module: it needs the dev extra (pytest)
        raise PluginError(f"{{{{ inputs.* }}}} counts tests/test_inputs.py: it needs {e.name} (.[dev])") from e

    per = Counter(command for command, *_ in CASES)
    listed = ", ".join(f"`{command}` {n}" for command, n in sorted(per.items(), key=lambda item: (-item[1], item[0])))
    return {"quote": {"total": f"{len(CASES)}", "commands": f"{len(per)}", "per_command": listed}}


LIVE = {"inputs": bad_inputs}  # figures counted at every build rather than measured once


def fill(markdown: str) -> str:
    """The page with every {{ name.key }} replaced by its generated figure."""
    loaded = {}

    def figure(m: re.Match) -> str:
        name, key = m.groups()
        path = ROOT / "docs" / "make" / f"{name}.json"
        if name in LIVE and name not in loaded:
            loaded[name] = LIVE[name]()
        if name not in loaded:
            if not path.is_file():
                raise PluginError(f"{m.group(0)}: no {path.relative_to(ROOT)}")
            loaded[name] = json.loads(path.read_text(encoding="utf-8"))
        data = loaded[name]
        if key == "made":
            return provenance.note(data["provenance"])
        if key not in data["quote"]:
            raise PluginError(f"{m.group(0)}: {path.relative_to(ROOT)} has no figure {key!r}")
        return data["quote"][key]

    return FIGURE.sub(figure, markdown)


def png_width(path: Path) -> int:
    with path.open("rb") as f:
        return struct.unpack(">I", f.read(24)[16:20])[0]  # IHDR: width, then height


def wide_figures(html: str, url: str, docs: Path) -> str:
    """Every PNG wider than two phone columns, without a phone version, in a box that scrolls on a phone."""

    def one(m: re.Match) -> str:
        tag, src = m.group(0), m.group("src")
        if "class=" in tag or "://" in src:
            return tag
        width = png_width(docs / posixpath.normpath(posixpath.join(url, src)))
        if width <= 2 * PHONE_COLUMN:
            return tag
        img = f'<img style="min-width: {width // 2}px" {m.group("before")}src="{src}"{m.group("after")}>'
        return f'<span class="figure-scroll"><span>{img}</span></span>'

    return PNG.sub(one, html)


def notebook_maths(html: str) -> str:
    """Every $...$ and $$...$$ of a rendered notebook's markdown cells as pymdownx.arithmatex writes maths."""

    def wrap(m: re.Match) -> str:
        if m[1] is not None:
            return f'<div class="arithmatex">\\[{m[1]}\\]</div>'
        return f'<span class="arithmatex">\\({m[2]}\\)</span>'

    return MARKDOWN_CELL.sub(lambda cell: cell[1] + NOTEBOOK_MATH.sub(wrap, cell[2]) + cell[3], html)


def cli_reference() -> str:
    import typer
    from typer.cli import get_docs_for_click

    from cli import app

    command = typer.main.get_command(app)
    for sub in command.commands.values():  # the summary list gets each command's whole first line,
        sub.short_help = (sub.help or "").strip().split("\n")[0]  # not click's 45 characters
    ctx = typer.Context(command)
    body = get_docs_for_click(obj=command, ctx=ctx, name="python cli.py", title="Command line reference")
    note = "Generated from the Typer app at every docs build, so it always matches `python cli.py --help`.\n\n"
    first, _, rest = body.partition("\n\n")
    return f"{first}\n\n{note}{rest}"


def on_files(files, config):
    files.append(File.generated(config, "cli.md", content=cli_reference()))
    return files


def on_page_markdown(markdown, page, config, files):
    return fill(markdown)


def on_page_content(html, page, config, files):
    if page.file.src_uri.endswith(".ipynb"):
        html = notebook_maths(html)
    return wide_figures(html, page.url, Path(config["docs_dir"]))


def on_post_build(config):
    mathjax = resources.files("mathjax") / "static" / "mathjax" / "es5"
    shutil.copytree(str(mathjax), Path(config["site_dir"]) / "js" / "mathjax", dirs_exist_ok=True)
