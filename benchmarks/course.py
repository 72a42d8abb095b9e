"""5. Course execution: every source notebook run headless (nbclient), alone and two at a time.

A notebook's time runs from the start of its kernel to the end of its last cell. The whole
course runs once with one notebook at a time and once with two at a time (two kernels), in
alternation, and each figure is the median over the runs.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from benchmarks._common import Table, Target, runs

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "course" / "source"
COURSE_TARGET = Target("<", 60.0, "s")
ERRORS_TARGET = Target("<=", 0, "n")
CELL_TIMEOUT = 300
REPEATS = 3


def notebooks() -> list[Path]:
    return sorted(SOURCE.glob("*/*.ipynb"))


async def _execute(path: Path, slots: asyncio.Semaphore) -> tuple[float, int]:
    """Run one notebook in a fresh kernel: (seconds, number of cells that raised)."""
    async with slots:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=CELL_TIMEOUT,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(path.parent)}},
        )
        start = time.perf_counter()
        # The kernel's own stderr (a transport warning) is noise here.
        await client.async_execute(stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
    errors = sum(
        output.get("output_type") == "error"
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    return seconds, errors


async def _course(paths: list[Path], parallel: int) -> tuple[float, list[tuple[float, int]]]:
    slots = asyncio.Semaphore(parallel)
    start = time.perf_counter()
    results = await asyncio.gather(*(_execute(path, slots) for path in paths))
    return time.perf_counter() - start, list(results)


def run_course(paths: list[Path], parallel: int = 1) -> tuple[float, list[tuple[float, int]]]:
    """Wall time of running every notebook, ``parallel`` at a time; and (s, errors) of each."""
    return asyncio.run(_course(paths, parallel))


def run(quick: bool = False, repeats: int = REPEATS) -> Table:
    paths = notebooks()[:1] if quick else notebooks()
    repeats = 1 if quick else repeats
    if not quick:
        run_course(paths[:1])  # warm-up: imports and files in the OS cache
    sequential, parallel, each = [], [], {path: [] for path in paths}
    errors = 0
    for _ in range(repeats):
        for workers, totals in ((1, sequential), (2, parallel)):
            if quick and workers == 2:
                continue
            total, results = run_course(paths, workers)
            totals.append(total)
            errors = max(errors, sum(count for _, count in results))
            if workers == 1:
                for path, (seconds, _) in zip(paths, results, strict=True):
                    each[path].append(seconds)
    table = Table(
        f"5. Course execution: {len(paths)} source notebook(s), headless (nbclient), "
        f"kernel start included (median of {runs(repeats)})",
        quick=quick,
    )
    for path, seconds in each.items():
        table.add(f"{path.stem}", statistics.median(seconds), "s")
    table.add("whole course, one notebook at a time", statistics.median(sequential), "s",
              COURSE_TARGET)
    if parallel:
        table.add("whole course, two at a time (2 cores)", statistics.median(parallel), "s",
                  COURSE_TARGET)
    table.add("cells that raised an error", errors, "n", ERRORS_TARGET)
    if quick:
        table.notes.append("--quick: the first notebook only, and no parallel run")
    return table
