"""Does torch.compile make the torch backend's update faster on the CPU? (docs/performance.md#compile)

    python docs/compile.py [--at M,B ...] [--rounds R] [--data PATH] [--markdown PATH]

Compiles the torch backend's whole update (TorchBackend._step_tensors: forward, BPTT, clipping,
AdaGrad) with torch.compile, whose CPU backend (inductor) writes C++ and builds it with g++;
times that compilation; checks that a compiled update gives the eager update's loss and
weights; then times NumPy, the eager torch backend and the compiled update in interleaved
rounds through the same contenders as `bench` (float64, tau = 25, goblet_book.txt if
--data is given, else the text of Python's docs), at each hidden size M and batch size B
given (default: 100,1 and 512,64). Writes a row per size to the table.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TORCHINDUCTOR_FORCE_DISABLE_CACHES", "1")  # time a cold compile, not inductor's disk cache

import numpy as np  # noqa: E402
import torch  # noqa: E402

import backends  # noqa: E402
from common.contract import Layout, Optimizer  # noqa: E402
from common.data import Streams, builtin_corpus, read_corpus  # noqa: E402
from common.tools import bench, machine  # noqa: E402
from common.weights import init_theta  # noqa: E402

OPT = Optimizer()  # AdaGrad with clipping: the assignment's


def compiled_contender(layout, theta0, streams) -> tuple[bench.Contender, float, float]:
    """The compiled update as a contender; the seconds its first call took (compiling), and how far
    its first update's weights are from the eager update's."""
    b = backends.load("torch", layout, "float64", device="cpu")
    b._threads(streams.B)  # the backend's thread rule, as its step would set it
    theta, state = b.to_device(theta0), b.to_device(np.zeros(layout.size))
    x, y = (b._ints(a) for a in streams.chunk(0))
    h0 = b.to_device(np.zeros((layout.m, streams.B)))
    eager = (theta.clone(), state.clone())
    b._step_tensors(*eager, x, y, h0, OPT, 1, 1.0)  # its workspace, made outside inference mode
    step = torch.compile(b._step_tensors)
    t0 = time.perf_counter()
    step(theta, state, x, y, h0, OPT, 1, 1.0)
    seconds = time.perf_counter() - t0
    gap = float((theta - eager[0]).abs().max())

    def update(x, y, h):
        loss, h = step(theta, state, b._ints(x), b._ints(y), h, OPT, 1, 1.0)
        return loss.item(), h.clone()

    return bench.Contender("torch, compiled", update, h0, streams, "torch"), seconds, gap


def point(corpus, m: int, B: int, rounds: int) -> str:
    """The table's row for hidden size m and batch size B."""
    layout = Layout(corpus.K, m)
    theta0, streams = init_theta(layout, 0.01, seed=1), Streams(corpus.ids, 25, B)
    compiled, seconds, gap = compiled_contender(layout, theta0, streams)
    print(f"m = {m}, B = {B}: compiling took {seconds:.1f} s; the weights after one compiled update differ from")
    print(f"  the eager update's by {gap:.1e} at most")
    eager = [
        bench.backend_contender(n, backends.load(n, layout, "float64", **o), theta0, streams)
        for n, o in (("numpy", {}), ("torch", {"device": "cpu"}))
    ]
    contenders = [*eager, compiled]
    times = bench.measure(contenders, updates=50, rounds=rounds, warmup=10, budget=0.1)
    results = {
        c.name: bench.Result(c.name, c.library, "float64", m, B, 25, n, 1, (*w,), (*cpu,), None)
        for c, (n, w, cpu) in zip(contenders, times.values())
    }
    ratio = {n: bench.paired(results[n], results["numpy"]) for n in ("torch", "torch, compiled")}
    for name, r in results.items():
        q1, q3 = r.ms_iqr
        vs = ratio.get(name, (1, 1, 1))
        print(
            f"  {name:<16}{r.ms_per_update:9.3f} ms [{q1:.3f}-{q3:.3f}]  {vs[0]:.2f}x numpy's [{vs[1]:.2f}-{vs[2]:.2f}]"
        )
    ms = " | ".join(f"{results[n].ms_per_update:.3g}" for n in ("numpy", "torch", "torch, compiled"))
    r1, r2 = (f"{r[0]:.2f} [{r[1]:.2f}-{r[2]:.2f}]" for r in ratio.values())
    return f"| {m} | {B} | {seconds:.0f} | {ms} | {r1} | {r2} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--at", action="append", help="hidden size and batch size, e.g. 100,1 (repeat)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--markdown", type=Path, default=ROOT / "docs" / "make" / "compile_table.md")
    args = ap.parse_args()
    corpus = read_corpus(args.data) if args.data else builtin_corpus()
    print(f"{machine.cpu()}, {machine.load()}; torch {torch.__version__}; float64, tau = 25, {args.rounds} rounds")
    rows = [
        f"| m | B | compiling, s | numpy, ms | torch, ms | compiled, ms | torch / numpy, median of {args.rounds} "
        "rounds [IQR] | compiled / numpy |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for at in args.at or ["100,1", "512,64"]:
        m, B = (int(v) for v in at.split(","))
        rows.append(point(corpus, m, B, args.rounds))
    args.markdown.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
