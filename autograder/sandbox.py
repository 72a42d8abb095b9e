"""Run a learner's notebook in a sandboxed process, for the trusted grader.

The grader (``autograder.trusted``) never runs learner code in its own process. It sends a
:class:`Job` to a worker, ``python -m autograder.sandbox``, that:

- runs in new user, network, mount, IPC and PID namespaces (``unshare``) when the machine
  allows it: no network; no other process in sight, and none left behind (the namespace
  ends with the worker); the course folder (gradebook, source notebooks, other submissions, the
  course secret) is hidden behind an empty tmpfs; every mount is read-only; private tmpfs
  are the working folder and /dev/shm; all capabilities are dropped (``setpriv``), so none
  of this can be undone;
- limits its memory, CPU time and file sizes (``setrlimit``), and runs in its own process
  group, which the grader kills at the notebook's time limit;
- runs the code cells in order in an IPython shell (magics work, no kernel is started), each
  with its own time limit;
- in place of each test cell, calls the learner's objects on the cases the grader chose
  (:class:`Probe`), with the reference implementation of that exercise watched: a graded
  function that calls it, or is it, is reported.

It sends back, cell by cell, plain data only (``autograder.wire``): outputs, exceptions and
the learner's results. Expected values never exist in the worker, and the test cells'
source (hidden tests included) is never sent to it.
"""

from __future__ import annotations

import contextlib
import difflib
import dis
import functools
import io
import os
import pickle
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CellReport",
    "Job",
    "Limits",
    "Probe",
    "ProbeReport",
    "SandboxOutcome",
    "isolation_available",
    "run_job",
]

_FRAME_HEADER = struct.Struct("!Q")
_MAX_FRAME = 512 * 2**20
_CATALOGUE_FILE = str(Path(__file__).with_name("catalogue.py"))
_GRACE_SECONDS = 1.0  # a timed-out cell is interrupted again this often if it ignores it

# Inside the namespaces: hide folders, make every mount read-only (submounts too), give private
# /dev/shm and scratch folders, then drop every capability for good and start the worker.
_ISOLATE_SCRIPT = r"""
set -e
scratch="$1"; shift
while [ "$1" != "--" ]; do mount -t tmpfs -o size=4k,mode=000 none "$1"; shift; done; shift
mount --rbind / /
mount -o remount,bind,ro /
for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do
  case "$m" in /|/proc|/proc/*) ;; *) mount -o remount,bind,ro "$m" 2>/dev/null || true ;; esac
done
mount -t tmpfs -o size=64m none /dev/shm
mount -t tmpfs -o size=512m,mode=700 none "$scratch"
mkdir "$scratch/work"
cd "$scratch/work"
exec setpriv --inh-caps=-all --bounding-set=-all --no-new-privs \
  --securebits=+noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked,+keep_caps_locked \
  "$@"
"""

# ---------------------------------------------------------------------------------------
# What crosses
# ---------------------------------------------------------------------------------------


@dataclass
class Probe:
    """Call the learner's object named ``target`` on ``cases`` for the check ``exercise``."""

    exercise: str  # check name, e.g. "backward_231"
    options: dict[str, Any]  # the check's options, e.g. {"loss": "bce"}
    target: str  # the expression naming the learner's object in the notebook, e.g. "relu"
    cases: list  # list[engine.Case], chosen by the grader


@dataclass
class Limits:
    """Resource limits of one sandboxed notebook run."""

    cell_seconds: float = 60.0  # per code cell and per probe
    notebook_seconds: float = 600.0  # the whole notebook, wall clock
    memory_bytes: int = 4 * 2**30  # address space
    file_bytes: int = 64 * 2**20  # largest file the learner's code may write


@dataclass
class Job:
    """The code cells of one notebook, in order, with the probes that replace test cells."""

    cells: list[tuple[int, str]]  # (cell index, source) of every code cell that runs
    probes: dict[int, list[Probe]] = field(default_factory=dict)  # test cell index -> probes
    limits: Limits = field(default_factory=Limits)


@dataclass
class CellReport:
    """What one code cell printed and raised."""

    index: int
    stdout: str = ""
    stderr: str = ""
    error: tuple[str, str, list[str]] | None = None  # (ename, evalue, traceback lines)
    seconds: float = 0.0
    timed_out: bool = False


