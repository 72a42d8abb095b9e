"""4b. Loss surface: ``refimpl.loss_surface`` on a 150 x 150 grid against the naive evaluation.

The slice is the loss-surface widget's: the example 2-3-1 network (trained on the 200
standardized study/sleep samples) over its default pair of parameters, each moved by up to
+-3 from its trained value. The naive evaluation gives every grid point its own copy of every
parameter and runs the whole network on (G, n, d) arrays; ``refimpl.loss_surface`` recomputes
only what the two parameters touch.
"""

from __future__ import annotations

import numpy as np

from benchmarks._common import Table, Target, median_times, runs
from refimpl import loss_surface, relu
from refimpl.examples import EXAMPLE_PAIR, example_network
from refimpl.losses import softplus
from refimpl.surface import parameter_entries

GRID = 150
SPAN = 3.0
TIME_TARGET = Target("<=", 50.0, "ms")
SPEEDUP_TARGET = Target(">=", 5.0, "x")
REPEATS = 7


def naive_surface(X, y, params, param_a, param_b, values_a, values_b) -> np.ndarray:
    """The BCE on the grid, the whole network broadcast over G grid points: (G, n, d) per layer."""
    grid_a, grid_b = np.meshgrid(values_a, values_b, indexing="ij")
    G = grid_a.size
    stacked = {key: np.repeat(value[np.newaxis], G, axis=0) for key, value in params.items()}
    for (name, index), grid in ((param_a, grid_a), (param_b, grid_b)):
        stacked[name][(slice(None), *index)] = grid.ravel()  # (G, ...) like params[name]
    layers = len(params) // 2
    A = X
    for l in range(1, layers + 1):
        Z = A @ stacked[f"W{l}"] + stacked[f"b{l}"][:, np.newaxis, :]  # (G, n, d_l)
        A = relu(Z) if l < layers else Z
    per_point = np.mean(softplus(Z) - y * Z, axis=(1, 2))  # BCE from the logits
    return per_point.reshape(grid_a.shape)


def run(quick: bool = False, repeats: int = REPEATS) -> Table:
    grid, repeats = (10, 1) if quick else (GRID, repeats)
    X, y, networks = example_network()
    params = networks["trained"]
    entries = parameter_entries(params)
    pair = entries[EXAMPLE_PAIR[0]], entries[EXAMPLE_PAIR[1]]
    values = [params[name][index] + np.linspace(-SPAN, SPAN, grid) for name, index in pair]
    fast = loss_surface(X, y, params, *pair, *values)
    naive = naive_surface(X, y, params, *pair, *values)
    agreement = float(np.max(np.abs(naive - fast)) / np.max(np.abs(naive)))
    times = median_times(
        {
            "refimpl": lambda: loss_surface(X, y, params, *pair, *values),
            "naive": lambda: naive_surface(X, y, params, *pair, *values),
        },
        repeats,
    )
    table = Table(
        f"4b. Loss surface of the 2-3-1 network over {EXAMPLE_PAIR[0]} and {EXAMPLE_PAIR[1]}, "
        f"{grid} x {grid} grid, {X.shape[0]} samples (median of {runs(repeats)})",
        quick=quick,
    )
    table.add("refimpl.loss_surface", times["refimpl"] * 1e3, "ms", TIME_TARGET)
    table.add("naive: the whole network broadcast over the grid", times["naive"] * 1e3, "ms")
    table.add("naive / refimpl.loss_surface", times["naive"] / times["refimpl"], "x",
              SPEEDUP_TARGET)
    table.add("values: max |naive - refimpl| / max |naive|", agreement, "e")
    return table
