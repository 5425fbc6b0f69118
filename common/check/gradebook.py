"""What `grade` writes: gradebook.csv, a feedback.md per student, summary.md for the teacher (docs: teachers.md).

Every file is written whole (common/run/atomic.py): a crash leaves the old file or the new one.
"""

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from common.check import credit
from common.contract import NAMES
from common.run.atomic import write_text

COLUMNS = ["name", "verdict", "exit_code", "score", "max_score", "bugs"]
COLUMNS += [f"rel_error_{n}" for n in NAMES] + ["loss_error", "seconds", "note"]
PUBLISHED_SEED = 1  # check's default: the regimes every student can see
SLOWEST = 5  # submissions summary.md lists by time


@dataclass
class Graded:
    """One submission's result: its Report, the time it took, and the points it earned."""

    name: str  # its path relative to the argument it was found under
    report: object  # common.check.Report
    seconds: float
    score: float
    max_score: float

    @property
    def note(self) -> str:
        """Why it was not judged, in a line ("" when it was)."""
        return " ".join(self.report.reason.split())


def worst(values) -> float | None:
    """The largest of values, NaN counting as the largest; None when there is none."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return math.nan if any(math.isnan(v) for v in values) else max(values)


def row(g: Graded) -> dict:
    regimes = g.report.regimes if g.report.verdict != "not judged" else []
    errors = {f"rel_error_{n}": worst(r.rel_error.get(n) for r in regimes) for n in NAMES}
    errors["loss_error"] = worst(r.loss_error for r in regimes)
    shown = {k: "" if v is None else f"{v:.1e}" for k, v in errors.items()}
    return {
        "name": g.name,
        "verdict": g.report.verdict,
        "exit_code": g.report.exit_code,
        "score": credit.number(g.score),
        "max_score": credit.number(g.max_score),
        "bugs": "; ".join(g.report.bugs),
        **shown,
        "seconds": f"{g.seconds:.1f}",
        "note": g.note,
    }


def gradebook(rows: list[Graded]) -> str:
    """gradebook.csv: one row per submission, in name order."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row(g) for g in sorted(rows, key=lambda g: g.name))
    return out.getvalue()


def feedback(g: Graded, w: dict[str, float], seed: int, again: str) -> str:
    """feedback.md: the Report as the student reads it, the score and how it was made, and the seed."""
    lines = [
        f"# {g.name}",
        "",
        f"**{g.report.verdict}**: {credit.number(g.score)} of {credit.number(g.max_score)} points.",
        "",
        f"Checked with seed {seed}, which draws the weights of every regime: `{again}` shows the same.",
        "",
        "```text",
        str(g.report),
        "```",
        "",
        "## The points",
        "",
        "One item per regime for each gradient, the loss and h_tau; an item earns its points where the check "
        "finds it right.",
        "",
        "| regime | " + " | ".join("d" + k if k in NAMES else k for k in credit.KEYS) + " |",
        "|---|" + "---:|" * len(credit.KEYS),
    ]
    items = credit.items(g.report, w)
    for regime in credit.REGIMES:
        got = [i for i in items if i.regime == regime]
        lines.append(
            f"| {regime} | "
            + " | ".join(f"{credit.number(i.points)}/{credit.number(i.max_points)}" for i in got)
            + " |"
        )
    return "\n".join(lines) + "\n"


def summary(rows: list[Graded], seed: int, options: str, missing: int = 0) -> str:
    """summary.md: how many passed, were wrong, were not judged; each bug and who has it; the slowest."""
    count = Counter(g.report.verdict for g in rows)
    top = rows[0].max_score if rows else 0
    mean = sum(g.score for g in rows) / max(len(rows), 1)
    lines = [
        "# Class summary",
        "",
        f"{len(rows)} submissions: **{count['passed']} passed**, **{count['wrong']} wrong**, "
        f"**{count['not judged']} not judged**. Mean score {mean:.1f} of {credit.number(top)}.",
        "",
        f"Checked with `{options}`."
        + (
            " Seed 1 is check's default, which every student can run: give --seed for regimes the class has not seen."
            if seed == PUBLISHED_SEED
            else ""
        ),
    ]
    if missing:
        lines += ["", f"**Interrupted**: {missing} more submissions were not graded; grade again with --force."]
    bugs = Counter(b for g in rows for b in g.report.bugs)
    if bugs:
        lines += ["", "## Bugs", "", "| bug | submissions | who |", "|---|---:|---|"]
        for bug, n in sorted(bugs.items(), key=lambda kv: (-kv[1], kv[0])):
            who = ", ".join(sorted(g.name for g in rows if bug in g.report.bugs))
            lines.append(f"| {bug} | {n} | {who} |")
    unnamed = sorted(g.name for g in rows if g.report.verdict == "wrong" and not g.report.bugs)
    if unnamed:
        lines += ["", f"Wrong without a known bug: {', '.join(unnamed)} (their feedback says which gradients)."]
    judged = sorted((g for g in rows if g.report.verdict == "not judged"), key=lambda g: g.name)
    if judged:
        lines += ["", "## Not judged", "", "| submission | what happened |", "|---|---|"]
        lines += [f"| {g.name} | {g.note.replace('|', '/')} |" for g in judged]
    lines += ["", "## Slowest", "", "| submission | seconds | verdict |", "|---|---:|---|"]
    for g in sorted(rows, key=lambda g: -g.seconds)[:SLOWEST]:
        lines.append(f"| {g.name} | {g.seconds:.1f} | {g.report.verdict} |")
    return "\n".join(lines) + "\n"


def write(out: Path, rows: list[Graded], w: dict[str, float], seed: int, options: str, again, missing: int) -> None:
    """Every file: a feedback.md per submission, then summary.md, then gradebook.csv (the last one written)."""
    for g in rows:
        folder = out / g.name
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / "feedback.md", feedback(g, w, seed, again(g)))
    write_text(out / "summary.md", summary(rows, seed, options, missing))
    write_text(out / "gradebook.csv", gradebook(rows))
