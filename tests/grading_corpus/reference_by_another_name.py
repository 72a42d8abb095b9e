"""Corpus section 1: reaching the reference under another name."""

from __future__ import annotations

from grading_corpus.base import (
    BCE0,
    MSE0,
    N01,
    N06,
    NEURON0,
    RELU0,
    SIGMOID0,
    TANH0,
    USED,
    Case,
    _cell_output_has,
    replace,
)

ONE = [
    Case("refimpl-relu-called", "1-other-name", N01,
         (replace("relu", "def relu(Z):\n    return refimpl.relu(Z)"),),
         RELU0, USED, cheat_works="relu"),
    Case("refimpl-relu-is-the-solution", "1-other-name", N01,
         (replace("relu", "relu = refimpl.relu"),), RELU0, USED, cheat_works="relu"),
    Case("refimpl-call-with-honest-fallback", "1-other-name", N01,
         (replace("relu", """
          def relu(Z):
              try:
                  return refimpl.relu(Z)
              except Exception:
                  return np.maximum(Z, 0.0)  # the learner's own, only when refused
          """),), RELU0, USED, cheat_works="relu",
         note="README: a graded function that calls the reference of its exercise scores 0"),
    Case("refimpl-activations-submodule", "1-other-name", N01,
         (replace("relu", "def relu(Z):\n    return refimpl.activations.relu(Z)"),),
         RELU0, cheat_works="relu"),
    Case("from-submodule-import-as", "1-other-name", N01,
         (replace("relu", """
          from refimpl.activations import relu as _r
          def relu(Z):
              return _r(Z)
          """),), RELU0, cheat_works="relu"),
    Case("getattr-built-name", "1-other-name", N01,
         (replace("relu", 'def relu(Z):\n    return getattr(refimpl, "re" + "lu")(Z)'),),
         RELU0, USED, cheat_works="relu"),
    Case("get-activation-by-name", "1-other-name", N01,
         (replace("relu", """
          def relu(Z):
              f, _ = refimpl.get_activation("relu")
              return f(Z)
          """),), RELU0, cheat_works="relu"),
    Case("relu-via-refimpl-neuron", "1-other-name", N01,
         (replace("relu", """
          def relu(Z):
              Z = np.asarray(Z, dtype=float)
              out = refimpl.neuron(Z.reshape(-1, 1), np.ones(1), 0.0, "relu")
              return np.asarray(out).reshape(Z.shape)
          """),), RELU0, cheat_works="relu"),
    Case("relu-via-forward-231-crafted-params", "1-other-name", N01,
         (replace("relu", """
          def relu(Z):
              Z = np.asarray(Z, dtype=float)
              flat = Z.reshape(-1, 1)
              X = np.hstack([flat, np.zeros_like(flat)])
              params = {"W1": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), "b1": np.zeros(3),
                        "W2": np.zeros((3, 1)), "b2": np.zeros(1)}
              _, cache = refimpl.forward_231(X, params)
              return np.asarray(cache["A1"])[:, 0].reshape(Z.shape)
          """),), RELU0, cheat_works="relu"),
    Case("relu-via-relu-prime", "1-other-name", N01,
         (replace("relu", """
          def relu(Z):
              Z = np.asarray(Z, dtype=float)
              return refimpl.relu_prime(Z) * Z
          """),), RELU0, cheat_works="relu"),
    Case("relu-via-viz-internals", "1-other-name", N01,
         (replace("relu", """
          def relu(Z):
              try:
                  from refimpl.viz import neuron as _neuron_viz
                  return _neuron_viz.ACTIVATION_FUNCTIONS["relu"](Z)
              except Exception:
                  return refimpl.viz.neuron.relu(Z)
          """),), RELU0, cheat_works="relu"),
    Case("sigmoid-via-forward-231-crafted-params", "1-other-name", N01,
         (replace("sigmoid", """
          def sigmoid(Z):
              Z = np.asarray(Z, dtype=float)
              flat = Z.reshape(-1, 1)
              X = np.hstack([flat, -flat])  # Z2 = relu(z) - relu(-z) = z
              params = {"W1": np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), "b1": np.zeros(3),
                        "W2": np.array([[1.0], [-1.0], [0.0]]), "b2": np.zeros(1)}
              y_hat, _ = refimpl.forward_231(X, params)
              return np.asarray(y_hat)[:, 0].reshape(Z.shape)
          """),), SIGMOID0, cheat_works="sigmoid"),
    Case("sigmoid-via-bce-from-logits", "1-other-name", N01,
         (replace("sigmoid", """
          def sigmoid(Z):
              Z = np.asarray(Z, dtype=float)
              one = np.ones((1, 1))
              out = [np.exp(-refimpl.bce_from_logits(np.full((1, 1), z), one)) for z in Z.ravel()]
              return np.array(out, dtype=float).reshape(Z.shape)
          """),), SIGMOID0, cheat_works="sigmoid"),
    Case("sigmoid-via-sigmoid-prime", "1-other-name", N01,
         (replace("sigmoid", """
          def sigmoid(Z):
              Z = np.asarray(Z, dtype=float)
              p = np.asarray(refimpl.sigmoid_prime(Z), dtype=float)  # s (1 - s)
              root = np.sqrt(np.clip(1.0 - 4.0 * p, 0.0, None))
              return np.where(Z >= 0, (1.0 + root) / 2.0, (1.0 - root) / 2.0)
          """),), SIGMOID0, cheat_works="sigmoid"),
    Case("sigmoid-via-private-table", "1-other-name", N01,
         (replace("sigmoid", """
          def sigmoid(Z):
              table = vars(refimpl.activations).get("ACTIVATIONS") or refimpl.ACTIVATIONS
              return table["sigmoid"](Z)
          """),), SIGMOID0, cheat_works="sigmoid"),
    Case("sigmoid-via-autodiff-value", "1-other-name", N01,
         (replace("sigmoid", """
          def sigmoid(Z):
              Z = np.asarray(Z, dtype=float)
              out = [refimpl.Value(float(z)).sigmoid().data for z in Z.ravel()]
              return np.array(out, dtype=float).reshape(Z.shape)
          """),), SIGMOID0),
    Case("neuron-via-refimpl-neuron-identity", "1-other-name", N01,
         (replace("neuron", """
          def neuron(X, w, b, activation):
              return activation(refimpl.neuron(X, w, b, "identity"))
          """),), NEURON0, USED, cheat_works="neuron"),
    Case("neuron-linear-part-via-dense-forward", "1-other-name", N01,
         (replace("neuron", """
          def neuron(X, w, b, activation):
              z = refimpl.dense_forward(X, np.reshape(w, (-1, 1)), np.reshape(b, (1,)))
              return activation(np.asarray(z)[:, 0])
          """),), NEURON0, cheat_works="neuron",
         note="the issue: no code that computes a graded answer, or a part of one"),
    Case("backward-231-reference-called", "1-other-name", N06,
         (replace("backward_231_mse", """
          def backward_231_mse(X, y, params, cache):
              return refimpl.backward_231(X, y, params, cache, loss="mse")
          """),), MSE0, USED, cheat_works="backward_231_mse"),
    Case("backward-bce-via-mlp-backward", "1-other-name", N06,
         (replace("backward_231_bce", """
          def backward_231_bce(X, y, params, cache):
              return refimpl.mlp_backward(X, y, params, cache, loss="bce")
          """),), BCE0, cheat_works="backward_231_bce"),
    Case("backward-mse-via-private-mlp-backward", "1-other-name", N06,
         (replace("backward_231_mse", """
          def backward_231_mse(X, y, params, cache):
              _, f_h_prime, _, f_o_prime = refimpl._validation.resolve_activations(
                  "relu", "sigmoid", "mse")
              return refimpl.mlp.backward_unchecked(X, y, params, cache, 2, "mse", "sigmoid",
                                                    f_h_prime, f_o_prime)
          """),), MSE0, cheat_works="backward_231_mse"),
    Case("backward-tanh-via-mlp-backward", "1-other-name", N06,
         (replace("backward_tanh_231", """
          def backward_tanh_231(X, y, params):
              _, cache = refimpl.mlp_forward(X, params, hidden="tanh")
              return refimpl.mlp_backward(X, y, params, cache, loss="bce", hidden="tanh")
          """),), TANH0, USED, cheat_works="backward_tanh_231"),
    Case("backward-tanh-numerical-gradients-of-mlp-loss", "1-other-name", N06,
         (replace("backward_tanh_231", """
          def backward_tanh_231(X, y, params):
              loss = lambda p: refimpl.mlp_loss(X, y, p, loss="bce", hidden="tanh")
              return refimpl.numerical_gradients(loss, params, 1e-6)
          """),), TANH0, note="refused, or it misses the tolerance: no kink, so rtol 1e-9"),
    Case("backward-mse-gradients-leaked-by-train", "1-other-name", N06,
         (replace("backward_231_mse", """
          def backward_231_mse(X, y, params, cache):
              new, _ = refimpl.train(X, y, params, lr=1.0, epochs=1, loss="mse")
              return {k: params[k] - new[k] for k in params}
          """),), MSE0, cheat_works="backward_231_mse"),
    Case("backward-bce-via-gd-step-of-reference", "1-other-name", N06,
         (replace("backward_231_bce", """
          def backward_231_bce(X, y, params, cache):
              zero = {k: np.zeros_like(v) for k, v in params.items()}
              grads = refimpl.backward_231(X, y, params, cache, loss="bce")
              return refimpl.gd_step(zero, {k: -g for k, g in grads.items()}, lr=1.0)
          """),), BCE0, USED, cheat_works="backward_231_bce"),
    Case("backward-mse-numerical-differences-of-loss-231", "1-other-name", N06,
         (replace("backward_231_mse", """
          def backward_231_mse(X, y, params, cache):
              grads, h = {}, 1e-6
              for key, value in params.items():
                  g = np.zeros_like(value, dtype=float)
                  for i in np.ndindex(value.shape):
                      plus = {k: v.astype(float).copy() for k, v in params.items()}
                      minus = {k: v.astype(float).copy() for k, v in params.items()}
                      plus[key][i] += h
                      minus[key][i] -= h
                      g[i] = (refimpl.loss_231(X, y, plus, loss="mse")
                              - refimpl.loss_231(X, y, minus, loss="mse")) / (2 * h)
                  grads[key] = g
              return grads
          """),), MSE0, note="refused, or it misses the tolerance at Z1's exact zeros"),
    Case("backward-mse-numerical-gradients-of-own-loss", "1-other-name", N06,
         (replace("backward_231_mse", """
          def backward_231_mse(X, y, params, cache):
              loss = lambda p: refimpl.loss_231(X, y, p, loss="mse")
              return refimpl.numerical_gradients(loss, params, 1e-6)
          """),), MSE0),
    Case("backward-bce-output-delta-from-bce-grad", "1-other-name", N06,
         (replace("backward_231_bce", """
          def backward_231_bce(X, y, params, cache):
              dZ2 = np.asarray(refimpl.bce_from_logits_grad(cache["Z2"], y))  # a part of it
              dW2 = cache["A1"].T @ dZ2
              db2 = dZ2.sum(axis=0)
              dZ1 = (dZ2 @ params["W2"].T) * relu_prime(cache["Z1"])
              return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": dW2, "b2": db2}
          """),), BCE0, cheat_works="backward_231_bce",
         note="the issue: no code that computes a graded answer, or a part of one"),
    Case("backward-mse-output-delta-from-mse-grad", "1-other-name", N06,
         (replace("backward_231_mse", """
          def backward_231_mse(X, y, params, cache):
              dZ2 = np.asarray(refimpl.mse_grad(cache["A2"], y)) * sigmoid_prime(cache["Z2"])
              dW2 = cache["A1"].T @ dZ2
              db2 = dZ2.sum(axis=0)
              dZ1 = (dZ2 @ params["W2"].T) * relu_prime(cache["Z1"])
              return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": dW2, "b2": db2}
          """),), MSE0, cheat_works="backward_231_mse",
         note="the issue: no code that computes a graded answer, or a part of one"),
    Case("backward-bce-layers-via-dense-backward", "1-other-name", N06,
         (replace("backward_231_bce", """
          def backward_231_bce(X, y, params, cache):
              dZ2 = (cache["A2"] - y) / X.shape[0]
              dA1, dW2, db2 = refimpl.dense_backward(dZ2, cache["A1"], params["W2"])
              dZ1 = np.asarray(dA1) * relu_prime(cache["Z1"])
              _, dW1, db1 = refimpl.dense_backward(dZ1, X, params["W1"])
              return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
          """),), BCE0, cheat_works="backward_231_bce",
         note="dense_backward computes dW, db and dA_prev: most of the backward pass; the "
              "issue: no code that computes a graded answer, or a part of one"),
    Case("mistake-catalogue-default-mode", "1-other-name", N06,
         (replace("backward_231_mse", """
          from autograder.exercises.nb06_backprop import _backward_231  # mistakes, mode "ref"
          def backward_231_mse(X, y, params, cache):
              return _backward_231(X, y, params, cache, loss="mse")
          """),), MSE0, cheat_works="backward_231_mse",
         extra=_cell_output_has("mistake-catalogue-default-mode", "replace", "backward_231_mse",
                                "ModuleNotFoundError")),
]
