"""Weight initialisation (notebook 10): the scale of the starting weights, and why it matters.

A dense layer ``Z = A @ W + b`` with ``W ~ N(0, std**2)`` of shape (d_in, d_out) sums d_in
products, so ``Var(Z) = d_in * std**2 * E[A**2]``. The schemes choose std to keep that
variance from layer to layer:

==========  ========================  =====================================================
scheme      std                       keeps ...
==========  ========================  =====================================================
"normal"    1                         nothing: Var(Z) grows d_in-fold per layer
"xavier"    sqrt(2 / (d_in + d_out))  the variance of tanh/sigmoid-like units, forward and
                                      backward (Glorot and Bengio, 2010)
"he"        sqrt(2 / d_in)            the variance of ReLU units, which zero half of Z
                                      (He et al., 2015)
==========  ========================  =====================================================

``deep_stack_statistics`` measures the effect on a deep stack of equal layers: the spread of
the activations on the way up and of the gradients on the way down.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from refimpl._validation import as_scalar
from refimpl.activations import get_activation

#: The initialisation schemes of ``init_std``.
INIT_SCHEMES = ("normal", "xavier", "he")
#: The activations a deep stack can use.
STACK_ACTIVATIONS = ("sigmoid", "tanh", "relu")


def _check_size(value, name: str) -> int:
    """value as an int; a ValueError unless it is a whole number >= 1."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1; got {value!r}.")
    return int(value)


def check_scheme(scheme) -> str:
    """scheme itself; a ValueError naming the valid schemes unless it is one of them."""
    if not isinstance(scheme, str) or scheme not in INIT_SCHEMES:
        valid = ", ".join(map(repr, INIT_SCHEMES))
        raise ValueError(f"Unknown initialisation scheme {scheme!r}. Use one of {valid}.")
    return scheme


def init_std(d_in, d_out, scheme) -> float:
    """The standard deviation of a layer's starting weights, ``W ~ N(0, std**2)``.

    Parameters
    ----------
    d_in : int, >= 1
        Inputs of the layer (the rows of W, its "fan-in").
    d_out : int, >= 1
        Outputs of the layer (the columns of W, its "fan-out").
    scheme : {"normal", "xavier", "he"}
        "normal": 1 (unscaled); "xavier" (Glorot normal): ``sqrt(2 / (d_in + d_out))``;
        "he": ``sqrt(2 / d_in)``.

    Returns
    -------
    std : float, > 0

    Raises
    ------
    ValueError
        For an unknown scheme or a size that is not a whole number >= 1.
    """
    d_in = _check_size(d_in, "d_in")
    d_out = _check_size(d_out, "d_out")
    scheme = check_scheme(scheme)
    if scheme == "he":
        return math.sqrt(2.0 / d_in)
    if scheme == "xavier":
        return math.sqrt(2.0 / (d_in + d_out))
    return 1.0


_reference_init_std = init_std  # deep_stack_statistics' init_std argument shadows the name


@dataclass(frozen=True)
class StackStatistics:
    """What ``deep_stack_statistics`` measured on one stack.

    Attributes
    ----------
    activations : tuple of ndarray, each shape (n, width)
        ``A_1 .. A_depth``, the output of every layer (the input X is not included).
    gradients : tuple of ndarray, each shape (n, width)
        ``dL/dA_1 .. dL/dA_depth`` for ``L = sum(A_depth * G)``, G the random upstream
        gradient (so ``gradients[-1] = G``).
    activation_std : ndarray, shape (depth,)
        ``activations[l].std()`` per layer.
    gradient_std : ndarray, shape (depth,)
        ``gradients[l].std()`` per layer.
    activation : str
        "sigmoid", "tanh" or "relu".
    scheme : str
        "normal", "xavier" or "he".
    """

    activations: tuple[np.ndarray, ...]
    gradients: tuple[np.ndarray, ...]
    activation_std: np.ndarray
    gradient_std: np.ndarray
    activation: str
    scheme: str


