"""The catalogue of known mistakes, keyed by exercise.

Each ``Mistake`` has a slug (counted in reports: it appears in square brackets in the
message), a name, a hint that points at the right place without giving the answer away, and
a ``variant``: the wrong formula with the reference's signature. The check names a mistake
when the learner's function behaves like its variant (same values, same exception, same
inputs changed in place). Mistakes that show up as an exception in the learner's own code
(a matmul shape error) also have a ``predicate``.

Every mistake of an exercise gives a different result from the reference and from every
other mistake of that exercise on the visible cases (tests/test_autograder_catalogue.py).

Keys: the exercise names, except ``backward_231_mse`` / ``backward_231_bce`` (the check
``backward_231(fn, loss=...)`` picks one).

Variants have the learner's form, so that a test can plant one in a notebook: the wrong
``Value`` classes are subclasses of ``refimpl.Value`` with one operation changed (called with
a check case's arguments, ``Cls(program, **leaves)``, they run the case); the wrong
``value_neuron_loss`` functions take ``(w, b, x, y, Value)`` (called with numbers only, they
run the case). The checks call every variant through the exercise's ``adapt``, like the
learner's own object.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

import refimpl
from autograder.checks.engine import Case, Mistake
from autograder.exercises.value_programs import run_program, run_value_neuron_loss

__all__ = ["CATALOGUE", "mistakes_for", "planted_source"]


# ---------------------------------------------------------------------------------------
# Exception predicates
# ---------------------------------------------------------------------------------------

_MATMUL_SIZES = (
    re.compile(r"size (\d+) is different from (\d+)"),  # a @ b, np.matmul
    re.compile(r"(\d+) \(dim \d+\) != (\d+) \(dim \d+\)"),  # np.dot
)


def _matmul_sizes(exc: BaseException) -> frozenset[int] | None:
    """The two mismatched sizes of a matrix-product shape error, else None."""
    if not isinstance(exc, ValueError):
        return None
    for pattern in _MATMUL_SIZES:
        m = pattern.search(str(exc))
        if m:
            return frozenset(int(g) for g in m.groups())
    return None


def _any_matmul_error(exc: BaseException, case: Case) -> bool:
    return _matmul_sizes(exc) is not None


def _matmul_error_with_w2(exc: BaseException, case: Case) -> bool:
    """A product that fails on exactly the two sizes of W2 (an untransposed W2)."""
    sizes = _matmul_sizes(exc)
    params = case.args[2]
    return sizes is not None and sizes == frozenset(params["W2"].shape)


def _matmul_error_with_w(exc: BaseException, case: Case) -> bool:
    """dense_backward: a product that fails on exactly the two sizes of W (dZ @ W)."""
    sizes = _matmul_sizes(exc)
    return sizes is not None and sizes == frozenset(np.shape(case.args[2]))


def _matmul_error_with_upper_w(exc: BaseException, case: Case) -> bool:
    """mlp_backward: a product that fails on the two sizes of some W_l, l >= 2 (dZ @ W_l)."""
    sizes = _matmul_sizes(exc)
    params = case.args[2]
    return sizes is not None and any(
        sizes == frozenset(np.shape(W)) for key, W in params.items()
        if key.startswith("W") and key != "W1")


def _f64(Z):
    return np.asarray(Z, dtype=np.float64)


def _activation(activation):
    return refimpl.ACTIVATIONS[activation] if isinstance(activation, str) else activation


# ---------------------------------------------------------------------------------------
# relu, sigmoid
# ---------------------------------------------------------------------------------------


def _relu_mask(Z):
    return (_f64(Z) > 0).astype(np.float64)


def _relu_min(Z):
    return np.minimum(_f64(Z), 0.0)


def _relu_abs(Z):
    return np.abs(_f64(Z))


def _relu_in_place(Z):
    Z[Z < 0] = 0
    return Z


def _sigmoid_exp_sign(Z):
    return 1.0 / (1.0 + np.exp(_f64(Z)))


def _sigmoid_tanh(Z):
    return np.tanh(_f64(Z))


def _sigmoid_minus(Z):
    return 1.0 / (1.0 - np.exp(-_f64(Z)))


def _sigmoid_missing_one(Z):
    return 1.0 / np.exp(-_f64(Z))


def _sigmoid_derivative(Z):
    s = refimpl.sigmoid(Z)
    return s * (1.0 - s)


# ---------------------------------------------------------------------------------------
# neuron, dense layer
# ---------------------------------------------------------------------------------------


def _neuron(X, w, b, activation="sigmoid", *, mode="ref"):
    f = _activation(activation)
    X, w = _f64(X), _f64(w)
    if mode == "no-activation":
        return X @ w + b
    if mode == "bias-after":
        return f(X @ w) + b
    if mode == "transposed":
        return f(X.T @ w + b)
    if mode == "elementwise":
        return f(X * w + b)
    raise ValueError(mode)


def _dense_forward(X, W, b, *, mode="ref"):
    if mode == "bias-missing":
        return X @ W
    if mode == "transposed":
        return X @ W.T + b
    if mode == "activation":
        return refimpl.relu(X @ W + b)
    raise ValueError(mode)


def _dense_backward(dZ, A_prev, W, *, mode="ref"):
    dA_prev, dW, db = dZ @ W.T, A_prev.T @ dZ, dZ.sum(axis=0)
    if mode == "dw-transposed":
        dW = dZ.T @ A_prev
    elif mode == "da-uses-w":
        dA_prev = dZ @ W
    elif mode == "db-wrong-axis":
        db = dZ.sum(axis=1)
    elif mode == "db-not-summed":
        db = dZ.copy()
    elif mode == "db-mean":
        db = dZ.mean(axis=0)
    elif mode == "dw-extra-1-over-n":
        dW = dW / dZ.shape[0]
    else:
        raise ValueError(mode)
    return dA_prev, dW, db


# ---------------------------------------------------------------------------------------
# forward_231
# ---------------------------------------------------------------------------------------


def _forward_231(X, params, *, hidden=None, output=None, bias=True, transposed=False):
    hidden = hidden or refimpl.relu
    output = output or refimpl.sigmoid
    X = _f64(X)
    W1, W2 = params["W1"], params["W2"]
    b1, b2 = (params["b1"], params["b2"]) if bias else (0.0, 0.0)
    Z1 = X @ (W1.T if transposed else W1) + b1
    A1 = hidden(Z1)
    Z2 = A1 @ W2 + b2
    A2 = output(Z2)
    return A2, {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


# ---------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------


def _mse(y_hat, y, *, mode="ref"):
    d = _f64(y_hat) - _f64(y)
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


def _bce(y_hat, y, *, mode="ref"):
    y = _f64(y)
    if mode == "unclipped-log":
        p = _f64(y_hat)
    else:
        eps = getattr(refimpl, "BCE_EPS", 1e-12)
        p = np.clip(_f64(y_hat), eps, 1 - eps)
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


def _bce_from_logits(Z, y, *, mode="ref"):
    Z, y = _f64(Z), _f64(y)
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


def _predict(X, params, threshold=0.5, *, mode="ref"):
    y_hat, cache = refimpl.forward_231(X, params)
    if mode == "probabilities":
        return y_hat
    if mode == "inverted":
        return (y_hat < threshold).astype(np.float64)
    if mode == "threshold-ignored":
        return (y_hat >= 0.5).astype(np.float64)
    if mode == "logit":
        return (cache["Z2"] >= threshold).astype(np.float64)
    raise ValueError(mode)


def _numerical_derivative(f, x, h=1e-5, *, mode="ref"):
    if mode == "forward":
        return (f(x + h) - f(x)) / h
    if mode == "backward":
        return (f(x) - f(x - h)) / h
    if mode == "divides-by-h":
        return (f(x + h) - f(x - h)) / h
    if mode == "ignores-h":
        return (f(x + 1e-5) - f(x - 1e-5)) / (2 * 1e-5)
    raise ValueError(mode)


# ---------------------------------------------------------------------------------------
# numerical_gradient, gradient_descent
# ---------------------------------------------------------------------------------------


def _numerical_gradient(f, x, h=1e-5, *, mode="ref"):
    if mode == "ignores-h":
        h = 1e-5
    if mode == "perturbs-all":
        return np.full(np.shape(x), (f(x + h) - f(x - h)) / (2 * h))
    grad = np.zeros(np.shape(x), dtype=np.float64)
    for i in np.ndindex(*np.shape(x)):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        if mode == "forward":
            x[i] = old
            grad[i] = (f_plus - f(x)) / h
            continue
        x[i] = old - h
        f_minus = f(x)
        if mode != "not-restored":
            x[i] = old
        grad[i] = (f_plus - f_minus) / (h if mode == "divides-by-h" else 2 * h)
    return grad


def _gradient_descent(f, grad_f, x0, lr, steps, *, mode="ref"):
    if mode == "in-place":
        x = x0  # the caller's array: every update below writes into it
        path = [x.copy()]
        for _ in range(steps):
            x -= lr * grad_f(x)
            path.append(x.copy())
    else:
        x = np.array(x0, dtype=np.float64)
        path = [x.copy()]
        for _ in range(steps):
            step = grad_f(x) if mode == "missing-lr" else lr * grad_f(x)
            x = x + step if mode == "ascent" else x - step
            path.append(x.copy())
        if mode == "without-x0":
            path = path[1:]
    path = np.array(path)
    return path, np.array([f(p) for p in path], dtype=np.float64)


# ---------------------------------------------------------------------------------------
# backward_231 and mlp_backward: the reference formulas with one thing changed
# ---------------------------------------------------------------------------------------


def _sum_bias(dZ, db):
    if db == "wrong-axis":
        return dZ.sum(axis=1)
    if db == "keepdims":
        return dZ.sum(axis=0, keepdims=True)
    return dZ.sum(axis=0)


def _hidden_delta(dA, Z, A, deriv, hidden="relu"):
    if deriv == "missing":
        return dA
    if deriv == "activation":
        return dA * A
    if deriv == "relu-at-zero":
        return dA * (Z >= 0)
    if deriv == "sigmoid":
        return dA * refimpl.sigmoid_prime(Z)
    return dA * refimpl.DERIVATIVES[hidden](Z)


def _backward_231(X, y, params, cache, loss="mse", *, out="ref", factor=1.0,
                  w2_transposed=True, deriv="ref", db="ref", dw_transposed=False,
                  dw2_input="A1", dw1_input="X"):
    n = X.shape[0]
    y_hat, Z2 = cache["A2"], cache["Z2"]
    sp = refimpl.sigmoid_prime(Z2)
    if out == "ref":
        out = "mse" if loss == "mse" else "shortcut"
    dZ2 = {
        "mse": 2 * (y_hat - y) * sp / n,
        "shortcut": (y_hat - y) / n,
        "no-sigmoid-prime": 2 * (y_hat - y) / n,
        "shortcut-times-sigmoid-prime": (y_hat - y) * sp / n,
    }[out] * factor
    W2 = params["W2"]
    dA1 = dZ2 @ (W2.T if w2_transposed else W2)
    dZ1 = _hidden_delta(dA1, cache["Z1"], cache["A1"], deriv)
    A_for_dW2 = cache["A1"] if dw2_input == "A1" else cache["Z1"]
    A_for_dW1 = X if dw1_input == "X" else cache["A1"]

    def weight_grad(A_prev, dZ):
        return dZ.T @ A_prev if dw_transposed else A_prev.T @ dZ

    return {"W1": weight_grad(A_for_dW1, dZ1), "b1": _sum_bias(dZ1, db),
            "W2": weight_grad(A_for_dW2, dZ2), "b2": _sum_bias(dZ2, db)}


def _mlp_backward(X, y, params, cache, loss="bce", hidden="relu", output="sigmoid", *,
                  factor=1.0, extra_sigmoid_prime=False, w_transposed=True, deriv="ref",
                  dw_input="prev", db="ref"):
    L = len([k for k in params if k.startswith("W")])
    Z_L, A_L = cache[f"Z{L}"], cache[f"A{L}"]
    if loss == "bce":
        dZ = (A_L - y) / y.size
    else:
        dZ = 2 * (A_L - y) / y.size * refimpl.DERIVATIVES[output](Z_L)
    if extra_sigmoid_prime:
        dZ = dZ * refimpl.sigmoid_prime(Z_L)
    dZ = dZ * factor
    grads = {}
    for l in range(L, 0, -1):
        if dw_input == "own":
            A_in = cache[f"A{l}"]
        elif dw_input == "z" and l > 1:
            A_in = cache[f"Z{l - 1}"]
        else:
            A_in = cache[f"A{l - 1}"] if l > 1 else X
        grads[f"W{l}"] = A_in.T @ dZ
        grads[f"b{l}"] = _sum_bias(dZ, db)
        if l > 1:
            W = params[f"W{l}"]
            dA = dZ @ (W.T if w_transposed else W)
            if deriv == "relu-at-zero" and hidden != "relu":
                dZ = _hidden_delta(dA, cache[f"Z{l - 1}"], cache[f"A{l - 1}"], "ref", hidden)
            else:
                dZ = _hidden_delta(dA, cache[f"Z{l - 1}"], cache[f"A{l - 1}"], deriv, hidden)
    return grads


# ---------------------------------------------------------------------------------------
# Notebook 05: the chain rule, Value, value_neuron_loss
# ---------------------------------------------------------------------------------------


def _neuron_loss_grads(w, b, x, y, *, mode="ref"):
    a = float(refimpl.sigmoid(w * x + b))
    dL_da = (a - y) if mode == "missing-factor-2" else 2 * (a - y)
    if mode == "sign-flip":
        dL_da = -dL_da
    if mode == "missing-sigmoid-prime":
        da_dz = 1.0
    elif mode == "sigmoid-prime-of-a":
        da_dz = float(refimpl.sigmoid_prime(a))
    else:
        da_dz = a * (1 - a)
    dL_dz = dL_da * da_dz
    dL_dw = dL_dz if mode == "dw-missing-x" else dL_dz * x
    dL_db = dL_dz * x if mode == "db-times-x" else dL_dz
    return dL_dw, dL_db


class _WrongValue(refimpl.Value):
    """Base of the wrong Value classes below: each overrides one thing of refimpl.Value.

    Like every variant, a wrong class can be called with a check case's arguments:
    ``Cls(program, **leaves)`` runs the program with it (``run_program``) and returns the
    results. Called with a number it is an ordinary Value (in a notebook, too).
    """

    def __new__(cls, data=0.0, *args, **kwargs):
        if isinstance(data, str):  # a check case: (program, **leaves)
            return run_program(cls, data, kwargs)
        return super().__new__(cls)


def _topological(root) -> list:
    topo, seen = [], set()

    def build(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                build(child)
            topo.append(node)

    build(root)
    return topo


class _GradOverwritten(_WrongValue):
    """Every _backward assigns (=) instead of adding (+=)."""

    def __add__(self, other):
        other = self._wrap(other)
        out = type(self)(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad = out.grad
            other.grad = out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._wrap(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        out = type(self)(self.data**k, (self,), f"**{k}")

        def _backward():
            self.grad = k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = type(self)(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad = (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        s = float(refimpl.sigmoid(self.data))
        out = type(self)(s, (self,), "sigmoid")

        def _backward():
            self.grad = s * (1 - s) * out.grad

        out._backward = _backward
        return out


class _NotTopological(_WrongValue):
    """backward() walks the graph depth-first and calls _backward on the way down."""

    def backward(self):
        self.grad = 1.0

        def visit(node):
            node._backward()
            for child in node._prev:
                visit(child)

        visit(self)


class _NoSeed(_WrongValue):
    """backward() forgets self.grad = 1."""

    def backward(self):
        for node in reversed(_topological(self)):
            node._backward()


class _MulGradSwapped(_WrongValue):
    """a * b passes a.data to a and b.data to b."""

    def __mul__(self, other):
        other = self._wrap(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += self.data * out.grad
            other.grad += other.data * out.grad

        out._backward = _backward
        return out


class _SubGradSign(_WrongValue):
    """a - b written directly, passing +out.grad to b."""

    def __sub__(self, other):
        other = self._wrap(other)
        out = type(self)(self.data - other.data, (self, other), "-")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out


class _PowGradMissingExponent(_WrongValue):
    """d(x**k)/dx taken as x**(k - 1)."""

    def __pow__(self, k):
        out = type(self)(self.data**k, (self,), f"**{k}")

        def _backward():
            self.grad += self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out


class _SigmoidGradFromInput(_WrongValue):
    """sigmoid's _backward uses x (1 - x) with x the INPUT."""

    def sigmoid(self):
        out = type(self)(float(refimpl.sigmoid(self.data)), (self,), "sigmoid")

        def _backward():
            self.grad += self.data * (1 - self.data) * out.grad

        out._backward = _backward
        return out


