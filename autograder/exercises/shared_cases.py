"""What the exercises of several notebooks share in their declarations: small helpers that
build cases, the advice on inputs changed in place, the gradient dict of a backward pass
(its output specification and where a wrong one goes wrong), and the params a training run
returned."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

import refimpl
from autograder.checks import formatting as fmt
from autograder.checks.types import DictOf

__all__ = ["N_HIDDEN", "array", "first_wrong_sentence", "fixed", "grads_spec", "in_place_hints",
           "layer_diagnose", "layer_order", "params_231", "random_X", "random_params",
           "random_shape", "shapes_label", "sprinkle_zeros", "study_sleep", "trained_params"]

N_HIDDEN = 20  # hidden cases per check


# ---------------------------------------------------------------------------------------
# Arrays and shapes
# ---------------------------------------------------------------------------------------


def array(values) -> np.ndarray:
    """``values`` as a float64 array."""
    return np.array(values, dtype=np.float64)


def fixed(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    """Readable fixed values (2 decimals) for visible cases."""
    return np.round(np.random.default_rng(seed).normal(0.0, scale, shape), 2)


def random_shape(rng: np.random.Generator, i: int) -> tuple[int, ...]:
    """Cycles through 0-d, 1-D, 2-D, columns, rows and squares, with random sizes."""
    n, m = int(rng.integers(1, 7)), int(rng.integers(2, 7))
    return [(), (m,), (n, m), (m, 1), (1, m), (m, m), (n, m + 1)][i % 7]


def sprinkle_zeros(rng: np.random.Generator, a: np.ndarray) -> np.ndarray:
    """``a`` with about a quarter of its entries set to exactly 0 (in place)."""
    if a.size > 1:
        a[rng.random(a.shape) < 0.25] = 0.0
    return a


def shapes_label(**arrays: Any) -> str:
    """``"X (4, 2), w (2,)"``: a case label made of its inputs' shapes."""
    return ", ".join(f"{k} {fmt.shape(np.shape(v))}" for k, v in arrays.items())


# ---------------------------------------------------------------------------------------
# Students, networks and parameters
# ---------------------------------------------------------------------------------------


def study_sleep(n: int, seed: int, standardize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``n`` students of ``refimpl.study_sleep``: X (n, 2) rounded to 2 decimals, y (n, 1)."""
    X, y = refimpl.study_sleep(n=n, seed=seed)
    if standardize:
        X = refimpl.standardize(X)[0]
    return np.round(np.asarray(X, dtype=np.float64), 2), np.asarray(y, dtype=np.float64)


def params_231(seed: int, b1: list[float], b2: float) -> dict[str, np.ndarray]:
    """The 2-3-1 network's ``init_231`` weights rounded to 2 decimals, with the given biases."""
    params = {k: np.array(v, dtype=np.float64) for k, v in refimpl.init_231(seed=seed).items()}
    params["W1"], params["W2"] = np.round(params["W1"], 2), np.round(params["W2"], 2)
    params["b1"], params["b2"] = array(b1), array([b2])
    return params


def random_params(rng: np.random.Generator, sizes: list[int], zero_bias: bool) -> dict:
    """Random params of an MLP with layer ``sizes``; ``zero_bias``: one b1 entry is 0."""
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.normal(0.0, 1.0, (sizes[l - 1], sizes[l]))
        params[f"b{l}"] = rng.normal(0.0, 0.3, sizes[l])
    if zero_bias:
        params["b1"][rng.integers(sizes[1])] = 0.0
    return params


def random_X(rng: np.random.Generator, n: int, d: int, zero_row: bool) -> np.ndarray:
    """Random inputs (n, d); ``zero_row``: one row is all zeros."""
    X = rng.normal(size=(n, d))
    if zero_row:
        X[rng.integers(n)] = 0.0
    return X


# ---------------------------------------------------------------------------------------
# Advice
# ---------------------------------------------------------------------------------------

_NOT_IN_PLACE = ("{name} must not be changed: compute new arrays (B = A * 2, A.copy()) instead "
                 "of writing into the ones you were given.")


def in_place_hints(*names: str) -> dict[str, str]:
    """The generic advice for each of these arguments, when the learner changed it in place."""
    return {name: _NOT_IN_PLACE.format(name=name) for name in names}


def first_wrong_sentence(first: str) -> str:
    """The diagnosis of a forward pass whose first wrong quantity is ``first``."""
    return (f"In forward order the first wrong quantity is {first}: look there first; "
            "everything computed after it inherits the error.")


# ---------------------------------------------------------------------------------------
# The gradient dict of a backward pass (backward_231, mlp_backward)
# ---------------------------------------------------------------------------------------


def grads_spec(keys: tuple[str, ...] | None) -> DictOf:
    """A dict with the keys of params (None: those of the reference), named dW1, db1, ..."""
    return DictOf("grads", keys, label=lambda key: f"d{key}",
                  purpose="grads uses the keys of params: grads['W1'] is dL/dW1.")


def _layer_of(name: str) -> int:
    m = re.search(r"(\d+)$", name)
    return int(m.group(1)) if m else 0


def layer_order(name: str) -> tuple[int, int]:
    """Output layer first (the error of a backward pass flows down), dW before db."""
    return -_layer_of(name), 0 if name.startswith("dW") else 1


def layer_diagnose(correct: list[str], wrong: list[str]) -> str | None:
    """Where the error enters, from which gradients are right (names dW1, db1, ...)."""
    if not wrong:
        return None
    if all(name.startswith("db") for name in wrong):
        return ("Only bias gradients differ: db adds up dZ over the samples, one entry per "
                "unit of the layer.")
    if all(name.startswith("dW") for name in wrong) and correct:
        return ("The bias gradients are right, so every dZ is right: look at how dW combines "
                "dZ with the layer's input.")
    layers = [_layer_of(n) for n in correct + wrong]
    top, last = max(_layer_of(n) for n in wrong), max(layers)
    if top == last:
        return (f"The error starts at the output layer (dZ{last}); every gradient below "
                "inherits it.")
    where = "the hidden layer, layer 1" if last == 2 else f"layer {top}"
    return (f"The layers above are right, so the error is in {where}: look at how you go back "
            f"from dZ{top + 1} to dA{top}, the activation derivative in dZ{top}, and dW{top}, "
            f"db{top}.")


# ---------------------------------------------------------------------------------------
# Training runs
# ---------------------------------------------------------------------------------------


def trained_params(out: Any, start: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """The params of a training run's ``(params, history)`` as float64 arrays, each finite and
    of its starting shape; None when the output is malformed (the comparison with the
    reference reports that)."""
    if not (isinstance(out, tuple | list) and len(out) == 2 and isinstance(out[0], Mapping)):
        return None
    try:
        trained = {key: np.asarray(out[0][key], dtype=np.float64) for key in start}
    except (KeyError, TypeError, ValueError):
        return None
    if any(trained[k].shape != start[k].shape or not np.isfinite(trained[k]).all()
           for k in start):
        return None
    return trained
