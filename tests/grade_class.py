"""A class of 30 submissions written for grade's test (and the docs' example): each with the row it must get.

Most are the template (docs/examples/rnn.py) with one line changed, the way students change it;
the rest are what a class hands in besides: float32, clipping, state kept between calls, a slow
function, one that hangs, exits, reads stdin, imports a module of its folder, a notebook.
`write(folder)` makes the class; CLASS says, per name, the verdict and the bugs its row must have.
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "docs" / "examples" / "rnn.py"

TANH = "da = dh * (1 - H[:, [t + 1]] ** 2)"
DW = 'grads["W"] += da @ H[:, [t]].T'
DH = "dh = V.T @ g + W.T @ da_next"
RETURN = "return loss, grads, H[:, [tau]]"
GRADS = 'grads = {"U": np.zeros_like(U), "W": np.zeros_like(W), "V": np.zeros_like(V)}'
SOFTMAX = "P[:, [t]] = e / np.sum(e)"

# name: (the changes to the template, as (line, new line) pairs; the verdict; the bugs its row names)
MUTANTS = {
    "alice.py": ([], "passed", ()),
    "float32.py": ([("H = np.zeros((m, tau + 1))", "H = np.zeros((m, tau + 1), dtype=np.float32)")], "passed", ()),
    "chatty.py": ([(SOFTMAX, f"{SOFTMAX}\n        print('step', t, 'of', tau)")], "passed", ()),
    "slow.py": ([(RETURN, f"__import__('time').sleep(0.05)\n    {RETURN}")], "passed", ()),
    "reads_stdin.py": ([(RETURN, f"__import__('sys').stdin.read()\n    {RETURN}")], "passed", ()),
    "tanh_from_a.py": ([(TANH, "da = dh * (1 - A[:, [t]] ** 2)")], "wrong", ("tanh' from a",)),
    "dw_with_h_t.py": ([(DW, 'grads["W"] += da @ H[:, [t + 1]].T')], "wrong", ("dW with h_t",)),
    "dw_without_h0.py": ([(DW, 'grads["W"] += (t > 0) * (da @ H[:, [t]].T)')], "wrong", ("dW without h_0",)),
    "no_recurrence.py": ([(DH, "dh = V.T @ g")], "wrong", ("no W^T da_{t+1}",)),
    "no_tanh_prime.py": ([(TANH, "da = dh")], "wrong", ("no tanh'",)),
    "du_by_y.py": ([('grads["U"] += da @ X[:, [t]].T', 'grads["U"] += da @ Y[:, [t]].T')], "wrong", ("dU by y",)),
    "dc_one_step.py": ([('grads["c"] += g', 'grads["c"] = g')], "wrong", ("dc from one step",)),
    "p_not_p_minus_y.py": ([("g = P[:, [t]] - Y[:, [t]]", "g = P[:, [t]].copy()")], "wrong", ("p, not p - y",)),
    "h0_ignored.py": ([("H[:, [0]] = h0", "H[:, [0]] = 0 * h0")], "wrong", ("h0 ignored",)),
    "scaled.py": (
        [(RETURN, "return loss, {k: v / tau for k, v in grads.items()}, H[:, [tau]]")],
        "wrong",
        ("gradient scaled",),
    ),
    "clipped.py": (
        [(RETURN, "return loss, {k: np.clip(v, -5, 5) for k, v in grads.items()}, H[:, [tau]]")],
        "wrong",
        ("clipped",),
    ),
    "float32_tanh.py": (
        [
            ("H = np.zeros((m, tau + 1))", "H = np.zeros((m, tau + 1), dtype=np.float32)"),
            (TANH, "da = dh * (1 - A[:, [t]] ** 2)"),
        ],
        "wrong",
        ("tanh' from a",),
    ),
    "clipped_dw.py": (
        [
            (DW, 'grads["W"] += (t > 0) * (da @ H[:, [t]].T)'),
            (RETURN, "return loss, {k: np.clip(v, -5, 5) for k, v in grads.items()}, H[:, [tau]]"),
        ],
        "wrong",
        ("dW without h_0",),
    ),
    "stateful.py": (
        [
            (GRADS, "grads = STATE or STATE.update(U=0 * U, W=0 * W, V=0 * V) or STATE"),
            ("import numpy as np", "import numpy as np\n\nSTATE = {}"),
        ],
        "wrong",
        (),
    ),
    "hangs.py": ([(RETURN, f"while True:\n        pass\n    {RETURN}")], "not judged", ()),
    "exits.py": ([(RETURN, f"__import__('os')._exit(0)\n    {RETURN}")], "not judged", ()),
    "sys_exit.py": ([(RETURN, f"raise SystemExit(0)\n    {RETURN}")], "not judged", ()),
    "asks.py": ([(RETURN, f"input('go on? ')\n    {RETURN}")], "not judged", ()),
    "syntax.py": ([("m = W.shape[0]", "m = W.shape[0")], "not judged", ()),
    "trains_at_import.py": ([(RETURN, f"{RETURN}\n\n\nwhile True:  # training, forever\n    pass")], "not judged", ()),
    "crashes.py": (
        [(RETURN, f"__import__('ctypes').string_at(0)  # a segmentation fault\n    {RETURN}")],
        "not judged",
        (),
    ),
}
# the rest: a student's folder importing its sibling module, a notebook, a folder holding nothing to check
OTHERS = {
    "erin": ("passed", ()),
    "frank.ipynb": ("passed", ()),
    "gina": ("not judged", ()),
    "hugo": ("wrong", ("dU by y",)),
}
CLASS = {name: (verdict, bugs) for name, (_, verdict, bugs) in MUTANTS.items()} | OTHERS
EXACT = {"clipped_dw.py": False, "float32_tanh.py": False}  # a bug with another: its name is among those named


def mutant(changes: list[tuple[str, str]]) -> str:
    text = TEMPLATE.read_text(encoding="utf-8")
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def notebook(source: str) -> str:
    """An .ipynb whose cells define loss_and_grads, and then train forever below it (definitions-only skips it)."""
    cells = [
        ("markdown", "# Assignment 4"),
        ("code", "%matplotlib inline\nimport numpy as np"),
        ("code", source),
        ("code", "!nvidia-smi\nwhile True:  # train\n    pass"),
    ]
    return json.dumps(
        {
            "cells": [
                {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True)}
                | ({"outputs": [], "execution_count": None} if kind == "code" else {})
                for kind, text in cells
            ],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )


def write(folder: Path) -> Path:
    """The class in folder (made): 30 submissions."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (changes, _, _) in MUTANTS.items():
        (folder / name).write_text(mutant(changes), encoding="utf-8")
    erin = folder / "erin"
    erin.mkdir()
    (erin / "helpers.py").write_text(
        "import numpy as np\n\n\ndef softmax(o):\n    e = np.exp(o - np.max(o))\n    return e / np.sum(e)\n"
    )
    (erin / "rnn.py").write_text(
        mutant(
            [
                ("        e = np.exp(o - np.max(o))  # the shift keeps exp from overflowing\n", ""),
                (SOFTMAX, "P[:, [t]] = softmax(o)"),
                ("import numpy as np", "import numpy as np\nfrom helpers import softmax"),
            ]
        )
    )
    (folder / "frank.ipynb").write_text(notebook(mutant([]).split('"""', 2)[2]), encoding="utf-8")
    (folder / "gina").mkdir()
    (folder / "gina" / "notes.txt").write_text("I will hand it in tomorrow")
    hugo = folder / "hugo"
    hugo.mkdir()
    (hugo / "plot.py").write_text("import matplotlib\n")
    (hugo / "rnn.py").write_text(mutant([('grads["U"] += da @ X[:, [t]].T', 'grads["U"] += da @ Y[:, [t]].T')]))
    return folder


def a_seed_where_clipping_shows() -> int:
    """The first seed of a teacher's own (from 2: every student has seed 1) at which one of our gradient
    entries passes the clip (5) in some regime of check's defaults (m = 5, tau = 25, the built-in text):
    there clipping at 5, as clipped.py does, shows."""
    import numpy as np

    from common.check import catalogue, regimes
    from common.contract import CLIP, Layout
    from common.data import builtin_corpus
    from common.run.presets import PRESETS

    corpus = builtin_corpus()
    layout = Layout(corpus.K, 5)
    for seed in range(2, 100):
        for r in regimes.regimes(layout, corpus, PRESETS["classic"], 25, 1, seed):
            _, grads, _ = catalogue.loss_and_grads(*layout.unpack(r.theta), r.x[:, 0], r.y[:, 0], r.h0)
            if max(np.abs(g).max() for g in grads.values()) > CLIP:
                return seed
    raise AssertionError("no seed from 2 to 99 where a gradient entry passes the clip")
