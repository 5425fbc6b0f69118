"""What a newcomer's first model writes on the built-in text (docs: data.md#what-a-model-writes).

    python docs/make/default_text.py

runs `python cli.py train` with the defaults (what `make train` runs) for seeds 1 to 3, each into a
folder of its own, then `python cli.py sample RUN` as a newcomer would. In best_sample.txt and in
sample's output it measures the share of characters that are not whitespace and the share of words
(runs of letters) that are words of the text. It writes docs/make/default_text.json,
docs/make/default_text_table.md and docs/make/default_text_sample.md (seed 1's first 200 characters).
"""

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from common.data import builtin_corpus  # noqa: E402
from docs.make import provenance  # noqa: E402

SEEDS, SHOWN = (1, 2, 3), 200
WORD = re.compile(r"[^\W\d_]+")  # a run of letters
DATA = Path(__file__).with_name("default_text.json")


def cli(*args: str) -> str:
    """What `python cli.py ARGS` prints on stdout."""
    done = subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout


def nonwhite(text: str) -> float:
    return sum(not c.isspace() for c in text) / len(text)


def known(text: str, words: set[str]) -> float:
    """The share of the words of text (runs of letters) that are words of the training text."""
    found = WORD.findall(text)
    return sum(w in words for w in found) / len(found) if found else 0.0


def model(seed: int, folder: Path, *train: str) -> dict:
    """One default run (train's defaults, or those of the extra options `train`) and what it writes."""
    cli("train", "--seed", str(seed), "--out", str(folder), *train)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    best = (folder / "best_sample.txt").read_text(encoding="utf-8").removesuffix("\n")
    return {"summary": summary, "best_sample": best, "sample": cli("sample", str(folder)).removesuffix("\n")}


def measure(runs: dict, corpus) -> dict:
    """Per seed: the updates, the best smooth loss, and the two shares in best_sample.txt and in sample's output."""
    words = set(WORD.findall(corpus.text))
    out = {}
    for seed, r in runs.items():
        s = r["summary"]
        out[seed] = {
            "updates": s["results"]["updates"],
            "best_smooth": s["results"]["best_smooth_loss"],
            **{f"nonwhite_{k}": nonwhite(r[k]) for k in ("best_sample", "sample")},
            **{f"words_{k}": known(r[k], words) for k in ("best_sample", "sample")},
        }
    return out


def table(d: dict) -> str:
    rows = [
        "| seed | updates | best smooth loss | not whitespace: best_sample.txt, `sample` "
        "| words of the text: best_sample.txt, `sample` |",
        "|---:|---:|---:|---:|---:|",
    ]
    for seed, r in d["seeds"].items():
        nonwhite_ = f"{r['nonwhite_best_sample']:.1%}, {r['nonwhite_sample']:.1%}"
        words_ = f"{r['words_best_sample']:.1%}, {r['words_sample']:.1%}"
        rows.append(f"| {seed} | {r['updates']:,} | {r['best_smooth']:.2f} | {nonwhite_} | {words_} |")
    return "\n".join(rows) + "\n"


def snippet(d: dict) -> str:
    """Seed 1's best_sample.txt, its first SHOWN characters, as a block the page includes."""
    return "".join(f"    {line}\n" if line else "\n" for line in d["first"].split("\n"))


def quotes(d: dict) -> dict:
    seeds = d["seeds"].values()
    return {
        "text_nonwhite": f"{d['text_nonwhite']:.1%}",
        "nonwhite_low": f"{min(min(r['nonwhite_best_sample'], r['nonwhite_sample']) for r in seeds):.1%}",
        "words_low": f"{min(min(r['words_best_sample'], r['words_sample']) for r in seeds):.0%}",
        "words_high": f"{max(max(r['words_best_sample'], r['words_sample']) for r in seeds):.0%}",
    }


def main() -> None:
    corpus = builtin_corpus()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {str(seed): model(seed, Path(tmp) / f"seed{seed}") for seed in SEEDS}
    d = {
        "text_nonwhite": nonwhite(corpus.text),
        "seeds": measure(runs, corpus),
        "first": runs[str(SEEDS[0])]["best_sample"][:SHOWN],
    }
    out = {"provenance": provenance.record(corpus), "quote": quotes(d), "run": d}
    DATA.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    DATA.with_name("default_text_table.md").write_text(table(d), encoding="utf-8")
    DATA.with_name("default_text_sample.md").write_text(snippet(d), encoding="utf-8")
    print(table(d), snippet(d), json.dumps(out["quote"], indent=1), sep="\n")


if __name__ == "__main__":
    main()
