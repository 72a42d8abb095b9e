"""Notebook 03, the loss: mse, bce, bce_from_logits.

Each exercise is one ``Entry``: its cases, then its wrong versions, then the declaration
(reference, cases, tolerance, known mistakes, the words of its check's docstring). Every loss
must refuse a (n,) vs (n, 1) mix of its arguments (one case each, ``_shape_trap``).
"""

from __future__ import annotations

from functools import partial

import numpy as np

import refimpl
from autograder.checks import formatting as fmt
from autograder.checks.types import SCALAR, Case, Mistake
from autograder.exercises.entry import Entry
from autograder.exercises.shared_cases import N_HIDDEN, array, in_place_hints, shapes_label
from autograder.exercises.shared_mistakes import as_f64

# ---------------------------------------------------------------------------------------
# What the losses share
# ---------------------------------------------------------------------------------------


def _shape_trap(first: np.ndarray, y: np.ndarray, name: str, label: str) -> Case:
    """A (n,) vs (n, 1) mix, which a loss must refuse: it would broadcast silently to (n, n)."""
    n = len(y)
    why = (f"{name} of shape {fmt.shape(first.shape)} against y of shape {fmt.shape(y.shape)} "
           f"broadcasts silently to ({n}, {n}), and the mean of those {n * n} numbers looks "
           f"plausible but is wrong: compare {name}.shape with y.shape first and raise a "
           "ValueError when they differ.")
    return Case((first, y), label=label, raises=ValueError, raises_why=why)


def _hidden_shape_trap(rng: np.random.Generator, name: str, low: float, high: float) -> Case:
    n = int(rng.integers(2, 7))
    first, y = rng.uniform(low, high, (n, 1)), rng.integers(0, 2, (n, 1)).astype(np.float64)
    if rng.random() < 0.5:
        return _shape_trap(first.ravel(), y, name, f"{name} and y of different shapes")
    return _shape_trap(first, y.ravel(), name, f"{name} and y of different shapes")


def _no_shape_check(slug: str, variant) -> Mistake:
    """The mistake of a loss that does not refuse a (n,) vs (n, 1) mix."""
    return Mistake(slug, "a (n,) vs (n, 1) mix is not refused",
                   "(n,) against (n, 1) broadcasts silently to (n, n). Compare the shapes "
                   "first and raise a ValueError when they differ.", variant)


def _sum_instead_of_mean(hint: str, variant) -> Mistake:
    return Mistake("sum-instead-of-mean", "a sum instead of a mean", hint, variant)


# ---------------------------------------------------------------------------------------
# mse
# ---------------------------------------------------------------------------------------


def _mse_visible() -> list[Case]:
    return [
        Case((array([[0.9], [0.2], [0.4], [0.7]]), array([[1.0], [0.0], [1.0], [0.0]])),
             label="4 samples, errors of both signs"),
        Case((array([[0.3], [0.8], [1.0]]), array([[0.3], [0.8], [1.0]])),
             label="perfect predictions (loss 0)"),
        Case((array([[2.5]]), array([[1.0]])), label="one sample"),
        Case((array([[3.0], [-1.0], [0.5], [2.0], [0.0]]),
              array([[1.0], [1.0], [0.0], [2.5], [-1.5]])),
             label="5 samples, larger errors"),
        _shape_trap(array([0.9, 0.2, 0.4, 0.7]), array([[1.0], [0.0], [1.0], [0.0]]), "y_hat",
                    "y_hat of shape (4,) against y of shape (4, 1): must raise ValueError"),
    ]


def _mse_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN - 1):
        n = [1, 2, 3, 5, 8, 13][i % 6]
        y = rng.normal(size=(n, 1))
        y_hat = y + rng.normal(0.0, 10.0 ** rng.uniform(-1, 1), (n, 1))
        cases.append(Case((y_hat, y), label=shapes_label(y_hat=y_hat, y=y)))
    return [*cases, _hidden_shape_trap(rng, "y_hat", -2.0, 2.0)]


def _mse(y_hat, y, *, mode="ref"):
    d = as_f64(y_hat) - as_f64(y)
    if mode == "no-square":
        return np.mean(d)
    if mode == "abs":
        return np.mean(np.abs(d))
    if mode == "sum":
        return np.sum(d**2)
    if mode == "half":
        return np.mean(d**2) / 2
    if mode == "sqrt":
        return np.sqrt(np.mean(d**2))
    if mode == "axis":
        return np.mean(d**2, axis=0)
    if mode == "unchecked":
        return np.mean(d**2)
    raise ValueError(mode)