@dataclass
class ProbeReport:
    """What the learner's object did in one check (plain data; see ``autograder.wire``)."""

    index: int  # the test cell
    position: int  # which check call of the cell
    run: Any = None  # engine.LearnerRun, carried
    reference_used: str | None = None  # a sentence when the reference implementation was used
    reference_copied: str | None = None  # a sentence when a cell holds a copy of its code
    seconds: float = 0.0
    timed_out: bool = False


@dataclass
class SandboxOutcome:
    """Everything that came back, and how the worker ended."""

    cells: dict[int, CellReport] = field(default_factory=dict)
    probes: dict[tuple[int, int], ProbeReport] = field(default_factory=dict)
    seconds: float = 0.0
    timed_out: bool = False  # the whole-notebook limit was hit and the worker was killed
    crashed: str | None = None  # how the worker died otherwise (exit status, stderr tail)
    isolated: bool = False
    forged: set = field(default_factory=set)  # keys of reports sent more than once


# ---------------------------------------------------------------------------------------
# The grader's side
# ---------------------------------------------------------------------------------------


@functools.cache
def isolation_available() -> bool:
    """Whether this machine can run the worker in namespaces (``unshare`` and ``setpriv``)."""
    if not sys.platform.startswith("linux") or not (shutil.which("unshare")
                                                    and shutil.which("setpriv")):
        return False
    scratch = tempfile.mkdtemp(prefix="backprop-sandbox-")
    probe = [*_isolation_prefix(scratch, []), "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _isolation_prefix(scratch: str, hide: Sequence[Path]) -> list[str]:
    return ["unshare", "--user", "--map-root-user", "--net", "--mount", "--ipc", "--pid",
            "--fork", "--kill-child", "--mount-proc", "sh", "-c",
            _ISOLATE_SCRIPT, "sh", scratch, *[str(p) for p in hide], "--"]


def run_job(job: Job, *, hide: Sequence[Path] = (), isolate: bool = True) -> SandboxOutcome:
    """Run ``job`` in a worker process and collect its reports; never raises for learner code.

    Parameters
    ----------
    job : the cells and probes
    hide : folders the worker must not see (the course folder)
    isolate : use namespaces when available (False: resource limits and a process group only)
    """
    outcome = SandboxOutcome(isolated=isolate and isolation_available())
    scratch = tempfile.mkdtemp(prefix="backprop-sandbox-")
    read_end, write_end = os.pipe()
    argv = [sys.executable, "-m", "autograder.sandbox", str(write_end)]
    if outcome.isolated:
        argv = _isolation_prefix(scratch, [p for p in hide if Path(p).is_dir()]) + argv
        cwd = tempfile.gettempdir()
    else:
        cwd = scratch
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch,
           "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "BACKPROP_COURSE_GRADING": "1",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, pass_fds=(write_end,), cwd=cwd, env=env,
                                start_new_session=True)
    finally:
        os.close(write_end)
    frames: list[bytes] = []
    reader = threading.Thread(target=_read_frames, args=(read_end, frames), daemon=True)
    reader.start()
    stderr_tail: list[bytes] = []
    drainer = threading.Thread(target=_drain, args=(proc.stderr, stderr_tail), daemon=True)
    drainer.start()
    try:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(pickle.dumps(job, protocol=5))
            proc.stdin.close()
        proc.wait(timeout=job.limits.notebook_seconds)
    except subprocess.TimeoutExpired:
        outcome.timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    reader.join(timeout=10)
    drainer.join(timeout=10)
    proc.stderr.close()
    outcome.seconds = time.perf_counter() - started
    shutil.rmtree(scratch, ignore_errors=True)
    _collect(frames, outcome)
    if not outcome.timed_out and proc.returncode != 0:
        tail = b"".join(stderr_tail).decode("utf-8", "replace").strip().splitlines()[-5:]
        outcome.crashed = _exit_description(proc.returncode, job.limits) + (
            (": " + " / ".join(tail)) if tail else "")
    return outcome


def _read_frames(fd: int, frames: list[bytes]) -> None:
    with os.fdopen(fd, "rb") as stream:
        while True:
            header = stream.read(_FRAME_HEADER.size)
            if len(header) < _FRAME_HEADER.size:
                return
            (size,) = _FRAME_HEADER.unpack(header)
            if size > _MAX_FRAME:
                return
            body = stream.read(size)
            if len(body) < size:
                return
            frames.append(body)


