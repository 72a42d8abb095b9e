"""Real servers for the tests of grading past one machine: a Dask cluster and PostgreSQL.

- :class:`DaskCluster`: ``dask scheduler`` and ``dask worker`` processes (each under its
  nanny, one thread each) on free loopback ports; a worker can be killed by its pid, as a
  machine of a real cluster dies, and its nanny starts a new one.
- :class:`Postgres`: a throwaway PostgreSQL cluster from Debian's packages: ``initdb`` in a
  temporary folder, ``postgres`` on a free loopback port with a socket folder of its own, run
  as the ``postgres`` user when the tests run as root (PostgreSQL refuses root).

Each one is started by a module-scoped fixture, which yields it or, as a string, why it cannot
run here; every test then calls :func:`require` first. On a learner's machine without these
servers the tests skip and say how to enable them; with BACKPROP_COURSE_REQUIRE_SERVERS=1
(set by ``.ci/run``) a server that cannot start FAILS them (the rule of the browser tests,
``browser_tools.unavailable``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from browser_tools import free_port

#: Set (to anything but "" or "0") where these tests must run: a server that cannot start
#: fails them.
REQUIRE_ENV = "BACKPROP_COURSE_REQUIRE_SERVERS"
HOW_TO_ENABLE = (
    "The tests of grading on a Dask cluster and of a PostgreSQL gradebook start real servers. "
    "To run them, install the course with its dependencies (`make test` does; Dask and the "
    "PostgreSQL driver come with it) and Debian's PostgreSQL (`sudo apt-get install "
    "postgresql`: initdb and postgres, found on PATH or in /usr/lib/postgresql/*/bin). Set "
    f"{REQUIRE_ENV}=1 to make a server that cannot start a failure instead of a skip (CI does)."
)
START_SECONDS = 120.0  # a server's start on a busy 2-core machine


def servers_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def unavailable(reason: str):
    """Skip, or fail where the servers are required (CI), saying how to enable them. Call it
    from the test itself: a required server that is missing then FAILS the test."""
    message = f"{reason}\n{HOW_TO_ENABLE}"
    if servers_required():
        pytest.fail(f"{REQUIRE_ENV} is set but a server cannot start: {message}", pytrace=False)
    pytest.skip(message)


def require(server) -> None:
    """First line of a test: ``server`` is a string when it could not start."""
    if isinstance(server, str):
        unavailable(server)


def _stop_group(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Stop a server started with its own process group: SIGTERM to the group, then SIGKILL."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # what is left of the group (a worker's child)
    process.wait()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------------------


@dataclass
class DaskCluster:
    """A scheduler and its workers, started by :meth:`start`, stopped by :meth:`stop`."""

    folder: Path
    workers: int = 2
    allowed_failures: int = 1  # a task on 2 dying workers is KilledWorker
    address: str = ""
    processes: list[subprocess.Popen] = field(default_factory=list)
    client: object = None  # distributed.Client of the test process

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        env = {**os.environ,
               "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(self.allowed_failures)}
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (the process keeps it)
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=self.folder, start_new_session=True)
        log.close()
        self.processes.append(process)
        return process

    def start(self) -> DaskCluster:
        from distributed import Client

        dask = str(Path(sys.executable).parent / "dask")
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self._spawn("scheduler", [dask, "scheduler", "--host", "127.0.0.1", "--port",
                                  str(port), "--no-dashboard"])
        for number in range(self.workers):
            self._spawn(f"worker{number}", [
                dask, "worker", self.address, "--nthreads", "1", "--host", "127.0.0.1",
                "--no-dashboard", "--memory-limit", "0", "--name", f"w{number}",
                "--local-directory", str(self.folder)])
        self.client = Client(self.address, timeout=START_SECONDS, set_as_default=False)
        self.wait_for_workers()
        return self

    def wait_for_workers(self, seconds: float = START_SECONDS) -> None:
        """Until the scheduler has all its workers (after a kill: the nanny's new one)."""
        self.client.wait_for_workers(self.workers, timeout=seconds)
        deadline = time.monotonic() + seconds
        while len(self.client.scheduler_info(n_workers=-1)["workers"]) > self.workers:
            if time.monotonic() > deadline:  # a dead worker the scheduler still lists
                raise TimeoutError("the scheduler still lists a dead worker")
            time.sleep(0.2)

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> the pid of its worker process (not the nanny's)."""
        return self.client.run(os.getpid)

    def kill_worker(self, address: str) -> int:
        """SIGKILL one worker process, as a machine dies; its pid."""
        pid = self.worker_pids()[address]
        os.kill(pid, signal.SIGKILL)
        return pid

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{_tail(p)}" for p in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close(timeout=10)
        for process in reversed(self.processes):
            _stop_group(process)


def dask_problem() -> str | None:
    """Why a Dask cluster cannot start here (None when it can)."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return "The Python package distributed (Dask) is not installed."
    if not (Path(sys.executable).parent / "dask").is_file():
        return f"No `dask` command beside {sys.executable}."
    return None


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2):
    """A running :class:`DaskCluster` (stopped on exit), or, as a string, why not."""
    problem = dask_problem()
    if problem is not None:
        yield problem
        return
    cluster = DaskCluster(folder, workers)
    try:
        cluster.start()
    except Exception as error:
        cluster.stop()
        yield f"The Dask cluster did not start: {error}\n{cluster.logs()}"
        return
    try:
        yield cluster
    finally:
        cluster.stop()


# ---------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------


def find_postgres_bin() -> Path | None:
    """The folder of ``initdb`` and ``postgres``: PATH, else Debian's newest version."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return versions[-1].parent if versions else None


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster; :meth:`url` gives SQLAlchemy URLs of its databases."""

    folder: Path
    bin: Path
    port: int = 0
    user: str = "backprop"
    process: subprocess.Popen | None = None
    _owner: tuple[int, int] | None = None  # (uid, gid) the server runs as, when not ours

    def _as_owner(self) -> dict:
        if self._owner is None:
            return {}
        uid, gid = self._owner
        return {"user": uid, "group": gid, "extra_groups": []}

    def start(self) -> Postgres:
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            import pwd

            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root, and there is no `postgres` user to run "
                                   "the server as") from None
            self._owner = (entry.pw_uid, entry.pw_gid)
            os.chown(self.folder, *self._owner)
        data, sockets = self.folder / "data", self.folder / "sockets"
        subprocess.run([str(self.bin / "initdb"), "-D", str(data), "-U", self.user,
                        "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"],
                       check=True, capture_output=True, cwd=self.folder, **self._as_owner())
        sockets.mkdir()
        if self._owner is not None:
            os.chown(sockets, *self._owner)
        self.port = free_port()
        log = open(self.folder / "postgres.log", "wb")  # noqa: SIM115 (the server keeps it)
        self.process = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port),
             "-k", str(sockets), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.folder,
            **self._as_owner())
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=5):
                    return
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("PostgreSQL did not start:\n"
                                       + _tail(self.folder / "postgres.log")) from None
                time.sleep(0.2)

    def dsn(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL nbgrader takes (psycopg 3)."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def query(self, database: str, sql: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.dsn(database)) as connection:
            return connection.execute(sql, params).fetchall()

    def stop(self) -> None:
        if self.process is not None:
            _stop_group(self.process)


def postgres_problem() -> str | None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "The Python package psycopg (PostgreSQL driver) is not installed."
    if find_postgres_bin() is None:
        return "PostgreSQL's initdb was not found (on PATH or in /usr/lib/postgresql/*/bin)."
    return None


@contextlib.contextmanager
def postgres_server():
    """A running :class:`Postgres` (stopped and removed on exit), or, as a string, why not."""
    problem = postgres_problem()
    if problem is not None:
        yield problem
        return
    folder = Path(tempfile.mkdtemp(prefix="backprop-pg-"))  # not under pytest's root-only tmp
    server = Postgres(folder, find_postgres_bin())
    try:
        try:
            server.start()
        except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
            detail = getattr(error, "stderr", b"") or b""
            yield f"PostgreSQL did not start: {error} {detail.decode(errors='replace')[-800:]}"
            return
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
