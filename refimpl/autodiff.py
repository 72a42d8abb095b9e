"""The chain rule by hand and by machine (notebook 05).

``neuron_loss_grads`` differentiates the loss of one neuron with one input by
hand, factor by factor. ``Value`` does the same automatically: a number that
remembers how it was computed (micrograd-style reverse-mode autodiff). Each
operation computes its result (the forward) and, right next to it, defines
``_backward``, which applies the operation's local derivative to the result's
gradient and ADDS it into the gradients of its inputs. ``trace_neuron_loss`` builds the
neuron's loss with any such class and reads every node's value and gradient back.

``value_network_231`` builds the whole 2-3-1 network and its mean loss from such Values (one
node per multiplication, addition, relu and sigmoid), so that ``loss.backward()`` gives the
gradients of ``backward_231``; ``value_grads`` reads them back as arrays, and ``zero_grad``
sets every gradient of a graph back to 0 before a second ``backward()``.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from refimpl._validation import check_labels, check_loss_name
from refimpl.network import SHAPES_231

__all__ = ["Value", "neuron_loss_grads", "scalar_sigmoid", "trace_neuron_loss", "value_grads",
           "value_network_231", "zero_grad"]


def scalar_sigmoid(z: float) -> float:
    """Stable sigmoid of one number: only ever exponentiates ``-|z|``, which cannot overflow.

    What ``Value.sigmoid`` and ``neuron_loss_grads`` compute with (plain floats, no NumPy).
    """
    e = math.exp(-abs(z))  # in (0, 1]
    return 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)


def neuron_loss_grads(w, b, x, y) -> tuple[float, float]:
    """Gradient of the squared error of one sigmoid neuron with one input.

    ``z = w x + b``, ``a = sigma(z)``, ``L = (a - y)**2``. The chain rule gives
    ``dL/dz = dL/da * da/dz = 2 (a - y) * a (1 - a)``, then
    ``dL/dw = dL/dz * x`` and ``dL/db = dL/dz * 1``.

    Parameters
    ----------
    w, b : float
        The weight and the bias.
    x : float
        The input.
    y : float
        The target.

    Returns
    -------
    dL_dw : float
    dL_db : float
    """
    w, b, x, y = float(w), float(b), float(x), float(y)
    z = w * x + b
    a = scalar_sigmoid(z)
    dL_da = 2.0 * (a - y)  # L = (a - y)**2
    da_dz = a * (1.0 - a)  # sigma'(z) = sigma(z) (1 - sigma(z))
    dL_dz = dL_da * da_dz
    return dL_dz * x, dL_dz  # dz/dw = x, dz/db = 1


class Value:
    """A number with a gradient, that remembers the operations that made it.

    Build an expression from Values with ``+``, ``-``, ``*``, ``**`` (a number
    as exponent), ``.relu()`` and ``.sigmoid()``; then ``out.backward()``
    fills ``.grad`` of every Value the expression used with ``dout/dvalue``.
    Plain numbers mix in (``2 * a``, ``a + 1``) and are wrapped as constants.

    Gradients ACCUMULATE (``+=``): a Value used twice (``a * a``, or ``a`` in two
    branches) receives the sum of both contributions, as the multivariate chain
    rule says. So a second ``backward()`` does not just add the gradients again:
    the intermediate Values still hold their ``.grad`` and pass it on once more,
    and gradients compound (p -> q = 2p -> r = 3q: p.grad is 6 after one call,
    18 after two, not 12). Set ``.grad`` of every Value of the graph back to 0 in
    between (micrograd's ``zero_grad``). ``==`` compares identity, not values, so
    Values can be kept in sets.

    Parameters
    ----------
    data : float
        The number.
    _children : tuple of Value, optional
        The operands this Value was computed from (set by the operations).
    _op : str, optional
        The operation that produced it, for ``repr`` and drawing graphs.

    Attributes
    ----------
    data : float
    grad : float
        ``dout/dself`` after ``out.backward()``; 0.0 until then.
    """

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None  # a leaf has nothing to pass on
        self._prev = tuple(_children)  # a tuple keeps a * a's two uses of a
        self._op = _op

    def _wrap(self, other) -> Value:
        """``other`` as a Value: numbers become constants of this Value's class."""
        if isinstance(other, Value):
            return other
        if isinstance(other, Real):
            return type(self)(other)
        return NotImplemented

    def __add__(self, other) -> Value:
        """``out = self + other``; ``dout/dself = dout/dother = 1``."""
        other = self._wrap(other)
        if other is NotImplemented:
            return NotImplemented
        out = type(self)(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other) -> Value:
        """``out = self * other``; ``dout/dself = other``, ``dout/dother = self``."""
        other = self._wrap(other)
        if other is NotImplemented:
            return NotImplemented
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k) -> Value:
        """``out = self ** k`` for a number k; ``dout/dself = k * self ** (k - 1)``."""
        if isinstance(k, Value) or not isinstance(k, Real):
            raise TypeError("Value ** k needs a plain number k (e.g. a ** 2), not a Value.")
        k = float(k)
        out = type(self)(self.data**k, (self,), f"**{k:g}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        """``out = max(self, 0)``; ``dout/dself = 1 if self > 0 else 0`` (relu'(0) = 0)."""
        out = type(self)(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        """``out = 1 / (1 + e^-self)``, stable; ``dout/dself = out (1 - out)``."""
        s = scalar_sigmoid(self.data)
        out = type(self)(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1.0 - s) * out.grad  # from the output: no second exp

        out._backward = _backward
        return out

    def backward(self) -> None:
        """Fill ``.grad`` of every Value this one depends on with ``dself/dvalue``.

        Orders the graph topologically (every Value after all the Values it was
        computed from), sets ``self.grad = 1`` (``dself/dself``), then calls each
        ``_backward`` from the output down, so that a Value passes its gradient
        on only after every use of it has added its share.

        Returns
        -------
        None
        """
        topo: list[Value] = []
        visited: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:  # depth-first, without recursion (deep graphs are fine)
            node, children_done = stack.pop()
            if children_done:
                topo.append(node)  # all of node's inputs are already in topo
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node._prev))
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()

    # The rest is built from the operations above, so it needs no _backward of its own.

    def __neg__(self) -> Value:
        """``-self = self * -1``."""
        return self * -1

    def __sub__(self, other) -> Value:
        """``self - other = self + (-other)``."""
        other = self._wrap(other)
        if other is NotImplemented:
            return NotImplemented
        return self + (-other)

    def __rsub__(self, other) -> Value:
        """``other - self`` for a number other."""
        other = self._wrap(other)
        if other is NotImplemented:
            return NotImplemented
        return other + (-self)

    def __radd__(self, other) -> Value:
        """``other + self`` for a number other."""
        return self + other

    def __rmul__(self, other) -> Value:
        """``other * self`` for a number other."""
        return self * other

    def __truediv__(self, other) -> Value:
        """``self / other = self * other ** -1``."""
        other = self._wrap(other)
        if other is NotImplemented:
            return NotImplemented
        return self * other**-1

    def __rtruediv__(self, other) -> Value:
        """``other / self`` for a number other."""
        other = self._wrap(other)
        if other is NotImplemented:
            return NotImplemented
        return other * self**-1

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"


def trace_neuron_loss(value_class, w: float, b: float, x: float, y: float) -> dict[str, float]:
    """Build ``L = (sigmoid(w x + b) - y)**2`` with an autodiff class and run its backward pass.

    The loss of ``neuron_loss_grads``, traced through ``Value`` or a learner's class like it,
    so that every node's value and gradient can be shown and compared with the reference's.

    Only ``+``, ``*``, ``.sigmoid()`` and ``.backward()`` are used: ``a - y`` is ``a + (-y)`` and
    the square is ``d * d`` (d is used twice: its two gradient contributions add up).

    Parameters
    ----------
    value_class : class
        ``refimpl.Value`` or one like it: ``value_class(number)`` with ``.data``, ``.grad``,
        ``+``, ``*``, ``.sigmoid()`` and ``.backward()``.
    w, b, x, y : float

    Returns
    -------
    trace : dict of float
        Values ``"z"``, ``"a"``, ``"L"`` and gradients ``"dw"``, ``"db"``, ``"dx"``, ``"dz"``,
        ``"da"`` (dL/d of each node).
    """
    W, B, X = value_class(float(w)), value_class(float(b)), value_class(float(x))
    z = W * X + B
    a = z.sigmoid()
    d = a + value_class(-float(y))
    L = d * d
    L.backward()
    return {
        "z": float(z.data),
        "a": float(a.data),
        "L": float(L.data),
        "dw": float(W.grad),
        "db": float(B.grad),
        "dx": float(X.grad),
        "dz": float(z.grad),
        "da": float(a.grad),
    }


# ---------------------------------------------------------------------------------------
# The 2-3-1 network built from Values (notebook 05, after the exercises)
# ---------------------------------------------------------------------------------------


def value_network_231(X, y, params, value=Value, loss="mse"):
    """The 2-3-1 network's forward pass and mean loss as a graph of Values, ready for backward().

    ``forward_231`` entry by entry: every multiplication, addition, relu and sigmoid is one node,
    so that ``loss.backward()`` fills each parameter's ``.grad`` with the gradient that
    ``backward_231`` computes with matrices. Only what notebook 05's ``Value`` has is used:
    ``value(number)``, ``+``, ``*``, ``** 2``, ``.relu()``, ``.sigmoid()`` (numbers on the right).
    BCE needs a logarithm, which that class does not have: each student's term
    ``softplus(z2) - y z2`` (``bce_from_logits``) is one node, made as the operations make theirs
    (``value(data, (z2,))`` and a ``_backward``), with local derivative ``sigma(z2) - y``.

    Parameters
    ----------
    X : array_like, shape (n, 2)
        Hours studied and slept, one student per row (a few: the graph has about 30 n nodes).
    y : array_like, shape (n, 1)
        Targets (1.0 = passed, 0.0 = failed).
    params : dict
        W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,): numbers, or Values of ``value`` (such as the
        ``param_values`` of an earlier call: a second graph on the same leaves).
    value : class, default refimpl.Value
        The autodiff class to build with (the learner's ``Value``, or one like it).
    loss : {"mse", "bce"}, default "mse"
        ``mean((y_hat - y)**2)`` or the mean binary cross-entropy.

    Returns
    -------
    loss_value : Value
        The mean loss, the root of the graph; its ``.data`` is ``loss_231(X, y, params, loss)``.
    param_values : dict of ndarray of Value (dtype object)
        The leaves, shaped like ``params``: W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,).
    """
    check_loss_name(loss)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"X should have shape (n, 2) with n >= 1; got {X.shape}.")
    if y.shape != (X.shape[0], 1):
        raise ValueError(f"y should have shape ({X.shape[0]}, 1), like X's rows; got {y.shape}.")
    if loss == "bce":
        check_labels(y)
    leaves = _param_leaves(params, value)
    terms = []
    for row, target in zip(X.tolist(), y[:, 0].tolist(), strict=True):
        a1 = [z.relu() for z in _dense(row, leaves["W1"], leaves["b1"])]  # 3 hidden units
        (z2,) = _dense(a1, leaves["W2"], leaves["b2"])
        if loss == "bce":
            terms.append(_bce_node(z2, target, value))
        else:
            terms.append((z2.sigmoid() + (-target)) ** 2)  # (y_hat - y)**2
    mean = sum(terms[1:], start=terms[0]) * (1.0 / len(terms))
    return mean, leaves