class _ReluPrimeAtZero(_WrongValue):
    """relu passes the gradient where x >= 0 (relu'(0) = 1)."""

    def relu(self):
        out = type(self)(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += (self.data >= 0) * out.grad

        out._backward = _backward
        return out


def _value_loss(w, b, x, y, Value=None, *, mode="ref"):
    """value_neuron_loss with one thing wrong; called with numbers only (no Value class),
    it runs as a check case (``run_value_neuron_loss``)."""
    if Value is None:
        return run_value_neuron_loss(partial(_value_loss, mode=mode), w, b, x, y,
                                     refimpl.Value)
    if mode == "from-data":  # a float computation wrapped at the end: the graph is cut
        a = float(refimpl.sigmoid(w.data * x + b.data))
        return Value((a - y) ** 2)
    z = w * Value(x) if mode == "no-bias" else w * Value(x) + b
    a = z if mode == "no-sigmoid" else z.sigmoid()
    L = a - Value(y) if mode == "no-square" else (a - Value(y)) ** 2
    if mode == "backward-inside":
        L.backward()
    return L


# ---------------------------------------------------------------------------------------
# Notebook 06: gradient_errors
# ---------------------------------------------------------------------------------------


def _gradient_errors(loss_fn, params, grads, h=1e-5, *, mode="ref"):
    if mode == "not-restored":
        work = params  # the caller's arrays: perturbed and left perturbed
    else:
        work = {key: np.array(value, dtype=np.float64) for key, value in params.items()}
    errors = {}
    for key in params:
        x = work[key]
        numerical = np.zeros(np.shape(x))
        for i in np.ndindex(*np.shape(x)):
            old = x[i]
            x[i] = old + h
            f_plus = loss_fn(work)
            if mode == "forward":
                x[i] = old
                numerical[i] = (f_plus - loss_fn(work)) / h
                continue
            x[i] = old - h
            f_minus = loss_fn(work)
            if mode != "not-restored":
                x[i] = old
            numerical[i] = (f_plus - f_minus) / (2 * h)
        a = np.asarray(grads[key], dtype=np.float64)
        diff = np.abs(a - numerical)
        if mode == "absolute":
            entrywise = diff
        elif mode == "no-floor":
            entrywise = diff / (np.abs(a) + np.abs(numerical))
        else:
            entrywise = diff / np.maximum(np.abs(a) + np.abs(numerical), 1e-8)
        if mode == "not-reduced":
            errors[key] = entrywise
        else:
            errors[key] = float(np.mean(entrywise) if mode == "mean" else np.max(entrywise))
    return errors


# ---------------------------------------------------------------------------------------
# Notebook 07: train, accuracy
# ---------------------------------------------------------------------------------------


def _grad_norm(grads):
    """The learner's own norm, as notebook 07 asks for it (the reference's is
    ``refimpl.optim.grad_norm``; a planted variant cannot call it in the grading worker)."""
    return float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))


