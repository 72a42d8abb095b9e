"""``python -m benchmarks [--quick] [--only NAME ...] [--repeats N]``: one table per benchmark.

Each table gives its figures (mostly ratios of times measured side by side in this process,
after warm-up runs, as the median of several runs), their targets, and met or MISSED.
Absolute times vary on a shared machine; the first lines say what was in force.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from threadpoolctl import threadpool_limits

from benchmarks import (
    cold_start,
    course,
    distributed,
    grading,
    peer,
    scaling,
    step,
    surface,
    widgets,
)
from benchmarks._common import Table, busy_warning, environment


def run_widgets(quick: bool = False, repeats: int = widgets.REPEATS) -> Table:
    repeats = 1 if quick else repeats
    return widgets.table(widgets.run(repeats=repeats, quick=quick), repeats, quick)


#: name -> function(quick, repeats) -> Table, in the order of the issue
BENCHMARKS: dict[str, Callable[..., Table]] = {
    "step": step.run_step,
    "backward": step.run_backward,
    "torch": peer.run,
    "widgets": run_widgets,
    "surface": surface.run,
    "course": course.run,
    "grading": grading.run,
    "scaling": scaling.run,
    "cold": cold_start.run,
    "distributed": distributed.run,
}

#: Left out of ``--quick`` unless named with ``--only``: they start servers and take minutes
#: even at their smallest (tests/test_distributed_grading.py covers the same path).
NOT_QUICK = {"distributed": "starts three Dask clusters, about 90 s"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one run each: checks that every benchmark runs")
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs per figure (default: each benchmark's own)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads for numpy (and torch), via threadpoolctl "
                        "(default: as configured)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        with threadpool_limits(limits=max(1, args.threads), user_api="blas"):
            return _run(args)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    names = [name for name in BENCHMARKS if not args.only or name in args.only]
    if args.quick and not args.only:
        for name, why in NOT_QUICK.items():
            print(f"{name}: left out of --quick ({why}); run it with --only {name}")
        names = [name for name in names if name not in NOT_QUICK]
    options = {"quick": args.quick}
    if args.repeats is not None:
        options["repeats"] = max(1, args.repeats)

    start = time.perf_counter()
    print(environment(), flush=True)
    warning = busy_warning()
    if warning:
        print(warning, flush=True)
    verdicts: list[tuple[str, str, bool]] = []
    for name in names:
        table = BENCHMARKS[name](**options)
        print(f"\n{table.render()}", flush=True)
        verdicts += [(name, measure, met) for measure, met in table.verdicts()]
    missed = [f"{name}: {measure.strip()}" for name, measure, met in verdicts if not met]
    print(f"\n{environment().splitlines()[-1]}")
    summary = f"{len(verdicts) - len(missed)} of {len(verdicts)} targets met"
    if args.quick:
        summary = f"--quick: {len(verdicts)} targets checked at tiny sizes (not a verdict)"
    print(f"{summary} in {time.perf_counter() - start:.0f} s.")
    if missed and not args.quick:
        print("MISSED: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