def _param_leaves(params, value) -> dict[str, np.ndarray]:
    """``params`` as object arrays of Values of class ``value`` (a Value is kept as it is)."""
    if set(params) != set(SHAPES_231):
        raise ValueError(f"The 2-3-1 network needs params W1, b1, W2, b2; got {sorted(params)}.")
    leaves = {}
    for key, shape in SHAPES_231.items():
        entries = np.asarray(params[key], dtype=object)
        if entries.shape != shape:
            raise ValueError(f"params[{key!r}] should have shape {shape}; got {entries.shape}.")
        leaves[key] = np.empty(shape, dtype=object)
        for index, entry in np.ndenumerate(entries):
            leaves[key][index] = entry if isinstance(entry, value) else value(float(entry))
    return leaves


def _dense(inputs, W: np.ndarray, b: np.ndarray) -> list:
    """One student's row through a dense layer: ``out_j = sum_k inputs_k W[k, j] + b[j]``.

    ``inputs`` are numbers or Values; W (d_in, d_out) and b (d_out,) are Values, on the left
    of every operation so that a number never needs ``__radd__`` or ``__rmul__``.
    """
    out = []
    for j in range(W.shape[1]):
        products = [W[k, j] * a for k, a in enumerate(inputs)]
        out.append(sum(products[1:], start=products[0]) + b[j])
    return out


