"""A multi-class classifier from layers (notebook 09): softmax, cross-entropy, mini-batch SGD.

The network is an MLP with ReLU hidden layers and a linear output layer of k units whose
logits ``Z`` go through a softmax. Labels come in two forms, and each function says which it
takes: integer ``labels`` of shape (n,) (``0 .. k - 1``), or one-hot targets ``Y`` of shape
(n, k) (``Y[i, labels[i]] = 1``). The loss is the mean cross-entropy over the samples,
computed from the logits with a stable log-softmax, and its output delta is exact:

    dL/dZ = (softmax(Z) - Y) / n                                   (eq. 9.2)

softmax + cross-entropy is a matched pair, like sigmoid + BCE and identity + (1/2) squared
error: for each of them ``delta_out = (y_hat - y) / n``. (Sigmoid + MSE is not one.)

The data set is the 8x8 handwritten digits that scikit-learn ships inside its wheel
(``sklearn.datasets.load_digits``); ``load_digits`` reads that file with NumPy alone.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from refimpl.activations import relu, relu_prime
from refimpl.data import train_test_split
from refimpl.layers import dense_backward, dense_forward

#: Classes, image shape and the largest pixel value of the digits (a 4-bit grey level).
DIGIT_CLASSES = 10
DIGIT_SHAPE = (8, 8)
DIGIT_MAX = 16.0


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------


def _digits_file() -> Path:
    """scikit-learn's ``digits.csv.gz``, found without importing scikit-learn (about 1 s)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "The digits come with scikit-learn: pip install scikit-learn (it is one of the "
            "course's dependencies)."
        )
    return Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 handwritten digits of ``sklearn.datasets.load_digits``, pixels scaled to [0, 1].

    Returns
    -------
    X : ndarray, shape (1797, 64)
        One 8x8 image per row (row-major: ``X[i].reshape(8, 8)`` is the image), divided by
        ``DIGIT_MAX`` so that every feature lies in [0, 1].
    labels : ndarray of int64, shape (1797,)
        The digit each image shows, 0 .. 9.
    """
    with gzip.open(_digits_file(), "rt") as file:
        table = np.loadtxt(file, delimiter=",")
    return table[:, :-1] / DIGIT_MAX, table[:, -1].astype(np.int64)


def load_digits_split(seed=0, test_fraction=0.25):
    """The digits, shuffled and split into a training set and a held-out test set.

    Parameters
    ----------
    seed : int, default 0
        Seed of the shuffle (``refimpl.train_test_split``).
    test_fraction : float, default 0.25
        Share of the images held out (450 of 1797 for 0.25).

    Returns
    -------
    X_train : ndarray, shape (n_train, 64)
    X_test : ndarray, shape (n_test, 64)
    labels_train : ndarray of int64, shape (n_train,)
    labels_test : ndarray of int64, shape (n_test,)
    """
    X, labels = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        X, labels.reshape(-1, 1), test_fraction=test_fraction, seed=seed)
    return X_train, X_test, y_train.ravel().astype(np.int64), y_test.ravel().astype(np.int64)


def one_hot(labels, k=DIGIT_CLASSES) -> np.ndarray:
    """One-hot targets: row i is 1.0 in column ``labels[i]`` and 0.0 elsewhere.

    Parameters
    ----------
    labels : array_like of int, shape (n,)
        Class indices 0 .. k - 1.
    k : int, default DIGIT_CLASSES
        Number of classes.

    Returns
    -------
    Y : ndarray, shape (n, k)
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.all((labels >= 0) & (labels < k) & (labels == labels // 1)):
        raise ValueError(
            f"labels must be a 1-D array of class indices 0 .. {k - 1}; got shape "
            f"{labels.shape}{'' if labels.ndim != 1 else ' with values outside that range'}."
        )
    Y = np.zeros((labels.shape[0], k))
    Y[np.arange(labels.shape[0]), labels.astype(np.int64)] = 1.0
    return Y


# ---------------------------------------------------------------------------------------
# Softmax and cross-entropy, forward beside backward
# ---------------------------------------------------------------------------------------


def _as_logits(Z) -> np.ndarray:
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2:
        raise ValueError(f"Z must be 2-D with shape (n, k), one row of logits per sample; got "
                         f"shape {Z.shape}.")
    return Z


def log_softmax(Z) -> np.ndarray:
    """Row-wise log-softmax, ``log_softmax(Z)[i, j] = Z[i, j] - log(sum_c exp(Z[i, c]))``.

    Subtracting each row's maximum first changes nothing (softmax ignores a constant added to
    a row) and keeps every ``exp`` in (0, 1]: no overflow, even for logits of 1e3 (eq. 9.1).

    Parameters
    ----------
    Z : array_like, shape (n, k)
        Logits, one row per sample.

    Returns
    -------
    log_P : ndarray, shape (n, k)
        Log-probabilities; every row's ``exp`` sums to 1.
    """
    Z = _as_logits(Z)
    shifted = Z - Z.max(axis=1, keepdims=True)  # (n, k), every row's maximum is 0
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(Z) -> np.ndarray:
    """Row-wise softmax, the probabilities ``P = exp(log_softmax(Z))``.

    Parameters
    ----------
    Z : array_like, shape (n, k)

    Returns
    -------
    P : ndarray, shape (n, k)
        Entries in [0, 1], rows summing to 1.
    """
    return np.exp(log_softmax(Z))


def _check_targets(Z: np.ndarray, Y) -> np.ndarray:
    Y = np.asarray(Y, dtype=np.float64)
    if Y.shape != Z.shape:
        raise ValueError(
            f"Y must be one-hot with the shape of Z, {Z.shape}; got shape {Y.shape}. For "
            "integer labels of shape (n,) use one_hot(labels, k)."
        )
    return Y


def cross_entropy(Z, Y) -> float:
    """Mean cross-entropy of the softmax of logits Z, ``L = -mean_i sum_j Y_ij log P_ij``.

    Parameters
    ----------
    Z : array_like, shape (n, k)
        Logits.
    Y : array_like, shape (n, k)
        One-hot targets.

    Returns
    -------
    L : float, >= 0
    """
    Z = _as_logits(Z)
    Y = _check_targets(Z, Y)
    return float(-np.sum(Y * log_softmax(Z)) / Z.shape[0])


def softmax_cross_entropy_backward(Z, Y) -> np.ndarray:
    """dL/dZ of ``cross_entropy(Z, Y)``: ``(softmax(Z) - Y) / n`` (eq. 9.2).

    Parameters
    ----------
    Z : array_like, shape (n, k)
    Y : array_like, shape (n, k)
        One-hot targets.

    Returns
    -------
    dZ : ndarray, shape (n, k)
        Including the 1/n of the mean.
    """
    Z = _as_logits(Z)
    Y = _check_targets(Z, Y)
    return (softmax(Z) - Y) / Z.shape[0]


def relu_backward(dA, Z) -> np.ndarray:
    """Backward pass of ``A = relu(Z)``: ``dZ = dA * relu'(Z)``, with ``relu'(0) = 0``.

    Parameters
    ----------
    dA : array_like, shape (n, d)
        dL/dA, from the layer above.
    Z : array_like, shape (n, d)
        The pre-activations of the forward pass.

    Returns
    -------
    dZ : ndarray, shape (n, d)
    """
    dA = np.asarray(dA, dtype=np.float64)
    Z = np.asarray(Z, dtype=np.float64)
    if dA.shape != Z.shape:
        raise ValueError(f"dA and Z must have the same shape; got {dA.shape} and {Z.shape}.")
    return dA * relu_prime(Z)


# ---------------------------------------------------------------------------------------
# The network: forward, loss and gradients over layers
# ---------------------------------------------------------------------------------------


def _n_layers(params) -> int:
    n_layers = len(params) // 2
    if n_layers < 1 or set(params) != {f"{p}{l}" for l in range(1, n_layers + 1) for p in "Wb"}:
        raise ValueError(f"params must hold W1, b1, ..., WL, bL; got keys {sorted(params)}.")
    return n_layers


def classifier_forward(X, params) -> tuple[np.ndarray, dict]:
    """Forward pass: ReLU hidden layers, then the logits of the last layer (no activation).

    Parameters
    ----------
    X : array_like, shape (n, d_0)
    params : dict
        ``W{l}`` (d_{l-1}, d_l) and ``b{l}`` (d_l,) for l = 1..L; d_L = k classes.

    Returns
    -------
    Z_out : ndarray, shape (n, k)
        The logits ``ZL``.
    cache : dict
        ``"A0"`` (= X), ``"Z{l}"`` for l = 1..L and ``"A{l}"`` for the hidden layers.
    """
    n_layers = _n_layers(params)
    A = np.asarray(X, dtype=np.float64)
    cache = {"A0": A}
    for l in range(1, n_layers + 1):
        Z = dense_forward(A, params[f"W{l}"], params[f"b{l}"])  # (n, d_l)
        cache[f"Z{l}"] = Z
        if l < n_layers:
            A = cache[f"A{l}"] = relu(Z)
    return Z, cache


def classifier_gradients(X, Y, params) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and its gradient for every parameter, from the layers' backward passes.

    ``dZL = softmax_cross_entropy_backward(ZL, Y)``; then for l = L..1
    ``dA_prev, dW{l}, db{l} = dense_backward(dZ{l}, A{l-1}, W{l})`` and, below the top,
    ``dZ{l-1} = relu_backward(dA_prev, Z{l-1})``.

    Parameters
    ----------
    X : array_like, shape (n, d_0)
    Y : array_like, shape (n, k)
        One-hot targets.
    params : dict
        ``W{l}``, ``b{l}`` for l = 1..L.

    Returns
    -------
    loss : float
        ``cross_entropy(ZL, Y)``.
    grads : dict
        The keys and shapes of params: ``grads["W1"]`` is dL/dW1.
    """
    n_layers = _n_layers(params)
    Z_out, cache = classifier_forward(X, params)
    loss = cross_entropy(Z_out, Y)
    dZ = softmax_cross_entropy_backward(Z_out, Y)  # (n, k)
    grads = {}
    for l in range(n_layers, 0, -1):
        dA_prev, grads[f"W{l}"], grads[f"b{l}"] = dense_backward(
            dZ, cache[f"A{l - 1}"], params[f"W{l}"])
        if l > 1:
            dZ = relu_backward(dA_prev, cache[f"Z{l - 1}"])  # (n, d_{l-1})
    return loss, {key: grads[key] for key in params}


def predict_labels(X, params) -> np.ndarray:
    """The most probable class of every sample, ``argmax`` of the logits.

    Returns
    -------
    labels : ndarray of int64, shape (n,)
    """
    Z_out, _ = classifier_forward(X, params)
    return Z_out.argmax(axis=1)


def label_accuracy(predicted, labels) -> float:
    """Fraction of samples whose predicted class is the true one.

    Parameters
    ----------
    predicted, labels : array_like of int, shape (n,)

    Returns
    -------
    fraction : float, in [0, 1]
    """
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    if predicted.shape != labels.shape or labels.ndim != 1:
        raise ValueError(f"predicted and labels must both have shape (n,); got "
                         f"{predicted.shape} and {labels.shape}.")
    return float(np.mean(predicted == labels))


def confusion_matrix(labels, predicted, k=DIGIT_CLASSES) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Parameters
    ----------
    labels, predicted : array_like of int, shape (n,)
    k : int, default DIGIT_CLASSES

    Returns
    -------
    counts : ndarray of int64, shape (k, k)
        ``counts[i, j]`` samples of class i were predicted as j; the diagonal is right.
    """
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels, dtype=np.int64), np.asarray(predicted, np.int64)), 1)
    return counts


