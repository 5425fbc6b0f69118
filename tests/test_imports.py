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
