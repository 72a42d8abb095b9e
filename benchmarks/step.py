"""1. The training step against the hardware floor; 2. the cheap-gradient ratio.

The floor of a training step is its matrix products, timed alone with numpy and written into
preallocated outputs: forward ``A @ W`` per layer, backward ``A_prev.T @ dZ`` per layer and
``dZ @ W.T`` per layer but the first (no parameter needs dL/dX). Everything else a step does
(bias, activations, the loss, the update, allocations, checks) is overhead on top of it.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from benchmarks._common import Table, Target, median_times, runs
from refimpl import MLPTrainer, gd_step, init_mlp, mlp_backward, mlp_forward

LARGE = [784, 512, 512, 10]
LARGE_BATCH = 256
SMALL = [2, 3, 1]
SMALL_BATCH = 64
TINY = [32, 16, 16, 4]  # --quick
TINY_BATCH = 8
LR = 0.01  # small: the params stay sane over hundreds of timed steps
STEP_TARGET = Target("<=", 1.3, "x")
BACKWARD_TARGET = Target("<=", 2.5, "x")
REPEATS = 15


def problem(sizes, n, seed=0):
    """Random inputs, 0/1 targets (BCE) and He-initialised params for an MLP."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, 2, (n, sizes[-1])).astype(np.float64)
    return X, y, init_mlp(sizes, seed=seed)


def step_flops(sizes, n, input_gradient=False) -> int:
    """Multiply-adds x 2 of the floor's products: forward, dW per layer, dA but for dL/dX.

    With ``input_gradient``, dL/dX too: the products of the pure step (``mlp_backward``).
    """
    products = [d_in * d_out for d_in, d_out in pairwise(sizes)]
    return 2 * n * (3 * sum(products) - (0 if input_gradient else products[0]))


def matmul_floor(X, params, input_gradient=False):
    """A function doing the step's matrix products alone, into preallocated outputs.

    With ``input_gradient``, it also computes dL/dX, as ``mlp_backward`` does.
    """
    n, layers = X.shape[0], len(params) // 2
    first = 0 if input_gradient else 1  # the lowest layer whose dA is computed
    Ws = [params[f"W{l}"].copy() for l in range(1, layers + 1)]
    A = [X] + [np.empty((n, W.shape[1])) for W in Ws]  # A[l]: the input of layer l + 1
    dZ = [np.ones((n, W.shape[1])) for W in Ws]
    dA = [np.empty((n, W.shape[0])) for W in Ws]
    dW = [np.empty_like(W) for W in Ws]

    def floor():
        for l, W in enumerate(Ws):
            np.matmul(A[l], W, out=A[l + 1])  # (n, d_in) @ (d_in, d_out)
        for l in range(layers - 1, -1, -1):
            np.matmul(A[l].T, dZ[l], out=dW[l])  # (d_in, n) @ (n, d_out)
            if l >= first:
                np.matmul(dZ[l], Ws[l].T, out=dA[l])  # (n, d_out) @ (d_out, d_in)

    return floor


def pure_step(X, y, params):
    """The teaching functions, one step at a time: mlp_forward, mlp_backward, gd_step."""
    state = {"params": params}

    def step():
        _, cache = mlp_forward(X, state["params"])
        grads = mlp_backward(X, y, state["params"], cache)
        state["params"] = gd_step(state["params"], grads, LR)

    return step


def fast_step(X, y, params):
    trainer = MLPTrainer(params)
    return lambda: trainer.step(X, y, LR)


def step_times(sizes, n, repeats):
    """Median times (s) of the floor, MLPTrainer.step and the pure step, side by side."""
    X, y, params = problem(sizes, n)
    functions = {
        "floor": matmul_floor(X, params),
        "fast": fast_step(X, y, params),
        "pure": pure_step(X, y, params),
    }
    return median_times(functions, repeats)


def run_step(quick: bool = False, repeats: int = REPEATS) -> Table:
    large, n_large = (TINY, TINY_BATCH) if quick else (LARGE, LARGE_BATCH)
    small, n_small = (SMALL, TINY_BATCH) if quick else (SMALL, SMALL_BATCH)
    repeats = 1 if quick else repeats
    name = "-".join(map(str, large))
    table = Table(
        f"1. Training step against the hardware floor (float64; median of {runs(repeats)})",
        quick=quick,
    )
    big = step_times(large, n_large, repeats)
    gflops = step_flops(large, n_large) / big["floor"] / 1e9
    table.add(f"{name}, batch {n_large}: floor, the step's matrix products alone",
              big["floor"] * 1e3, "ms", note=f"{gflops:.0f} GFLOP/s")
    table.add("  MLPTrainer.step (refimpl.fast, in place) / floor", big["fast"] / big["floor"],
              "x", STEP_TARGET, note=f"{big['fast'] * 1e3:.2f} ms")
    table.add("  pure step (mlp_forward, mlp_backward, gd_step) / floor",
              big["pure"] / big["floor"], "x", note=f"{big['pure'] * 1e3:.2f} ms")
    tiny = step_times(small, n_small, repeats)
    table.add(f"{'-'.join(map(str, small))}, batch {n_small}: floor", tiny["floor"] * 1e6, "us")
    table.add("  MLPTrainer.step / floor", tiny["fast"] / tiny["floor"], "x",
              note=f"{tiny['fast'] * 1e6:.0f} µs: per-call overhead dominates")
    table.add("  pure step / floor", tiny["pure"] / tiny["floor"], "x",
              note=f"{tiny['pure'] * 1e6:.0f} µs")
    table.notes.append(
        "MLPTrainer gives the params and losses of the pure functions (tests/test_refimpl_fast.py);"
    )
    table.notes.append(
        "the pure step also computes dL/dX (dense_backward returns it) and fresh arrays each time."
    )
    return table


def forward_backward_times(sizes, n, repeats):
    """Median times (s) of the forward and the backward pass, pure and in place."""
    X, y, params = problem(sizes, n)
    _, cache = mlp_forward(X, params)
    trainer = MLPTrainer(params)
    trainer.forward(X)
    return median_times(
        {
            "pure forward": lambda: mlp_forward(X, params),
            "pure backward": lambda: mlp_backward(X, y, params, cache),
            "fast forward": lambda: trainer.forward(X),
            "fast backward": lambda: trainer.backward(y),
        },
        repeats,
    )


def run_backward(quick: bool = False, repeats: int = REPEATS) -> Table:
    sizes, n = (TINY, TINY_BATCH) if quick else (LARGE, LARGE_BATCH)
    repeats = 1 if quick else repeats
    times = forward_backward_times(sizes, n, repeats)
    products = [d_in * d_out for d_in, d_out in pairwise(sizes)]
    table = Table(
        f"2. Cheap gradient: backward time / forward time, {'-'.join(map(str, sizes))}, "
        f"batch {n} (median of {runs(repeats)})",
        quick=quick,
    )
    fast_flops = (2 * sum(products) - products[0]) / sum(products)  # no dL/dX
    for kind, label, flop_ratio in (
        ("pure", "mlp_backward / mlp_forward", 2.0),
        ("fast", "MLPTrainer.backward / .forward", fast_flops),
    ):
        forward, backward = times[f"{kind} forward"], times[f"{kind} backward"]
        note = f"{backward * 1e3:.2f} / {forward * 1e3:.2f} ms; FLOP ratio {flop_ratio:.2f}"
        table.add(label, backward / forward, "x", BACKWARD_TARGET, note=note)
    table.notes.append(
        "mlp_backward computes dL/dX as well (6 products for 3); MLPTrainer skips it (5 for 3)."
    )
    return table
