"""The grader's side of one worker: send the notebook step by step, read what comes back.

A worker (``autograder.grading.worker``) runs in a sandbox (``autograder.grading.sandbox``)
and is driven one step at a time: a code cell, or one check's cases (a probe). The grader
sends a step only after the previous one has answered, so the inputs of a check reach the
worker when its turn comes, and a reference function the policy allows for one check is
refused before and after it. Everything the worker sends is untrusted and bounded:

- a frame is at most ``codec.MAX_FRAME`` bytes, all frames together at most
  ``Budget.total_bytes``, stderr at most ``Budget.stderr_bytes``, calls at most
  ``Budget.calls``; past a bound the worker is killed and the notebook marked;
- the answer to a step must be that step's (its kind, cell and position); anything else
  breaks the protocol, and the worker is killed;
- a step that gets no answer (the worker exited, even with status 0, or ran out of time) is
  a failure with its reason, never a pass.

A probe's report is read back into the grader's objects by ``autograder.grading.probe_reports``.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import resource
import selectors
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import refimpl
from autograder.checks.types import Case
from autograder.grading import isolation, policy
from autograder.grading.sandbox import Sandbox
from autograder.grading.worker import codec
from autograder.grading.worker.codec import Handle, Opaque

__all__ = ["Budget", "CellStep", "Outcome", "ProbeStep", "run_notebook"]

_START_SECONDS = 60.0  # the worker's start (Python, NumPy, IPython), however busy the machine
_GRACE_SECONDS = 5.0  # past a step's own limit, before the grader kills the worker


@dataclass(frozen=True)
class Budget:
    """What one notebook may take: time, and what the grader reads from it."""

    cell_seconds: float = 60.0  # per code cell and per check
    notebook_seconds: float = 600.0  # the whole notebook, wall clock
    total_bytes: int = 512 * 2**20  # every frame together
    stderr_bytes: int = 8 * 2**20
    calls: int = 200_000  # reference functions run for the notebook
    sandbox: isolation.Limits = field(default_factory=isolation.Limits)


@dataclass(frozen=True)
class CellStep:
    index: int
    source: str


@dataclass(frozen=True)
class ProbeStep:
    """One check of a test cell: the learner's object ``target`` on ``cases``."""

    index: int
    position: int
    exercise: str  # the check's name, e.g. "backward_231"
    target: str
    cases: Sequence[Case]
    uses: tuple[str, ...] = ()
    driver: str | None = None
    hidden: bool = False


@dataclass
class Outcome:
    """What came back, and how the worker ended."""

    cells: dict[int, dict] = field(default_factory=dict)  # the worker's cell reports
    probes: dict[tuple[int, int], dict] = field(default_factory=dict)
    seconds: float = 0.0
    stopped: str | None = None  # why the worker stopped early (a sentence), None if it did not
    stop_reason: str | None = None  # the attention reason of ``stopped``
    detail: str | None = None  # ``stopped`` with the last lines of stderr (for the instructor)
    isolation: str = ""
    used_reference: dict[tuple[int, int], str] = field(default_factory=dict)  # probe -> name
    stderr_tail: str = ""


class _Stop(Exception):
    """The worker must stop: ``reason`` (attention) and a sentence."""

    def __init__(self, reason: str, sentence: str) -> None:
        super().__init__(sentence)
        self.reason = reason


class _Reader:
    """Frames from the worker's stdout, within deadlines and the budget."""

    def __init__(self, stream, budget: Budget) -> None:
        self.fd = stream.fileno()
        os.set_blocking(self.fd, False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)
        self.buffer = bytearray()
        self.budget = budget
        self.total = 0

    def next(self, deadline: float, abort: threading.Event) -> dict:
        while True:
            message = self._complete()
            if message is not None:
                return message
            if abort.is_set():
                raise _Stop("tampered", f"the notebook wrote more than "
                            f"{self.budget.stderr_bytes // 2**20} MiB to stderr")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if not self.selector.select(min(left, 0.2)):
                continue
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                raise EOFError
            self.total += len(chunk)
            if self.total > self.budget.total_bytes:
                raise _Stop("tampered", f"the notebook sent more than "
                            f"{self.budget.total_bytes // 2**20} MiB to the grader")
            self.buffer += chunk

    def _complete(self) -> dict | None:
        header = codec.header_size()
        if len(self.buffer) < header:
            return None
        size = codec.frame_size(bytes(self.buffer[:header]))
        if size > codec.MAX_FRAME:
            raise _Stop("tampered", "the grading channel received a frame larger than any "
                                    "answer (something in the notebook wrote to it)")
        if len(self.buffer) < header + size:
            return None
        body = bytes(self.buffer[header:header + size])
        del self.buffer[:header + size]
        try:
            message = codec.decode(body)
        except codec.CodecError as error:
            raise _Stop("tampered", f"the grading channel received bytes that are not an "
                                    f"answer ({error})") from None
        if not isinstance(message, dict) or not isinstance(message.get("kind"), str):
            raise _Stop("tampered", "the grading channel received something that is not an "
                                    "answer")
        return message


