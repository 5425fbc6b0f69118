"""What the hidden units of the goblet model track (docs: neurons.md).

    python docs/make/neurons.py goblet_book.txt

takes the default run of docs/make/runfolders.py (trained now if it is not there) and, with the
model `python cli.py neurons` reads by default (best.npz, from the hidden state saved with it),
finds the unit that tracks each feature best on docs/passage.txt and on the book's first 200,000
characters; measures how well the model reads the passage from best.npz's state, from the
checkpoint's and from h = 0; counts how long the book's quotations and paragraphs are; and takes
a screenshot (Chromium) of the page the command writes for four features. It writes
docs/make/neurons.json, docs/make/neurons_table.md and docs/img/neurons_<feature>.png.
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from common.data import encode, read_corpus  # noqa: E402
from common.tools import neurons  # noqa: E402
from docs.make import provenance  # noqa: E402
from docs.make.runfolders import ensure  # noqa: E402

PASSAGE = ROOT / "docs" / "passage.txt"
BOOK_LENGTH = 200_000
SHOTS = ("vowel", "space", "sentence-end", "quotes")
SHOT_SIZE = "700,700"  # pixels: shown at half its width or more on a 390-pixel phone
DATA = Path(__file__).with_name("neurons.json")


def reading(path: Path, text: str, h0: np.ndarray | None = None) -> tuple[np.ndarray, float, list]:
    """h_t over text (warmed up on text itself, as the command does at the start of a text), its bits per
    character and the picks, for the model in path, from its own saved state or from h0."""
    params, meta, h, _ = neurons.model(path)
    ids = encode(text, meta["chars"])
    H = neurons.activations(params, ids, ids, h if h0 is None else h0)  # (T, m)
    return H, neurons.bits_per_char(params, H, ids), neurons.pick(H, text, list(neurons.FEATURES))


def lengths(book: str) -> dict:
    """How many characters a quotation and a paragraph of the book span."""
    quotes = np.array([len(q) for q in re.findall(r'"[^"]*"', book)])
    lines = np.array([len(line) for line in book.split("\n") if line.strip()])
    return {
        "quotes": len(quotes),
        "quote_mean": float(quotes.mean()),
        "quote_median": float(np.median(quotes)),
        "quote_over_25": float((quotes > 25).mean()),
        "line_median": float(np.median(lines)),
    }


def screenshots(run: Path) -> None:
    """The page `neurons` writes for each of SHOTS, its top 700 x 700 pixels."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as tmp:
        for feature in SHOTS:
            page = Path(tmp) / f"{feature}.html"
            cli = [
                sys.executable,
                "cli.py",
                "neurons",
                str((run / "best.npz").relative_to(ROOT)),
                "--data",
                "docs/passage.txt",
            ]
            subprocess.run([*cli, "--feature", feature, "--out", str(page)], cwd=ROOT, check=True, capture_output=True)
            shot = ROOT / "docs" / "img" / f"neurons_{feature}.png"
            flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={tmp}/p"]
            subprocess.run(
                [browser, *flags, f"--window-size={SHOT_SIZE}", f"--screenshot={shot}", page.as_uri()],
                check=True,
                capture_output=True,
            )


def record(data: Path) -> dict:
    run = ensure("classic", data)
    text, book = PASSAGE.read_text(encoding="utf-8"), read_corpus(data).text
    H, bits, picks = reading(run / "best.npz", text)
    _, bits_last, _ = reading(run / "checkpoint.npz", text)
    _, bits_zero, _ = reading(run / "best.npz", text, np.zeros(H.shape[1]))
    _, _, book_picks = reading(run / "best.npz", book[:BOOK_LENGTH])
    screenshots(run)
    return {
        "passage": {f: [u, r, a] for f, u, r, a in picks},
        "book": {f: [u, r, a] for f, u, r, a in book_picks},
        "bits": {"best": bits, "last": bits_last, "zero": bits_zero},
        "lengths": lengths(book),
    }


def table(d: dict) -> str:
    rows = [
        "| `--feature` | passage: unit | r | all units | book: unit | r | all units |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    order = sorted(d["passage"], key=lambda f: -abs(d["passage"][f][1]))
    for f in order:
        (u, r, a), (bu, br, ba) = d["passage"][f], d["book"][f]
        rows.append(f"| `{f}` | {u} | {r:+.2f} | {a:+.2f} | {bu} | {br:+.2f} | {ba:+.2f} |")
    return "\n".join(rows) + "\n"


def quotes(d: dict) -> dict:
    out = {f"bits_{k}": f"{v:.2f}" for k, v in d["bits"].items()}
    for where in ("passage", "book"):
        for f, (u, r, a) in d[where].items():
            key = f"{where}_{f.replace('-', '_')}"
            out |= {f"{key}_unit": str(u), f"{key}_r": f"{r:+.2f}", f"{key}_all": f"{a:+.2f}"}
    n = d["lengths"]
    out |= {
        "quotes": f"{n['quotes']:,}",
        "quote_mean": f"{n['quote_mean']:.0f}",
        "quote_median": f"{n['quote_median']:.0f}",
        "quote_over_25": f"{n['quote_over_25']:.0%}",
        "line_median": f"{n['line_median']:.0f}",
        "vowel_variance": f"{d['passage']['vowel'][1] ** 2:.0%}",
    }
    return out


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__.splitlines()[2].strip())
    data = Path(sys.argv[1])
    d = json.loads(json.dumps(record(data)))
    out = {"provenance": provenance.record(read_corpus(data)), "quote": quotes(d), "run": d}
    DATA.write_text(json.dumps(out, indent=1) + "\n")
    DATA.with_name("neurons_table.md").write_text(table(d))
    print(table(d), json.dumps(out["quote"], indent=1), sep="\n")


if __name__ == "__main__":
    main()