def _drain(stream, tail: list[bytes]) -> None:
    for line in stream:
        tail.append(line)
        del tail[:-20]


def _collect(frames: list[bytes], outcome: SandboxOutcome) -> None:
    """Keep the reports; a key reported twice means learner code wrote to the channel."""
    from autograder.wire import loads_untrusted

    for body in frames:
        try:
            report = loads_untrusted(body)
        except Exception:  # a frame the learner's code forged or broke: ignore it
            continue
        if isinstance(report, CellReport) and isinstance(report.index, int):
            key, reports = ("cell", report.index), outcome.cells
            slot = report.index
        elif isinstance(report, ProbeReport) and isinstance(report.index, int) \
                and isinstance(report.position, int):
            key, reports = ("probe", report.index, report.position), outcome.probes
            slot = (report.index, report.position)
        else:
            continue
        if slot in reports:
            outcome.forged.add(key)
        reports.setdefault(slot, report)


def _exit_description(returncode: int, limits: Limits) -> str:
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else ""
        if name == "SIGXCPU":
            return "the notebook used up its CPU time"
        if name == "SIGKILL":
            return "the notebook was killed (out of memory?)"
        return f"the notebook's process died of signal {name or -returncode}"
    return f"the notebook's process exited with status {returncode}"


# ---------------------------------------------------------------------------------------
# The worker's side (learner code runs below this line, in the worker process only)
# ---------------------------------------------------------------------------------------


class _Timeout(BaseException):  # BaseException: `except Exception` cannot hide it
    """A cell or a check ran past its time limit."""


def _on_alarm(signum, frame):
    raise _Timeout("time limit reached")


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, _GRACE_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _apply_limits(limits: Limits) -> None:
    cpu = int(limits.notebook_seconds) + 5
    for kind, value in ((resource.RLIMIT_AS, limits.memory_bytes),
                        (resource.RLIMIT_CPU, cpu),
                        (resource.RLIMIT_FSIZE, limits.file_bytes),
                        (resource.RLIMIT_CORE, 0)):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(kind, (value, value))


class _Channel:
    def __init__(self, fd: int) -> None:
        self.stream = os.fdopen(fd, "wb", buffering=0)

    def send(self, report: Any) -> None:
        body = pickle.dumps(report, protocol=5)
        self.stream.write(_FRAME_HEADER.pack(len(body)) + body)


def _make_shell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="nocolor")
    shell.history_manager.enabled = False
    # No GUI without a kernel: `%matplotlib inline` is a no-op here (MPLBACKEND is Agg).
    shell.register_magic_function(lambda line: None, "line", "matplotlib")
    return shell


def _run_cell(shell, index: int, source: str, seconds: float) -> CellReport:
    report = CellReport(index=index)
    stdout, stderr = io.StringIO(), io.StringIO()
    caught: list[tuple[str, str, list[str]]] = []

    def on_error(shell, etype, value, tb, tb_offset=None):
        lines = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        caught.append((etype.__name__, str(value), list(lines)))
        return lines

    shell.set_custom_exc((BaseException,), on_error)
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
                _time_limit(seconds):
            result = shell.run_cell(source, store_history=False)
        error = result.error_in_exec or result.error_before_exec
        report.timed_out = isinstance(error, _Timeout)
    except _Timeout:
        report.timed_out = True
    report.seconds = time.perf_counter() - started
    report.stdout, report.stderr = stdout.getvalue()[-100_000:], stderr.getvalue()[-100_000:]
    if report.timed_out:
        report.error = ("CellTimeoutError", f"the cell ran longer than {seconds:g} s", [
            f"CellTimeoutError: the cell ran longer than {seconds:g} s and was stopped "
            "(an endless loop, or far too many iterations?)"])
    elif caught:
        report.error = caught[-1]
    return report