def _drain(stream, tail: list[bytes], budget: Budget, over: threading.Event) -> None:
    total = 0
    while chunk := stream.read(65536):
        total += len(chunk)
        tail.append(chunk)
        del tail[:-4]
        if total > budget.stderr_bytes:
            over.set()
            return


# ---------------------------------------------------------------------------------------
# Serving the worker's calls of reference functions
# ---------------------------------------------------------------------------------------


class _Handles:
    """The grader's functions that the current check hands to the learner's function."""

    def __init__(self) -> None:
        self.functions: dict[int, Callable[..., Any]] = {}
        self.count = 0

    def mint(self, value: Any) -> Any:
        """``value`` with every function replaced by a handle (cases going to the worker)."""
        if isinstance(value, np.ndarray) or value is None:
            return value
        if isinstance(value, tuple | list):
            return type(value)(self.mint(v) for v in value)
        if isinstance(value, dict):
            return {k: self.mint(v) for k, v in value.items()}
        if callable(value):
            self.count += 1
            self.functions[self.count] = value
            name = getattr(value, "__name__", None) or type(value).__name__
            return Handle(self.count, str(name))
        return value


@contextlib.contextmanager
def _call_limit(seconds: float) -> Iterator[None]:
    """A time limit for a reference function run for the worker (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def on_alarm(signum, frame):
        raise TimeoutError("the reference function ran out of time")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: Memory a reference function run for the worker may add to the grader's process.
CALL_MEMORY_BYTES = 2 * 2**30


@contextlib.contextmanager
def _memory_headroom(extra: int) -> Iterator[None]:
    """Limit the grader's address space to what it uses now plus ``extra`` while a reference
    function runs on the worker's arguments (``init_mlp([40000, 40000])`` is then a
    MemoryError, not a grader that runs out of memory)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        with open("/proc/self/statm") as stream:
            used = int(stream.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):  # not Linux: no limit
        yield
        return
    limit = used + extra
    if soft != resource.RLIM_INFINITY:
        limit = min(limit, soft)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _serve(message: dict, rules: policy.Policy, handles: _Handles, names: set[str],
           seconds: float) -> dict:
    """The answer to one ``call`` of the worker."""
    number = message.get("id")

    def refuse(kind: str, text: str) -> dict:
        return {"op": "raise", "id": number, "type": kind, "message": text}

    def resolve(handle: Any) -> Callable[..., Any] | None:
        if not isinstance(handle, Handle):
            return None
        if handle.id == 0:
            return getattr(refimpl, handle.name) if handle.name in names else None
        return handles.functions.get(handle.id)

    handle = message.get("handle")
    function = resolve(handle)
    if function is None:
        return refuse("RuntimeError", "this function is not available at this point of the "
                                      "grading")
    if handle.id == 0 and (why := rules.refusal(handle.name)) is not None:
        return refuse("ReferenceUnavailable", why)

    def arguments(value: Any) -> Any:  # the grader's own functions come back as handles
        if isinstance(value, Handle):
            inner = resolve(value)
            if inner is None or (value.id == 0 and rules.refusal(value.name) is not None):
                return Opaque(f"a function not available here ({value.name})")
            return inner
        if isinstance(value, tuple | list):
            return type(value)(arguments(v) for v in value)
        if isinstance(value, dict):
            return {k: arguments(v) for k, v in value.items()}
        return value

    args, kwargs = arguments(message.get("args")), arguments(message.get("kwargs"))
    if not isinstance(args, tuple) or not isinstance(kwargs, dict) \
            or not all(isinstance(k, str) for k in kwargs):
        return refuse("TypeError", "malformed call")
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), _call_limit(seconds), \
                _memory_headroom(CALL_MEMORY_BYTES):
            warnings.simplefilter("ignore")
            value = function(*args, **kwargs)
    except Exception as error:  # as the nearest built-in exception (MemoryError, ValueError)
        kind = next(cls.__name__ for cls in type(error).__mro__
                    if getattr(builtins, cls.__name__, None) is cls)
        return refuse(kind, str(error)[:2000])
    return {"op": "return", "id": number, "value": handles.mint(codec.to_plain(value))}


