"""Gradient checking with central differences.

``df/dx ~ (f(x + h) - f(x - h)) / (2 h)`` has an error of order h**2; with
h = 1e-5 in float64 a correct analytic gradient typically agrees to a
relative error below 1e-7. ``gradient_errors`` measures that relative error
for every parameter; ``grad_check`` measures it the same way and judges it;
``verdict`` reads one error as notebook 06's table does.

Symbols: g is an analytic gradient entry (from a backward pass), g_num its
numerical estimate (central differences), and the relative error is
``|g - g_num| / max(|g| + |g_num|, 1e-8)``, always in [0, 1].
"""

from __future__ import annotations

import numpy as np

from refimpl._validation import as_scalar

# relative_error divides by max(|g| + |g_num|, RELATIVE_ERROR_FLOOR) so that two
# gradients that are both exactly 0 compare as equal instead of giving 0 / 0.
RELATIVE_ERROR_FLOOR = 1e-8

# The verdicts of a gradient check (notebook 06's table) on the largest relative error e:
# right up to RIGHT_UP_TO, suspicious in between, wrong from WRONG_FROM on. With this
# convention, g_num = g (1 + d) gives e = |d| / (2 + d), about half the relative difference d.
# RIGHT_UP_TO: central differences with h = 1e-5 in float64 are accurate to about 1e-10
# relative (h**2 truncation, eps / h rounding); 1e-7 leaves room for entries far smaller than
# the loss. WRONG_FROM: g and g_num differ by 2 % or more, which no rounding explains (a
# factor 2 gives e = 1/3, a flipped sign e = 1). Notebook 06 quotes CS231n's numbers, made for
# max(|g|, |g_num|), which gives between 1 and 2 times e: the same powers of ten.
RIGHT_UP_TO = 1e-7
WRONG_FROM = 1e-2


class GradientCheckError(AssertionError):
    """An analytic gradient disagrees with its numerical estimate."""


#: The error when f returns more than one number.
_NOT_A_LOSS = "f must return a single number (a scalar loss); got an array of shape {shape}."


def numerical_derivative(f, x, h=1e-5) -> float:
    """Central-difference estimate of the derivative of a function of one number.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` for a number x.
    x : float
    h : float, default 1e-5
        Step size: the error shrinks like h**2 until round-off (about eps / h) takes over.

    Returns
    -------
    slope : float
        ``(f(x + h) - f(x - h)) / (2 h)``.
    """
    if not (h > 0 and np.isfinite(h)):
        raise ValueError(f"The step h must be a positive number; got {h!r}.")
    x = float(x)
    return (as_scalar(f(x + h), _NOT_A_LOSS) - as_scalar(f(x - h), _NOT_A_LOSS)) / (2.0 * h)


def numerical_gradient(f, x, h=1e-5) -> np.ndarray:
    """Central-difference estimate of the gradient of ``f`` at ``x``.

    Each entry of x is nudged in place to ``x + h`` and ``x - h`` in turn, and
    put back bit for bit afterwards, even when f raises. (A float64 ndarray is
    perturbed in place; anything else is first copied into one.)

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : array_like, any shape
    h : float, default 1e-5
        Step size.

    Returns
    -------
    grad : ndarray, shape of x
        ``grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h)``.
    """
    if not (h > 0 and np.isfinite(h)):
        raise ValueError(f"The step h must be a positive number; got {h!r}.")
    if not (isinstance(x, np.ndarray) and x.dtype == np.float64 and x.flags.writeable):
        x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        try:
            x[index] = original + h
            f_plus = as_scalar(f(x), _NOT_A_LOSS)
            x[index] = original - h
            f_minus = as_scalar(f(x), _NOT_A_LOSS)
        finally:
            x[index] = original  # restore exactly, whatever f did
        grad[index] = (f_plus - f_minus) / (2.0 * h)
    return grad


def numerical_gradients(loss_fn, params, h=1e-5) -> dict[str, np.ndarray]:
    """Central-difference gradients of ``loss_fn`` for every entry of a params dict.

    Works on a float64 copy of params, so the caller's arrays are never touched.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params) -> float``.
    params : dict of array_like
    h : float, default 1e-5

    Returns
    -------
    grads : dict of ndarray
        The same keys and shapes as params.
    """
    work = {key: np.array(value, dtype=np.float64) for key, value in params.items()}
    return {
        key: numerical_gradient(lambda _: loss_fn(work), work[key], h)  # perturbs work[key]
        for key in work
    }


def relative_error(analytic, numerical) -> float:
    """Largest entrywise relative error, ``max |g - g_num| / max(|g| + |g_num|, 1e-8)``.

    Parameters
    ----------
    analytic : array_like, any shape
    numerical : array_like, same shape as analytic

    Returns
    -------
    error : float
        0.0 for empty arrays.
    """
    g = np.asarray(analytic, dtype=np.float64)
    g_num = np.asarray(numerical, dtype=np.float64)
    if g.shape != g_num.shape:
        raise ValueError(
            f"analytic has shape {g.shape} but numerical has shape {g_num.shape}; "
            "they must have the same shape."
        )
    if g.size == 0:
        return 0.0
    return float(np.max(_entrywise_relative_error(g, g_num)))


