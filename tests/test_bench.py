"""The benchmark's figures (docs: performance.md, scaling.md): median rounds, paired ratios, the sweep."""

import csv
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from backends.numpy_backend import NumpyBackend
from common.contract import Layout, Optimizer
from common.tools import bench, bench_report, sweep
from tests.conftest import assert_one_line_error, cli, skip_unless_runnable

ROOT = Path(__file__).resolve().parent.parent


def result(name: str, wall, cpu=None, **sizes) -> bench.Result:
    at = {"dtype": "float64", "m": 100, "B": 1, "tau": 25} | sizes
    return bench.Result(name, "numpy", *at.values(), 10, 1000, tuple(wall), tuple(cpu or wall), 1)


def test_each_result_is_the_median_round_with_its_spread(corpus):
    def make(layout, dtype, theta0, streams):
        return [bench.backend_contender("numpy", NumpyBackend(layout, dtype), theta0, streams)]

    (r,) = bench.run(corpus, make, ["float64"], [8], [1], [25], updates=2, rounds=9, warmup=1)
    assert len(r.wall) == len(r.cpu) == 9 and r.updates == 2
    assert r.ms_per_update == pytest.approx(1e3 * sorted(r.wall)[4])
    q1, q3 = r.ms_iqr
    assert 1e3 * min(r.wall) <= q1 <= r.ms_per_update <= q3 <= 1e3 * max(r.wall)
    assert r.chars_per_s == pytest.approx(25 / sorted(r.wall)[4])  # rates from the median round, never the fastest
    line = bench_report.row(r)
    shown = [r.ms_per_update, 1e3 * min(r.wall), 1e3 * max(r.wall), r.cpu_ms]
    assert line.split()[6:10] == [f"{v:.4f}" for v in shown]
    assert "median round" in bench_report.header(corpus, 2, 9, "now", ["numpy 2: OpenBLAS"])


def test_ratios_are_medians_of_paired_rounds_not_of_fastest_or_median_rounds():
    # per round torch / numpy = 3, 2, 4/3, 1, 5/9: median 4/3, IQR [1, 2]; yet the ratio of the
    # median rounds is 3/2 and of the fastest rounds 2/1
    torch, numpy = result("torch", [3, 2, 4, 2, 5]), result("numpy", [1, 1, 3, 2, 9])
    assert bench.paired(torch, numpy) == pytest.approx((4 / 3, 1, 2))
    yard = result(bench.YARDSTICK, [6, 4, 8, 4, 10])  # twice torch's time in every round
    lines = bench_report.ratios([numpy, torch, yard])
    assert "the median over the 5 rounds" in lines[0]
    at = lines.index("torch (float64, m=100, B=1, tau=25):")
    assert lines[at : at + 3] == [
        "torch (float64, m=100, B=1, tau=25):",
        "  1.33x numpy's time [1.00-2.00]",
        "  2.00 times as fast as min-char-rnn [2.00-2.00]",
    ]
    slow = result(bench.YARDSTICK, [1.5, 1, 1, 1, 2.5])  # half torch's time: torch takes twice as long
    assert "  takes 2.00 times as long as min-char-rnn [2.00-2.00]" in bench_report.ratios([numpy, torch, slow])


def test_a_busy_machine_is_said_in_one_line():
    assert bench_report.busy([result("numpy", [1, 1, 1], [0.9, 0.9, 0.9])]) is None
    line = bench_report.busy([result("numpy", [1, 1, 1], [0.9] * 3), result("torch", [1, 1, 1], [0.5] * 3)])
    assert "(torch)" in line and "\n" not in line