def _reference_codes(exercise_name: str) -> tuple[Any, frozenset]:
    """The reference object of an exercise and the code objects of its functions."""
    import refimpl

    reference = getattr(refimpl, exercise_name, None)
    if isinstance(reference, type):
        codes = {getattr(v, "__code__", None) for v in vars(reference).values()}
        codes |= {getattr(getattr(v, "fget", None), "__code__", None)
                  for v in vars(reference).values()}
    else:
        codes = {getattr(reference, "__code__", None)}
    codes.discard(None)
    return reference, frozenset(codes)


# Instructions that differ between two compilations of the same source (a method call on a
# module imported in the same cell or not), or that do nothing.
_SAME_INSTRUCTION = {"LOAD_METHOD": "LOAD_ATTR", "PRECALL": None, "PUSH_NULL": None,
                     "RESUME": None, "NOP": None, "CACHE": None, "EXTENDED_ARG": None}
_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)
# A notebook function shorter than this that matches the reference may be the same idea written
# the same way (``return X @ W + b``): only longer ones are reported as copies.
_COPY_MIN_INSTRUCTIONS = 40
# A function compiled in the notebook (or by exec) whose operations are at least this share of
# the reference's, in order (difflib's ratio), is noted as an edited copy. The course's own
# solutions of 40 operations or more are at most 0.74 of their reference.
_NEAR_COPY_RATIO = 0.85


def _signature(code: types.CodeType) -> tuple:
    """What a function's code computes, independent of where it was compiled (file, lines),
    of the names of its local variables and of its strings (docstring, messages): a copy of
    the reference has the reference's signature."""
    ops = []
    for ins in dis.get_instructions(code):
        op = _SAME_INSTRUCTION.get(ins.opname, ins.opname)
        if op is None:
            continue
        arg = ins.argval
        if isinstance(arg, types.CodeType):
            arg = _signature(arg)
        elif ins.opcode in _JUMPS or (isinstance(arg, str) and ins.opname == "LOAD_CONST"):
            arg = None
        elif ins.opname.endswith("_FAST"):
            arg = ins.arg  # the slot, not the name
        ops.append((op, arg if isinstance(arg, tuple) else repr(arg)))
    return tuple(ops)


def _in_notebook(code: types.CodeType) -> bool:
    return code.co_filename.startswith("<ipython-input-")


def _from_catalogue(frame) -> bool:
    # The catalogue's wrong variants (planted by tests) may call the reference: they are
    # wrong by construction, so they cannot turn a reference call into marks.
    depth = 0
    while frame is not None and depth < 200:
        if frame.f_code.co_filename == _CATALOGUE_FILE:
            return True
        frame, depth = frame.f_back, depth + 1
    return False


def _is_reference(obj: Any, reference: Any, codes: frozenset) -> bool:
    for _ in range(5):
        if isinstance(obj, type) and isinstance(reference, type):
            return issubclass(obj, reference)
        if getattr(obj, "__code__", None) in codes:
            return True
        obj = (getattr(obj, "func", None) or getattr(obj, "__func__", None)
               or getattr(obj, "__wrapped__", None))
        if obj is None:
            return False
    return False


