"""The digit classifier, epoch by epoch (notebook 09).

:func:`digits_figure` shows a few images of the data set with their labels.
:class:`ClassifierExplorer` trains a network one epoch at a time (the learner's
``train_classifier``, or the reference while theirs is not ready) and keeps the params after
every epoch; the epoch slider then only redraws: the confusion matrix on the held-out images,
the first misclassified ones (true and predicted digit), and the weights of every unit of the
first layer as an 8x8 image (what each unit looks for). :func:`compare_with_mlp_classifier`
trains scikit-learn's ``MLPClassifier`` on the same split, as a peer.

Compute and render: training 30 epochs on 1348 images takes about 0.1 s, once per explorer.
A frame is three images and about 110 texts over still axes rendered once (``BlitFigure``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from refimpl.classifier import (
    DIGIT_CLASSES,
    DIGIT_SHAPE,
    confusion_matrix,
    label_accuracy,
    load_digits_split,
    one_hot,
    predict_labels,
    train_classifier,
)
from refimpl.mlp import init_mlp
from refimpl.viz._core import DPI, BlitFigure, Explorer, LearnerFunction
from refimpl.viz._style import ALARM_COLOUR, slider_options

__all__ = ["ClassifierExplorer", "compare_with_mlp_classifier", "digits_figure", "mosaic"]

#: Misclassified test images shown per frame, and the grid they fill.
SHOWN_MISTAKES, MISTAKE_COLUMNS = 12, 6
DIGIT_CMAP, WEIGHT_CMAP, COUNT_CMAP = "gray_r", "RdBu_r", "Blues"
GAP = 1  # pixels between the tiles of a mosaic


def mosaic(images: np.ndarray, columns: int, fill: float = np.nan) -> np.ndarray:
    """Tiles of shape DIGIT_SHAPE in one array, ``columns`` per row, ``GAP`` pixels apart.

    Parameters
    ----------
    images : ndarray, shape (m, 64)
        One flattened 8x8 image per row.
    columns : int
    fill : float
        The value between and after the tiles (NaN: drawn transparent).

    Returns
    -------
    ndarray, shape (rows * 9 - 1, columns * 9 - 1)
    """
    h, w = DIGIT_SHAPE
    rows = max(1, -(-len(images) // columns))
    out = np.full((rows * (h + GAP) - GAP, columns * (w + GAP) - GAP), fill)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[r * (h + GAP) : r * (h + GAP) + h, c * (w + GAP) : c * (w + GAP) + w] = np.reshape(
            image, DIGIT_SHAPE
        )
    return out


def digits_figure(X, labels, count: int = 30, columns: int = 10) -> Figure:
    """The first ``count`` images of X, each titled with its label.

    Parameters
    ----------
    X : array_like, shape (n, 64)
        Pixels in [0, 1].
    labels : array_like of int, shape (n,)
    """
    X, labels = np.asarray(X)[:count], np.asarray(labels)[:count]
    rows = -(-len(X) // columns)
    fig = Figure(figsize=(columns * 0.8, rows * 0.95), dpi=DPI, layout="constrained")
    for i, (image, label) in enumerate(zip(X, labels, strict=True)):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.imshow(image.reshape(DIGIT_SHAPE), cmap=DIGIT_CMAP, vmin=0.0, vmax=1.0)
        ax.set_title(str(int(label)), fontsize=10, pad=2)
        ax.set_axis_off()
    return fig


class ClassifierExplorer(Explorer):
    """Confusion matrix, misclassified digits and first-layer weights against the epoch.

    Parameters
    ----------
    split : tuple, optional
        ``(X_train, X_test, labels_train, labels_test)`` as ``refimpl.load_digits_split``
        returns them (None: ``load_digits_split(seed=0)``, the notebook's split).
    train_classifier : callable, optional
        The learner's ``train_classifier(X, Y, params, lr, epochs, batch_size, seed)``; it is
        called once per epoch (epochs=1, seed = seed + epoch). None: the reference.
    hidden : int, default 32
        Hidden units: the network is ``[64, hidden, 10]``, started by ``init_mlp(seed=seed)``.
    lr, epochs, batch_size, seed :
        The training run.
    """

    def __init__(
        self,
        split=None,
        train_classifier: Callable | None = None,
        hidden: int = 32,
        lr: float = 0.1,
        epochs: int = 30,
        batch_size: int = 32,
        seed: int = 0,
    ):
        super().__init__()
        split = load_digits_split(seed=0) if split is None else split
        X_train, self.X_test, labels_train, self.labels_test = (np.asarray(a) for a in split)
        self.train = LearnerFunction(
            train_classifier, train_classifier_reference, "train_classifier"
        )
        Y = one_hot(labels_train)
        self.snapshots = [init_mlp([X_train.shape[1], hidden, DIGIT_CLASSES], seed=seed)]
        for epoch in range(epochs):
            trained, _ = self.train(X_train, Y, self.snapshots[-1], lr, 1, batch_size, seed + epoch)
            self.snapshots.append(trained)
        self.predicted = [predict_labels(self.X_test, p) for p in self.snapshots]
        self.controls = {
            "epoch": widgets.IntSlider(
                value=epochs, min=0, max=epochs, continuous_update=True, **slider_options("epoch")
            )
        }
        self._build(hidden)

    def _build(self, hidden: int) -> None:
        fig = self.fig = BlitFigure(figsize=(11.0, 6.4), dpi=DPI)
        grid = fig.add_gridspec(
            2,
            2,
            width_ratios=(1.0, 1.25),
            left=0.06,
            right=0.98,
            bottom=0.05,
            top=0.9,
            hspace=0.35,
            wspace=0.18,
        )
        ax_conf, ax_wrong, ax_w = (
            fig.add_subplot(grid[:, 0]),
            fig.add_subplot(grid[0, 1]),
            fig.add_subplot(grid[1, 1]),
        )
        k = DIGIT_CLASSES
        self.conf = ax_conf.imshow(np.zeros((k, k)), cmap=COUNT_CMAP, vmin=0.0, vmax=1.0)
        ax_conf.set(xticks=range(k), yticks=range(k), xlabel="predicted digit", ylabel="true digit")
        ax_conf.set_title("held-out images: true (row) against predicted (column)", fontsize=10)
        self.counts = [
            [ax_conf.text(j, i, "", ha="center", va="center", fontsize=8) for j in range(k)]
            for i in range(k)
        ]
        blank = mosaic(np.zeros((SHOWN_MISTAKES, 64)), MISTAKE_COLUMNS)
        self.wrong = ax_wrong.imshow(blank, cmap=DIGIT_CMAP, vmin=0.0, vmax=1.0)
        self.wrong_labels = [
            ax_wrong.text(
                (i % MISTAKE_COLUMNS) * 9 + 3.5,
                (i // MISTAKE_COLUMNS) * 9 - 0.7,
                "",
                ha="center",
                va="bottom",
                fontsize=8,
                color=ALARM_COLOUR,
            )
            for i in range(SHOWN_MISTAKES)
        ]
        ax_wrong.set_title("misclassified: true -> predicted", fontsize=10, pad=12)
        columns = min(hidden, 8)
        self.weights = ax_w.imshow(mosaic(np.zeros((hidden, 64)), columns), cmap=WEIGHT_CMAP)
        ax_w.set_title(
            "first-layer weights, one 8x8 image per hidden unit (red +, blue -)", fontsize=10
        )
        self.weight_columns = columns
        for ax in (ax_wrong, ax_w):
            ax.set_axis_off()
        self.title = fig.text(0.5, 0.96, "", ha="center", fontsize=12)
        fig.set_moving(
            self.conf,
            *[t for row in self.counts for t in row],
            self.wrong,
            *self.wrong_labels,
            self.weights,
            self.title,
        )

    def draw(self, epoch: int) -> dict[str, np.ndarray]:
        predicted = self.predicted[epoch]
        counts = confusion_matrix(self.labels_test, predicted)
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        self.conf.set_data(shares)
        for (i, j), count in np.ndenumerate(counts):
            text = self.counts[i][j]
            text.set_text(str(count) if count else "")
            text.set_color("white" if shares[i, j] > 0.6 else "black")
        wrong = np.flatnonzero(predicted != self.labels_test)[:SHOWN_MISTAKES]
        self.wrong.set_data(
            mosaic(self.X_test[wrong], MISTAKE_COLUMNS)
            if len(wrong)
            else mosaic(np.zeros((0, 64)), MISTAKE_COLUMNS)
        )
        for i, label in enumerate(self.wrong_labels):
            label.set_text(
                f"{self.labels_test[wrong[i]]}->{predicted[wrong[i]]}" if i < len(wrong) else ""
            )
        W1 = self.snapshots[epoch]["W1"]  # (64, hidden): column j is unit j's image
        limit = float(np.abs(W1).max()) or 1.0
        self.weights.set_data(mosaic(W1.T, self.weight_columns))
        self.weights.set_clim(-limit, limit)
        accuracy = label_accuracy(predicted, self.labels_test)
        self.title.set_text(
            f"epoch {epoch}: {accuracy:.1%} of {len(predicted)} held-out "
            f"images right, {int(np.sum(predicted != self.labels_test))} wrong"
        )
        return {"confusion": counts, "W1": W1, "accuracy": np.array(accuracy)}

    def notes(self) -> list[str]:
        return [self.train.note]


def train_classifier_reference(X, Y, params, lr, epochs, batch_size, seed):
    """refimpl.train_classifier with the exercise's signature (the explorer's fallback)."""
    return train_classifier(X, Y, params, lr, epochs, batch_size, seed)


def compare_with_mlp_classifier(
    split, trained, hidden_layer_sizes=(32,), max_iter=100, random_state=0
) -> dict[str, float]:
    """Train scikit-learn's ``MLPClassifier`` (Adam, ReLU, softmax output) on the same split
    and print its held-out accuracy beside that of ``trained``.

    Parameters
    ----------
    split : tuple
        ``(X_train, X_test, labels_train, labels_test)``.
    trained : dict
        The params of your network.
    hidden_layer_sizes, max_iter, random_state :
        Passed to ``MLPClassifier``.

    Returns
    -------
    dict with ``"yours"`` and ``"MLPClassifier"``, held-out accuracies.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, labels_train, labels_test = split
    peer = MLPClassifier(
        hidden_layer_sizes=hidden_layer_sizes, max_iter=max_iter, random_state=random_state
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a short run on purpose
        peer.fit(X_train, labels_train)
    scores = {
        "yours": label_accuracy(predict_labels(X_test, trained), labels_test),
        "MLPClassifier": float(peer.score(X_test, labels_test)),
    }
    for name, score in scores.items():
        print(f"{name:>14}: {score:.1%} of {len(labels_test)} held-out images right")
    return scores
