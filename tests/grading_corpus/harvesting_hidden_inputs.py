"""The corpus: harvesting hidden inputs."""

from __future__ import annotations

from grading_corpus.base import N01, RELU0, VISIBLE_AWARE, Case, after, before, replace

# ---------------------------------------------------------------------------------------
# 5. Harvesting hidden inputs
# ---------------------------------------------------------------------------------------

def _no_hidden_inputs(graded) -> None:
    leaked = graded.hidden_inputs_in_outputs("relu")
    assert not leaked, f"hidden inputs reached the graded notebook: {leaked[:10]}"


FIVE = [
    Case("relu-prints-its-hidden-inputs", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          import sys, warnings
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              values = repr(np.asarray(Z, dtype=float).ravel().tolist())
              print("inputs", values)
              print("inputs", values, file=sys.stderr)
              print("inputs", values, file=sys.__stdout__, flush=True)
              print("inputs", values, file=sys.__stderr__, flush=True)
              return np.zeros(np.shape(Z))
          """),), RELU0, extra=_no_hidden_inputs),
    Case("hidden-inputs-in-an-exception-message", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              raise ValueError("inputs " + repr(np.asarray(Z, dtype=float).ravel().tolist()))
          """),), RELU0, extra=_no_hidden_inputs),
    Case("hidden-inputs-in-a-warning", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          import warnings
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              warnings.warn("inputs " + repr(np.asarray(Z, dtype=float).ravel().tolist()))
              return np.zeros(np.shape(Z))
          """),), RELU0, extra=_no_hidden_inputs),
    Case("hidden-inputs-in-the-result-type-name", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              name = "inputs " + repr(np.asarray(Z, dtype=float).ravel().tolist())
              return type(name, (), {"__repr__": lambda self: name})()
          """),), RELU0, extra=_no_hidden_inputs),
    Case("hidden-inputs-returned-as-the-result", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              return np.array(Z, dtype=float)  # the input itself: wrong wherever z < 0
          """),), RELU0, extra=_no_hidden_inputs),
    Case("hidden-inputs-in-the-crash-message", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          import os, sys
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              values = repr(np.asarray(Z, dtype=float).ravel().tolist())
              sys.__stderr__.write("inputs " + values + "\\n")
              sys.__stderr__.flush()
              os._exit(3)
          """),), {"test_relu": 0, "test_sigmoid": 0, "test_neuron": 0},
         attention_any=frozenset({"crashed"}), extra=_no_hidden_inputs),
    Case("hidden-inputs-printed-by-a-later-cell", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          _SEEN = []
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              _SEEN.append(np.asarray(Z, dtype=float).ravel().tolist())
              return np.zeros(np.shape(Z))
          """), after("test_relu", """
          print("seen during the hidden check:", _SEEN)
          with open("seen.txt", "w") as stream:
              stream.write(repr(_SEEN))
          """), before("test_sigmoid", """
          import os
          print(open("seen.txt").read() if os.path.exists("seen.txt") else "no file")
          """)), RELU0, extra=_no_hidden_inputs,
         note="the issue: nothing the learner's code sees during the hidden cases reaches the "
              "notebook"),
]