MSE = Entry.simple(
    "mse", refimpl.mse, _mse_visible, _mse_hidden,
    summary="mse(y_hat, y) = mean((y_hat - y)**2), one float",
    output=SCALAR, input_hints=in_place_hints("y_hat", "y"),
    mistakes=(
        Mistake("mse-no-square", "the errors are not squared",
                "Positive and negative errors must not cancel out: MSE squares each error.",
                partial(_mse, mode="no-square")),
        Mistake("mse-abs", "absolute errors instead of squared errors",
                "That is the mean ABSOLUTE error; MSE squares each error.",
                partial(_mse, mode="abs")),
        _sum_instead_of_mean("MSE is a MEAN over all entries.", partial(_mse, mode="sum")),
        Mistake("half-mse", "an extra factor 1/2",
                "Some books use 1/2 * MSE to simplify the derivative; this course does not.",
                partial(_mse, mode="half")),
        Mistake("mse-sqrt", "the square root of the mean (RMSE)",
                "No square root: MSE is the mean of the squared errors.",
                partial(_mse, mode="sqrt")),
        Mistake("mse-mean-over-axis", "a mean over one axis only",
                "The loss is ONE number: average over ALL entries.",
                partial(_mse, mode="axis")),
        _no_shape_check("mse-no-shape-check", partial(_mse, mode="unchecked")),
    ))


# ---------------------------------------------------------------------------------------
# bce
# ---------------------------------------------------------------------------------------


def _bce_visible() -> list[Case]:
    return [
        Case((array([[0.9], [0.2], [0.6], [0.3]]), array([[1.0], [0.0], [0.0], [1.0]])),
             label="4 samples"),
        Case((array([[0.0], [1.0], [0.8], [0.3]]), array([[0.0], [1.0], [1.0], [0.0]])),
             label="predictions of exactly 0 and 1 (both right)"),
        Case((array([[0.7]]), array([[1.0]])), label="one sample"),
        _shape_trap(array([[0.9], [0.2], [0.6], [0.3]]), array([1.0, 0.0, 0.0, 1.0]), "y_hat",
                    "y_hat of shape (4, 1) against y of shape (4,): must raise ValueError"),
    ]


def _bce_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN - 1):
        n = [1, 2, 3, 5, 8][i % 5]
        y = rng.integers(0, 2, (n, 1)).astype(np.float64)
        y_hat = rng.uniform(0.02, 0.98, (n, 1))
        if i % 2 == 0:
            y_hat[0] = y[0]  # a confident, correct prediction of exactly 0 or 1
        cases.append(Case((y_hat, y), label=shapes_label(y_hat=y_hat, y=y)))
    return [*cases, _hidden_shape_trap(rng, "y_hat", 0.02, 0.98)]


def _bce(y_hat, y, *, mode="ref"):
    y = as_f64(y)
    if mode == "unclipped-log":
        p = as_f64(y_hat)
    else:
        eps = getattr(refimpl, "BCE_EPS", 1e-12)
        p = np.clip(as_f64(y_hat), eps, 1 - eps)
    terms = y * np.log(p) + (1 - y) * np.log(1 - p)
    if mode == "sign-flip":
        return np.mean(terms)
    if mode == "sum":
        return -np.sum(terms)
    if mode == "missing-negative-class":
        return -np.mean(y * np.log(p))
    if mode in ("unclipped-log", "unchecked"):
        return -np.mean(terms)
    raise ValueError(mode)


BCE = Entry.simple(
    "bce", refimpl.bce, _bce_visible, _bce_hidden,
    summary="bce(y_hat, y), one float, finite for predictions of exactly 0 and 1",
    tolerance_why="A learner's clipping epsilon changes the loss of an exact 0/1 prediction by "
                  "about epsilon: any epsilon up to about atol passes (1e-7, 1e-12, 1e-15 do).",
    output=SCALAR, rtol=1e-5, atol=1e-6, input_hints=in_place_hints("y_hat", "y"),
    mistakes=(
        Mistake("unclipped-log", "log(0) for predictions of exactly 0 or 1",
                "For y_hat = 0 or 1 one of the logs is log(0) = -inf and 0 * -inf = nan. "
                "Keep y_hat away from 0 and 1 with np.clip and a small named epsilon.",
                partial(_bce, mode="unclipped-log")),
        Mistake("bce-sign-flip", "the minus sign is missing",
                "log of a probability is negative; the loss must be positive.",
                partial(_bce, mode="sign-flip")),
        _sum_instead_of_mean("BCE is a MEAN over the samples.", partial(_bce, mode="sum")),
        Mistake("bce-missing-negative-class", "the (1 - y) log(1 - y_hat) term is missing",
                "Samples with y = 0 must also cost something when y_hat is large.",
                partial(_bce, mode="missing-negative-class")),
        _no_shape_check("bce-no-shape-check", partial(_bce, mode="unchecked")),
    ))