def _train(X, y, params, lr, epochs, *, mode="ref"):
    if mode == "in-place":
        current = params  # the caller's arrays: every step writes into them
    else:
        current = {key: np.array(value, dtype=np.float64) for key, value in params.items()}
    losses, norms = [], []
    for _ in range(epochs):
        _, cache = refimpl.forward_231(X, current)
        loss = refimpl.loss_231(X, y, current, loss="bce")
        grads = refimpl.backward_231(X, y, current, cache,
                                     loss="mse" if mode == "mse-gradients" else "bce")
        norm = _grad_norm(grads)
        step = 1.0 if mode == "lr-ignored" else lr
        if mode == "in-place":
            for key in current:
                current[key] -= step * grads[key]
        elif mode == "ascent":
            current = {key: current[key] + step * grads[key] for key in current}
        else:
            current = {key: current[key] - step * grads[key] for key in current}
        if mode == "loss-after-step":
            loss = refimpl.loss_231(X, y, current, loss="bce")
        losses.append(loss)
        norms.append(norm**2 if mode == "norm-squared" else norm)
    return current, {"loss": np.array(losses), "grad_norm": np.array(norms)}


def _accuracy(labels, y, *, mode="ref"):
    labels, y = _f64(labels), _f64(y)
    if mode == "count":
        return np.sum(labels == y)
    if mode == "percent":
        return 100.0 * np.mean(labels == y)
    if mode == "error-rate":
        return 1.0 - np.mean(labels == y)
    if mode == "broadcast":
        return np.mean(labels == y.ravel())
    raise ValueError(mode)


# ---------------------------------------------------------------------------------------
# Notebook 08: mlp_forward, gd_step
# ---------------------------------------------------------------------------------------