def _entrywise_relative_error(g: np.ndarray, g_num: np.ndarray) -> np.ndarray:
    return np.abs(g - g_num) / np.maximum(np.abs(g) + np.abs(g_num), RELATIVE_ERROR_FLOOR)


def verdict(error) -> str:
    """What a gradient check's relative error says, as notebook 06's table reads it.

    Parameters
    ----------
    error : float
        A relative error (``relative_error``, ``gradient_errors``), in [0, 1] or nan.

    Returns
    -------
    verdict : {"right", "suspicious", "wrong"}
        "right" for ``error <= RIGHT_UP_TO`` (1e-7), "wrong" for ``error >= WRONG_FROM``
        (1e-2) and for nan (a gradient that is not a number), "suspicious" in between: a
        ReLU kink within h of a sample, rounding in a tiny entry, or a bug that touches few
        entries; check again at another h or another point.
    """
    error = float(error)
    if error < 0:
        raise ValueError(f"A relative error is never negative; got {error!r}.")
    if error <= RIGHT_UP_TO:
        return "right"
    if error < WRONG_FROM:
        return "suspicious"
    return "wrong"  # nan included: no comparison with it is true


def _format_entry(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def _structure_problem(params, grads) -> tuple[str | None, str] | None:
    """Why grads cannot be compared with params, as (the parameter concerned or None, a
    sentence), or None when every key is there with the right shape."""
    for key in params:
        if key not in grads:
            return None, (
                f"grads has no entry for {key!r}. grads needs the same keys as params: "
                f"{', '.join(map(repr, params))}."
            )
        if np.shape(grads[key]) != np.shape(params[key]):
            return key, (
                f"grads[{key!r}] has shape {np.shape(grads[key])} but params[{key!r}] has "
                f"shape {np.shape(params[key])}; d{key} must have the shape of {key}."
            )
    extra = [key for key in grads if key not in params]
    if extra:
        return None, f"grads has keys that params lacks: {', '.join(map(repr, extra))}."
    return None


def _gradient_errors(loss_fn, params, grads, h) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The relative error of every parameter, and the numerical gradients behind them."""
    numerical = numerical_gradients(loss_fn, params, h)
    errors = {key: relative_error(grads[key], numerical[key]) for key in params}
    return errors, numerical


def gradient_errors(loss_fn, params, grads, h=1e-5) -> dict[str, float]:
    """The relative error of each analytic gradient against central differences.

    This is what ``grad_check`` measures, returned instead of judged: a wrong
    gradient gives a large number, never an exception.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params) -> float``.
    params : dict of array_like
        Left untouched (the perturbations happen on a copy).
    grads : dict of array_like
        The analytic gradients: the same keys and shapes as params.
    h : float, default 1e-5
        The step of the central differences.

    Returns
    -------
    errors : dict of float
        ``errors[name] = relative_error(grads[name], numerical[name])``: the largest
        entrywise ``|g - g_num| / max(|g| + |g_num|, 1e-8)``. A correct gradient gives
        1e-7 or less, a wrong one 1e-2 to 1 (``verdict`` reads it).

    Raises
    ------
    ValueError
        Only when grads cannot be compared with params at all: a missing or extra
        key, or a gradient whose shape differs from its parameter's.
    """
    problem = _structure_problem(params, grads)
    if problem is not None:
        raise ValueError(problem[1])
    return _gradient_errors(loss_fn, params, grads, h)[0]


def grad_check(loss_fn, params, grads, h=1e-5, tol=RIGHT_UP_TO) -> dict[str, float]:
    """Compare analytic gradients with central differences, parameter by parameter.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params) -> float``.
    params : dict of array_like
    grads : dict of array_like
        The analytic gradients: the same keys and shapes as params.
    h : float, default 1e-5
    tol : float, default 1e-7
        Largest relative error accepted (``RIGHT_UP_TO``: the verdict "right").

    Returns
    -------
    errors : dict of float
        The relative error of each parameter (all <= tol).

    Raises
    ------
    GradientCheckError
        Naming the worst parameter and its worst entry, when one exceeds tol,
        or when grads misses a key or has a wrong shape.
    """
    problem = _structure_problem(params, grads)
    if problem is not None:
        key, text = problem
        raise GradientCheckError(f"Gradient check failed{f' for {key}' if key else ''}: {text}")

    errors, numerical = _gradient_errors(loss_fn, params, grads, h)
    failing = sorted((key for key in params if not errors[key] <= tol), key=lambda k: -errors[k])
    if failing:
        key = failing[0]
        g = np.asarray(grads[key], dtype=np.float64)
        g_num = numerical[key]
        entrywise = _entrywise_relative_error(g, g_num)
        entrywise = np.where(np.isnan(entrywise), np.inf, entrywise)  # a nan is the worst
        index = np.unravel_index(np.argmax(entrywise), g.shape)
        index = tuple(int(i) for i in index)
        others = "".join(f" {k} fails too ({errors[k]:.1e})." for k in failing[1:])
        raise GradientCheckError(
            f"Gradient check failed for {key}: relative error {errors[key]:.1e} exceeds the "
            f"tolerance {tol:.0e}. The worst entry is {_format_entry(key, index)}: analytic "
            f"{g[index]:.6g}, numerical {g_num[index]:.6g}.{others}"
        )
    return errors
