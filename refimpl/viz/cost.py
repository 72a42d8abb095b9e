"""What a gradient costs: central differences against backpropagation (notebook 08).

:func:`measure_gradient_costs` times one full gradient of MLPs ``[2, w, w, 1]`` of growing width
w, both ways, with ``time.perf_counter`` (the median of a few repeats), and
:func:`gradient_cost_figure` plots the times against the number of parameters P on log-log axes.

Central differences evaluate the loss twice per parameter: 2P forward passes. Backpropagation
takes one forward and one backward pass, whatever P is; the backward pass does about twice the
work of the forward one (two matrix products per layer instead of one).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from refimpl.gradcheck import numerical_gradients
from refimpl.mlp import init_mlp, mlp_backward, mlp_forward, mlp_loss
from refimpl.viz._core import DPI

#: Hidden widths w of the measured networks [2, w, w, 1] (P from 15 to about 4400).
WIDTHS = (2, 4, 8, 16, 32, 64)
#: Samples in the batch of every measurement.
SAMPLES = 32
#: Stop repeating a finite-difference gradient once this much time went into one network.
REPEAT_BUDGET = 0.3  # seconds
FD_COLOUR, BACKPROP_COLOUR = "tab:orange", "tab:blue"


def layer_sizes(width: int) -> list[int]:
    """The measured network of hidden width w: ``[2, w, w, 1]`` (two hidden ReLU layers)."""
    return [2, width, width, 1]


def parameter_count(sizes) -> int:
    """Number of weights and biases of an MLP with these layer sizes: sum of (d_in + 1) d_out."""
    return int(sum((d_in + 1) * d_out for d_in, d_out in itertools.pairwise(sizes)))


def median_seconds(
    f: Callable[[], object], repeats: int = 5, number: int = 1, budget: float = np.inf
) -> float:
    """Median over ``repeats`` runs of the time of one call of f (a run averages ``number`` calls).

    Stops repeating early (after at least one run) once ``budget`` seconds have been spent.
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


def gradient_cost_figure(costs: dict[str, np.ndarray]) -> Figure:
    """Seconds per gradient against the number of parameters P, log-log, both methods.

    Parameters
    ----------
    costs : dict
        What :func:`measure_gradient_costs` returns.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    P = np.asarray(costs["P"], dtype=np.float64)
    fd = np.asarray(costs["finite_differences"], dtype=np.float64)
    bp = np.asarray(costs["backprop"], dtype=np.float64)
    per_loss = np.asarray(costs["loss"], dtype=np.float64)
    ms = 1e3  # plot in milliseconds

    fig = Figure(figsize=(8.6, 4.8), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.loglog(
        P, fd * ms, "o-", color=FD_COLOUR, linewidth=2, ms=7, label="central differences (measured)"
    )
    ax.loglog(
        P,
        2 * P * per_loss * ms,
        "--",
        color=FD_COLOUR,
        linewidth=1.3,
        label="2P × the time of one loss evaluation",
    )
    ax.loglog(
        P,
        bp * ms,
        "s-",
        color=BACKPROP_COLOUR,
        linewidth=2,
        ms=7,
        label="backprop: one forward + one backward pass (measured)",
    )
    if len(P):
        last = -1
        ax.annotate(
            f"backprop:\n{fd[last] / bp[last]:,.0f}× faster",
            xy=(P[last], np.sqrt(fd[last] * bp[last]) * ms),
            xytext=(-12, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=12,
            fontweight="bold",
        )
        ax.annotate(
            "",
            xy=(P[last], bp[last] * ms * 1.15),
            xytext=(P[last], fd[last] * ms / 1.15),
            arrowprops={"arrowstyle": "<->", "color": "0.3", "linewidth": 1.3},
        )
        ax.set_xlim(P.min() / 1.6, P.max() * 1.6)
    ax.set_xlabel("number of parameters P (networks [2, w, w, 1], w = 2 … 64)", fontsize=11)
    ax.set_ylabel("milliseconds per gradient (log scale)", fontsize=11)
    ax.set_title(
        "The cost of one gradient: central differences against backpropagation", fontsize=12
    )
    ax.grid(alpha=0.3, which="major")
    ax.legend(fontsize=10, loc="upper left")
    return fig