def _mlp_forward(X, params, hidden="relu", output="sigmoid", *, mode="ref"):
    L = len(params) if mode == "keys-as-layers" else len(params) // 2
    f_hidden = refimpl.sigmoid if mode == "sigmoid-in-hidden" else refimpl.ACTIVATIONS[hidden]
    f_output = {"output-sigmoid-missing": refimpl.identity,
                "relu-on-output": refimpl.relu}.get(mode, refimpl.ACTIVATIONS[output])
    last = L - 1 if mode == "last-layer-skipped" else L  # range(1, L) instead of L + 1
    A = _f64(X)
    cache = {"A0": A}
    for l in range(1, last + 1):
        W = params[f"W{l}"]
        Z = A @ (W.T if mode == "w-transposed" else W) + params[f"b{l}"]
        A = f_hidden(Z) if l < L else f_output(Z)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache


def _gd_step(params, grads, lr, *, mode="ref"):
    if mode == "in-place":
        for key in params:
            params[key] -= lr * grads[key]
        return params
    if mode == "d-prefixed-keys":
        return {key: params[key] - lr * grads["d" + key] for key in params}
    if mode == "biases-not-updated":
        return {key: params[key] - lr * grads[key] if key.startswith("W") else params[key].copy()
                for key in params}
    if mode == "ascent":
        return {key: params[key] + lr * grads[key] for key in params}
    if mode == "lr-ignored":
        return {key: params[key] - grads[key] for key in params}
    raise ValueError(mode)


def _sigmoid_overflows(Z):
    return 1.0 / (1.0 + np.exp(-_f64(Z)))


# ---------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------

_DB_WRONG_AXIS = Mistake(
    "db-wrong-axis", "the bias gradient is summed over the wrong axis",
    "db has one entry per unit of the layer: which axis of dZ runs over the samples?",
    partial(_backward_231, db="wrong-axis"))

_HIDDEN_LAYER_231 = (
    Mistake("w2-not-transposed", "W2 instead of its transpose when going back to layer 1",
            "dA1 must have the shape of A1, (n, 3); dZ2 is (n, 1) and W2 is (3, 1). Which "
            "product of those two has shape (n, 3)?",
            partial(_backward_231, w2_transposed=False), _matmul_error_with_w2),
    Mistake("missing-relu-prime", "the ReLU derivative is missing in the hidden layer",
            "Between dA1 and dZ1 the chain rule passes through A1 = relu(Z1): what is "
            "dA1/dZ1?", partial(_backward_231, deriv="missing")),
    Mistake("relu-instead-of-relu-prime", "the activation itself instead of its derivative",
            "dZ1 = dA1 * (the derivative of relu at Z1), not the value of relu: the "
            "derivative is 0 or 1.", partial(_backward_231, deriv="activation")),
    Mistake("relu-prime-at-zero", "relu'(0) taken as 1",
            "This course uses relu'(0) = 0: the mask keeps only the strictly positive "
            "entries of Z1 (look at your comparison operator).",
            partial(_backward_231, deriv="relu-at-zero")),
    Mistake("sigmoid-prime-in-hidden", "the sigmoid derivative in the hidden (ReLU) layer",
            "Each layer uses the derivative of ITS OWN activation: the hidden layer is ReLU.",
            partial(_backward_231, deriv="sigmoid")),
    _DB_WRONG_AXIS,
    Mistake("db-keepdims", "the bias gradient keeps a 2-D shape",
            "grads['b1'] must have the shape of params['b1'], (3,): a 1-D array.",
            partial(_backward_231, db="keepdims")),
    Mistake("dw-transposed", "the weight gradient is transposed",
            "dW must have the shape of W, (d_in, d_out): check the order of the product "
            "of the layer input and dZ.", partial(_backward_231, dw_transposed=True)),
    Mistake("dw2-uses-z1", "dW2 uses the pre-activation Z1 instead of A1",
            "The input of layer 2 is what layer 1 outputs after its activation.",
            partial(_backward_231, dw2_input="Z1")),
    Mistake("dw1-uses-a1", "dW1 uses A1 instead of the layer's input X",
            "dW of a layer multiplies dZ of that layer by the layer's INPUT (A_prev).",
            partial(_backward_231, dw1_input="A1")),
)

_SIGN_FLIP_231 = Mistake(
    "sign-flip", "every gradient has the wrong sign",
    "The gradient points uphill: check the order in (y_hat - y) and any minus sign.",
    partial(_backward_231, factor=-1.0))


def _missing_1_over_n_231():
    return Mistake(
        "missing-1-over-n", "the 1/n of the mean loss is missing",
        "The loss is a MEAN over the n samples, so dZ2 carries a factor 1/n.",
        _missing_n_variant)


def _missing_n_variant(X, y, params, cache, loss="mse"):
    return _backward_231(X, y, params, cache, loss, factor=float(X.shape[0]))


def _mlp_missing_n(X, y, params, cache, loss="bce", hidden="relu", output="sigmoid"):
    return _mlp_backward(X, y, params, cache, loss, hidden, output, factor=float(y.size))


