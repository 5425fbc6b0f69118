"""The command line, end to end on a tiny corpus (Typer's CliRunner), and its bad-input errors."""

import csv
import json

import pytest

from common.run.checkpoint import load_model
from tests.conftest import assert_one_line_error
from tests.conftest import cli as invoke


def test_train_writes_a_complete_run_folder(tmp_path, corpus_file, corpus):
    out = tmp_path / "run"
    r = invoke(
        "train",
        "--data",
        corpus_file,
        "--hidden",
        12,
        "--seq-length",
        10,
        "--updates",
        120,
        "--sample-every",
        50,
        "--out",
        out,
    )
    assert r.exit_code == 0, r.output
    assert "--- update 50, smooth loss" in r.output and "best smooth loss" in r.output
    for name in ("history.csv", "samples.txt", "best.npz", "best_sample.txt", "loss.png", "summary.json"):
        assert (out / name).is_file(), name
    rows = list(csv.reader((out / "history.csv").open()))
    assert rows[0] == ["update", "loss", "smooth_loss"] and len(rows) == 121
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 121))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["hidden"] == 12 and summary["config"]["eta"] == 0.1
    assert summary["corpus"] == {
        "name": "tiny.txt",
        "characters": len(corpus.text),
        "vocabulary": corpus.K,
        "sha256": summary["corpus"]["sha256"],
    }
    assert len(summary["corpus"]["sha256"]) == 64 and summary["results"]["updates"] == 120
    assert summary["timings"]["ms_per_update"] > 0 and summary["status"] == "completed"
    params, meta, h, _ = load_model(out / "best.npz")
    assert meta["chars"] == corpus.chars and params.W.shape == (12, 12) and h.shape == (12, 1)
    assert len((out / "best_sample.txt").read_text(encoding="utf-8")) == 1001
    assert (out / "samples.txt").read_text(encoding="utf-8").count("--- update") == 3  # 1, 50, 100


def test_train_without_data_says_which_corpus_and_how_to_switch(tmp_path):
    r = invoke("train", "--hidden", 8, "--updates", 3, "--sample-every", 0, "--out", tmp_path / "r")
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())  # its lines wrapped at 80 columns
    assert said.startswith("No --data given") and "Python's reference documentation" in said and "--data PATH" in said


def test_train_refuses_to_overwrite_a_run(tmp_path, corpus_file):
    out = tmp_path / "run"
    out.mkdir()
    (out / "history.csv").write_text("precious")
    r = invoke("train", "--data", corpus_file, "--updates", 2, "--out", out)
    assert_one_line_error(r, 2, "already exists")
    assert (out / "history.csv").read_text() == "precious"


def test_gradcheck_table_and_exit_code(corpus_file):
    r = invoke("gradcheck", "--backend", "numpy", "--data", corpus_file)
    assert r.exit_code == 0, r.output
    for name in ("U", "W", "V", "b", "c"):
        assert any(line.startswith(name + " ") for line in r.output.splitlines())
    assert "PASSED" in r.output


def test_gradcheck_json(corpus_file):
    r = invoke("gradcheck", "--json", "--data", corpus_file, "--batch-size", 2, "--hidden", 4)
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["passed"] is True and [one["regime"] for one in d["regimes"]] == ["handout", "realistic", "trained"]
    for one in d["regimes"]:
        assert one["backend"] == "numpy" and one["dtype"] == "float64" and one["passed"] is True
        assert set(one["params"]) == {"U", "W", "V", "b", "c"}
        for e in one["params"].values():
            assert set(e) == {"rel_error", "max_elem_rel_error", "max_abs_error"} and e["rel_error"] < 1e-6


def test_gradcheck_fails_with_a_bad_step(corpus_file):
    # h = 1 is far too coarse for centred differences: the check must say FAILED and exit 1
    r = invoke("gradcheck", "--data", corpus_file, "--step", 1.0, "--sigma", 1.0)
    assert r.exit_code == 1 and "FAILED" in r.output


def test_backends_lists_each_backend():
    r = invoke("backends")
    assert r.exit_code == 0
    assert r.output.splitlines()[0].startswith("numpy") and "available" in r.output


def test_bench_prints_side_by_side(corpus_file, tmp_path):
    r = invoke(
        "bench",
        "--data",
        corpus_file,
        "--dtype",
        "float64",
        "--hidden",
        8,
        "--updates",
        3,
        "--rounds",
        1,
        "--plot",
        tmp_path / "b.png",
        "--json",
        tmp_path / "b.json",
    )
    assert r.exit_code == 0, r.output
    assert "as fast as min-char-rnn" in r.output or "as long as min-char-rnn" in r.output
    rows = json.loads((tmp_path / "b.json").read_text())
    assert {row["name"] for row in rows} >= {"numpy", "min-char-rnn"} and (tmp_path / "b.png").stat().st_size > 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "/no/such/file.txt"], "does not exist"),
        (["--data", "{tmp}"], "is a directory"),
        (["--data", "{empty}"], "is empty"),
        (["--data", "{latin1}"], "not valid UTF-8: byte 3"),
        (["--data", "{short}"], "needs at least 26"),
        (["--hidden", "0"], "--hidden must be a positive integer"),
        (["--seq-length", "0"], "--seq-length must be a positive integer"),
        (["--batch-size", "0"], "--batch-size must be a positive integer"),
        (["--eta", "-1"], "--eta must be a positive number"),
        (["--sigma", "0"], "--sigma must be a positive number"),
        (["--batch-size", "400"], "shorter than one sequence"),
        (["--backend", "tensorflow"], "unknown backend 'tensorflow'; choose one of: numpy, torch, cupy"),
        (["--dtype", "float16"], "'float16' is not one of"),
        (["--hidden", "many"], "Invalid value for '--hidden'"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(tmp_path, corpus_file, args, message):
    files = {"tmp": tmp_path, "empty": tmp_path / "e.txt", "latin1": tmp_path / "l.txt", "short": tmp_path / "s.txt"}
    files["empty"].write_bytes(b"")
    files["latin1"].write_bytes("caf\u00e9".encode("latin-1") + b"   ")
    files["short"].write_text("too short")
    args = [a.format(**files) for a in args]
    if "--data" not in args:
        args += ["--data", str(corpus_file)]
    r = invoke("train", *args, "--out", tmp_path / "run")
    assert_one_line_error(r, 2, message)
    assert not (tmp_path / "run").exists()  # nothing half-made