# ---------------------------------------------------------------------------------------
# Mini-batch stochastic gradient descent
# ---------------------------------------------------------------------------------------


def minibatches(n, batch_size, rng) -> list[np.ndarray]:
    """The mini-batches of one epoch: a fresh shuffle of 0..n-1, cut into consecutive pieces.

    Every sample is in exactly one batch, so one epoch is one pass over the data; the last
    batch is smaller when batch_size does not divide n.

    Parameters
    ----------
    n : int
        Number of samples.
    batch_size : int
    rng : numpy.random.Generator
        Draws the shuffle, ``rng.permutation(n)`` (so the same seed gives the same batches).

    Returns
    -------
    batches : list of ndarray of int
        Row indices, ``ceil(n / batch_size)`` arrays.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size!r}.")
    order = rng.permutation(n)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def train_classifier(X, Y, params, lr, epochs, batch_size=32, seed=0, record_params=False):
    """Mini-batch SGD on the cross-entropy: each epoch, one step per batch of ``minibatches``.

    ``rng = np.random.default_rng(seed)`` once, before the first epoch; every epoch draws its
    own shuffle from it. A step is ``W <- W - lr * dW`` with the gradients of its batch.

    Parameters
    ----------
    X : array_like, shape (n, d_0)
    Y : array_like, shape (n, k)
        One-hot targets.
    params : dict
        The starting ``W{l}``, ``b{l}`` (left unchanged).
    lr : float
    epochs : int
    batch_size : int, default 32
    seed : int, default 0
    record_params : bool, default False
        Also keep the params after every epoch (for the explorer).

    Returns
    -------
    trained : dict
        New arrays.
    history : dict
        ``"loss"``: ndarray (epochs * batches,), each batch's loss before its step; with
        ``record_params``, ``"params"``: a list of epochs + 1 dicts, the start first.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    current = {key: np.array(value, dtype=np.float64) for key, value in params.items()}
    rng = np.random.default_rng(seed)
    losses, snapshots = [], [current]
    for _ in range(epochs):
        for batch in minibatches(X.shape[0], batch_size, rng):
            loss, grads = classifier_gradients(X[batch], Y[batch], current)
            current = {key: current[key] - lr * grads[key] for key in current}
            losses.append(loss)
        snapshots.append(current)
    history = {"loss": np.array(losses)}
    if record_params:
        history["params"] = snapshots
    return current, history
