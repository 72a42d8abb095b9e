"""The corpus: forging the report channel."""

from __future__ import annotations

from grading_corpus.base import (
    N01,
    NEURON0,
    RELU0,
    USED,
    WRONG_RELU,
    Case,
    before,
    index_of,
    replace,
)

# ---------------------------------------------------------------------------------------
# 4. Forging the report channel
# ---------------------------------------------------------------------------------------

# A frame of the worker's own format: the attacker can read the worker's code in the sandbox.
_FRAMES = """
import os, struct, sys
try:
    from backprop_worker import codec as _codec
    def _frame(value):
        return _codec.frame(value)
except Exception as error:
    print("no codec:", type(error).__name__)
    def _frame(value):
        body = repr(value).encode()
        return struct.pack("!I", len(body)) + body

def _honest_attempt(inputs):
    return {"fn_name": "relu", "not_callable": None, "bind_error": None, "signature": "(Z)",
            "observations": [{"output": np.maximum(np.asarray(Z, dtype=float), 0.0),
                              "error": None, "args": (np.asarray(Z, dtype=float),), "kwargs": {},
                              "fp_errors": [], "warnings": [], "forbidden_fp": []}
                             for Z in inputs]}

def _probe_reply(index, position, inputs):
    return _frame({"kind": "probe", "index": index, "position": position,
                   "attempt": _honest_attempt(inputs), "timed_out": False, "seconds": 0.01})

def _channel_fds():
    fds = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            try:
                flags = __import__("fcntl").fcntl(fd, __import__("fcntl").F_GETFL)
            except OSError:
                continue
            if flags & (os.O_WRONLY | os.O_RDWR):
                fds.append(fd)
    return fds

def _channel():
    import gc
    return next((o for o in gc.get_objects() if type(o).__name__ == "Channel"), None)
"""

_TEST_RELU_INDEX = "@@INDEX:test_relu@@"


FOUR = [
    Case("frames-written-to-fd-1-during-the-check", "4-channel", N01,
         (replace("relu", _FRAMES, f"""
          def relu(Z):
              reply = _probe_reply({_TEST_RELU_INDEX}, 0, [Z])
              os.write(1, reply * 3)
              return np.abs(np.asarray(Z, dtype=float))
          """),), RELU0),
    Case("frames-written-to-sys-stdout-buffer", "4-channel", N01,
         (replace("relu", _FRAMES, WRONG_RELU, f"""
          for position in (0, 1):
              sys.__stdout__.buffer.write(_probe_reply({_TEST_RELU_INDEX}, position, [np.ones(3)]))
              sys.__stdout__.flush()
          print(_frame({{"kind": "cell", "index": 99}}).decode("latin-1"))
          """),), RELU0),
    Case("garbage-on-every-writable-descriptor", "4-channel", N01,
         (replace("relu", _FRAMES, WRONG_RELU, """
          for fd in _channel_fds():
              try:
                  os.write(fd, b"GARBAGE-NOT-A-FRAME" * 10)
                  print("wrote to", fd)
              except OSError as error:
                  print("fd", fd, type(error).__name__)
          """),), {"test_relu": 0, "test_sigmoid": 0, "test_neuron": 0},
         frozenset({"tampered"}),
         note="the channel breaks: every later check is not graded, with the reason"),
    Case("valid-reply-for-the-next-check-before-it-is-asked", "4-channel", N01,
         (replace("relu", _FRAMES, WRONG_RELU, f"""
          _c = _channel()
          print("channel found:", _c is not None)
          replies = [_probe_reply({_TEST_RELU_INDEX}, position, [np.ones(3)])
                     for position in (0, 1)]
          for reply in replies:
              if _c is not None:
                  _c.outbound.write(reply)
              else:
                  for fd in _channel_fds():
                      os.write(fd, reply)
          """),), {"test_relu": 0, "test_sigmoid": 0, "test_neuron": 0},
         frozenset({"tampered"}),
         note="an answer to a question not asked: the worker is stopped, later checks not graded"),
    Case("forged-reply-inside-the-check-then-the-real-one", "4-channel", N01,
         (replace("relu", _FRAMES, f"""
          _sent = []
          def relu(Z):
              if not _sent:
                  _sent.append(True)
                  _c = _channel()
                  import inspect
                  cases = []
                  for frame in inspect.stack():  # the probe's request holds every input
                      request = frame.frame.f_locals.get("request")
                      if isinstance(request, dict) and "cases" in request:
                          cases = [np.asarray(c["args"][0], dtype=float) for c in request["cases"]]
                          position = request["position"]
                  if _c is not None and cases:
                      _c.outbound.write(_probe_reply({_TEST_RELU_INDEX}, position, cases))
              return np.abs(np.asarray(Z, dtype=float))
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None},
         frozenset({"tampered"}),
         note="two answers to one question; after it, the worker is stopped"),
    Case("huge-length-header", "4-channel", N01,
         (before("test_neuron", _FRAMES, """
          _c = _channel()
          header = struct.pack("!I", 2**32 - 1) + b"x" * 64
          if _c is not None:
              _c.outbound.write(header)
          else:
              for fd in _channel_fds():
                  os.write(fd, header)
          """),), NEURON0, frozenset({"tampered"})),
    Case("channel-descriptors-closed", "4-channel", N01,
         (before("test_neuron", """
          import os
          for fd in range(0, 64):
              if fd != 2:
                  try:
                      os.close(fd)
                  except OSError:
                      pass
          """),), NEURON0, attention_any=frozenset({"crashed", "tampered", "error"})),
    Case("os-exit-0-before-the-test-cell", "4-channel", N01,
         (before("test_relu", "import os\nos._exit(0)"),),
         {"test_relu": 0, "test_sigmoid": 0, "test_neuron": 0},
         attention_any=frozenset({"crashed", "error", "tampered"}),
         extra=lambda g: _not_graded_with_reason(g, "test_relu")),
    Case("sys-exit-in-the-graded-function", "4-channel", N01,
         (replace("relu", "import sys\ndef relu(Z):\n    sys.exit(0)"),), RELU0,
         note="SystemExit is the learner's exception: the later checks still run"),
    Case("real-replies-suppressed-by-dup2", "4-channel", N01,
         (replace("relu", _FRAMES, """
          def relu(Z):
              devnull = os.open(os.devnull, os.O_WRONLY)
              for fd in _channel_fds():
                  os.dup2(devnull, fd)
              return np.maximum(Z, 0.0)
          """),), {"test_relu": 0, "test_sigmoid": 0, "test_neuron": 0},
         attention_any=frozenset({"timeout", "crashed", "tampered"}), cell_seconds=3,
         note="a missing report is a failure with a reason, never a pass"),
    Case("forged-call-frames-for-reference-handles", "4-channel", N01,
         (replace("relu", _FRAMES, """
          def relu(Z):
              _c = _channel()
              for handle in (_codec.Handle(0, "relu"), _codec.Handle(0, "activations.relu"),
                             _codec.Handle(1, "relu"), _codec.Handle(0, "_backward")):
                  try:
                      return np.asarray(_c.call(handle, (np.asarray(Z, dtype=float),), {}))
                  except Exception as error:
                      pass
              return np.zeros(np.shape(Z))
          """),), RELU0, USED),
]


def _not_graded_with_reason(graded, grade_id: str) -> None:
    text = graded.cell_text(index_of(graded.nb, grade_id))
    assert "not graded" in text, text
    assert any(o.output_type == "error" for o in graded.nb.cells[index_of(graded.nb,
                                                                           grade_id)].outputs)