def test_slow_contenders_take_fewer_updates_per_round(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(bench.time, "perf_counter", lambda: now[0])

    class Fake(bench.Contender):
        def __init__(self, name, seconds):
            self.name, self.seconds, self.done = name, seconds, 0

        def update(self):
            now[0] += self.seconds
            self.done += 1

    fast, slow = Fake("fast", 1 / 1024), Fake("slow", 1 / 64)  # binary fractions: sums are exact
    times = bench.measure([fast, slow], updates=50, rounds=3, warmup=30, budget=5 / 64)
    assert times["fast"][0] == 50 and times["slow"][0] == 5  # rounds of 5/64 s: 5 updates of 1/64 s
    assert slow.done == 6 + 3 * 5  # its warm-up stopped once it passed the budget
    assert times["slow"][1] == [1 / 64] * 3


def test_the_flop_count_is_what_the_torch_backend_multiplies(corpus):
    """Every matrix product of a torch update, counted by torch itself, against sweep.flops."""
    skip_unless_runnable("torch", {"device": "cpu"})
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import backends

    K, m, B, tau = corpus.K, 7, 3, 5
    layout = Layout(K, m)
    b = backends.load("torch", layout, "float64", device="cpu")
    rng = np.random.default_rng(0)
    theta, M = b.to_device(rng.standard_normal(layout.size)), b.to_device(np.zeros(layout.size))
    x, y = rng.integers(0, K, (tau, B)), rng.integers(0, K, (tau, B))

    def addmm_(c, a, b, out_shape=None, **kwargs):  # the recurrence's in-place products
        return 2 * a[0] * a[1] * b[1]

    with FlopCounterMode(display=False, custom_mapping={torch.ops.aten.addmm_: addmm_}) as counter:
        b.step(theta, M, x, y, b.to_device(np.zeros((m, B))), Optimizer(), 1)
    assert counter.get_total_flops() == sweep.flops(K, m, B, tau)


def test_crossings_are_where_the_paired_ratio_passes_one():
    def row(B, ratio, spread=1.1):  # a point whose interquartile range is ratio / spread to ratio * spread
        return {"backend": "torch", "variant": "", "dtype": "float64", "B": B, "vs_numpy": ratio} | {
            "vs_numpy_q1": ratio / spread,
            "vs_numpy_q3": ratio * spread,
        }

    table = [row(1, 2.0), row(4, 1.0 / 2), row(16, 1.0 / 4)]
    numpy = {"backend": "numpy", "variant": "", "dtype": "float64", "B": 1, "vs_numpy": 1.0}
    ((name, dtype, at),) = sweep.crossings([*table, numpy], "B")
    assert (name, dtype) == ("torch", "float64") and at == pytest.approx(2.0)  # halfway in log B and log ratio
    tie = row(2, 0.9, spread=1.5)  # its range holds 1: a tie, not a crossing
    assert sweep.crossings([row(1, 2.0), tie, row(4, 2.0)], "B") == []
    assert sweep.crossings([row(1, 2.0), tie, row(4, 1 / 2)], "B")[0][2] == pytest.approx(2.0)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sweep", "batch"], "--sweep batch writes sweep-batch.csv and .png: give --out DIR"),
        (["--out", "{tmp}"], "--out is the folder --sweep writes into"),
        (["--sweep", "batch", "--out", "{tmp}", "--hidden", "8", "--hidden", "16"], "holds --hidden fixed"),
        (["--sweep", "hidden", "--out", "{tmp}", "--hidden", "0"], "--hidden must be a positive integer (got 0)"),
    ],
)
def test_sweep_options_are_checked_in_one_line(tmp_path, args, message):
    r = cli("bench", "--backend", "numpy", *[a.format(tmp=tmp_path) for a in args])
    assert_one_line_error(r, 2, message)


