"""The corpus: honest but unusual."""

from __future__ import annotations

from grading_corpus.base import HONEST_RELU, N01, N06, Case, after, before, replace

# ---------------------------------------------------------------------------------------
# Honest but unusual
# ---------------------------------------------------------------------------------------

HONEST = [
    Case("relu-with-np-where", "honest", N01,
         (replace("relu", "def relu(Z):\n    Z = np.asarray(Z, dtype=float)\n"
                          "    return np.where(Z > 0, Z, 0.0)"),)),
    Case("relu-python-loop-over-nditer", "honest", N01,
         (replace("relu", """
          def relu(Z):
              Z = np.asarray(Z, dtype=float)
              out = np.empty_like(Z)
              with np.nditer([Z, out], op_flags=[["readonly"], ["writeonly"]]) as it:
                  for z, o in it:
                      o[...] = z if z > 0 else 0.0
              return out
          """),)),
    Case("relu-instance-with-call", "honest", N01,
         (replace("relu", """
          class Rectifier:
              def __init__(self, floor):
                  self.floor = floor
              def __call__(self, Z):
                  return np.maximum(np.asarray(Z, dtype=float), self.floor)
          relu = Rectifier(0.0)
          """),)),
    Case("relu-functools-partial", "honest", N01,
         (replace("relu", """
          import functools
          relu = functools.partial(np.maximum, 0.0)
          """),)),
    Case("relu-lambda", "honest", N01,
         (replace("relu", "relu = lambda Z: np.maximum(np.asarray(Z, dtype=float), 0.0)"),)),
    Case("relu-helper-in-another-learner-cell", "honest", N01,
         (before("relu", """
          def clip_below(values, floor):
              return np.maximum(np.asarray(values, dtype=float), floor)
          """), replace("relu", "def relu(Z):\n    return clip_below(Z, 0.0)"))),
    Case("relu-prints-and-warns-a-lot", "honest", N01,
         (replace("relu", """
          import sys, warnings
          def relu(Z):
              for i in range(200):
                  print("step", i, np.shape(Z))
              print("debugging", file=sys.stderr)
              warnings.warn("a learner's own warning")
              return np.maximum(Z, 0.0)
          print("relu defined", file=sys.stderr)
          """),)),
    Case("magics-timeit-and-time", "honest", N01,
         (after("relu", "%timeit -n 3 -r 1 relu(np.linspace(-1, 1, 100))"),
          after("test_relu", "%%time\nprint(relu(np.array([-1.0, 2.0])))"))),
    Case("matplotlib-in-the-solution-cell", "honest", N01,
         (replace("relu", HONEST_RELU, """
          import matplotlib.pyplot as plt
          zs = np.linspace(-3, 3, 61)
          fig, ax = plt.subplots()
          ax.plot(zs, relu(zs))
          ax.set_title("relu")
          plt.show()
          """),)),
    Case("sigmoid-with-math-and-recursion", "honest", N01,
         (replace("sigmoid", """
          import math
          def _one(z):
              if z >= 0:
                  return 1.0 / (1.0 + math.exp(-z))
              e = math.exp(z)
              return e / (1.0 + e)
          def sigmoid(Z):
              Z = np.asarray(Z, dtype=float)
              if Z.ndim == 0:
                  return np.asarray(_one(float(Z)))
              return np.array([sigmoid(row) for row in Z], dtype=float).reshape(Z.shape)
          """),)),
    Case("sigmoid-np-vectorize", "honest", N01,
         (replace("sigmoid", """
          import math
          def _scalar(z):
              return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
          _vectorized = np.vectorize(_scalar, otypes=[float])
          def sigmoid(Z):
              return _vectorized(np.asarray(Z, dtype=float))
          """),)),
    Case("learner-calls-check-in-own-cell", "honest", N01,
         (after("relu", "check.relu(relu)\ncheck.relu(relu, hidden=True)"),
          after("sigmoid", "check.sigmoid(sigmoid)"))),
    Case("unrelated-cell-with-a-syntax-error", "honest", N01,
         (before("test_sigmoid", "def broken(:\n    pass"),)),
    Case("unrelated-cell-that-raises", "honest", N01,
         (before("test_neuron", "raise RuntimeError('an experiment that went wrong')"),)),
    Case("neuron-cell-reads-study-sleep-data", "honest", N01,
         (replace("neuron", """
          def neuron(X, w, b, activation):
              z = X @ w + b
              return activation(z)
          X_data, y_data = refimpl.study_sleep()
          print("first outputs:", neuron(X_data[:3], np.array([0.5, 0.5]), -6.0, sigmoid))
          """),)),
    Case("forward-231-with-the-notebooks-reference-relu-and-sigmoid", "honest", "02_forward",
         ()),
    Case("forward-231-calls-refimpl-relu-and-sigmoid-directly", "honest", "02_forward",
         (replace("forward_231", """
          def forward_231(X, params):
              Z1 = dense_forward(X, params["W1"], params["b1"])
              A1 = refimpl.relu(Z1)
              Z2 = dense_forward(A1, params["W2"], params["b2"])
              A2 = refimpl.sigmoid(Z2)
              return A2, {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}
          """),)),
    Case("train-with-reference-forward-backward-and-bce", "honest", "07_training", ()),
    Case("gradient-errors-with-refimpl-numerical-gradients", "honest", N06, ()),
    Case("own-helpers-named-like-reference-functions", "honest", N06,
         (after("derivatives", """
          def sigmoid_prime(z):
              s = 1.0 / (1.0 + np.exp(-z))
              return s * (1.0 - s)
          def relu_prime(z):
              return (np.asarray(z) > 0).astype(float)
          """),)),
]
