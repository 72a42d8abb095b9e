"""The corpus: pausing, replacing or side-stepping the watch."""

from __future__ import annotations

from grading_corpus.base import N01, NEURON0, RELU0, USED, WRONG_RELU, Case, after, before, replace

# ---------------------------------------------------------------------------------------
# 3. Pausing, replacing or side-stepping the watch
# ---------------------------------------------------------------------------------------

THREE = [
    Case("thread-started-earlier-calls-the-reference", "3-watch", N01,
         (before("relu", """
          import queue, threading
          _requests, _answers = queue.Queue(), queue.Queue()
          def _helper():
              while True:
                  Z = _requests.get()
                  try:
                      _answers.put(np.asarray(refimpl.relu(Z)))
                  except BaseException as error:
                      _answers.put(error)
          threading.Thread(target=_helper, daemon=True).start()
          """),
          replace("relu", """
          _dead = []
          def relu(Z):
              if not _dead:
                  _requests.put(np.asarray(Z, dtype=float))
                  try:
                      answer = _answers.get(timeout=2)
                      if isinstance(answer, np.ndarray):
                          return answer
                  except queue.Empty:
                      pass
                  _dead.append(True)
              return np.zeros(np.shape(Z))
          """)), RELU0),
    Case("monkeypatch-the-stand-ins", "3-watch", N01,
         (replace("relu", WRONG_RELU, """
          refimpl.relu = relu
          try:
              refimpl.activations.relu = relu
          except Exception as error:
              print("activations:", type(error).__name__)
          check.relu = lambda *args, **kwargs: print("relu passed")
          import autograder
          autograder.check = check
          """),), RELU0),
    Case("replace-sys-modules-refimpl-and-autograder", "3-watch", N01,
         (replace("relu", WRONG_RELU, """
          import sys, types
          fake = types.ModuleType("refimpl")
          fake.relu = relu
          fake.__getattr__ = lambda name: relu
          sys.modules["refimpl"] = sys.modules["refimpl.activations"] = fake
          fake_check = types.ModuleType("autograder.check")
          fake_check.__getattr__ = lambda name: (lambda *args, **kwargs: None)
          fake_grader = types.ModuleType("autograder")
          fake_grader.check = fake_check
          sys.modules["autograder"], sys.modules["autograder.check"] = fake_grader, fake_check
          """),), RELU0),
    Case("profiler-and-tracer-switched-off", "3-watch", N01,
         (replace("relu", """
          import sys, threading
          sys.setprofile(None)
          sys.settrace(None)
          threading.setprofile(None)
          threading.settrace(None)
          def relu(Z):
              sys.setprofile(None)
              return refimpl.relu(Z)
          """),), RELU0, USED),
    Case("builtins-renamed", "3-watch", N01,
         (replace("relu", """
          import builtins
          _real_isinstance, _real_runtime_error = builtins.isinstance, builtins.RuntimeError
          def _isinstance(obj, classes):
              if "Remote" in type(obj).__name__ or "Handle" in type(obj).__name__:
                  return False  # a watch that looks for its stand-ins finds none
              return _real_isinstance(obj, classes)
          builtins.isinstance = _isinstance
          builtins.RuntimeError = type("RuntimeError", (Exception,), {})
          def relu(Z):
              try:
                  return refimpl.relu(Z)
              except BaseException:
                  return np.zeros(np.shape(Z))
          """),
          after("test_relu", """
          builtins.isinstance, builtins.RuntimeError = _real_isinstance, _real_runtime_error
          """)), RELU0, USED),
    Case("import-hook-over-builtins-import", "3-watch", N01,
         (replace("relu", """
          import builtins, types
          _real_import = builtins.__import__
          _saved = refimpl
          _fake = types.ModuleType("refimpl")
          def _import(name, globals=None, locals=None, fromlist=(), level=0):
              if name.partition(".")[0] in ("refimpl", "autograder") and level == 0:
                  return _fake
              return _real_import(name, globals, locals, fromlist, level)
          builtins.__import__ = _import
          def relu(Z):
              return _saved.relu(Z)
          """), after("test_relu", "builtins.__import__ = _real_import")), RELU0, USED),
    Case("result-equal-to-everything", "3-watch", N01,
         (replace("relu", """
          class _Equal:
              def __init__(self, shape):
                  self.shape, self.dtype, self.ndim = shape, np.dtype(float), len(shape)
              def __eq__(self, other):
                  return True
              def __ne__(self, other):
                  return False
              __hash__ = object.__hash__
              def __array__(self, dtype=None, copy=None):
                  return np.zeros(self.shape)
          def relu(Z):
              return _Equal(np.shape(Z))
          """),), RELU0),
    Case("ndarray-subclass-that-lies", "3-watch", N01,
         (replace("relu", """
          class _Liar(np.ndarray):
              def __eq__(self, other):
                  return np.ones(np.shape(self), dtype=bool)
              def __ne__(self, other):
                  return np.zeros(np.shape(self), dtype=bool)
              def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
                  shape = np.broadcast_shapes(*(np.shape(i) for i in inputs))
                  if ufunc in (np.isclose, np.equal, np.less_equal, np.greater_equal):
                      return np.ones(shape, dtype=bool)
                  return np.zeros(shape)
          def relu(Z):
              return np.zeros(np.shape(Z)).view(_Liar)
          """),), RELU0),
    Case("result-that-changes-when-read-again", "3-watch", N01,
         (replace("relu", """
          class _Shifty(list):
              reads = 0
              def __init__(self, Z):
                  super().__init__(np.zeros(np.shape(Z)).tolist() if np.ndim(Z) else [0.0])
                  self.Z = Z
              def __iter__(self):
                  type(self).reads += 1
                  if type(self).reads > 1:  # the first read looks innocent
                      try:
                          return iter(np.atleast_1d(refimpl.relu(self.Z)).tolist())
                      except Exception:
                          pass
                  return super().__iter__()
              def __array__(self, dtype=None, copy=None):
                  return np.asarray(refimpl.relu(self.Z))
          def relu(Z):
              return _Shifty(Z)
          """),), RELU0),
    Case("lazy-result-calls-the-reference-when-read", "3-watch", N01,
         (replace("relu", """
          class _Lazy:
              def __init__(self, Z):
                  self.Z = Z
              def __array__(self, dtype=None, copy=None):
                  return np.asarray(refimpl.relu(self.Z), dtype=dtype)
              def __getattr__(self, name):
                  return getattr(np.asarray(refimpl.relu(self.Z)), name)
              def __len__(self):
                  return len(np.asarray(refimpl.relu(self.Z)))
          def relu(Z):
              return _Lazy(Z)
          """),), RELU0),
    Case("patch-the-worker-internals", "3-watch", N01,
         (replace("relu", """
          import sys
          for name, module in list(sys.modules.items()):
              if not name.startswith("backprop_worker"):
                  continue
              for attr, value in list(vars(module).items()):
                  if isinstance(value, type) and issubclass(value, BaseException):
                      continue
                  if attr.isupper() and isinstance(value, int) and not isinstance(value, bool):
                      setattr(module, attr, value * 100)
          try:
              from backprop_worker import standin
              standin.ReferenceUnavailable = type("Nothing", (BaseException,), {})
          except Exception as error:
              print("no standin:", type(error).__name__)
          def relu(Z):
              try:
                  return refimpl.relu(Z)
              except BaseException:
                  return np.zeros(np.shape(Z))
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None}, USED,
         note="the worker is the learner's to break: later checks are not specified"),
    Case("endless-loop-in-the-graded-function", "3-watch", N01,
         (replace("relu", "def relu(Z):\n    while True:\n        pass"),), RELU0,
         frozenset({"timeout"}), cell_seconds=3),
    Case("learner-cell-swallows-the-interruption", "3-watch", N01,
         (before("test_neuron", """
          import time
          while True:
              try:
                  while True:
                      time.sleep(0.05)
              except BaseException:
                  pass
          """),), NEURON0, frozenset({"timeout"}), cell_seconds=3,
         note="the worker is stopped: the checks after the cell are not graded, with a reason"),
]