CATALOGUE: dict[str, tuple[Mistake, ...]] = {
    "relu": (
        Mistake("relu-returns-mask", "the mask Z > 0 instead of the values",
                "relu keeps the positive entries of Z with their values: relu(3.0) is 3.0, "
                "not 1.", _relu_mask),
        Mistake("relu-min-not-max", "the minimum instead of the maximum",
                "relu(Z) keeps positive values and turns negative ones into 0: which of "
                "min/max with 0 does that?", _relu_min),
        Mistake("relu-abs", "the absolute value",
                "Negative inputs must give 0, not their size.", _relu_abs),
        Mistake("relu-in-place", "the input array is modified (Z[Z < 0] = 0)",
                "Whoever called relu(Z) still needs their Z: return a new array and leave "
                "the argument as it was.", _relu_in_place),
    ),
    "sigmoid": (
        Mistake("sigmoid-exp-sign", "exp(z) instead of exp(-z)",
                "sigmoid(z) must grow with z: sigmoid(5) is close to 1. Check the sign "
                "inside exp.", _sigmoid_exp_sign),
        Mistake("sigmoid-tanh", "tanh instead of the logistic sigmoid",
                "sigmoid(0) is 0.5 and its outputs lie between 0 and 1; tanh is a different "
                "function.", _sigmoid_tanh),
        Mistake("sigmoid-minus-in-denominator", "1 - exp(-z) in the denominator",
                "Check the operator between 1 and exp(-z) in the denominator.",
                _sigmoid_minus),
        Mistake("sigmoid-missing-one", "the 1 + in the denominator is missing",
                "sigmoid(0) must be 0.5: look at the denominator.", _sigmoid_missing_one),
        Mistake("sigmoid-derivative", "the derivative sigmoid'(z) instead of sigmoid(z)",
                "sigmoid(0) is 0.5, and s * (1 - s) is its derivative, not the function.",
                _sigmoid_derivative),
        Mistake("sigmoid-overflow", "exp(-z) overflows for very negative z",
                "1 / (1 + exp(-z)) computes exp(1000) = inf for z = -1000: the value happens "
                "to be right, but NumPy warns. Compute E = np.exp(-np.abs(Z)), which never "
                "overflows, and build both cases from E: 1 / (1 + E) for z >= 0, E / (1 + E) "
                "for z < 0. np.where(Z >= 0, 1 / (1 + np.exp(-Z)), ...) still overflows: "
                "NumPy computes BOTH branches for every entry before choosing.",
                _sigmoid_overflows),
    ),
    "neuron": (
        Mistake("activation-not-applied", "the activation is not applied",
                "A neuron outputs f(z), not z.", partial(_neuron, mode="no-activation")),
        Mistake("bias-after-activation", "the bias is added after the activation",
                "The bias is part of the pre-activation z, which goes into f.",
                partial(_neuron, mode="bias-after")),
        Mistake("neuron-transposed", "X transposed in the product with w",
                "X is (n, d_in) and w is (d_in,): one output per sample (row). Check the "
                "order of the product and any .T.",
                partial(_neuron, mode="transposed"), _any_matmul_error),
        Mistake("elementwise-not-dot", "X * w instead of a product that sums over features",
                "Each sample's z is a weighted SUM over its features: one number per row.",
                partial(_neuron, mode="elementwise")),
    ),
    "dense_forward": (
        Mistake("bias-missing", "the bias is missing",
                "Z = X @ W + b: every unit has its own bias.",
                partial(_dense_forward, mode="bias-missing")),
        Mistake("w-transposed", "W transposed",
                "X is (n, d_in) and W is (d_in, d_out): Z must be (n, d_out). Check the "
                "order of the product and any .T.",
                partial(_dense_forward, mode="transposed"), _any_matmul_error),
        Mistake("activation-applied", "an activation is applied",
                "dense_forward returns the pre-activation Z; the activation comes after, "
                "in a separate step.", partial(_dense_forward, mode="activation")),
    ),
    "dense_backward": (
        Mistake("dw-transposed", "dW is transposed",
                "dW must have the shape of W, (d_in, d_out): check the order of the product "
                "of A_prev and dZ.", partial(_dense_backward, mode="dw-transposed")),
        Mistake("da-uses-w", "W instead of its transpose in dA_prev",
                "dA_prev must have the shape of A_prev, (n, d_in); dZ is (n, d_out). Which "
                "product with W gives that shape?",
                partial(_dense_backward, mode="da-uses-w"), _matmul_error_with_w),
        Mistake("db-wrong-axis", "db is summed over the wrong axis",
                "db has one entry per output unit: which axis of dZ runs over the samples?",
                partial(_dense_backward, mode="db-wrong-axis")),
        Mistake("db-not-summed", "db is dZ itself",
                "b is shared by all samples, so its gradient adds up the contributions of "
                "every sample.", partial(_dense_backward, mode="db-not-summed")),
        Mistake("db-mean", "db is a mean instead of a sum",
                "dZ already contains the 1/n of the mean loss: do not divide by n again.",
                partial(_dense_backward, mode="db-mean")),
        Mistake("dw-extra-1-over-n", "dW is divided by n",
                "dZ already contains the 1/n of the mean loss: do not divide by n again.",
                partial(_dense_backward, mode="dw-extra-1-over-n")),
    ),
    "forward_231": (
        Mistake("hidden-relu-missing", "the hidden layer has no activation",
                "A1 is the hidden layer's output AFTER its ReLU.",
                partial(_forward_231, hidden=refimpl.identity)),
        Mistake("output-sigmoid-missing", "the output sigmoid is missing",
                "y_hat is a probability in (0, 1): the output layer applies sigmoid to Z2.",
                partial(_forward_231, output=refimpl.identity)),
        Mistake("sigmoid-in-hidden", "sigmoid in the hidden layer",
                "The hidden layer of the 2-3-1 network uses ReLU; only the output uses "
                "sigmoid.", partial(_forward_231, hidden=refimpl.sigmoid)),
        Mistake("relu-on-output", "ReLU on the output",
                "The output is a probability: which activation maps any number into (0, 1)?",
                partial(_forward_231, output=refimpl.relu)),
        Mistake("bias-missing", "the biases are missing",
                "Z = A_prev @ W + b in both layers.", partial(_forward_231, bias=False)),
        Mistake("w-transposed", "W1 transposed",
                "X is (n, 2) and W1 is (2, 3): Z1 must be (n, 3). Check the product and any "
                ".T.", partial(_forward_231, transposed=True), _any_matmul_error),
    ),
    "mse": (
        Mistake("mse-no-square", "the errors are not squared",
                "Positive and negative errors must not cancel out: MSE squares each error.",
                partial(_mse, mode="no-square")),
        Mistake("mse-abs", "absolute errors instead of squared errors",
                "That is the mean ABSOLUTE error; MSE squares each error.",
                partial(_mse, mode="abs")),
        Mistake("sum-instead-of-mean", "a sum instead of a mean",
                "MSE is a MEAN over all entries.", partial(_mse, mode="sum")),
        Mistake("half-mse", "an extra factor 1/2",
                "Some books use 1/2 * MSE to simplify the derivative; this course does not.",
                partial(_mse, mode="half")),
        Mistake("mse-sqrt", "the square root of the mean (RMSE)",
                "No square root: MSE is the mean of the squared errors.",
                partial(_mse, mode="sqrt")),
        Mistake("mse-mean-over-axis", "a mean over one axis only",
                "The loss is ONE number: average over ALL entries.",
                partial(_mse, mode="axis")),
        Mistake("mse-no-shape-check", "a (n,) vs (n, 1) mix is not refused",
                "(n,) against (n, 1) broadcasts silently to (n, n). Compare the shapes first and "
                "raise a ValueError when they differ.",
                partial(_mse, mode="unchecked")),
    ),
    "bce": (
        Mistake("unclipped-log", "log(0) for predictions of exactly 0 or 1",
                "For y_hat = 0 or 1 one of the logs is log(0) = -inf and 0 * -inf = nan. "
                "Keep y_hat away from 0 and 1 with np.clip and a small named epsilon.",
                partial(_bce, mode="unclipped-log")),
        Mistake("bce-sign-flip", "the minus sign is missing",
                "log of a probability is negative; the loss must be positive.",
                partial(_bce, mode="sign-flip")),
        Mistake("sum-instead-of-mean", "a sum instead of a mean",
                "BCE is a MEAN over the samples.", partial(_bce, mode="sum")),
        Mistake("bce-missing-negative-class", "the (1 - y) log(1 - y_hat) term is missing",
                "Samples with y = 0 must also cost something when y_hat is large.",
                partial(_bce, mode="missing-negative-class")),
        Mistake("bce-no-shape-check", "a (n,) vs (n, 1) mix is not refused",
                "(n,) against (n, 1) broadcasts silently to (n, n). Compare the shapes first and "
                "raise a ValueError when they differ.",
                partial(_bce, mode="unchecked")),
    ),
    "bce_from_logits": (
        Mistake("logits-through-sigmoid", "sigmoid first, then the log of a probability",
                "For a logit of 800 the sigmoid rounds to exactly 1.0 and the log loses "
                "everything. Write log(sigmoid(z)) and log(1 - sigmoid(z)) in terms of z "
                "itself: log(1 + e^z) has a stable form.",
                partial(_bce_from_logits, mode="through-sigmoid")),
        Mistake("naive-softplus", "log(1 + exp(Z)) overflows for large Z",
                "exp(800) is inf in float64. Use np.logaddexp(0, Z), or "
                "max(Z, 0) + log1p(exp(-|Z|)).",
                partial(_bce_from_logits, mode="naive-softplus")),
        Mistake("yz-sign", "the y * Z term has the wrong sign",
                "Write -[y log(sigma(z)) + (1 - y) log(1 - sigma(z))] in terms of z and "
                "simplify: the term with y is subtracted.",
                partial(_bce_from_logits, mode="yz-sign")),
        Mistake("sum-instead-of-mean", "a sum instead of a mean",
                "BCE is a MEAN over the samples.", partial(_bce_from_logits, mode="sum")),
        Mistake("logits-no-shape-check", "a (n,) vs (n, 1) mix is not refused",
                "(n,) against (n, 1) broadcasts silently to (n, n). Compare the shapes first and "
                "raise a ValueError when they differ.",
                partial(_bce_from_logits, mode="unchecked")),
    ),
    "predict": (
        Mistake("predict-returns-probabilities", "probabilities instead of labels",
                "predict turns each probability into a decision: 1.0 for pass, 0.0 for fail.",
                partial(_predict, mode="probabilities")),
        Mistake("predict-inverted", "the labels are swapped",
                "A student passes when the probability is AT LEAST the threshold.",
                partial(_predict, mode="inverted")),
        Mistake("threshold-ignored", "the threshold argument is ignored",
                "Compare with the threshold you were given, not with a fixed 0.5.",
                partial(_predict, mode="threshold-ignored")),
        Mistake("threshold-on-logit", "the logit Z2 is compared with the threshold",
                "The threshold is a probability: compare it with y_hat = sigmoid(Z2).",
                partial(_predict, mode="logit")),
    ),
    "numerical_derivative": (
        Mistake("forward-difference", "a forward difference instead of a central one",
                "Evaluate f on BOTH sides, at x + h and x - h: the error of the central "
                "difference shrinks like h**2 instead of h.",
                partial(_numerical_derivative, mode="forward")),
        Mistake("backward-difference", "a backward difference instead of a central one",
                "Evaluate f on BOTH sides, at x + h and x - h.",
                partial(_numerical_derivative, mode="backward")),
        Mistake("missing-2-in-2h", "divided by h instead of 2h",
                "x + h and x - h are 2h apart.",
                partial(_numerical_derivative, mode="divides-by-h")),
        Mistake("ignores-h", "the step h argument is ignored",
                "Use the h you were given: the notebook studies how the error depends on it.",
                partial(_numerical_derivative, mode="ignores-h")),
    ),
    "numerical_gradient": (
        Mistake("forward-difference", "a forward difference instead of a central one",
                "Evaluate f on BOTH sides of x[i] (x[i] + h and x[i] - h): the central "
                "difference is far more accurate.",
                partial(_numerical_gradient, mode="forward")),
        Mistake("missing-2-in-2h", "divided by h instead of 2h",
                "x[i] + h and x[i] - h are 2h apart.",
                partial(_numerical_gradient, mode="divides-by-h")),
        Mistake("x-not-restored", "x is not restored after perturbing it",
                "After the two evaluations, put x[i] back to its old value, so that x is "
                "unchanged when the function returns (and the next entries see the right x).",
                partial(_numerical_gradient, mode="not-restored")),
        Mistake("ignores-h", "the step size argument h is ignored",
                "Use the h passed in by the caller.",
                partial(_numerical_gradient, mode="ignores-h")),
        Mistake("perturbs-all-entries", "all entries are perturbed at once",
                "x + h shifts EVERY entry; a partial derivative changes one entry x[i] at "
                "a time.", partial(_numerical_gradient, mode="perturbs-all")),
    ),
    "gradient_descent": (
        Mistake("gd-ascent", "a step uphill (+ instead of -)",
                "The gradient points uphill; descent goes the other way.",
                partial(_gradient_descent, mode="ascent")),
        Mistake("path-without-x0", "the path does not start at x0",
                "path[0] is x0 and losses[0] is f(x0): steps updates give steps + 1 points.",
                partial(_gradient_descent, mode="without-x0")),
        Mistake("gd-missing-lr", "the learning rate is not used",
                "Each step moves by lr times the gradient.",
                partial(_gradient_descent, mode="missing-lr")),
        Mistake("gd-in-place-update", "x0 is updated in place",
                "x = x0 makes x another name for the caller's array, and x -= ... writes "
                "into it: start from a copy, or write x = x - ....",
                partial(_gradient_descent, mode="in-place")),
    ),
    "backward_231_mse": (
        Mistake("missing-sigmoid-prime", "sigma'(Z2) is missing at the output (MSE)",
                "With MSE, dL/dZ2 = dL/dy_hat * dy_hat/dZ2: the sigmoid derivative does NOT "
                "cancel (it only does for BCE).", partial(_backward_231, out="no-sigmoid-prime")),
        Mistake("bce-shortcut-with-mse", "the BCE shortcut y_hat - y used with MSE",
                "dZ2 = (y_hat - y) / n is exact for sigmoid + BCE only; derive dL/dZ2 for MSE "
                "with the chain rule.", partial(_backward_231, out="shortcut")),
        _missing_1_over_n_231(),
        Mistake("missing-factor-2", "the factor 2 of the squared error is missing",
                "The derivative of (y_hat - y)**2 is 2 (y_hat - y); this course's MSE has "
                "no 1/2.", partial(_backward_231, factor=0.5)),
        _SIGN_FLIP_231,
        *_HIDDEN_LAYER_231,
    ),
    "backward_231_bce": (
        Mistake("extra-sigmoid-prime", "sigma'(Z2) applied on top of y_hat - y (BCE)",
                "For sigmoid + BCE the sigmoid derivative cancels: dL/dZ2 = (y_hat - y) / n "
                "already includes it.", partial(_backward_231, out="shortcut-times-sigmoid-prime")),
        Mistake("mse-gradient-with-bce", "the MSE output gradient used with BCE",
                "The output delta depends on the loss: derive dL/dZ2 for BCE.",
                partial(_backward_231, out="mse")),
        _missing_1_over_n_231(),
        Mistake("extra-factor-2", "an extra factor 2 at the output",
                "The factor 2 comes from the square in MSE; BCE has no square.",
                partial(_backward_231, factor=2.0)),
        _SIGN_FLIP_231,
        *_HIDDEN_LAYER_231,
    ),
    "mlp_backward": (
        Mistake("w-not-transposed", "W instead of its transpose when going back a layer",
                "dA of the layer below must have that layer's shape (n, d_prev); dZ is "
                "(n, d) and W is (d_prev, d). Which product gives (n, d_prev)?",
                partial(_mlp_backward, w_transposed=False), _matmul_error_with_upper_w),
        Mistake("missing-hidden-derivative", "the hidden activation's derivative is missing",
                "Going from dA to dZ in a hidden layer passes through its activation.",
                partial(_mlp_backward, deriv="missing")),
        Mistake("relu-prime-at-zero", "relu'(0) taken as 1",
                "This course uses relu'(0) = 0: only strictly positive entries pass.",
                partial(_mlp_backward, deriv="relu-at-zero")),
        Mistake("dw-uses-own-activation", "dW uses the layer's own output instead of its input",
                "dW of layer l multiplies dZ of layer l by the INPUT of layer l, A_(l-1).",
                partial(_mlp_backward, dw_input="own")),
        Mistake("dw-uses-z", "dW uses the pre-activation Z of the layer below",
                "The input of layer l is A_(l-1), the output AFTER the activation.",
                partial(_mlp_backward, dw_input="z")),
        Mistake("missing-1-over-n", "the 1/n of the mean loss is missing",
                "The loss is a MEAN: the output delta carries the 1/n.", _mlp_missing_n),
        Mistake("sign-flip", "every gradient has the wrong sign",
                "The gradient points uphill: check the order in (y_hat - y).",
                partial(_mlp_backward, factor=-1.0)),
        Mistake("extra-sigmoid-prime", "sigma'(Z_L) applied on top of the output delta",
                "For sigmoid + BCE the sigmoid derivative cancels in dL/dZ_L.",
                partial(_mlp_backward, extra_sigmoid_prime=True)),
        Mistake("db-wrong-axis", "db is summed over the wrong axis",
                "db has one entry per unit: which axis of dZ runs over the samples?",
                partial(_mlp_backward, db="wrong-axis")),
    ),
    "neuron_loss_grads": (
        Mistake("missing-sigmoid-prime", "sigma'(z) is missing from the chain",
                "L depends on z through a = sigma(z): the chain dL/dz = dL/da * da/dz needs "
                "da/dz = a (1 - a).", partial(_neuron_loss_grads, mode="missing-sigmoid-prime")),
        Mistake("missing-factor-2", "the factor 2 of the square is missing",
                "d/da of (a - y)**2 is 2 (a - y).",
                partial(_neuron_loss_grads, mode="missing-factor-2")),
        Mistake("db-times-x", "dL/db has an extra factor x",
                "z = w x + b: dz/dw = x but dz/db = 1.",
                partial(_neuron_loss_grads, mode="db-times-x")),
        Mistake("dw-missing-x", "dL/dw is missing the factor x",
                "z = w x + b, so dz/dw = x: the last link of the chain for w.",
                partial(_neuron_loss_grads, mode="dw-missing-x")),
        Mistake("sign-flip", "both gradients have the wrong sign",
                "d/da of (a - y)**2 is 2 (a - y), not 2 (y - a).",
                partial(_neuron_loss_grads, mode="sign-flip")),
        Mistake("sigmoid-prime-of-a", "sigma'(a) instead of sigma'(z)",
                "da/dz = sigma'(z) = a (1 - a): apply the formula to a, do not take the "
                "sigmoid of a again.", partial(_neuron_loss_grads, mode="sigmoid-prime-of-a")),
    ),
    "Value": (
        Mistake("grad-overwritten", "gradients are overwritten (=) instead of accumulated (+=)",
                "A Value used twice (a * a, or a in two branches) must receive the SUM of "
                "both contributions: in every _backward, add into .grad with +=.",
                _GradOverwritten),
        Mistake("backward-not-topological", "backward() visits the nodes in the wrong order",
                "A node may pass its gradient on only after EVERY node that uses it has added "
                "its share: build a topological order first (each node after its inputs), "
                "then call each node's _backward once, in reverse order.", _NotTopological),
        Mistake("backward-no-seed", "backward() does not start with out.grad = 1",
                "The chain rule starts at the output, dout/dout = 1: set self.grad = 1.0 in "
                "backward() before calling the _backward functions.", _NoSeed),
        Mistake("mul-grad-swapped", "the local derivatives of a * b are swapped",
                "For out = a * b, dout/da = b and dout/db = a: each input's gradient uses the "
                "OTHER input's data.", _MulGradSwapped),
        Mistake("sub-grad-sign", "a - b passes +out.grad to b",
                "For out = a - b, dout/db = -1: b's gradient gets -out.grad.", _SubGradSign),
        Mistake("pow-grad-missing-exponent", "the factor k of x ** k is missing",
                "d(x**k)/dx = k * x**(k - 1): for a ** 2 that is 2 * a.",
                _PowGradMissingExponent),
        Mistake("sigmoid-grad-from-input", "sigmoid's derivative computed from its input",
                "sigma'(x) = s (1 - s) with s = sigma(x), the sigmoid's OUTPUT (out.data), "
                "not its input x.", _SigmoidGradFromInput),
        Mistake("relu-prime-at-zero", "relu'(0) taken as 1",
                "This course uses relu'(0) = 0: pass the gradient on only where the input is "
                "strictly positive (look at your comparison operator).", _ReluPrimeAtZero),
    ),
    "value_neuron_loss": (
        Mistake("sigmoid-missing", "the sigmoid is missing",
                "The neuron's output is a = sigma(z) with z = w x + b: call .sigmoid() on z.",
                partial(_value_loss, mode="no-sigmoid")),
        Mistake("bias-missing", "the bias is missing",
                "z = w x + b: add b.", partial(_value_loss, mode="no-bias")),
        Mistake("loss-not-squared", "the error a - y is not squared",
                "L = (a - y) ** 2.", partial(_value_loss, mode="no-square")),
        Mistake("graph-cut", "L is computed from w.data and b.data",
                "Numbers taken out of a Value (.data) are no longer connected to it: build L "
                "with Value operations on w and b themselves, so that L.backward() reaches "
                "them.", partial(_value_loss, mode="from-data")),
        Mistake("backward-inside", "the function calls L.backward() itself",
                "Return L without calling backward(): the caller runs L.backward() once, and "
                "a second call adds the gradients again.",
                partial(_value_loss, mode="backward-inside")),
    ),
    "gradient_errors": (
        Mistake("forward-difference", "a forward difference instead of a central one",
                "Evaluate the loss on BOTH sides of each entry, at +h and -h, and divide by "
                "2h: the forward difference is far less accurate.",
                partial(_gradient_errors, mode="forward")),
        Mistake("absolute-error", "the absolute error instead of the relative one",
                "Divide |a - n| by max(|a| + |n|, 1e-8): a relative error means the same for "
                "large and small gradients.", partial(_gradient_errors, mode="absolute")),
        Mistake("mean-instead-of-max", "the mean over the entries instead of the maximum",
                "One wrong entry must show: report the LARGEST entrywise error of each "
                "parameter.", partial(_gradient_errors, mode="mean")),
        Mistake("errors-not-reduced", "one error per entry instead of one per parameter",
                "errors[name] is a single number: the largest entrywise error of that "
                "parameter.", partial(_gradient_errors, mode="not-reduced")),
        Mistake("relative-error-without-floor", "0 / 0 for entries that are exactly 0",
                "A dead ReLU unit has gradient entries that are exactly 0, analytic AND "
                "numerical: divide by max(|a| + |n|, 1e-8), not by |a| + |n|.",
                partial(_gradient_errors, mode="no-floor")),
        Mistake("params-not-restored", "params is left perturbed",
                "After the two evaluations of an entry, put its old value back (old = x[i]; "
                "...; x[i] = old), or perturb a copy of params.",
                partial(_gradient_errors, mode="not-restored")),
    ),
    "train": (
        Mistake("loss-after-step", "the loss is recorded after the update",
                "history['loss'][i] is the loss of the params BEFORE step i: compute it with "
                "the gradients, before you update.", partial(_train, mode="loss-after-step")),
        Mistake("train-ascent", "a step uphill (+ instead of -)",
                "The gradient points uphill; descent goes the other way.",
                partial(_train, mode="ascent")),
        Mistake("train-in-place", "the caller's params are updated in place",
                "params[k] -= ... writes into the caller's arrays: start from a copy "
                "({k: v.copy() for k, v in params.items()}) or build new arrays each step.",
                partial(_train, mode="in-place")),
        Mistake("train-lr-ignored", "the learning rate is not used",
                "Each step moves by lr times the gradient.", partial(_train, mode="lr-ignored")),
        Mistake("mse-gradients", "the gradients of the MSE loss",
                "backward_231 uses loss='mse' unless told otherwise: train minimises BCE, so "
                "pass loss='bce'.", partial(_train, mode="mse-gradients")),
        Mistake("grad-norm-squared", "the squared gradient norm",
                "The norm is the square ROOT of the sum of all squared gradient entries.",
                partial(_train, mode="norm-squared")),
    ),
    "accuracy": (
        Mistake("accuracy-count", "the number of correct predictions instead of the fraction",
                "Accuracy is a fraction between 0 and 1: divide by the number of samples (or "
                "take the mean).", partial(_accuracy, mode="count")),
        Mistake("accuracy-percent", "a percentage instead of a fraction",
                "Return the fraction (0.8), not the percentage (80).",
                partial(_accuracy, mode="percent")),
        Mistake("error-rate", "the fraction of WRONG predictions",
                "Accuracy counts the predictions that EQUAL the targets.",
                partial(_accuracy, mode="error-rate")),
        Mistake("accuracy-broadcast", "an (n, 1) column compared with an (n,) array",
                "labels == y.ravel() broadcasts to an (n, n) table of every pair: compare two "
                "arrays of the same shape.", partial(_accuracy, mode="broadcast")),
    ),
    "mlp_forward": (
        Mistake("sigmoid-in-hidden", "sigmoid in the hidden layers",
                "Hidden layers use the hidden activation (ReLU); only the output layer uses "
                "sigmoid.", partial(_mlp_forward, mode="sigmoid-in-hidden")),
        Mistake("output-sigmoid-missing", "the output sigmoid is missing",
                "y_hat is a probability: the LAST layer applies sigmoid to ZL.",
                partial(_mlp_forward, mode="output-sigmoid-missing")),
        Mistake("relu-on-output", "ReLU on the output layer",
                "The last layer is the output: it applies sigmoid, not the hidden activation.",
                partial(_mlp_forward, mode="relu-on-output")),
        Mistake("last-layer-skipped", "the loop stops one layer early",
                "An MLP with params W1..WL has L = len(params) // 2 layers, and range(1, L) "
                "stops at L - 1: the output layer L must run too.",
                partial(_mlp_forward, mode="last-layer-skipped")),
        Mistake("layers-counted-as-keys", "len(params) taken as the number of layers",
                "params holds TWO arrays per layer (W and b): L = len(params) // 2.",
                partial(_mlp_forward, mode="keys-as-layers")),
        Mistake("w-transposed", "W transposed",
                "A_prev is (n, d_in) and W is (d_in, d_out): Z = A_prev @ W + b, no .T.",
                partial(_mlp_forward, mode="w-transposed"), _any_matmul_error),
    ),
    "gd_step": (
        Mistake("gd-step-in-place", "params is updated in place",
                "params[k] -= ... writes into the caller's arrays: build a new dict of new "
                "arrays, {k: params[k] - lr * grads[k] for k in params}.",
                partial(_gd_step, mode="in-place")),
        Mistake("gd-step-ascent", "a step uphill (+ instead of -)",
                "The gradient points uphill; descent goes the other way.",
                partial(_gd_step, mode="ascent")),
        Mistake("gd-step-lr-ignored", "the learning rate is not used",
                "Each parameter moves by lr times its gradient.",
                partial(_gd_step, mode="lr-ignored")),
        Mistake("grads-d-prefixed-keys", "grads looked up as grads['dW1']",
                "grads uses the SAME keys as params: grads['W1'] is dL/dW1.",
                partial(_gd_step, mode="d-prefixed-keys")),
        Mistake("biases-not-updated", "only the weights are updated",
                "Every parameter learns: the biases b1, b2, ... take a step too.",
                partial(_gd_step, mode="biases-not-updated")),
    ),
}


