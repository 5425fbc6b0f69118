"""The benchmark's statistic (docs: performance.md): the fastest round, with the median and slowest beside it."""

from backends.numpy_backend import NumpyBackend
from common.tools import bench


def test_each_result_is_the_fastest_round_with_its_spread(corpus):
    def make(layout, dtype, theta0, streams):
        return [bench.backend_contender("numpy", NumpyBackend(layout, dtype), theta0, streams)]

    (r,) = bench.run(corpus, make, ["float64"], [8], [1], updates=2, rounds=9, warmup=1)
    assert 0 < r.ms_per_update <= r.ms_median <= r.ms_max
    assert r.cpu_ms_median > 0
    assert abs(r.chars_per_s - 25 / (r.ms_per_update / 1e3)) < 1e-6 * r.chars_per_s  # rates from the fastest round
    line = bench.row(r)
    assert line.split()[4:8] == [f"{v:.4f}" for v in (r.ms_per_update, r.ms_median, r.ms_max, r.cpu_ms_median)]
    assert "fastest round" in bench.header(corpus, 25, 2, 9, "now")
