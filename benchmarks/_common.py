"""What every benchmark shares: timing side by side, targets, and the table they print."""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


def median_times(functions: dict[str, Callable[[], object]], repeats: int, warmup: int = 2):
    """Median wall time (s) of each function, measured in turns so that all share the machine.

    Each function first runs ``warmup`` times untimed (caches, allocations, BLAS threads);
    then round after round calls each of them once, so that a burst of load elsewhere on
    the machine hits every function alike and their ratios stay meaningful.

    Returns
    -------
    medians : dict
        The same keys: the median time of one call, in seconds.
    """
    for function in functions.values():
        for _ in range(warmup):
            function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(max(1, repeats)):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def fitted_exponent(sizes, values) -> float:
    """The slope of log(values) against log(sizes), by least squares: values ~ sizes**slope."""
    slope, _ = np.polyfit(np.log(np.asarray(sizes, float)), np.log(np.asarray(values, float)), 1)
    return float(slope)


@dataclass(frozen=True)
class Target:
    """A figure's goal, such as ``Target("<=", 1.3, "x")``."""

    op: str  # "<=", "<", ">=" or "within" (|figure - limit| <= tolerance)
    limit: float
    unit: str = ""
    tolerance: float = 0.0

    def met(self, figure: float) -> bool:
        if not math.isfinite(figure):
            return False
        if self.op == "<=":
            return figure <= self.limit
        if self.op == "<":
            return figure < self.limit
        if self.op == ">=":
            return figure >= self.limit
        return abs(figure - self.limit) <= self.tolerance

    def __str__(self) -> str:
        if self.op == "within":
            return f"{fmt(self.limit, self.unit)} ± {self.tolerance:g}"
        return f"{self.op} {fmt(self.limit, self.unit)}"


def fmt(value: float, unit: str) -> str:
    """A figure with its unit: 1.23x, 45.6 ms, 12.3 s, 3e-15, ..."""
    if not math.isfinite(value):
        return str(value)
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "ms":
        return f"{value:.3g} ms" if value < 10 else f"{value:.1f} ms"
    if unit == "us":
        return f"{value:.1f} µs"
    if unit == "s":
        return f"{value:.1f} s"
    if unit == "e":  # a small error
        return f"{value:.1e}"
    if unit == "n":  # a count
        return f"{value:.0f}"
    return f"{value:.2f}"


@dataclass
class Row:
    measure: str
    figure: float
    unit: str = ""
    target: Target | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.figure)


@dataclass
class Table:
    """One benchmark's result: rows of figures, each against its target (or for information)."""

    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quick: bool = False

    def add(self, measure: str, figure: float, unit: str = "", target: Target | None = None,
            note: str = "") -> Row:
        row = Row(measure, figure, unit, target, note)
        self.rows.append(row)
        return row

    def verdicts(self) -> list[tuple[str, bool]]:
        return [(row.measure, row.met) for row in self.rows if row.met is not None]

    def render(self) -> str:
        width = max([len(row.measure) for row in self.rows] + [40])
        lines = [self.title, f"  {'measure':{width}}  {'figure':>10}  {'target':>10}  verdict"]
        for row in self.rows:
            if row.met is None:
                verdict = ""
            elif self.quick:
                verdict = "(quick)"
            else:
                verdict = "met" if row.met else "MISSED"
            target = "" if row.target is None else str(row.target)
            lines.append(
                f"  {row.measure:{width}}  {fmt(row.figure, row.unit):>10}  {target:>10}  "
                f"{verdict:7}  {row.note}".rstrip()
            )
        lines += [f"  {note}" for note in self.notes]
        if self.quick and self.rows:
            lines.append("  (--quick: tiny sizes, one run each; the figures test no target)")
        return "\n".join(lines)


def runs(count: int) -> str:
    """"1 run", "15 runs"."""
    return f"{count} run" if count == 1 else f"{count} runs"


def busy_warning() -> str | None:
    """A warning when other processes already keep the cores busy (from the load average)."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load < 0.5 * cores:
        return None
    return (
        f"WARNING: the machine is busy (load average {load:.2f} on {cores} cores before the "
        f"run). A multi-threaded BLAS call waits for its slowest thread, so the times of "
        f"tables 1, 2, 3 and 7 swing widely; prefer an idle machine, or --threads 1."
    )


def blas_threads() -> int:
    """The thread count of numpy's BLAS (threadpoolctl).

    threadpoolctl names MKL only when it is loaded as ``libmkl_rt``; a numpy linked to MKL's
    own libraries shows just its OpenMP pool, whose count is then the BLAS's. With no pool
    at all, the CPU count (what an unconfigured BLAS uses).
    """
    from threadpoolctl import threadpool_info

    pools = threadpool_info()
    blas = [pool for pool in pools if pool.get("user_api") == "blas"]
    if blas:
        return int(blas[0]["num_threads"])
    return max((int(pool["num_threads"]) for pool in pools), default=os.cpu_count() or 1)


def environment() -> str:
    """Python, numpy, BLAS and its threads, the OpenBLAS variables in force, and the load."""
    from threadpoolctl import threadpool_info

    pools = ", ".join(
        f"{pool['internal_api']} {pool.get('version', '?')} "
        f"({pool.get('architecture', '?')} kernels, {pool['num_threads']} threads)"
        for pool in threadpool_info()
    )
    names = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")
    forced = ", ".join(f"{name}={os.environ[name]}" for name in names if name in os.environ)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores; "
        f"BLAS: {pools or 'none'}\n"
        f"in force: {forced or 'no OPENBLAS_CORETYPE, OPENBLAS_*, OMP_NUM_THREADS override'}; "
        f"load average (1, 5, 15 min): {load}"
    )