# ---------------------------------------------------------------------------------------
# bce_from_logits
# ---------------------------------------------------------------------------------------


def _bce_from_logits_visible() -> list[Case]:
    return [
        Case((array([[2.0], [-1.0], [0.5], [-3.0]]), array([[1.0], [0.0], [0.0], [1.0]])),
             label="4 samples, moderate logits"),
        Case((array([[800.0], [-800.0], [30.0], [-30.0]]), array([[0.0], [1.0], [1.0], [0.0]])),
             label="logits of +-800 and +-30, where sigmoid rounds to exactly 0 or 1"),
        Case((array([[0.0]]), array([[1.0]])), label="one sample with Z = 0"),
        _shape_trap(array([2.0, -1.0, 0.5]), array([[1.0], [0.0], [0.0]]), "Z",
                    "Z of shape (3,) against y of shape (3, 1): must raise ValueError"),
    ]


def _bce_from_logits_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN - 1):
        n = [1, 2, 3, 5, 8][i % 5]
        y = rng.integers(0, 2, (n, 1)).astype(np.float64)
        Z = rng.normal(0.0, 3.0, (n, 1))
        if i % 2 == 0:
            Z[0] = rng.choice([-1.0, 1.0]) * rng.uniform(50.0, 1000.0)
        cases.append(Case((Z, y), label=shapes_label(Z=Z, y=y)))
    return [*cases, _hidden_shape_trap(rng, "Z", -3.0, 3.0)]


def _bce_from_logits(Z, y, *, mode="ref"):
    Z, y = as_f64(Z), as_f64(y)
    if mode == "through-sigmoid":
        return refimpl.bce(refimpl.sigmoid(Z), y)
    if mode == "naive-softplus":
        return np.mean(np.log(1 + np.exp(Z)) - y * Z)
    softplus = np.logaddexp(0.0, Z)
    if mode == "yz-sign":
        return np.mean(softplus + y * Z)
    if mode == "sum":
        return np.sum(softplus - y * Z)
    if mode == "unchecked":
        return np.mean(softplus - y * Z)
    raise ValueError(mode)


BCE_FROM_LOGITS = Entry.simple(
    "bce_from_logits", refimpl.bce_from_logits, _bce_from_logits_visible,
    _bce_from_logits_hidden,
    summary="bce_from_logits(Z, y) = mean(log(1 + e^Z) - y Z), one float, finite and exact for "
            "logits up to +-1000",
    output=SCALAR, input_hints=in_place_hints("Z", "y"), uses=("sigmoid",),
    mistakes=(
        Mistake("logits-through-sigmoid", "sigmoid first, then the log of a probability",
                "For a logit of 800 the sigmoid rounds to exactly 1.0 and the log loses "
                "everything. Write log(sigmoid(z)) and log(1 - sigmoid(z)) in terms of z "
                "itself: log(1 + e^z) has a stable form.",
                partial(_bce_from_logits, mode="through-sigmoid")),
        Mistake("naive-softplus", "log(1 + exp(Z)) overflows for large Z",
                "exp(800) is inf in float64, although log(1 + e^z) itself is only about z "
                "there. Rewrite it so that e is only ever raised to a power <= 0.",
                partial(_bce_from_logits, mode="naive-softplus")),
        Mistake("yz-sign", "the y * Z term has the wrong sign",
                "Write -[y log(sigma(z)) + (1 - y) log(1 - sigma(z))] in terms of z and "
                "simplify: the term with y is subtracted.",
                partial(_bce_from_logits, mode="yz-sign")),
        _sum_instead_of_mean("BCE is a MEAN over the samples.",
                             partial(_bce_from_logits, mode="sum")),
        _no_shape_check("logits-no-shape-check", partial(_bce_from_logits, mode="unchecked")),
    ))


ENTRIES = (MSE, BCE, BCE_FROM_LOGITS)