class _ReferenceWatch:
    """Notices the reference implementation of the graded exercise being used: the object
    itself, a call of it, or a run-time copy of its code (``exec`` of its source). A copy
    written into a notebook cell is only noted (``copied``): a one-line answer can match the
    reference by chance.
    """

    def __init__(self, exercise_name: str, learner_obj: Any) -> None:
        self.name = exercise_name
        self.reference, self.codes = _reference_codes(exercise_name)
        if getattr(learner_obj, "__module__", None) == "autograder.catalogue":
            self.codes = frozenset()  # a planted wrong variant: wrong by construction
        self.signatures = {_signature(code) for code in self.codes}
        self.kinds: dict[types.CodeType, str] = {}  # code -> its _kind
        self.ratios: dict[types.CodeType, float] = {}  # code -> its likeness to the reference
        self.finding: str | None = None
        self.copied: str | None = None
        self._hook = self._profile  # one bound method, so that the check below can use `is`
        if self.codes and _is_reference(learner_obj, self.reference, self.codes):
            self.finding = (f"your {exercise_name} is the reference implementation "
                            f"refimpl.{exercise_name} (or built on it)")

    def _kind(self, code: types.CodeType) -> str:
        """"reference", "copy", "near copy" (its ratio in ``self.ratios``) or ""."""
        if code in self.codes:
            return "reference"
        signature = _signature(code)
        if signature in self.signatures:
            return "copy"
        compiled_here = code.co_filename.startswith("<") and "<frozen" not in code.co_filename
        if not compiled_here or len(signature) < _COPY_MIN_INSTRUCTIONS:
            return ""  # library code, or too short to tell
        ratio = max((difflib.SequenceMatcher(None, signature, reference, autojunk=False).ratio()
                     for reference in self.signatures), default=0.0)
        self.ratios[code] = ratio
        return "near copy" if ratio >= _NEAR_COPY_RATIO else ""

    def _profile(self, frame, event, arg):
        if event != "call" or self.finding is not None:
            return
        code = frame.f_code
        kind = self.kinds.get(code)
        if kind is None:
            kind = self.kinds[code] = self._kind(code)
        if not kind or _from_catalogue(frame):
            return
        if kind == "reference":
            self.finding = (f"your {self.name} called the reference implementation "
                            f"refimpl.{code.co_qualname}")
        elif kind == "near copy":  # edited: noted, never failed
            where = "in the notebook" if _in_notebook(code) else "built at run time"
            self.copied = (f"the code of {code.co_qualname} {where} is an edited copy of the "
                           f"reference implementation: {self.ratios[code]:.0%} of its "
                           f"operations, in order")
        elif _in_notebook(code):
            if len(_signature(code)) < _COPY_MIN_INSTRUCTIONS:
                return  # a short function can match the reference by chance
            self.copied = (f"the code of {code.co_qualname} in the notebook is the reference "
                           f"implementation's, operation for operation")
        else:
            self.finding = (f"your {self.name} runs a copy of the reference implementation "
                            f"refimpl.{self.name}, built at run time")

    def __enter__(self) -> _ReferenceWatch:
        if self.codes:
            sys.setprofile(self._hook)
            threading.setprofile(self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.codes:
            if sys.getprofile() is not self._hook and self.finding is None:
                self.finding = ("the grader's watch on the reference implementation was "
                                "switched off while your code ran")
            sys.setprofile(None)
            threading.setprofile(None)


def _run_probe(shell, index: int, position: int, probe: Probe, seconds: float) -> ProbeReport:
    """Call the learner's object on the probe's cases, one case at a time, within ``seconds``."""
    from autograder import check
    from autograder.engine import LearnerRun
    from autograder.wire import carry_run

    report = ProbeReport(index=index, position=position)
    exercise = check.exercise(probe.exercise, **probe.options)
    try:
        learner_obj = eval(probe.target, shell.user_ns)  # the test cell's own expression
    except Exception:
        learner_obj = None
    started = time.perf_counter()
    watch = _ReferenceWatch(exercise.name, learner_obj)
    runs: list[LearnerRun] = []
    try:
        with _time_limit(seconds), watch, contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            for case in probe.cases:  # one at a time: a loop stops the probe, not each case
                run = exercise.observe(learner_obj, [case])
                runs.append(run)
                if any(isinstance(obs.error, _Timeout) for obs in run.observations):
                    report.timed_out = True
                    break
                if run.callable_problem or run.signature_problem:
                    break
    except _Timeout:
        report.timed_out = True
    report.seconds = time.perf_counter() - started
    report.reference_used = watch.finding
    report.reference_copied = watch.copied
    if runs and not report.timed_out:
        first = runs[0]
        report.run = carry_run(LearnerRun(
            first.fn_name, first.callable_problem, first.signature_problem,
            [obs for run in runs for obs in run.observations]))
    return report


def main(argv: Sequence[str]) -> int:
    channel = _Channel(int(argv[1]))
    job: Job = pickle.load(sys.stdin.buffer)  # from the grader: trusted
    _apply_limits(job.limits)
    shell = _make_shell()
    for index, source in job.cells:
        probes = job.probes.get(index)
        if probes is None:
            channel.send(_run_cell(shell, index, source, job.limits.cell_seconds))
            continue
        for position, probe in enumerate(probes):
            channel.send(_run_probe(shell, index, position, probe, job.limits.cell_seconds))
    return 0


if __name__ == "__main__":
    # Run the module's own copy, so that what is sent pickles as autograder.sandbox.*.
    from autograder.sandbox import main as worker_main

    sys.exit(worker_main(sys.argv))
