"""8. Cold start: from ``make lab`` in a fresh clone to JupyterLab answering, uv against pip.

Each run clones this checkout's HEAD into a new folder (a local clone: no network), runs
``make lab LAB_ARGS="--no-browser --port=N"`` there and polls the server until ``/api``
answers, then stops it. The two ways of setting up are timed in turns: ``make lab`` (uv: the
machine's, or one wheel fetched by pip into ``.uv/``) and ``make lab NO_UV=1`` (pip alone).
The first round starts from empty package caches (everything downloaded) and is reported as
the cold start; the figures are the medians of the rounds after it (warm caches). Each time is
split at the moment the environment is installed (``.venv/.installed`` appears): the rest is
the workspace's first delivery (nbgrader's release) and JupyterLab's start, the same for both.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import Table, Target, runs

ROOT = Path(__file__).resolve().parent.parent
TOTAL_TARGET = Target("<", 12.0, "s")  # fresh clone to JupyterLab answering, warm cache
SPEEDUP_TARGET = Target(">=", 2.5, "x")  # plain pip / uv, warm cache
REPEATS = 2  # warm rounds, after the cold one
TIMEOUT = 600.0  # seconds for one start (pip on a busy machine takes minutes)
VARIANTS = {"uv": {}, "pip": {"NO_UV": "1"}}


@dataclass(frozen=True)
class Start:
    """One ``make lab`` from a fresh clone: seconds to the environment and to the server."""

    installed: float
    answered: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=1) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _clone(into: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(into)], check=True)
    return into


def _stop(process: subprocess.Popen) -> None:
    """Stop ``make`` and JupyterLab under it (one process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_lab(folder: Path, extra_env: dict[str, str]) -> Start:
    """``make lab`` in a fresh clone under ``folder``, timed until JupyterLab answers."""
    clone = _clone(folder / "clone")
    port = _free_port()
    env = os.environ | extra_env | {"BACKPROP_COURSE_WORKSPACE": str(clone / "workspace")}
    env.pop("VIRTUAL_ENV", None)
    log = open(folder / "make-lab.log", "wb")  # noqa: SIM115  (closed below)
    start = time.perf_counter()
    process = subprocess.Popen(
        ["make", "lab", f"LAB_ARGS=--no-browser --port={port}"], cwd=clone, env=env,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    installed = None
    try:
        while time.perf_counter() - start < TIMEOUT:
            if installed is None and (clone / ".venv" / ".installed").exists():
                installed = time.perf_counter() - start
            if installed is not None and _answers(port):
                return Start(installed, time.perf_counter() - start)
            if process.poll() is not None:
                raise RuntimeError(f"make lab stopped (exit {process.returncode}); see "
                                   f"{folder / 'make-lab.log'}")
            time.sleep(0.05)
        raise RuntimeError(f"JupyterLab did not answer within {TIMEOUT:g} s")
    finally:
        _stop(process)
        log.close()


def dry_run(extra_env: dict[str, str]) -> float:
    """``make -n lab`` in a fresh clone (what --quick checks): its seconds."""
    with tempfile.TemporaryDirectory(prefix="backprop-cold-") as tmp:
        clone = _clone(Path(tmp) / "clone")
        start = time.perf_counter()
        subprocess.run(["make", "-n", "lab"], cwd=clone, env=os.environ | extra_env,
                       check=True, capture_output=True)
        return time.perf_counter() - start


def measure(repeats: int) -> dict[str, list[Start]]:
    """Round 0 with empty package caches (uv's and pip's own, in a new folder: everything is
    downloaded), then ``repeats`` rounds with the machine's warm caches, the variants in turns.
    """
    starts: dict[str, list[Start]] = {name: [] for name in VARIANTS}
    for round_ in range(repeats + 1):
        for name, extra_env in VARIANTS.items():
            with tempfile.TemporaryDirectory(prefix=f"backprop-cold-{name}-") as tmp:
                empty = {"UV_CACHE_DIR": f"{tmp}/uv-cache", "PIP_CACHE_DIR": f"{tmp}/pip-cache"}
                env = extra_env | (empty if round_ == 0 else {})
                starts[name].append(start_lab(Path(tmp), env))
    return starts


def run(quick: bool = False, repeats: int = REPEATS) -> Table:
    table = Table("8. Cold start: fresh clone -> `make lab` -> JupyterLab answers",
                  quick=quick)
    if quick:
        for name, extra_env in VARIANTS.items():
            table.add(f"make -n lab ({name})", dry_run(extra_env), "s")
        table.notes.append("--quick runs `make -n lab` only: a real start installs everything")
        return table
    starts = measure(repeats)
    warm = {name: starts[name][1:] for name in VARIANTS}
    total = {name: statistics.median(s.answered for s in warm[name]) for name in VARIANTS}
    install = {name: statistics.median(s.installed for s in warm[name]) for name in VARIANTS}
    table.add("uv: to JupyterLab answering (warm cache)", total["uv"], "s", TOTAL_TARGET)
    table.add("pip / uv, to JupyterLab answering (warm)", total["pip"] / total["uv"], "x",
              SPEEDUP_TARGET)
    for name in VARIANTS:
        table.add(f"{name}: environment installed (warm)", install[name], "s")
        table.add(f"{name}: to JupyterLab answering (warm)", total[name], "s")
        table.add(f"{name}: to JupyterLab answering (cold cache)", starts[name][0].answered, "s")
    table.notes.append(f"warm: medians of {runs(repeats)}; cold: one run with empty uv and pip "
                       "caches (pip may still find wheels on the machine: PIP_FIND_LINKS)")
    return table
