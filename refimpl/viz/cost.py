"""What a gradient costs: central differences against backpropagation, drawn (notebook 08).

``refimpl.gradient_costs.measure_gradient_costs`` times one full gradient of MLPs
``[2, w, w, 1]`` of growing width w, both ways; :func:`gradient_cost_figure` plots the times
against the number of parameters P on log-log axes.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from refimpl.gradient_costs import measure_gradient_costs
from refimpl.viz._core import DPI, DescribedFigure

__all__ = ["gradient_cost_figure", "measure_gradient_costs"]

FD_COLOUR, BACKPROP_COLOUR = "tab:orange", "tab:blue"


def gradient_cost_figure(costs: dict[str, np.ndarray]) -> Figure:
    """Seconds per gradient against the number of parameters P, log-log, both methods.

    Parameters
    ----------
    costs : dict
        What ``refimpl.gradient_costs.measure_gradient_costs`` returns.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    P = np.asarray(costs["P"], dtype=np.float64)
    fd = np.asarray(costs["finite_differences"], dtype=np.float64)
    bp = np.asarray(costs["backprop"], dtype=np.float64)
    per_loss = np.asarray(costs["loss"], dtype=np.float64)
    ms = 1e3  # plot in milliseconds

    fig = DescribedFigure(figsize=(8.6, 4.8), dpi=DPI, layout="constrained")
    fig.alt = (
        "Log-log plot of milliseconds per gradient against the number of parameters P, for "
        "central differences (orange circles; a dashed guide at 2P loss evaluations) and for "
        "backpropagation (blue squares)."
    )
    if len(P):
        fig.alt += (
            f" Central differences grow with P; backprop stays nearly flat: at P = {P[-1]:,.0f} "
            f"backprop is {fd[-1] / bp[-1]:,.0f} times faster."
        )
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
