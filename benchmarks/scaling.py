"""7. Scaling: time against problem size, as a fitted exponent, against the FLOP count's.

Each sweep times one computation at several sizes (in turns, median of several runs) and fits
``time ~ size**k`` by least squares on log-log axes. The expected k is the same fit on the
FLOP count of those sizes: a cost that grows like the arithmetic has the same exponent, while
per-call overhead (small sizes) or falling out of the cache (large ones) bends it away.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from benchmarks._common import Table, Target, fitted_exponent, median_times, runs
from benchmarks.step import fast_step, matmul_floor, problem, pure_step, step_flops
from refimpl import loss_surface
from refimpl.viz.surface import DEFAULT_PAIR, example_network, parameter_entries

TOLERANCE = 0.15
REPEATS = 5
WIDTHS = [128, 256, 512, 1024]  # 784-w-w-10, batch 256
BATCHES = [64, 128, 256, 512, 1024]  # 784-512-512-10
GRIDS = [50, 100, 150, 200, 300]  # loss surface: G = side**2 grid points, 200 samples


def pure_flops(sizes, n) -> int:
    """The pure step's products: forward, dW and dA for every layer (dL/dX included)."""
    return 2 * n * 3 * sum(d_in * d_out for d_in, d_out in pairwise(sizes))


def sweep(table: Table, label: str, sizes, make, flops, repeats: int, target=True) -> None:
    """Time ``make(size)()`` at every size; add the fitted and the expected exponent."""
    times = median_times({size: make(size) for size in sizes}, repeats)
    measured = fitted_exponent(sizes, [times[size] for size in sizes])
    expected = fitted_exponent(sizes, [flops(size) for size in sizes])
    spread = ", ".join(f"{size}: {times[size] * 1e3:.3g}" for size in sizes)
    goal = Target("within", expected, tolerance=TOLERANCE)
    if target:
        table.add(label, measured, "", goal, note=f"ms at {spread}")
    else:
        table.add(label, measured, "", note=f"FLOP k {expected:.2f}; ms at {spread}")


def step_sweeps(table: Table, axis: str, sizes, problem_at, repeats: int) -> None:
    """MLPTrainer.step, the pure step and their floor, each over the sizes of one axis."""

    def floor(size):
        X, _, params = problem(*problem_at(size))
        return matmul_floor(X, params)

    short = axis.split(" (")[0]
    sweep(table, f"MLPTrainer.step vs {axis}", sizes,
          lambda size: fast_step(*problem(*problem_at(size))),
          lambda size: step_flops(*problem_at(size)), repeats)
    sweep(table, f"  pure step vs {short}", sizes,
          lambda size: pure_step(*problem(*problem_at(size))),
          lambda size: pure_flops(*problem_at(size)), repeats)
    sweep(table, f"  floor (the products alone) vs {short}", sizes, floor,
          lambda size: step_flops(*problem_at(size)), repeats, target=False)


def run(quick: bool = False, repeats: int = REPEATS) -> Table:
    repeats = 1 if quick else repeats
    widths, batches, grids = ([8, 16], [8, 16], [5, 10]) if quick else (WIDTHS, BATCHES, GRIDS)
    d_in, width, n = (32, 16, 8) if quick else (784, 512, 256)  # the fixed sizes of the sweeps
    table = Table(
        f"7. Scaling: fitted exponent k of time ~ size**k, against the FLOP count's k "
        f"(median of {runs(repeats)} per size)",
        quick=quick,
    )

    def at_width(w):
        return [d_in, w, w, 10]

    def at_batch():
        return [d_in, width, width, 10]

    net = "-".join(map(str, at_batch()))
    step_sweeps(table, f"width w ({d_in}-w-w-10, batch {n}), w = {widths}", widths,
                lambda w: (at_width(w), n), repeats)
    step_sweeps(table, f"batch n ({net}), n = {batches}", batches,
                lambda b: (at_batch(), b), repeats)

    X, y, networks = example_network()
    params = networks["trained"]
    entries = parameter_entries(params)
    pair = entries[DEFAULT_PAIR[0]], entries[DEFAULT_PAIR[1]]

    def surface_at(side):
        values = [params[name][index] + np.linspace(-3, 3, side) for name, index in pair]
        return lambda: loss_surface(X, y, params, *pair, *values)

    sweep(table, f"loss_surface vs grid side s (G = s**2 points), s = {grids}", grids,
          surface_at, lambda side: side**2, repeats)
    table.notes.append(
        f"target: the FLOP count's k ± {TOLERANCE}. The floor's k shows what the hardware does: "
        f"BLAS gets faster per FLOP as matrices grow."
    )
    return table
