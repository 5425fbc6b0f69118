"""mkdocs hooks: the CLI reference from the Typer app, and MathJax served from the site itself.

- cli.md is generated at every build from `cli.app`, so it always matches `--help`.
- MathJax 3 comes from the PyPI package django-static-mathjax (installed with the docs extra)
  and is copied into the built site: the maths renders with no network at all.
"""

import shutil
import sys
from importlib import resources
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent


def cli_reference() -> str:
    sys.path.insert(0, str(ROOT))
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


def on_post_build(config):
    mathjax = resources.files("mathjax") / "static" / "mathjax" / "es5"
    shutil.copytree(str(mathjax), Path(config["site_dir"]) / "js" / "mathjax", dirs_exist_ok=True)
