"""A Report as Gradescope's results.json: one test per regime and item (docs: teachers.md#gradescope).

Gradescope's autograder specification: top-level score, execution_time, output and tests, each
test with name, score, max_score, status, output and visibility. The whole Report goes in the
top-level output, as `check` prints it; each test's output says what was measured.
"""

import json
from pathlib import Path

from common.check import credit
from common.run.atomic import write_text

VISIBILITY = "visible"  # Gradescope's other choices: hidden, after_due_date, after_published


def results(report, w: dict[str, float], seconds: float, seed: int, again: str) -> dict:
    """The results.json object for one submission."""
    tests = []
    for number, item in enumerate(credit.items(report, w), 1):
        tests.append(
            {
                "name": item.name,
                "number": str(number),
                "score": item.points,
                "max_score": item.max_points,
                "status": "passed" if item.points == item.max_points else "failed",
                "output": measured(item, report),
                "visibility": VISIBILITY,
            }
        )
    head = f"{report.verdict}: {credit.number(sum(t['score'] for t in tests))} of {credit.number(credit.max_score(w))}"
    return {
        "score": sum(t["score"] for t in tests),
        "execution_time": round(seconds),
        "output": f"{head}; checked with seed {seed} ({again})\n\n```\n{report}\n```\n",
        "output_format": "md",
        "visibility": VISIBILITY,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def measured(item: credit.Item, report) -> str:
    """What one test saw, in a line."""
    if report.verdict == "not judged":
        return "not judged: see the output above"
    if item.error is None:
        return "not returned" if item.key == "h_tau" else "not measured"
    what = {"loss": "relative difference of your loss"}.get(item.key, "rel_error against ours")
    return f"{what}: {item.error:.1e}" + ("" if item.points == item.max_points else " (wrong)")


def write(path: Path, report, w: dict[str, float], seconds: float, seed: int, again: str) -> None:
    write_text(path, json.dumps(results(report, w, seconds, seed, again), indent=2) + "\n")
