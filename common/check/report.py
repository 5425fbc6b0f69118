"""What `check` found, as an object: the verdict, each regime's figures, the bugs named (docs: check.md).

`Report` is what `check_function` returns and `check FILE` prints (`str(report)`, within 80
columns); `to_json()` writes it with the field names as keys and `Report.from_json` reads it
back; a notebook shows `_repr_html_`, a table.
"""

import html
import json
from dataclasses import asdict, dataclass, field

NAMES = ("U", "W", "V", "b", "c")  # common/contract.py
VERDICTS = ("passed", "wrong", "not judged")
EXIT_CODES = {"passed": 0, "wrong": 1, "not judged": 2}
WIDTH = 80


@dataclass
class RegimeResult:
    """One regime: per parameter the rel_error (eq. 15) of their gradient against ours and against
    centred differences of their own loss (None where not measured), the loss's relative error."""

    name: str
    about: str
    rel_error: dict[str, float | None]  # keys U, W, V, b, c: against our reference
    own_rel_error: dict[str, float | None]  # keys U, W, V, b, c: against their own loss
    loss_error: float | None  # |theirs - ours| / |ours|
    h_tau_error: float | None  # rel_error of their h_tau (None: not returned)
    loss: float | None = None  # theirs, as the --loss they named (sum or mean)
    our_loss: float | None = None
    wrong: list[str] = field(default_factory=list)  # what is wrong here: some of U, W, V, b, c, loss, h_tau


@dataclass
class Report:
    """The verdict on one function: "passed", "wrong" (exit 1) or "not judged" (exit 2)."""

    verdict: str
    target: str
    seed: int
    regimes: list[RegimeResult] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)  # what is wrong, one line each
    bugs: list[str] = field(default_factory=list)  # catalogue names (common/check/catalogue.py)
    advice: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reason: str = ""  # why not judged, one line ("" when judged)
    output: str = ""  # what their code printed, shortened
    header: list[str] = field(default_factory=list)  # what was checked, in words
    calls: int = 0  # calls of their function
    seconds: float = 0.0  # wall time of the check
    passed: bool = field(init=False)
    exit_code: int = field(init=False)

    def __post_init__(self):
        assert self.verdict in VERDICTS, self.verdict
        self.passed = self.verdict == "passed"
        self.exit_code = EXIT_CODES[self.verdict]

    def to_json(self) -> str:
        """The report as JSON, keys the field names."""
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "Report":
        """A report written by to_json."""
        d = json.loads(text)
        for derived in ("passed", "exit_code"):
            d.pop(derived, None)
        d["regimes"] = [RegimeResult(**r) for r in d.get("regimes", [])]
        return cls(**d)

    def says(self) -> str:
        """The verdict in one line (a table of submissions)."""
        if self.verdict == "not judged":
            return f"NOT JUDGED: {self.reason}"
        if self.passed:
            return f"PASSED: {self.target}" + (f" ({len(self.warnings)} warning(s))" if self.warnings else "")
        return "FAILED: " + "; ".join(self.wrong)

    def __str__(self) -> str:
        lines = list(self.header)
        for r in self.regimes:
            lines += ["", *regime_table(r)]
        if self.output:
            lines += ["", captured(self.output)]
        lines.append("")
        lines += [f"warning: {w}" for w in self.warnings]
        if self.verdict == "not judged":
            lines.append(f"NOT JUDGED: {self.reason}")
        elif self.passed:
            n = len(self.regimes)
            lines.append(f"PASSED: in all {n} regimes every gradient, the loss and h_tau agree with ours")
        else:
            lines += ["FAILED:", *(f"  {w}" for w in self.wrong)]
        lines += self.advice
        return "\n".join(wrap(line) for line in lines)

    def _repr_html_(self) -> str:
        """A table per regime and the verdict, for a notebook."""
        e = html.escape
        colour = {"passed": "#1a7f37", "wrong": "#cf222e", "not judged": "#9a6700"}[self.verdict]
        out = [f"<p><b style='color:{colour}'>{e(self.verdict.upper())}</b> {e(self.target)}</p>"]
        if self.reason:
            out.append(f"<p>{e(self.reason)}</p>")
        for r in self.regimes:
            rows = [(f"d{n}", r.rel_error.get(n), r.own_rel_error.get(n), n in r.wrong) for n in NAMES]
            rows.append(("loss", r.loss_error, None, "loss" in r.wrong))
            if r.h_tau_error is not None:
                rows.append(("h_tau", r.h_tau_error, None, "h_tau" in r.wrong))
            cells = "".join(
                f"<tr><td>{what}</td><td>{number(a)}</td><td>{number(b)}</td><td>{'wrong' if bad else ''}</td></tr>"
                for what, a, b, bad in rows
            )
            out.append(
                f"<p><b>{e(r.name)}</b>: {e(r.about)}</p><table><tr><th></th><th>against ours</th>"
                f"<th>against your own loss</th><th></th></tr>{cells}</table>"
            )
        items = self.wrong + [f"warning: {w}" for w in self.warnings] + self.advice
        if items:
            out.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>")
        return "\n".join(out)


def captured(output: str) -> str:
    """What their code printed, indented under a title."""
    return "\n".join(["your code printed:", *("  " + line for line in output.splitlines())])


def number(x: float | None) -> str:
    return "" if x is None else f"{x:.1e}"


def regime_table(r: RegimeResult) -> list[str]:
    """One regime: each parameter's rel_error against ours and against their own loss, then the loss."""
    lines = [f"{r.name}: {r.about}", f"{'':<7}{'against ours':>14}{'against your own loss':>24}"]
    for n in NAMES:
        mark = "  wrong" if n in r.wrong else ""
        lines.append(f"{'d' + n:<7}{number(r.rel_error.get(n)):>14}{number(r.own_rel_error.get(n)):>24}{mark}")
    mark = "  wrong" if "loss" in r.wrong else ""
    values = "" if r.loss is None else f"   yours {r.loss:.12g}, ours {r.our_loss:.12g}"
    lines.append(f"{'loss':<7}{number(r.loss_error):>14}{values}{mark}")
    if r.h_tau_error is not None:
        lines.append(f"{'h_tau':<7}{number(r.h_tau_error):>14}" + ("  wrong" if "h_tau" in r.wrong else ""))
    return lines


OPERATORS = ("-", "+", "=", "*", "/", "x")


def units(line: str) -> list[str]:
    """The words of line, each 'a - b' (an operator between two words) kept as one."""
    words, out = line.split(" "), []
    i = 0
    while i < len(words):
        unit = words[i]
        while i + 2 < len(words) and words[i + 1] in OPERATORS and words[i + 2]:
            unit, i = f"{unit} {words[i + 1]} {words[i + 2]}", i + 2
        out.append(unit)
        i += 1
    return out


def wrap(line: str, width: int = WIDTH) -> str:
    """A line broken at spaces to fit width, its continuation indented by two."""
    if len(line) <= width:
        return line
    indent = "  " if not line.startswith(" ") else " " * (len(line) - len(line.lstrip()) + 2)
    out, current = [], ""
    for word in units(line):
        if current and len(current) + 1 + len(word) > width:
            out.append(current)
            current = indent + word
        else:
            current = f"{current} {word}" if current else word
    return "\n".join([*out, current])
