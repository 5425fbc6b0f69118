"""Heavy libraries load only with the backend that needs them."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(__file__))

CODE = """
import sys
import cli
from typer.testing import CliRunner
r = CliRunner().invoke(cli.app, ["gradcheck", "--backend", "numpy", "--hidden", "3", "--seq-length", "5"])
assert r.exit_code == 0, r.output
r = CliRunner().invoke(cli.app, ["train", "--updates", "3", "--hidden", "4", "--out", sys.argv[1]])
assert r.exit_code == 0, r.output
heavy = sorted(m for m in ("torch", "cupy") if m in sys.modules)
print("heavy:", heavy)
"""


def test_cli_and_numpy_backend_never_import_torch_or_cupy(tmp_path):
    r = subprocess.run([sys.executable, "-c", CODE, str(tmp_path / "run")], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "heavy: []" in r.stdout


def imported(path: str) -> set[str]:
    """Every module a file imports, top level or inside a function."""
    import ast

    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def python_files(folder: str) -> list[str]:
    top = os.path.join(ROOT, folder)
    return [os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs if f.endswith(".py")]


def test_the_layout_keeps_its_boundaries():
    """DESIGN.md: common/ never imports cupy, torch or typer; backends/ never imports common/run/, tools/ or check/."""
    for path in python_files("common"):
        bad = {m for m in imported(path) if m.split(".")[0] in ("cupy", "torch", "typer", "cli", "cli_options")}
        assert not bad, f"{path} imports {bad}"
    for path in python_files("backends"):
        bad = {m for m in imported(path) if m.startswith(("common.run", "common.tools", "common.check"))}
        assert not bad, f"{path} imports {bad}"
    core = {f for f in os.listdir(os.path.join(ROOT, "common")) if f.endswith(".py")}
    assert core == {
        f"{m}.py" for m in ("__init__", "contract", "data", "sampling", "gradcheck", "rng", "weights", "errors")
    }
