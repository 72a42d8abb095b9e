"""7. Scaling: time against problem size, as a fitted exponent, against the one expected.

Each sweep times its computations at several sizes (in turns, median of several runs) and
fits ``time ~ size**k`` by least squares on log-log axes.

For the loss surface the expected k is the FLOP count's: its work is elementwise arithmetic,
whose rate per grid point is flat once the grid is large enough to hide per-call overhead.

For the training step the expected k is its floor's: the same matrix products, timed alone
in the same run (``benchmarks.step.matmul_floor``). That is the FLOP count as this BLAS runs
it. A product's FLOP rate climbs with its size, here from 112 GFLOP/s at 1448 wide to 137 at
4096 wide (784-w-w-10, batch 512, 2 threads of OpenBLAS), so the products themselves grow
with a smaller k than their FLOP count (1.63 against 1.82 there), however large the sweep.
The step matching its floor's k says that everything it adds to the products grows no
faster than they do. The FLOP count's k and the floor's rate are printed beside it.
"""

from __future__ import annotations

import numpy as np

from benchmarks._common import Table, Target, fitted_exponent, median_times, runs
from benchmarks.step import fast_step, matmul_floor, problem, pure_step, step_flops
from refimpl import loss_surface
from refimpl.examples import EXAMPLE_PAIR, example_network
from refimpl.surface import parameter_entries

TOLERANCE = 0.15
REPEATS = 5
WIDTHS = [512, 724, 1024, 1448, 2048]  # 784-w-w-10, batch WIDTH_BATCH: sqrt(2) apart
WIDTH_BATCH = 256
BATCHES = [256, 512, 1024, 2048, 4096]  # 784-BATCH_WIDTH-BATCH_WIDTH-10
BATCH_WIDTH = 512
GRIDS = [100, 141, 200, 283, 400]  # loss surface: G = side**2 grid points, 200 samples


def exponents(times: dict, sizes) -> float:
    return fitted_exponent(sizes, [times[size] for size in sizes])


def step_sweep(table: Table, axis: str, sizes, problem_at, repeats: int) -> None:
    """MLPTrainer.step and the pure step over one axis, each against its floor's k.

    ``problem_at(size)`` gives the (layer sizes, batch size) at that size. The pure step
    also computes dL/dX, so its floor does too. The four are timed in turns size by size,
    so that a step and its floor share the machine's state (caches, BLAS threads, load).
    """
    times = {}
    for size in sizes:
        X, y, params = problem(*problem_at(size))
        times |= median_times({
            ("fast", size): fast_step(X, y, params),
            ("pure", size): pure_step(X, y, params),
            ("floor", size): matmul_floor(X, params),
            ("pure floor", size): matmul_floor(X, params, input_gradient=True),
        }, repeats)
    short = axis.split(" (")[0]
    for kind, label, input_gradient in (
        ("fast", f"MLPTrainer.step vs {axis}", False),
        ("pure", f"  pure step vs {short}", True),
    ):
        floor = "pure floor" if input_gradient else "floor"
        measured = exponents({size: times[kind, size] for size in sizes}, sizes)
        expected = exponents({size: times[floor, size] for size in sizes}, sizes)
        flops = {size: step_flops(*problem_at(size), input_gradient) for size in sizes}
        rates = [flops[size] / times[floor, size] / 1e9 for size in sizes]
        spread = ", ".join(f"{size}: {times[kind, size] * 1e3:.3g}" for size in sizes)
        table.add(label, measured, "", Target("within", expected, tolerance=TOLERANCE),
                  note=f"FLOP count's k {exponents(flops, sizes):.2f}; floor at "
                       f"{min(rates):.0f}-{max(rates):.0f} GFLOP/s; ms at {spread}")


def run(quick: bool = False, repeats: int = REPEATS) -> Table:
    repeats = 1 if quick else repeats
    widths, batches, grids = ([8, 16], [8, 16], [5, 10]) if quick else (WIDTHS, BATCHES, GRIDS)
    # the fixed sizes: inputs, the width of the batch sweep, the batch of the width sweep
    d_in, width, n = (32, 16, 8) if quick else (784, BATCH_WIDTH, WIDTH_BATCH)
    table = Table(
        f"7. Scaling: fitted exponent k of time ~ size**k, against the k expected "
        f"(median of {runs(repeats)} per size)",
        quick=quick,
    )
    step_sweep(table, f"width w ({d_in}-w-w-10, batch {n}), w = {widths}", widths,
               lambda w: ([d_in, w, w, 10], n), repeats)
    step_sweep(table, f"batch n ({d_in}-{width}-{width}-10), n = {batches}", batches,
               lambda b: ([d_in, width, width, 10], b), repeats)

    X, y, networks = example_network()
    params = networks["trained"]
    entries = parameter_entries(params)
    pair = entries[EXAMPLE_PAIR[0]], entries[EXAMPLE_PAIR[1]]

    def surface_at(side):
        values = [params[name][index] + np.linspace(-3, 3, side) for name, index in pair]
        return lambda: loss_surface(X, y, params, *pair, *values)

    times = median_times({side: surface_at(side) for side in grids}, repeats)
    per_point = [times[side] / side**2 * 1e9 for side in grids]
    table.add(f"loss_surface vs grid side s (G = s**2 points), s = {grids}",
              exponents(times, grids), "", Target("within", 2.0, tolerance=TOLERANCE),
              note=f"the FLOP count's k; {min(per_point):.0f}-{max(per_point):.0f} ns a point")
    table.notes.append(
        f"targets: ± {TOLERANCE} around the FLOP count's k (the surface) or around the floor's k, "
        f"the same products timed alone (the steps: a BLAS runs larger products at a higher "
        f"FLOP rate, so its k is below the FLOP count's)."
    )
    return table
