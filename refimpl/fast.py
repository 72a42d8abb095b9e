"""A training path for large MLPs that reuses its arrays: the numbers of the pure functions, faster.

``mlp_forward``, ``mlp_backward`` and ``gd_step`` are written to be read: every step makes new
arrays (Z, A, dZ, dW, ``W - lr * dW``). For a 784-512-512-10 network on a batch of 256 those
are megabytes each, and a fresh array that large costs page faults before the matrix products
even start: the pure step takes about twice as long as its matrix products alone.

``MLPTrainer`` computes the same step in arrays it allocates once per batch size:
``np.matmul(A, W, out=Z)``, activations and their derivatives in place, and ``W -= lr * dW``
for all parameters together (they are views of one flat array). It also skips ``dL/dX``,
which no parameter needs. The formulas and their order are those of ``refimpl.mlp``
(``tests/test_refimpl_fast.py`` checks that params, gradients and losses agree with the pure
functions over many steps), so read ``refimpl.mlp`` to learn backpropagation and use this
class to train at scale.
"""

from __future__ import annotations

import numpy as np

from refimpl._validation import (
    as_inputs,
    as_params,
    check_labels,
    check_lr,
    resolve_activations,
)
from refimpl.activations import ACTIVATIONS, sigmoid_into
from refimpl.losses import softplus

#: The update W <- W - lr * dW runs over the flat params in blocks of this many entries
#: (256 KiB), so that lr * dW stays in the CPU cache instead of making a round trip to memory.
UPDATE_BLOCK = 2**15


def _activate(Z: np.ndarray, name: str, out: np.ndarray, scratch: np.ndarray) -> None:
    """``out <- f(Z)`` (out may be Z itself), by the formulas of ``refimpl.activations``."""
    if name == "relu":
        np.maximum(Z, 0.0, out=out)
    elif name == "tanh":
        np.tanh(Z, out=out)
    elif name == "sigmoid":
        sigmoid_into(Z, out, scratch)  # the stable sigmoid, in place
    elif out is not Z:  # identity
        np.copyto(out, Z)


def _times_derivative(dA: np.ndarray, A: np.ndarray, name: str, scratch: np.ndarray) -> None:
    """``dA <- dA * f'(Z)`` in place, with f'(Z) written in terms of ``A = f(Z)``.

    relu'(z) = [z > 0] = [a > 0] (so relu'(0) = 0); sigmoid' = a (1 - a); tanh' = 1 - a**2.
    """
    if name == "relu":
        np.greater(A, 0.0, out=scratch)  # 1.0 / 0.0
    elif name == "sigmoid":
        np.subtract(1.0, A, out=scratch)
        scratch *= A
    elif name == "tanh":
        np.square(A, out=scratch)
        np.subtract(1.0, scratch, out=scratch)
    else:  # identity: f' = 1
        return
    dA *= scratch


