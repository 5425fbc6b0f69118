"""The notebook track with its outputs, for the site: each notebook run at full size (docs: notebooks/index.md).

    python docs/make/notebooks.py               # every notebook -> docs/notebooks/rendered/NN-name.ipynb
    python docs/make/notebooks.py 03-bptt       # one of them

The sources (docs/notebooks/NN-name.ipynb) are committed without outputs; these copies are what
the site shows (mkdocs-jupyter with execute: false). Each starts with a provenance cell: where,
when and how long it ran, since its figures come from training runs and timings of this machine.
Links to the docs pages (../page.md) become the site's addresses of those pages.
"""

import os
import re
import sys
import time
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from common.data import builtin_corpus  # noqa: E402
from docs.make import provenance  # noqa: E402

TRACK = ROOT / "docs" / "notebooks"
OUT = TRACK / "rendered"


def site_links(markdown: str) -> str:
    """../page.md#anchor -> ../../../page/#anchor: a rendered notebook's address is notebooks/rendered/NN-name/."""
    return re.sub(r"\]\(\.\./([\w-]+)\.md(#[\w-]*)?\)", lambda m: f"](../../../{m[1]}/{m[2] or ''})", markdown)


def made(seconds: float) -> str:
    """The provenance cell's text."""
    p = provenance.record(builtin_corpus(), torch=True)
    text = p["text"]
    return (
        f"*This page is the notebook run top to bottom by `docs/make/notebooks.py` on {p['date']}, in "
        f"{seconds:.0f} s, on {p['cpu']} ({p['os']}), Python {p['python']}, NumPy {p['numpy']}, "
        f"PyTorch {p['torch']}; the text is {text['name']} ({text['characters']:,} characters, K = "
        f"{text['K']}, sha256 `{text['sha256'][:12]}`). Losses, samples and timings come from this "
        "machine: another one gives other digits ([why](../../../determinism/)). The notebook itself, "
        "without outputs, is `docs/notebooks/`; its students' copy, `docs/notebooks/students/`.*"
    )


def render(source: Path) -> Path:
    """Run one notebook at full size and write its rendered copy."""
    nb = nbformat.read(source, as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": TRACK}}).execute()
    seconds = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timestamps: noise in the diff
        if cell.cell_type == "markdown":
            cell.source = site_links(cell.source)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(made(seconds), id="provenance"))
    OUT.mkdir(exist_ok=True)
    target = OUT / source.name
    nbformat.write(nb, target)
    return target


if __name__ == "__main__":
    os.environ.pop("NOTEBOOKS_QUICK", None)  # full size: the kernel inherits this environment
    names = sys.argv[1:] or [p.stem for p in sorted(TRACK.glob("[0-9][0-9]-*.ipynb"))]
    for name in names:
        print(render(TRACK / f"{name}.ipynb").relative_to(ROOT), flush=True)