def mistakes_for(key: str) -> tuple[Mistake, ...]:
    """The known mistakes of an exercise key (empty for an unknown key)."""
    return CATALOGUE.get(key, ())


# ---------------------------------------------------------------------------------------
# Planting a variant in a notebook
# ---------------------------------------------------------------------------------------


def _catalogue_names(obj: Any, module: dict, found: dict) -> None:
    """The catalogue's module-level functions and classes that ``obj`` uses, transitively."""
    codes = [obj.__code__] if hasattr(obj, "__code__") else [
        v.__code__ for v in vars(obj).values() if hasattr(v, "__code__")]
    for base in getattr(obj, "__bases__", ()):
        if base.__module__ == "autograder.exercises.catalogue" and base.__name__ not in found:
            found[base.__name__] = base
            _catalogue_names(base, module, found)
    while codes:
        code = codes.pop()
        codes += [c for c in code.co_consts if hasattr(c, "co_names")]
        for name in code.co_names:
            value = module.get(name)
            if name not in found and getattr(value, "__module__", None) == __name__ \
                    and (inspect.isfunction(value) or inspect.isclass(value)):
                found[name] = value
                _catalogue_names(value, module, found)


def _literal(value: Any) -> str:
    if callable(value):  # a reference function or a NumPy ufunc
        module = "refimpl" if getattr(value, "__module__", "").startswith("refimpl") else "np"
        return f"{module}.{value.__name__}"
    return repr(value)


