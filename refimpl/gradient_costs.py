"""What a gradient costs: central differences against backpropagation, timed (notebook 08).

:func:`measure_gradient_costs` times one full gradient of MLPs ``[2, w, w, 1]`` of growing width
w, both ways, with ``time.perf_counter`` (the median of a few repeats); ``refimpl.viz`` plots
the times against the number of parameters P.

Central differences evaluate the loss twice per parameter: 2P forward passes. Backpropagation
takes one forward and one backward pass, whatever P is; the backward pass does about twice the
work of the forward one (two matrix products per layer instead of one).

Not exported by ``refimpl``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import numpy as np

from refimpl.gradcheck import numerical_gradients
from refimpl.mlp import init_mlp, mlp_backward, mlp_forward, mlp_loss

#: Hidden widths w of the measured networks [2, w, w, 1] (P from 15 to about 4400).
WIDTHS = (2, 4, 8, 16, 32, 64)
#: Samples in the batch of every measurement.
SAMPLES = 32
#: Stop repeating a finite-difference gradient once this much time went into one network.
REPEAT_BUDGET = 0.3  # seconds


def layer_sizes(width: int) -> list[int]:
    """The measured network of hidden width w: ``[2, w, w, 1]`` (two hidden ReLU layers).

    Parameters
    ----------
    width : int
        w.

    Returns
    -------
    sizes : list of int, length 4
        The layer sizes, as ``refimpl.init_mlp`` takes them.
    """
    return [2, width, width, 1]


def parameter_count(sizes) -> int:
    """Number of weights and biases of an MLP with these layer sizes: sum of (d_in + 1) d_out.

    Parameters
    ----------
    sizes : sequence of int, length L + 1
        Units per layer, inputs first.

    Returns
    -------
    P : int
        13 for ``[2, 3, 1]``.
    """
    return int(sum((d_in + 1) * d_out for d_in, d_out in itertools.pairwise(sizes)))


def median_seconds(
    f: Callable[[], object], repeats: int = 5, number: int = 1, budget: float = np.inf
) -> float:
    """Median over ``repeats`` runs of the time of one call of f (a run averages ``number`` calls).

    Stops repeating early (after at least one run) once ``budget`` seconds have been spent.

    Parameters
    ----------
    f : callable
        Called with no arguments.
    repeats : int
        Runs (at most).
    number : int
        Calls per run.
    budget : float
        Seconds after which no further run starts.

    Returns
    -------
    seconds : float
        The median time of one call.
    """
    times: list[float] = []
    spent = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            f()
        elapsed = time.perf_counter() - start
        times.append(elapsed / number)
        spent += elapsed
        if spent > budget:
            break
    return float(np.median(times))


def measure_gradient_costs(
    widths=WIDTHS, n: int = SAMPLES, seed: int = 0, repeats: int = 3
) -> dict[str, np.ndarray]:
    """Time one gradient of the BCE of ``[2, w, w, 1]`` networks by central differences and by
    backpropagation.

    Parameters
    ----------
    widths : sequence of int
        Hidden widths w.
    n : int
        Samples in the batch (random inputs, random 0/1 targets).
    seed : int
        Seed of the data and the params.
    repeats : int
        Runs per measurement (the median is kept); a finite-difference gradient is repeated only
        while the network's runs took less than ``REPEAT_BUDGET`` s.

    Returns
    -------
    costs : dict of ndarray, each of shape (len(widths),)
        "width", "P" (number of parameters), and seconds per gradient: "finite_differences"
        (``refimpl.numerical_gradients`` of ``refimpl.mlp_loss``: 2P loss evaluations) and
        "backprop" (``mlp_forward`` + ``mlp_backward``); and the seconds of one "forward" pass
        and of one "loss" evaluation, for comparison.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (rng.random((n, 1)) < 0.5).astype(np.float64)
    rows = [_measure_one(int(width), X, y, seed, repeats) for width in widths]
    names = ("width", "P", "finite_differences", "backprop", "forward", "loss")
    return {name: np.array([row[name] for row in rows]) for name in names}


def _measure_one(width: int, X: np.ndarray, y: np.ndarray, seed: int, repeats: int) -> dict:
    """The timings of one network [2, width, width, 1] (see measure_gradient_costs)."""
    sizes = layer_sizes(width)
    params = init_mlp(sizes, seed=seed)

    def loss(p) -> float:
        return mlp_loss(X, y, p)

    def backprop() -> dict:
        _, cache = mlp_forward(X, params)
        return mlp_backward(X, y, params, cache)

    return {
        "width": width,
        "P": parameter_count(sizes),
        "finite_differences": median_seconds(
            lambda: numerical_gradients(loss, params), repeats, budget=REPEAT_BUDGET
        ),
        "backprop": median_seconds(backprop, repeats, number=20),
        "forward": median_seconds(lambda: mlp_forward(X, params), repeats, number=20),
        "loss": median_seconds(lambda: loss(params), repeats, number=20),
    }
