"""``python -m benchmarks [--quick] [--repeats N]``: print every benchmark's table."""

from __future__ import annotations

import argparse
import os
import platform

from benchmarks import widgets


def environment() -> str:
    """Threads, BLAS and the OpenBLAS variables in force: the context of every figure."""
    from threadpoolctl import threadpool_info

    pools = ", ".join(
        f"{pool['internal_api']} {pool.get('version', '?')} ({pool['num_threads']} threads)"
        for pool in threadpool_info()
    )
    names = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    forced = {name: os.environ[name] for name in names if name in os.environ}
    return (f"python {platform.python_version()}, {os.cpu_count()} cores, BLAS: {pools or 'none'}; "
            f"OpenBLAS overrides: {forced or 'none'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one value per control, one run")
    parser.add_argument("--repeats", type=int, default=3, help="frames per control value")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    print(environment())
    print()
    print(widgets.report(widgets.run(repeats=repeats, quick=args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
