"""4a. Widget latency: from a new slider value to the finished frame (compute, then render).

Every explorer exported by ``refimpl.viz`` is built with its defaults; each of its controls is
set to a few values (ends and middle of a slider, every option of a dropdown). For each frame,
``draw()`` (numbers and artists: "compute") and the PNG encoding ("render") are timed apart.
Targets: a median frame under 100 ms, the threshold at which a response feels instant; and, for
every explorer, first visits (each value's first frame, nothing of it cached yet) under 150 ms
in median for each control, since a learner waits for those frames too.

Before each frame the benchmark lets the explorer finish what it computes ahead in the
background (``Explorer.settle``, up to THINK_SECONDS), as a learner looks at a frame before
moving the next control: the training explorer trains the runs one control away meanwhile.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from benchmarks._common import Table, Target, runs
from refimpl import viz
from refimpl.viz import Explorer, figure_png

TARGET_MS = 100.0
TARGET = Target("<", TARGET_MS, "ms")
FIRST_VISIT_MS = 150.0
FIRST_VISIT_TARGET = Target("<", FIRST_VISIT_MS, "ms")
#: How long a learner looks at a frame before the next move, at most (seconds): the time the
#: explorer's background work gets before a timed frame (none with --quick).
THINK_SECONDS = 5.0
REPEATS = 3


@dataclass
class Row:
    explorer: str
    control: str
    frames: int
    compute_ms: float  # median
    render_ms: float  # median
    total_ms: float  # median
    worst_ms: float
    first_ms: float  # median of the first visit of each value (nothing cached yet)


def explorers() -> dict[str, type[Explorer]]:
    """Every Explorer subclass that refimpl.viz exports, by name."""
    found = {}
    for name in viz.__all__:
        obj = getattr(viz, name)
        if isinstance(obj, type) and issubclass(obj, Explorer) and obj is not Explorer:
            found[name] = obj
    return found


def control_values(control: widgets.Widget, quick: bool = False) -> list[Any]:
    """Values to move a control through: the ends and middle of a slider, every option."""
    if hasattr(control, "options"):
        original, values = control.index, []
        for index in range(len(control.options)):
            control.index = index
            values.append(control.value)
        control.index = original
    elif isinstance(control, widgets.FloatLogSlider):
        low, high = control.min, control.max
        values = [control.base**low, control.base ** ((low + high) / 2), control.base**high]
    elif isinstance(control.value, tuple):  # a range slider
        low, high = control.min, control.max
        middle = type(low)((low + high) / 2)
        values = [(low, middle), (middle, high)]
    elif isinstance(control.value, bool):
        values = [not control.value, control.value]
    elif hasattr(control, "min"):
        low, high = control.min, control.max
        middle = (low + high) // 2 if isinstance(low, int) else (low + high) / 2
        values = [low, middle, high]
    else:
        values = [control.value]
    return values[:1] if quick else values


def frame_ms(
    explorer: Explorer, name: str, value: Any, think: float = 0.0
) -> tuple[float, float]:
    """Move one control to ``value`` and time the frame: (compute ms, render ms).

    First the explorer's background work gets up to ``think`` seconds (a learner looking at the
    previous frame)."""
    if think > 0:
        explorer.settle(think)
    explorer._paused = True  # no redraw from the observer: the frame is timed below
    try:
        explorer.controls[name].value = value
    finally:
        explorer._paused = False
    start = time.perf_counter()
    explorer.draw(**explorer.values())
    drawn = time.perf_counter()
    figure_png(explorer.fig)
    done = time.perf_counter()
    return (drawn - start) * 1e3, (done - drawn) * 1e3


def measure(explorer_name: str, cls: type[Explorer], repeats: int, quick: bool) -> list[Row]:
    explorer = cls()
    explorer.widget()  # first frame: caches, layout (not counted)
    rows = []
    for name, control in list(explorer.controls.items()):
        compute, render = [], []
        explorer._paused = True  # listing a dropdown's options must not redraw
        try:
            values = control_values(control, quick)
        finally:
            explorer._paused = False
        original = control.value
        for _ in range(repeats):
            for value in values:  # in turn, so every timed frame is a real change
                c, r = frame_ms(explorer, name, value, 0.0 if quick else THINK_SECONDS)
                compute.append(c)
                render.append(r)
        totals = [c + r for c, r in zip(compute, render, strict=True)]
        rows.append(Row(explorer_name, name, len(totals), statistics.median(compute),
                        statistics.median(render), statistics.median(totals), max(totals),
                        statistics.median(totals[:len(values)])))
        # Back to the default, so that the next control is timed in a real setting (two
        # different parameters on a loss slice, not the "pick two" message).
        explorer.update(**{name: original})
    return rows


def run(repeats: int = 3, quick: bool = False) -> list[Row]:
    rows = []
    for name, cls in explorers().items():
        rows += measure(name, cls, repeats, quick)
    return rows


def table(rows: list[Row], repeats: int = REPEATS, quick: bool = False) -> Table:
    """The rows as a benchmark table: each control's median frame against the target."""
    result = Table(
        f"4a. Widget latency: kernel time from a control's new value to the finished frame "
        f"(every control at its ends and middle or every option, {runs(repeats)} each)",
        quick=quick,
    )
    for row in rows:
        result.add(
            f"{row.explorer}.{row.control}", row.total_ms, "ms", TARGET,
            note=f"compute {row.compute_ms:.1f} + render {row.render_ms:.1f} ms; "
            f"first visits {row.first_ms:.0f} ms; worst {row.worst_ms:.0f} ms of {row.frames}",
        )
    overall = statistics.median(row.total_ms for row in rows) if rows else float("nan")
    result.add("median over all controls", overall, "ms", TARGET)
    for explorer, slowest in first_visits(rows).items():
        result.add(
            f"{explorer}: first visits", slowest.first_ms, "ms", FIRST_VISIT_TARGET,
            note=f"median first visit of its slowest control ({slowest.control})",
        )
    return result


def first_visits(rows: list[Row]) -> dict[str, Row]:
    """Per explorer, the row of the control whose first visits are slowest (in median)."""
    slowest: dict[str, Row] = {}
    for row in rows:
        if row.explorer not in slowest or row.first_ms > slowest[row.explorer].first_ms:
            slowest[row.explorer] = row
    return slowest


def report(rows: list[Row]) -> str:
    lines = [
        "Widget latency (kernel time per frame; targets: median < 100 ms, first visits < 150 ms)",
        f"{'explorer':24} {'control':14} {'frames':>6} {'compute':>9} {'render':>8} "
        f"{'median':>8} {'first':>8} {'worst':>8}  verdict",
    ]
    for row in rows:
        fast = row.total_ms < TARGET_MS and row.first_ms < FIRST_VISIT_MS
        lines.append(
            f"{row.explorer:24} {row.control:14} {row.frames:6d} {row.compute_ms:7.1f}ms "
            f"{row.render_ms:6.1f}ms {row.total_ms:6.1f}ms {row.first_ms:6.1f}ms "
            f"{row.worst_ms:6.1f}ms  {'ok' if fast else 'SLOW'}"
        )
    overall = statistics.median(row.total_ms for row in rows) if rows else float("nan")
    lines.append(f"median over all controls: {overall:.1f} ms")
    return "\n".join(lines)