# ---------------------------------------------------------------------------------------
# One notebook
# ---------------------------------------------------------------------------------------


def _case_message(case: Case, handles: _Handles) -> dict:
    return {"args": handles.mint(tuple(case.args)), "kwargs": handles.mint(dict(case.kwargs)),
            "options": handles.mint(dict(case.options)),
            "forbid_fp_errors": list(case.forbid_fp_errors)}


def _worker_argv(paths: isolation.WorkerPaths) -> list[str]:
    bootstrap = (f"import sys; sys.path[:0] = {list(paths.import_paths)!r}; "
                 "from backprop_worker.__main__ import main; sys.exit(main())")
    return [paths.python, "-I", "-S", "-c", bootstrap]


def _worker_env(paths: isolation.WorkerPaths) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": paths.scratch, "TMPDIR": paths.scratch,
            "MPLCONFIGDIR": paths.scratch, "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}


class _Session:
    """One worker's conversation: send a step, read its answer, serve its calls meanwhile.

    ``current`` is the step waiting for its answer (None before the first and after the last).
    """

    def __init__(self, process: subprocess.Popen, rules: policy.Policy, budget: Budget,
                 deadline: float, too_much_stderr: threading.Event) -> None:
        self.process, self.rules, self.budget = process, rules, budget
        self.deadline = deadline  # the notebook's
        self.too_much_stderr = too_much_stderr
        self.reader = _Reader(process.stdout, budget)
        self.names = set(policy.reference_names())
        self.calls_served = 0
        self.current: CellStep | ProbeStep | None = None

    def send(self, message: dict) -> None:
        self.process.stdin.write(codec.frame(message))
        self.process.stdin.flush()

    def answer(self, kind: str, step_deadline: float, check: Callable[[dict], bool],
               handles: _Handles) -> dict:
        """The worker's answer of ``kind`` that passes ``check``, after serving its calls."""
        while True:
            message = self.reader.next(min(step_deadline, self.deadline), self.too_much_stderr)
            if message["kind"] == "call":
                self.calls_served += 1
                if self.calls_served > self.budget.calls:
                    raise _Stop("tampered", f"the notebook called more than "
                                f"{self.budget.calls} reference functions")
                left = min(step_deadline, self.deadline) - time.monotonic()
                self.send(_serve(message, self.rules, handles, self.names, left))
                continue
            if message["kind"] != kind or not check(message):
                raise _Stop("tampered", "the grading channel received an answer to a "
                                        "question that was not asked (something in the "
                                        "notebook wrote to it)")
            return message

    def run(self, steps: Sequence[CellStep | ProbeStep], outcome: Outcome) -> None:
        """Start the worker, run every step into ``outcome``, then end the worker."""
        self.send({"op": "start", "names": sorted(self.names),
                   "constants": policy.reference_constants(),
                   "cell_seconds": self.budget.cell_seconds})
        self.answer("ready", time.monotonic() + _START_SECONDS, lambda m: True, _Handles())
        for step in steps:
            self.current = step
            step_deadline = time.monotonic() + self.budget.cell_seconds + _GRACE_SECONDS
            if isinstance(step, CellStep):
                self.send({"op": "cell", "index": step.index, "source": step.source})
                outcome.cells[step.index] = self.answer(
                    "cell", step_deadline, lambda m, i=step.index: m.get("index") == i,
                    _Handles())
            else:
                self._probe(step, step_deadline, outcome)
        self.current = None
        self.send({"op": "end"})

    def _probe(self, step: ProbeStep, step_deadline: float, outcome: Outcome) -> None:
        """One check: its cases out, the learner's results back, under the policy's rules."""
        rules, handles = self.rules, _Handles()
        key = (step.index, step.position)
        rules.start_check(step.exercise, step.uses, key)
        shipped = policy.shipped_source(step.exercise) if rules.may_ship(step.exercise) else {}
        self.send({"op": "probe", "index": step.index, "position": step.position,
                   "target": step.target, "exercise": step.exercise, "driver": step.driver,
                   "uses": list(step.uses), "shipped": shipped,
                   "cases": [_case_message(case, handles) for case in step.cases]})
        outcome.probes[key] = self.answer(
            "probe", step_deadline, lambda m: (m.get("index"), m.get("position")) == key,
            handles)
        if (name := rules.used_own_reference(step.exercise, key)) is not None:
            outcome.used_reference[key] = name
        rules.end_check()


