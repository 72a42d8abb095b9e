"""The chain rule by hand and by machine (notebook 05).

``neuron_loss_grads`` differentiates the loss of one neuron with one input by
hand, factor by factor. ``Value`` does the same automatically: a number that
remembers how it was computed (micrograd-style reverse-mode autodiff). Each
operation computes its result (the forward) and, right next to it, defines
``_backward``, which applies the operation's local derivative to the result's
gradient and ADDS it into the gradients of its inputs. ``trace_neuron_loss`` builds the
neuron's loss with any such class and reads every node's value and gradient back.
"""

from __future__ import annotations

import math
from numbers import Real

__all__ = ["Value", "neuron_loss_grads", "scalar_sigmoid", "trace_neuron_loss"]


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