def _bce_node(z, target: float, value):
    """One student's BCE from its logit, ``softplus(z) - target z``, as one node above z."""
    data = max(z.data, 0.0) - target * z.data + math.log1p(math.exp(-abs(z.data)))  # stable
    out = value(data, (z,))
    slope = scalar_sigmoid(z.data) - target  # d/dz (softplus(z) - y z) = sigma(z) - y

    def _backward():
        z.grad += slope * out.grad

    out._backward = _backward
    return out


def _each_value(values):
    """The Values in a Value, or in a dict, array, list or tuple of them (nested)."""
    if isinstance(values, dict):
        values = list(values.values())
    elif isinstance(values, np.ndarray):
        values = list(values.flat)
    if isinstance(values, list | tuple):
        for item in values:
            yield from _each_value(item)
    else:
        yield values


def zero_grad(values) -> None:
    """Set ``.grad`` to 0 on the given Values and on every Value they were computed from.

    Given the loss, that is its whole graph: then a second ``loss.backward()`` gives the same
    gradients as the first (without it, they compound; see ``Value``). Given the parameters
    only (micrograd's ``zero_grad``, PyTorch's ``optimizer.zero_grad()``), it resets the leaves
    that a new forward pass shares with the old one.

    Parameters
    ----------
    values : Value, or dict, ndarray, list or tuple of Values
        For example the loss, or ``param_values`` of ``value_network_231``.

    Returns
    -------
    None
    """
    stack, seen = list(_each_value(values)), set()
    while stack:  # every node once, without recursion
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            node.grad = 0.0
            stack.extend(node._prev)


def value_grads(param_values) -> dict[str, np.ndarray]:
    """The ``.grad`` of each Value of ``param_values``, as float arrays of the same shapes.

    Parameters
    ----------
    param_values : dict of ndarray of Value
        As returned by ``value_network_231``: W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,).

    Returns
    -------
    grads : dict of ndarray
        The same keys and shapes, float64: comparable with ``backward_231``'s grads.
    """
    return {key: np.array([float(v.grad) for v in np.asarray(values, dtype=object).flat],
                          dtype=np.float64).reshape(np.shape(values))
            for key, values in param_values.items()}
