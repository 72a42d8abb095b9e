"""A general L-layer perceptron, the 2-3-1 network grown to any depth.

Layer l maps ``A{l-1}`` to ``Z{l} = A{l-1} @ W{l} + b{l}`` and ``A{l} = f(Z{l})``,
with ``A0 = X`` and ``y_hat = AL``. Hidden layers share one activation; the
output layer is "sigmoid" (probabilities) or "identity" (regression).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

from refimpl._validation import OUTPUTS as OUTPUTS  # the output activations, refimpl.OUTPUTS
from refimpl._validation import as_inputs, as_params, check_labels, resolve_activations
from refimpl.initialization import init_std
from refimpl.layers import dense_backward, dense_forward
from refimpl.losses import LOSS_GRADS, bce_from_logits, mse, validate_targets

INITS = ("he", "zeros", "normal", "xavier")


def init_mlp(layer_sizes: Sequence[int], seed=0, init: str = "he") -> dict[str, np.ndarray]:
    """Initial parameters for an MLP with the given layer sizes.

    Parameters
    ----------
    layer_sizes : sequence of int, length L + 1
        Units per layer, input first: ``[2, 3, 1]`` is the 2-3-1 network.
    seed : int, default 0
        Seed of the random generator (the same seed gives the same params).
    init : {"he", "zeros", "normal", "xavier"}, default "he"
        "he": ``W ~ N(0, 2 / d_in)``; "xavier": ``W ~ N(0, 2 / (d_in + d_out))``;
        "normal": ``W ~ N(0, 1)`` (unscaled); the stds come from ``refimpl.init_std``.
        "zeros": every weight 0 (shows the symmetry problem). Biases start at 0.

    Returns
    -------
    params : dict
        ``W{l}`` of shape (layer_sizes[l-1], layer_sizes[l]) and ``b{l}`` of
        shape (layer_sizes[l],) for l = 1..L, in the order W1, b1, W2, b2, ...
    """
    sizes = list(layer_sizes)
    if len(sizes) < 2 or not all(isinstance(s, int | np.integer) and s >= 1 for s in sizes):
        raise ValueError(
            f"layer_sizes must list at least two positive integers (inputs first, outputs "
            f"last), e.g. [2, 3, 1]; got {layer_sizes!r}."
        )
    if init not in INITS:
        raise ValueError(f"Unknown init {init!r}. Use one of {', '.join(map(repr, INITS))}.")
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    for l, (d_in, d_out) in enumerate(pairwise(sizes), start=1):
        if init == "zeros":
            W = np.zeros((d_in, d_out))
        else:
            # He et al. (2015): variance 2 / d_in keeps ReLU activations from shrinking or
            # growing from layer to layer; Xavier does the same for tanh-like units.
            W = rng.standard_normal((d_in, d_out)) * init_std(d_in, d_out, init)
        params[f"W{l}"] = W
        params[f"b{l}"] = np.zeros(d_out)
    return params


def check_training_data(
    X, y, params, loss, hidden, output
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], int, tuple[Callable, ...]]:
    """Check what ``train`` and ``loss_surface`` take, in one order (hence one message).

    Parameters
    ----------
    X : array_like, shape (n, d_0)
    y : array_like, shape (n, d_L)
        Targets of y_hat's shape; labels in [0, 1] for BCE.
    params : dict
        ``W{l}`` (d_{l-1}, d_l) and ``b{l}`` (d_l,) for l = 1..L.
    loss : {"bce", "mse"}
    hidden : str
    output : {"sigmoid", "identity"}

    Returns
    -------
    X : ndarray, shape (n, d_0)
    y : ndarray, shape (n, d_L)
    params : dict of ndarray
        As ``refimpl._validation.as_params`` returns them (float64, not copies).
    n_layers : int
        L.
    activations : tuple
        ``(f_hidden, f_hidden_prime, f_output, f_output_prime)``.
    """
    params, n_layers = as_params(params)
    X = as_inputs(X, params)
    y = np.asarray(y, dtype=np.float64)
    activations = resolve_activations(hidden, output, loss)
    validate_targets(np.zeros((X.shape[0], params[f"W{n_layers}"].shape[1])), y)  # y_hat's shape
    if loss == "bce":
        check_labels(y)
    return X, y, params, n_layers, activations


def forward_unchecked(X, params, n_layers, f_h, f_o) -> tuple[np.ndarray, dict]:
    """The forward pass of ``mlp_forward`` without validation (callers validate once)."""
    cache = {"A0": X}
    A = X
    for l in range(1, n_layers + 1):
        Z = dense_forward(A, params[f"W{l}"], params[f"b{l}"])  # (n, d_l-1) @ (d_l-1, d_l)
        A = f_h(Z) if l < n_layers else f_o(Z)  # (n, d_l)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache


def loss_unchecked(cache, y, n_layers, loss) -> float:
    """The loss from a forward cache, without validation; BCE comes stably from the logits ZL."""
    if loss == "bce":
        return bce_from_logits(cache[f"Z{n_layers}"], y)
    return mse(cache[f"A{n_layers}"], y)


def backward_unchecked(
    X, y, params, cache, n_layers, loss, output, f_h_prime, f_o_prime
) -> dict[str, np.ndarray]:
    """The backward pass of ``mlp_backward`` without validation (callers validate once)."""
    ZL, AL = cache[f"Z{n_layers}"], cache[f"A{n_layers}"]
    if loss == "bce" and output == "sigmoid":
        # Fused delta: for sigmoid + BCE, sigma'(Z) cancels and dL/dZ = (y_hat - y) / y.size
        # (the mean runs over all n * d_L entries of y; n for one output).
        # It is NOT valid for other pairs (e.g. sigmoid + MSE), handled below.
        validate_targets(AL, y)
        dZ = (AL - y) / y.size  # (n, d_L)
    else:
        dZ = LOSS_GRADS[loss](AL, y) * f_o_prime(ZL)  # dL/dy_hat * f'(ZL), (n, d_L)
    grads: dict[str, np.ndarray] = {}
    for l in range(n_layers, 0, -1):
        A_prev = X if l == 1 else cache[f"A{l - 1}"]
        dA_prev, grads[f"W{l}"], grads[f"b{l}"] = dense_backward(dZ, A_prev, params[f"W{l}"])
        if l > 1:
            dZ = dA_prev * f_h_prime(cache[f"Z{l - 1}"])  # (n, d_l-1)
    return {key: grads[key] for key in params}


def mlp_forward(X, params, hidden="relu", output="sigmoid") -> tuple[np.ndarray, dict]:
    """Forward pass of an L-layer MLP.

    Parameters
    ----------
    X : array_like, shape (n, d_0)
    params : dict
        ``W{l}`` (d_{l-1}, d_l) and ``b{l}`` (d_l,) for l = 1..L.
    hidden : str, default "relu"
        Activation of every hidden layer, a name from ``ACTIVATIONS``.
    output : {"sigmoid", "identity"}, default "sigmoid"
        Activation of the output layer.

    Returns
    -------
    y_hat : ndarray, shape (n, d_L)
    cache : dict
        ``"A0"`` (= X) and ``"Z{l}"``, ``"A{l}"`` (n, d_l) for l = 1..L.
    """
    params, n_layers = as_params(params)
    X = as_inputs(X, params)
    f_h, _, f_o, _ = resolve_activations(hidden, output)
    return forward_unchecked(X, params, n_layers, f_h, f_o)


def mlp_backward(
    X, y, params, cache, loss="bce", hidden="relu", output="sigmoid"
) -> dict[str, np.ndarray]:
    """Backward pass of an L-layer MLP: the gradient of the loss for every parameter.

    The loss is a mean over all ``y.size = n * d_L`` entries of y (n for one output), so
    the output delta is ``dZL = (y_hat - y) / y.size`` for sigmoid + BCE and
    ``dZL = dL/dy_hat * f'(ZL)`` otherwise; then for l = L..1,
    ``dW{l} = A{l-1}.T @ dZ{l}``, ``db{l} = dZ{l}.sum(axis=0)``,
    ``dZ{l-1} = (dZ{l} @ W{l}.T) * f'(Z{l-1})``.

    Parameters
    ----------
    X : array_like, shape (n, d_0)
    y : array_like, shape (n, d_L)
        Targets, the shape of y_hat ((n, 1) for one output).
    params : dict
        ``W{l}`` (d_{l-1}, d_l) and ``b{l}`` (d_l,) for l = 1..L.
    cache : dict
        The cache returned by ``mlp_forward`` for the same X and params.
    loss : {"bce", "mse"}, default "bce"
    hidden : str, default "relu"
    output : {"sigmoid", "identity"}, default "sigmoid"

    Returns
    -------
    grads : dict
        The same keys and shapes as params: ``grads["W1"]`` is dL/dW1.
    """
    params, n_layers = as_params(params)
    X = as_inputs(X, params)
    y = np.asarray(y, dtype=np.float64)
    _, f_h_prime, _, f_o_prime = resolve_activations(hidden, output, loss)
    n = X.shape[0]
    for l in range(1, n_layers + 1):
        width = params[f"W{l}"].shape[1]
        for key in (f"Z{l}", f"A{l}"):
            if key not in cache:
                raise ValueError(
                    f"cache has no {key!r}; pass the cache that mlp_forward returned for "
                    "the same X and params."
                )
            if np.shape(cache[key]) != (n, width):
                raise ValueError(
                    f"cache[{key!r}] has shape {np.shape(cache[key])} but should be "
                    f"({n}, {width}); was the cache computed for a different X or params?"
                )
    cache = {key: np.asarray(value, dtype=np.float64) for key, value in cache.items()}
    if loss == "bce":
        check_labels(y)
    return backward_unchecked(X, y, params, cache, n_layers, loss, output, f_h_prime, f_o_prime)


def mlp_loss(X, y, params, loss="bce", hidden="relu", output="sigmoid") -> float:
    """Loss of an L-layer MLP on (X, y); BCE is computed stably from the logits ZL.

    Parameters
    ----------
    X : array_like, shape (n, d_0)
    y : array_like, shape (n, d_L)
    params : dict
        ``W{l}`` (d_{l-1}, d_l) and ``b{l}`` (d_l,) for l = 1..L.
    loss : {"bce", "mse"}, default "bce"
    hidden : str, default "relu"
    output : {"sigmoid", "identity"}, default "sigmoid"

    Returns
    -------
    L : float
    """
    params, n_layers = as_params(params)
    X = as_inputs(X, params)
    f_h, _, f_o, _ = resolve_activations(hidden, output, loss)
    _, cache = forward_unchecked(X, params, n_layers, f_h, f_o)
    return loss_unchecked(cache, np.asarray(y, dtype=np.float64), n_layers, loss)
