"""Running a notebook's code cells in an IPython shell (magics work; no kernel is started).

Each cell has its own time limit (``SIGALRM``, repeated if the cell swallows it); its output
is what it printed and raised, kept to its last 100,000 characters.
"""

from __future__ import annotations

import contextlib
import io
import signal
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["Timeout", "make_shell", "run_cell", "time_limit"]

_GRACE_SECONDS = 1.0  # a timed-out cell is interrupted again this often if it ignores it
_KEPT = 100_000  # characters of a cell's output kept


class Timeout(BaseException):  # BaseException: `except Exception` cannot hide it
    """A cell or a check ran past its time limit."""


def _on_alarm(signum, frame):
    raise Timeout("time limit reached")


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, _GRACE_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def make_shell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="nocolor")
    shell.history_manager.enabled = False
    # No GUI without a kernel: `%matplotlib inline` is a no-op here (MPLBACKEND is Agg).
    shell.register_magic_function(lambda line: None, "line", "matplotlib")
    return shell


def run_cell(shell, index: int, source: str, seconds: float) -> dict[str, Any]:
    """Run one cell; what it printed and raised, as plain data."""
    stdout, stderr = io.StringIO(), io.StringIO()
    caught: list[tuple[str, str, list[str]]] = []

    def on_error(shell, etype, value, tb, tb_offset=None):
        lines = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        caught.append((etype.__name__, str(value), list(lines)))
        return lines

    shell.set_custom_exc((BaseException,), on_error)
    started = time.perf_counter()
    timed_out = False
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), \
                time_limit(seconds):
            result = shell.run_cell(source, store_history=False)
        timed_out = isinstance(result.error_in_exec or result.error_before_exec, Timeout)
    except Timeout:
        timed_out = True
    report: dict[str, Any] = {
        "kind": "cell", "index": index, "seconds": time.perf_counter() - started,
        "stdout": stdout.getvalue()[-_KEPT:], "stderr": stderr.getvalue()[-_KEPT:],
        "timed_out": timed_out, "error": None}
    if timed_out:
        report["error"] = ["CellTimeoutError", f"the cell ran longer than {seconds:g} s", [
            f"CellTimeoutError: the cell ran longer than {seconds:g} s and was stopped "
            "(an endless loop, or far too many iterations?)"]]
    elif caught:
        name, text, lines = caught[-1]
        report["error"] = [name, text[:5000], [line[:5000] for line in lines[-50:]]]
    return report