def test_a_sweep_writes_a_csv_with_both_backends_and_a_plot(corpus_file, tmp_path):
    skip_unless_runnable("torch", {"device": "cpu"})
    grid = ("--batch-size", 1, "--batch-size", 2, "--hidden", 8, "--updates", 2, "--rounds", 3, "--dtype", "float64")
    r = cli(
        "bench",
        "--sweep",
        "batch",
        "--backend",
        "numpy",
        "--backend",
        "torch",
        "--data",
        corpus_file,
        *grid,
        "--out",
        tmp_path,
    )
    assert r.exit_code == 0, r.output
    with open(tmp_path / "sweep-batch.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == sweep.COLUMNS
    points = {(row["backend"], row["variant"], row["B"]) for row in rows}
    assert {("numpy", "", "1"), ("numpy", "", "2"), ("torch", "", "1"), ("torch", "", "2")} <= points
    assert ("min-char-rnn", "yardstick", "1") in points and ("min-char-rnn", "yardstick", "2") not in points
    numpy = next(row for row in rows if row["backend"] == "numpy")
    assert float(numpy["vs_numpy"]) == 1 and numpy["threads"] and "numpy" in numpy["blas"] and numpy["machine"]
    assert (tmp_path / "sweep-batch.png").stat().st_size > 10_000
    assert f"wrote {tmp_path / 'sweep-batch.png'}" in r.output


def script(*args: str) -> str:
    r = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_the_threads_script_times_both_counts_and_says_the_rule(tmp_path):
    skip_unless_runnable("torch", {"device": "cpu"})
    table, rows = tmp_path / "threads.md", tmp_path / "threads.csv"
    tiny = "--hidden 8 --batch-size 1 --batch-size 2 --rounds 1".split()
    out = script("docs/threads.py", *tiny, "--csv", str(rows), "--markdown", str(table))
    assert "MIN_WORK = " in out and table.read_text().count("\n") == 4
    with open(rows, encoding="utf-8") as f:
        assert [int(r["work"]) for r in csv.DictReader(f)] == [2 * 8 * 8 * 1, 2 * 8 * 8 * 2]


def test_min_work_is_where_two_threads_pay_from_there_on():
    spec = importlib.util.spec_from_file_location("threads_script", ROOT / "docs" / "threads.py")
    threads = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(threads)
    rows = [{"work": w, "q3": q3} for w, q3 in ((1e3, 1.5), (1e4, 0.9), (1e5, 1.1), (1e6, 0.8), (1e7, 0.7))]
    assert threads.min_work(rows) == 1e6  # 1e4 paid, but 1e5 did not
    assert threads.min_work(rows[:3]) == float("inf")
    tie = [{"work": 1e5, "q3": 1.1}, {"work": 1e5, "q3": 0.9}, {"work": 1e6, "q3": 0.8}]  # m = 64, B = 16 vs m = 256
    assert threads.min_work(tie) == threads.min_work(tie[::-1]) == 1e6  # one point of a work that did not pay


def test_the_pages_tables_are_made_from_the_committed_measurements():
    spec = importlib.util.spec_from_file_location("bench_tables", ROOT / "docs" / "make" / "bench_tables.py")
    tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables)
    made = 0
    for path in sorted(tables.DATA.glob("bench_*.json")):
        committed = (tables.OUT / f"{path.stem}_table.md").read_text(encoding="utf-8")
        assert tables.bench_table(json.loads(path.read_text())) == committed, "run: python docs/make/bench_tables.py"
        made += 1
    for option in sweep.SWEEPS:
        committed = (tables.OUT / f"scaling_{option}_table.md").read_text(encoding="utf-8")
        table = sweep.read_csv(tables.DATA / f"sweep-{option}.csv")
        assert tables.scaling_table(table, option) == committed, "run: python docs/make/bench_tables.py"
        made += 1
    assert made == 6  # bench_cpu, bench_512x64, bench_512x64_blas1 and the three sweeps


def test_settle_waits_for_a_busy_thread_and_not_for_an_idle_process():
    """bench.settle: the next contender's round starts only once the last one's threads are quiet."""
    import threading

    stop = time.perf_counter() + 0.15

    def spin():  # a thread pool's worker spinning after its last job
        while time.perf_counter() < stop:
            pass

    worker = threading.Thread(target=spin)
    worker.start()
    t0 = time.perf_counter()
    bench.settle()
    waited = time.perf_counter() - t0
    worker.join()
    t0 = time.perf_counter()
    bench.settle()
    assert waited > 0.1 and time.perf_counter() - t0 < 0.1