class MLPTrainer:
    """Full-batch gradient descent on an L-layer MLP, computed in preallocated arrays.

    The same computation as ``mlp_forward``, ``mlp_backward`` and ``gd_step``
    (``refimpl.mlp``, ``refimpl.optim``), with the same results to rounding, but every
    array is allocated once per batch size and then overwritten.

    Parameters
    ----------
    params : dict
        Starting ``W{l}`` (d_{l-1}, d_l) and ``b{l}`` (d_l,) for l = 1..L; copied, never
        modified.
    loss : {"bce", "mse"}, default "bce"
        The loss, a mean over all entries of y (as in ``refimpl.losses``).
    hidden : {"relu", "sigmoid", "tanh", "identity"}, default "relu"
    output : {"sigmoid", "identity"}, default "sigmoid"

    Attributes
    ----------
    params : dict of ndarray
        The current params, updated in place by ``step``. They are views of one flat
        array: change their values in place (``params["W1"][...] = W1``), never rebind a key.
    grads : dict of ndarray
        dL/dW and dL/db of the last ``backward`` (or ``step``, before its update):
        the same keys and shapes as params, overwritten by the next call.

    Examples
    --------
    >>> from refimpl import MLPTrainer, init_mlp
    >>> trainer = MLPTrainer(init_mlp([784, 512, 512, 10]), loss="bce")
    >>> losses = [trainer.step(X, y, lr=0.1) for epoch in range(10)]  # doctest: +SKIP
    >>> trainer.params["W1"].shape
    (784, 512)
    """

    def __init__(self, params, loss="bce", hidden="relu", output="sigmoid"):
        arrays, self.n_layers = as_params(params)
        resolve_activations(hidden, output, loss)  # checks the names and the loss/output pair
        if not isinstance(hidden, str) or hidden not in ACTIVATIONS:
            raise ValueError(
                f"hidden must be the name of an activation "
                f"({', '.join(map(repr, ACTIVATIONS))}); got {hidden!r}."
            )
        self.loss_name, self.hidden, self.output = loss, hidden, output
        # Params and grads are views of one flat array each, so that the update
        # W <- W - lr * dW of every parameter is a single operation on theta.
        sizes = [value.size for value in arrays.values()]
        self._theta, self._grad = np.zeros(sum(sizes)), np.zeros(sum(sizes))
        self._update = np.empty(min(sum(sizes), UPDATE_BLOCK))  # lr * dW, block by block
        self.params, self.grads = {}, {}
        for (key, value), end in zip(arrays.items(), np.cumsum(sizes), strict=True):
            start = end - value.size
            self.params[key] = self._theta[start:end].reshape(value.shape)
            self.params[key][...] = value
            self.grads[key] = self._grad[start:end].reshape(value.shape)
        self.widths = [self.params["W1"].shape[0]] + [
            self.params[f"W{l}"].shape[1] for l in range(1, self.n_layers + 1)
        ]
        self._n = None  # the batch size the buffers below were made for
        self._X = None  # the input of the last forward pass

    def _buffers(self, n: int) -> None:
        """Arrays for a batch of n samples: A{l}, dZ{l} and a scratch array per layer."""
        if n == self._n:
            return
        shapes = [(n, d) for d in self.widths[1:]]
        self._A = [None, *(np.empty(shape) for shape in shapes)]  # A[l] = f(Z[l]), (n, d_l)
        self._dZ = [None, *(np.empty(shape) for shape in shapes)]  # dL/dZ[l], (n, d_l)
        self._scratch = [None, *(np.empty(shape) for shape in shapes)]
        self._ZL = np.empty(shapes[-1])  # the output logits, kept for a stable BCE
        self._n = n

    def forward(self, X) -> np.ndarray:
        """Forward pass, ``Z{l} = A{l-1} @ W{l} + b{l}`` and ``A{l} = f(Z{l})``.

        Parameters
        ----------
        X : array_like, shape (n, d_0)

        Returns
        -------
        y_hat : ndarray, shape (n, d_L)
            An array of the trainer's, overwritten by the next pass: copy it to keep it.
        """
        X = as_inputs(X, self.params)
        self._buffers(X.shape[0])
        A, L = X, self.n_layers
        for l in range(1, L + 1):
            Z = self._ZL if l == L else self._A[l]  # hidden layers: A[l] holds Z[l], then f(Z[l])
            np.matmul(A, self.params[f"W{l}"], out=Z)  # (n, d_l-1) @ (d_l-1, d_l)
            Z += self.params[f"b{l}"]
            _activate(Z, self.hidden if l < L else self.output, self._A[l], self._scratch[l])
            A = self._A[l]
        self._X = X
        return self._A[L]

    def _check_targets(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if self._X is None:
            raise ValueError("Call forward(X) before loss(y) or backward(y): they use its arrays.")
        if y.shape != self._A[self.n_layers].shape:
            raise ValueError(
                f"y has shape {y.shape} but y_hat has shape {self._A[self.n_layers].shape}; "
                "targets must have the shape of the predictions, (n, d_L)."
            )
        if self.loss_name == "bce":
            check_labels(y)
        return y

    def loss(self, y) -> float:
        """The loss of the last forward pass (BCE from the logits, as ``mlp_loss``).

        Parameters
        ----------
        y : array_like, shape (n, d_L)

        Returns
        -------
        L : float
        """
        return self._loss(self._check_targets(y))

    def _loss(self, y: np.ndarray) -> float:
        if self.loss_name == "bce":  # mean(log(1 + e^z) - y z), as bce_from_logits
            ZL = self._ZL
            return float(np.add.reduce(softplus(ZL) - y * ZL, axis=None) / y.size)
        return float(np.add.reduce((self._A[self.n_layers] - y) ** 2, axis=None) / y.size)

    def backward(self, y) -> dict[str, np.ndarray]:
        """Backward pass for the last forward pass: fills and returns ``self.grads``.

        Parameters
        ----------
        y : array_like, shape (n, d_L)

        Returns
        -------
        grads : dict of ndarray
            ``self.grads``: dL/dW{l} (d_{l-1}, d_l) and dL/db{l} (d_l,), overwritten by the
            next call.
        """
        return self._backward(self._check_targets(y))

    def _backward(self, y: np.ndarray) -> dict[str, np.ndarray]:
        L = self.n_layers
        AL, dZ = self._A[L], self._dZ[L]
        np.subtract(AL, y, out=dZ)
        if self.loss_name == "bce" and self.output == "sigmoid":
            # Fused delta: for sigmoid + BCE, sigma'(Z) cancels and dL/dZ = (y_hat - y) / n.
            dZ /= y.size
        else:  # dL/dy_hat = 2 (y_hat - y) / n, times f'(ZL)
            dZ *= 2.0
            dZ /= y.size
            _times_derivative(dZ, AL, self.output, self._scratch[L])
        for l in range(L, 0, -1):
            A_prev = self._X if l == 1 else self._A[l - 1]
            np.matmul(A_prev.T, dZ, out=self.grads[f"W{l}"])  # (d_l-1, n) @ (n, d_l)
            np.add.reduce(dZ, axis=0, out=self.grads[f"b{l}"])  # the sum over samples
            if l > 1:  # dL/dX (l = 1) is needed by no parameter: skipped
                dA_prev = self._dZ[l - 1]
                np.matmul(dZ, self.params[f"W{l}"].T, out=dA_prev)  # (n, d_l) @ (d_l, d_l-1)
                _times_derivative(dA_prev, self._A[l - 1], self.hidden, self._scratch[l - 1])
                dZ = dA_prev
        return self.grads

    def step(self, X, y, lr) -> float:
        """One step of gradient descent on (X, y): forward, backward, ``W <- W - lr * dW``.

        Parameters
        ----------
        X : array_like, shape (n, d_0)
        y : array_like, shape (n, d_L)
        lr : float
            The learning rate, >= 0.

        Returns
        -------
        L : float
            The loss before the update (as ``train`` records it).
        """
        lr = check_lr(lr)
        self.forward(X)
        y = self._check_targets(y)
        loss = self._loss(y)
        self._backward(y)
        if self._theta.size <= UPDATE_BLOCK:  # W <- W - lr * dW, in place
            self._theta -= np.multiply(lr, self._grad, out=self._update)
            return loss
        for start in range(0, self._theta.size, UPDATE_BLOCK):  # in cache-sized blocks
            dW = self._grad[start : start + UPDATE_BLOCK]
            self._theta[start : start + UPDATE_BLOCK] -= np.multiply(
                lr, dW, out=self._update[: dW.size]
            )
        return loss