def _weight_std(std_fn: Callable, width: int, scheme: str) -> float:
    """std_fn(width, width, scheme) as a float; a ValueError unless it is a number >= 0."""
    std = as_scalar(
        std_fn(width, width, scheme),
        "init_std must return a single number (the standard deviation); got shape {shape}.",
    )
    if not (np.isfinite(std) and std >= 0):
        raise ValueError(f"init_std must return a finite number >= 0; it returned {std!r}.")
    return std


def deep_stack_statistics(
    activation, scheme, depth=10, width=100, n=500, seed=0, init_std=None
) -> StackStatistics:
    """Push random data up a deep stack of equal layers and a random gradient back down.

    ``A_0 = X ~ N(0, 1)`` of shape (n, width); for l = 1..depth,
    ``Z_l = A_{l-1} @ W_l`` (biases 0) and ``A_l = f(Z_l)`` with
    ``W_l ~ N(0, std**2)`` of shape (width, width), ``std = init_std(width, width, scheme)``.
    Backward from ``dA_depth = G ~ N(0, 1)``: ``dZ_l = dA_l * f'(Z_l)`` and
    ``dA_{l-1} = dZ_l @ W_l.T``, the gradients of ``L = sum(A_depth * G)``.

    One generator, ``np.random.default_rng(seed)``, draws X, then W_1 .. W_depth (as
    standard normals, then scaled by std), then G: every scheme sees the same draws.

    Parameters
    ----------
    activation : {"sigmoid", "tanh", "relu"}
        The activation of every layer.
    scheme : {"normal", "xavier", "he"}
        Passed to ``init_std``.
    depth : int, default 10
        Number of layers, >= 1.
    width : int, default 100
        Units per layer (and inputs), >= 1.
    n : int, default 500
        Samples, >= 1.
    seed : int, default 0
    init_std : callable or None, default None
        ``init_std(d_in, d_out, scheme) -> float``, where the std comes from; None is the
        reference ``refimpl.init_std`` (the explorer passes a learner's version).

    Returns
    -------
    stats : StackStatistics
    """
    if not isinstance(activation, str) or activation not in STACK_ACTIVATIONS:
        valid = ", ".join(map(repr, STACK_ACTIVATIONS))
        raise ValueError(f"Unknown activation {activation!r}. Use one of {valid}.")
    scheme = check_scheme(scheme)
    depth = _check_size(depth, "depth")
    width = _check_size(width, "width")
    n = _check_size(n, "n")
    std_fn = _reference_init_std if init_std is None else init_std
    if not callable(std_fn):
        raise TypeError(f"init_std must be a function or None; got {type(std_fn).__name__}.")
    std = _weight_std(std_fn, width, scheme)
    f, f_prime = get_activation(activation)

    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, width))  # A_0 = X
    weights, pre_activations, activations = [], [], []
    # N(0, 1) weights make Z grow ~10x per layer: let a relu stack overflow quietly.
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(depth):
            W = rng.standard_normal((width, width)) * std
            Z = A @ W  # (n, width) @ (width, width) -> (n, width)
            A = f(Z)
            weights.append(W)
            pre_activations.append(Z)
            activations.append(A)
        dA = rng.standard_normal((n, width))  # G = dL/dA_depth
        gradients = [dA]
        for l in range(depth - 1, 0, -1):  # python index l is layer l + 1
            dZ = dA * f_prime(pre_activations[l])  # (n, width)
            dA = dZ @ weights[l].T  # (n, width) @ (width, width) -> dL/dA_l
            gradients.append(dA)
        gradients.reverse()
        activation_std = np.array([a.std() for a in activations])
        gradient_std = np.array([g.std() for g in gradients])
    return StackStatistics(
        activations=tuple(activations),
        gradients=tuple(gradients),
        activation_std=activation_std,
        gradient_std=gradient_std,
        activation=activation,
        scheme=scheme,
    )
