"""Overfitting and early stopping, drawn (notebook 10).

:func:`overfitting_figure` plots the training and validation loss per epoch of one or two runs
of ``refimpl.fit_classifier`` (without and with L2, say) side by side, and marks where early
stopping stops and which epoch's parameters it keeps: those the run recorded when it stopped
early itself, else what ``early_stopping(val_loss, patience)`` says (the learner's, or the
reference while theirs is not ready).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from refimpl.generalization import FitHistory
from refimpl.generalization import early_stopping as reference_early_stopping
from refimpl.viz._core import DPI, DescribedFigure, LearnerFunction
from refimpl.viz._style import OKABE_ITO

__all__ = ["overfitting_figure"]

#: Training in blue (solid), validation in orange (dashed): told apart in grey and by style.
TRAIN_COLOUR, VALIDATION_COLOUR = OKABE_ITO["blue"], OKABE_ITO["orange"]
#: Colours that tell two things apart in this figure (tests/test_viz_accessibility.py checks them).
COLOUR_PAIRS = {"training / validation loss": (TRAIN_COLOUR, VALIDATION_COLOUR)}
DEFAULT_TITLES = ("no regularisation", "with L2 weight decay")


def overfitting_figure(
    history_plain: FitHistory,
    history_l2: FitHistory | None = None,
    *,
    patience: int = 10,
    early_stopping: Callable | None = None,
    titles: tuple[str, str] = DEFAULT_TITLES,
) -> Figure:
    """Training and validation loss per epoch, one panel per run, early stopping marked.

    Parameters
    ----------
    history_plain : FitHistory
        A run of ``refimpl.fit_classifier`` with validation data.
    history_l2 : FitHistory, optional
        A second run (with ``lam > 0``, say), drawn beside the first on the same loss axis.
    patience : int, default 10
        For a run that trained every epoch: the patience of the early stopping marked.
    early_stopping : callable, optional
        The learner's ``early_stopping(val_losses, patience)``; the reference is used, with a
        note under the plot, while it is a stub or broken.
    titles : (str, str)
        The panels' titles.

    Returns
    -------
    fig : matplotlib.figure.Figure
        With ``fig.alt``, its text alternative.
    """
    histories = [h for h in (history_plain, history_l2) if h is not None]
    for history in histories:
        if len(history.val_loss) == 0:
            raise ValueError(
                "overfitting_figure needs validation losses: train with X_val and Y_val."
            )
    stopper = LearnerFunction(early_stopping, reference_early_stopping, "early_stopping")
    fig = DescribedFigure(figsize=(5.6 * len(histories) + 0.6, 4.4), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(histories), sharey=True, squeeze=False)[0]
    summaries = [
        _draw_run(ax, history, title, patience, stopper)
        for ax, history, title in zip(axes, histories, titles, strict=False)
    ]
    axes[0].set_ylabel("cross-entropy loss (log scale)", fontsize=10.5)
    fig.legend(
        handles=axes[0].get_lines(),
        loc="outside upper center",
        ncols=2 * len(histories),
        fontsize=9.5,
        frameon=False,
    )
    fig.supxlabel(stopper.plain_note, fontsize=9.5, color="0.3")
    fig.alt = (
        "Training loss (blue, solid) and validation loss (orange, dashed) per epoch on a log "
        "scale, with the epoch early stopping keeps (a black diamond) and where it stops (a "
        "dashed line). " + " ".join(summaries) + " " + stopper.plain_note
    )
    return fig


def _stops(history: FitHistory, patience: int, stopper: LearnerFunction) -> tuple[int, int, str]:
    """The kept epoch, the stopping epoch, and how they were found (for the legend)."""
    if history.stopped_epoch is not None and history.best_epoch is not None:
        return history.best_epoch, history.stopped_epoch, "the run stopped early itself"
    best, stop = stopper(history.val_loss.copy(), patience)  # a copy: theirs may change it
    last = len(history.val_loss) - 1
    best, stop = (min(max(int(epoch), 0), last) for epoch in (best, stop))
    return best, stop, f"early stopping with patience {patience}"


def _draw_run(ax, history: FitHistory, title: str, patience: int, stopper) -> str:
    """One run's curves and marks; returns what they show, in words."""
    epochs = np.arange(len(history.train_loss))
    floor = 1e-6  # a training loss of 0 stays on the log axis
    train = np.maximum(history.train_loss, floor)
    val = np.maximum(history.val_loss, floor)
    best, stop, how = _stops(history, patience, stopper)
    ax.plot(epochs, train, color=TRAIN_COLOUR, linewidth=2, label="training loss")
    ax.plot(epochs, val, "--", color=VALIDATION_COLOUR, linewidth=2, label="validation loss")
    ax.axvline(stop, color="black", linestyle="--", linewidth=1.2, label="early stopping stops")
    ax.plot(
        [best], [val[best]], "D", color="black", markersize=8, label="kept: best validation loss"
    )
    ax.set_yscale("log")
    ax.set_xlabel("epoch", fontsize=10.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, which="major")
    last = len(val) - 1
    ax.set_title(
        f"{title} ({how})\nvalidation loss {val[best]:.3g} at the kept epoch {best}, "
        f"{val[last]:.3g} at epoch {last}",
        fontsize=10.5,
    )
    return (
        f"{title}: the training loss goes from {train[0]:.3g} to {train[last]:.3g}; the "
        f"validation loss is {val[best]:.3g} at epoch {best} and {val[last]:.3g} at epoch "
        f"{last}; early stopping stops at epoch {stop} and keeps epoch {best}."
    )
