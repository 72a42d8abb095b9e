"""3. Against a peer: the same training step in PyTorch, float64, with numpy's thread count.

The torch step is written as a PyTorch user would: ``addmm`` (bias fused) and ``relu``
forward, ``binary_cross_entropy_with_logits`` (the mean over all entries, as refimpl's BCE),
``loss.backward()``, then ``p.add_(p.grad, alpha=-lr)`` and ``p.grad = None``.

numpy (OpenBLAS) and torch (its own BLAS and OpenMP) keep their worker threads spinning for a
while after a call, so that calls of one interleaved with calls of the other fight over the
cores. The two are therefore timed in alternating blocks, with a pause between blocks.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from benchmarks._common import Table, Target, blas_threads, runs
from benchmarks.step import (
    LARGE,
    LARGE_BATCH,
    LR,
    SMALL,
    SMALL_BATCH,
    TINY,
    TINY_BATCH,
    fast_step,
    matmul_floor,
    problem,
    pure_step,
)
from refimpl import mlp_backward, mlp_forward

LARGE_TARGET = Target("<=", 0.7, "x")
SMALL_TARGET = Target("<=", 0.3, "x")
GRADIENT_TARGET = Target("<=", 1e-10, "e")
ROUNDS = 5  # blocks per library
PER_BLOCK = 5  # timed calls of each function per block, after one untimed call
PAUSE = 0.3  # s between blocks: longer than OpenBLAS's and OpenMP's spin-waits
INSTALL = "pip install torch==2.13.0 (the CPU build; a plain `pip install torch` fetches CUDA)"


def import_torch():
    """The torch module, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_model(torch, X, y, params):
    """(step, gradients, floor) for the MLP with these params, in torch float64."""
    layers = len(params) // 2
    tensors = {key: torch.tensor(value, requires_grad=True) for key, value in params.items()}
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)

    def loss():
        A = X_t
        for l in range(1, layers + 1):
            Z = torch.addmm(tensors[f"b{l}"], A, tensors[f"W{l}"])  # A @ W + b
            A = torch.relu(Z) if l < layers else Z
        return torch.nn.functional.binary_cross_entropy_with_logits(Z, y_t)

    def step():
        loss().backward()
        with torch.no_grad():
            for p in tensors.values():
                p.add_(p.grad, alpha=-LR)
                p.grad = None

    def gradients():
        loss().backward()
        grads = {key: t.grad.detach().numpy().copy() for key, t in tensors.items()}
        for t in tensors.values():
            t.grad = None
        return grads

    # The same matrix products as benchmarks.step.matmul_floor, in torch
    Ws = [tensors[f"W{l}"].detach().clone() for l in range(1, layers + 1)]
    n = X.shape[0]
    A = [X_t] + [torch.empty(n, W.shape[1], dtype=torch.float64) for W in Ws]
    dZ = [torch.ones(n, W.shape[1], dtype=torch.float64) for W in Ws]
    dA = [torch.empty(n, W.shape[0], dtype=torch.float64) for W in Ws]
    dW = [torch.empty_like(W) for W in Ws]

    def floor():
        with torch.no_grad():
            for l, W in enumerate(Ws):
                torch.matmul(A[l], W, out=A[l + 1])
            for l in range(layers - 1, -1, -1):
                torch.matmul(A[l].T, dZ[l], out=dW[l])
                if l > 0:
                    torch.matmul(dZ[l], Ws[l].T, out=dA[l])

    return step, gradients, floor


def gradient_difference(reference: dict, other: dict) -> float:
    """max over parameters of max |other - reference| / max |reference|."""
    return max(
        float(np.max(np.abs(other[key] - value)) / max(float(np.max(np.abs(value))), 1e-300))
        for key, value in reference.items()
    )


def alternating_blocks(groups: list[dict], rounds: int, per_block: int, pause: float):
    """Median time (s) of each function; each group is timed in its own blocks, in turns."""
    times: dict[str, list[float]] = {name: [] for group in groups for name in group}
    for _ in range(rounds):
        for group in groups:
            time.sleep(pause)
            for function in group.values():
                function()  # untimed: wakes the library's threads
            for _ in range(per_block):
                for name, function in group.items():
                    start = time.perf_counter()
                    function()
                    times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def compare(torch, sizes, n, rounds, per_block, pause):
    X, y, params = problem(sizes, n)
    step, gradients, torch_floor = torch_model(torch, X, y, params)
    _, cache = mlp_forward(X, params)
    difference = gradient_difference(mlp_backward(X, y, params, cache), gradients())
    numpy_group = {
        "floor": matmul_floor(X, params),
        "fast": fast_step(X, y, params),
        "pure": pure_step(X, y, params),
    }
    torch_group = {"torch": step, "torch floor": torch_floor}
    times = alternating_blocks([numpy_group, torch_group], rounds, per_block, pause)
    return times, difference


def run(quick: bool = False, repeats: int = ROUNDS) -> Table:
    torch = import_torch()
    title = "3. Against a peer: the same training step in PyTorch (float64)"
    if torch is None:
        table = Table(title, quick=quick)
        table.notes.append(f"SKIPPED: torch is not importable. To compare, {INSTALL}.")
        return table
    threads = blas_threads()
    torch.set_num_threads(threads)
    rounds, per_block, pause = (1, 1, 0.0) if quick else (repeats, PER_BLOCK, PAUSE)
    table = Table(
        f"{title}: torch {torch.__version__}, {torch.get_num_threads()} threads as numpy's BLAS; "
        f"median of {runs(rounds * per_block)} in {rounds} alternating blocks",
        quick=quick,
    )
    cases = [(TINY, TINY_BATCH, LARGE_TARGET), (SMALL, TINY_BATCH, SMALL_TARGET)] if quick else [
        (LARGE, LARGE_BATCH, LARGE_TARGET),
        (SMALL, SMALL_BATCH, SMALL_TARGET),
    ]
    for sizes, n, target in cases:
        times, difference = compare(torch, sizes, n, rounds, per_block, pause)
        name = f"{'-'.join(map(str, sizes))}, batch {n}"
        big = sizes[1] > 16
        unit, scale = ("ms", 1e3) if big else ("us", 1e6)
        table.add(f"{name}: torch step", times["torch"] * scale, unit)
        table.add("  MLPTrainer.step / torch step", times["fast"] / times["torch"], "x", target,
                  note=f"{times['fast'] * scale:.3g} {unit.replace('us', 'µs')}")
        table.add("  pure step / torch step", times["pure"] / times["torch"], "x",
                  note=f"{times['pure'] * scale:.3g} {unit.replace('us', 'µs')}")
        table.add("  numpy floor / torch step", times["floor"] / times["torch"], "x",
                  note="what a step with zero overhead would score")
        table.add("  torch floor / numpy floor", times["torch floor"] / times["floor"], "x",
                  note="the same products in torch's BLAS")
        table.add("  gradients: max |torch - mlp_backward| / max |mlp_backward|", difference, "e",
                  GRADIENT_TARGET)
        bound = times["floor"] / times["torch"]
        if not quick and not target.met(bound):
            table.notes.append(
                f"{name}: numpy's matrix products alone take {bound:.2f}x torch's whole step, so "
                f"no numpy step on this BLAS can meet {target}."
            )
    return table