def planted_source(variant: Callable[..., Any], name: str) -> str:
    """Source that defines ``name`` as ``variant`` as a learner would type it: the variant
    and the catalogue's helpers it uses, no import of the catalogue (the grading worker has
    none). A wrong Value class is built on a copy of the reference's own."""
    func = variant.func if isinstance(variant, functools.partial) else variant
    found = {func.__name__: func}
    _catalogue_names(func, globals(), found)
    ordered = sorted(found.values(), key=lambda obj: inspect.getsourcelines(obj)[1])
    body = "\n\n".join(inspect.getsource(obj) for obj in ordered)
    if "(refimpl.Value)" in body:  # a learner's Value class is their own, not the reference's
        from autograder.grading.policy import shipped_source

        reference = shipped_source("value_neuron_loss")["Value"].replace(
            "from __future__ import annotations\n", "").replace("class Value", "class _Own")
        body = reference + "\n\n" + body.replace("(refimpl.Value)", "(_Own)")
    if isinstance(variant, functools.partial):
        arguments = [_literal(a) for a in variant.args]
        arguments += [f"{k}={_literal(v)}" for k, v in variant.keywords.items()]
        binding = f"{name} = partial({', '.join([func.__name__, *arguments])})"
    else:
        binding = f"{name} = {func.__name__}"
    return ("import re\nfrom functools import partial\nimport numpy as np\nimport refimpl\n\n"
            + body + "\n" + binding + "\n")