def run_notebook(steps: Sequence[CellStep | ProbeStep], rules: policy.Policy, *,
                 budget: Budget | None = None, isolate: bool = True) -> Outcome:
    """Run the steps in a fresh sandboxed worker; never raises for anything the notebook did.

    ``rules`` is updated as checks start and end (and keeps every refused call).
    """
    budget = budget or Budget()
    outcome = Outcome()
    started = time.monotonic()
    with Sandbox(budget.sandbox, isolate=isolate) as box:
        outcome.isolation = box.isolation.describe()
        process = box.start(_worker_argv(box.paths), _worker_env(box.paths))
        tail: list[bytes] = []
        too_much_stderr = threading.Event()
        drainer = threading.Thread(target=_drain, daemon=True,
                                   args=(process.stderr, tail, budget, too_much_stderr))
        drainer.start()
        session = _Session(process, rules, budget, started + budget.notebook_seconds,
                           too_much_stderr)
        try:
            session.run(steps, outcome)
        except _Stop as stop:
            outcome.stopped, outcome.stop_reason = str(stop), stop.reason
        except TimeoutError:
            outcome.stopped = _timed_out(session, budget)
            outcome.stop_reason = "timeout"
        except (EOFError, BrokenPipeError, OSError):
            outcome.stopped, outcome.stop_reason = None, "crashed"
        finally:
            if session.current is not None and outcome.stop_reason is None:
                outcome.stop_reason = "crashed"
            box.kill()
            process.wait()
            drainer.join(timeout=5)
        if outcome.stop_reason == "crashed" and outcome.stopped is None:
            outcome.stopped = _how_it_ended(process.returncode, box.limit_hit())
        _keep_stderr(outcome, tail)
    outcome.seconds = time.monotonic() - started
    return outcome


def _timed_out(session: _Session, budget: Budget) -> str:
    """Why the notebook was stopped when a deadline passed: its own, or a step's."""
    if time.monotonic() >= session.deadline:
        return f"the notebook ran past its {budget.notebook_seconds:g} s limit and was stopped"
    what = "a cell" if isinstance(session.current, CellStep) else "a check"
    return (f"{what} ran past its {budget.cell_seconds:g} s limit and ignored the "
            "interruption; the notebook was stopped")


def _keep_stderr(outcome: Outcome, tail: list[bytes]) -> None:
    """The end of the worker's stderr in ``outcome``, and its last lines in the detail of a
    crash."""
    outcome.stderr_tail = b"".join(tail).decode("utf-8", "replace")[-2000:]
    lines = outcome.stderr_tail.strip().splitlines()[-3:]
    if outcome.stopped is not None:
        outcome.detail = outcome.stopped + (
            ": " + " / ".join(line[:200] for line in lines) if lines and
            outcome.stop_reason == "crashed" else "")


def _how_it_ended(returncode: int | None, limit: str | None) -> str:
    if limit == "memory":
        text = "the notebook ran out of memory and was stopped"
    elif limit == "processes":
        text = "the notebook started more processes than allowed and was stopped"
    elif returncode is not None and returncode < 0:
        number = -returncode
        name = signal.Signals(number).name if number in signal.valid_signals() else number
        text = f"the notebook's process died of signal {name}"
    else:
        text = f"the notebook's process ended (exit status {returncode}) before grading finished"
    return text


if sys.platform == "win32":  # pragma: no cover
    raise ImportError("trusted grading needs a POSIX system")
