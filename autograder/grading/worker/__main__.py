"""The grading worker's main loop: ``python -m backprop_worker`` in the sandbox.

The grader drives it through stdin and stdout, one frame per message (``codec``):

- ``{"op": "start", "names", "constants", "cell_seconds"}``: install the stand-ins; reply
  ``{"kind": "ready"}``;
- ``{"op": "cell", "index", "source"}``: run a code cell; reply with what it printed;
- ``{"op": "probe", "index", "position", "target", "exercise", "driver", "cases", "uses",
  "shipped"}``: call the learner's object (the test cell's expression ``target``) on the
  cases; reply with the attempt, as plain data; what the learner's code prints meanwhile is
  dropped, so hidden inputs cannot reach the notebook;
- ``{"op": "end"}``: exit.

While the worker runs learner code it may ask the grader to run a reference function:
``{"kind": "call", "id", "handle", "args", "kwargs"}``, answered by ``{"op": "return"}`` or
``{"op": "raise"}``. The learner's code can read and replace everything here; that is why
nothing here can compute a graded answer, and why the grader trusts none of it.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import signal
import sys
import time
from typing import Any

from . import calls, cells, drivers, standin
from .codec import CodecError, Handle, Remote, frame, read_frame, to_plain

_RAISABLE = {"ReferenceUnavailable": standin.ReferenceUnavailable}


class Channel:
    """Frames to and from the grader on two private file descriptors."""

    def __init__(self, inbound: int, outbound: int) -> None:
        self.inbound = os.fdopen(inbound, "rb", buffering=0)
        self.outbound = os.fdopen(outbound, "wb", buffering=0)
        self.calls = 0

    def send(self, message: dict[str, Any]) -> None:
        try:
            data = frame(message)
        except (CodecError, TypeError) as error:  # too large: say so, in a frame that fits
            data = frame({key: message.get(key) for key in ("kind", "index", "position")}
                         | {"unsendable": str(error)[:500]})
        self.outbound.write(data)

    def receive(self) -> dict[str, Any]:
        return read_frame(self.inbound)

    def call(self, handle: Handle, args: tuple, kwargs: dict) -> Any:
        """Ask the grader to run the function behind ``handle``; its result or exception."""
        self.calls += 1
        number = self.calls
        message = {"kind": "call", "id": number, "handle": handle,
                   "args": to_plain(tuple(args)), "kwargs": to_plain(dict(kwargs))}
        # A time limit must not cut a frame in half: it fires once the answer is in.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        try:
            self.send(message)
            answer = self.receive()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if answer.get("id") != number:
            raise RuntimeError("the grader's answer does not match the call")
        if answer["op"] == "return":
            return self.remote(answer["value"])
        error = _RAISABLE.get(answer["type"]) or getattr(builtins, answer["type"], None)
        if not (isinstance(error, type) and issubclass(error, Exception)):
            error = RuntimeError
        raise error(answer["message"])

    def remote(self, value: Any) -> Any:
        """``value`` with the grader's functions (handles) made callable."""
        if type(value) is Handle:
            return Remote(value, self.call)
        if type(value) in (list, tuple):
            return type(value)(self.remote(v) for v in value)
        if type(value) is dict:
            return {k: self.remote(v) for k, v in value.items()}
        return value


def _run_probe(shell, channel: Channel, request: dict[str, Any], seconds: float
               ) -> dict[str, Any]:
    """Call the learner's object on the probe's cases, one at a time, within ``seconds``."""
    try:
        obj = eval(request["target"], shell.user_ns)  # the test cell's own expression
    except Exception:
        obj = None
    cases = [calls.CallCase(tuple(channel.remote(c["args"])), channel.remote(c["kwargs"]),
                            channel.remote(c["options"]), tuple(c["forbid_fp_errors"]))
             for c in request["cases"]]
    context = {}
    for name, source in request["shipped"].items():  # reference code the exercise is given
        namespace: dict[str, Any] = {}
        exec(compile(source, f"<reference {name}>", "exec"), namespace)
        context[name] = namespace[name]
    namespace = getattr(obj, "__globals__", None)
    saved = {}
    if isinstance(namespace, dict):  # earlier exercises it may call: the reference ones
        saved = {name: namespace[name] for name in request["uses"] if name in namespace}
        namespace.update({name: Remote(Handle(0, name), channel.call) for name in saved})
    started = time.perf_counter()
    timed_out = False
    try:
        with cells.time_limit(seconds), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            call = drivers.adapt(request["driver"], obj, **context) if obj is not None else None
            result = calls.attempt(obj, call, cases, fallback_name=request["exercise"],
                                   each=lambda obs: not isinstance(obs.error, cells.Timeout))
        timed_out = any(isinstance(o.error, cells.Timeout) for o in result.observations)
    except cells.Timeout:
        timed_out, result = True, calls.Attempt(request["exercise"])
    finally:
        if isinstance(namespace, dict):
            namespace.update(saved)
    return {"kind": "probe", "index": request["index"], "position": request["position"],
            "attempt": None if timed_out else calls.carry_attempt(result),
            "timed_out": timed_out, "seconds": time.perf_counter() - started}


def main() -> int:
    # The channel gets private descriptors; stray writes to 1 go to stderr, which the grader
    # reads as text (capped), and nothing is read from 0.
    channel = Channel(os.dup(0), os.dup(1))
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r"))
    start = channel.receive()
    standin.install(channel.call, list(start["names"]), channel.remote(start["constants"]))
    seconds = float(start["cell_seconds"])
    shell = cells.make_shell()
    channel.send({"kind": "ready"})
    while True:
        request = channel.receive()
        if request["op"] == "cell":
            channel.send(cells.run_cell(shell, request["index"], request["source"], seconds))
        elif request["op"] == "probe":
            channel.send(_run_probe(shell, channel, request, seconds))
        else:
            return 0


if __name__ == "__main__":
    sys.exit(main())
