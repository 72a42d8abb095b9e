"""The grading worker's sandbox (autograder.grading.isolation, .sandbox), tried from inside.

Each test starts a real sandbox and runs a short program in it, written as hostile learner
code would be (look around, write, connect, fork, kill, allocate), then checks what it printed,
how it ended, and what is left on the host. Nothing of the kernel is mocked.

Tests that need bubblewrap with user namespaces, or a writable cgroup, skip when
``isolation.detect()`` says this machine lacks them, and fail instead with
BACKPROP_COURSE_REQUIRE_ISOLATION=1 (set by .ci/run).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.grading import isolation, sandbox_view
from autograder.grading.isolation import Isolation, Limits
from autograder.grading.sandbox import Sandbox

REQUIRE_ENV = "BACKPROP_COURSE_REQUIRE_ISOLATION"
ROOT = Path(__file__).resolve().parents[1]  # the project checkout
MiB = 2**20

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the grading sandbox is Linux only")


def require_isolation(*, namespaces: bool = True, cgroup: bool = False) -> None:
    """Skip (or fail, with BACKPROP_COURSE_REQUIRE_ISOLATION=1) unless this machine has them."""
    found = isolation.detect()
    missing = [what for what, needed, there in [
        ("bubblewrap with unprivileged user namespaces", namespaces, found.namespaces),
        ("a writable cgroup (v2, or v1 memory and pids)", cgroup, found.cgroup is not None),
    ] if needed and not there]
    if not missing:
        return
    message = f"This machine lacks {' and '.join(missing)}. In force: {found.describe()}"
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"{message} {REQUIRE_ENV} is set: isolation is required here.")
    pytest.skip(f"{message} Install Debian's `bubblewrap` (and run as a user who may write a "
                f"cgroup), or set {REQUIRE_ENV}=1 to make this a failure.")


@dataclass
class Ran:
    returncode: int
    out: str
    err: str

    def json(self) -> dict:
        """The program's last line of output, a JSON object."""
        assert self.out.strip(), f"no output; exit {self.returncode}, stderr:\n{self.err}"
        return json.loads(self.out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def worker_package(tmp_path_factory) -> Path:
    """A stand-in for autograder/grading/worker: a package that says what it is."""
    folder = tmp_path_factory.mktemp("worker-src") / "worker"
    folder.mkdir()
    (folder / "__init__.py").write_text('MARK = "stand-in worker"\n')
    return folder


@pytest.fixture
def sandbox(worker_package):
    """Make sandboxes (``sandbox(limits, isolate=...)``); all are closed after the test."""
    made: list[Sandbox] = []

    def make(limits: Limits | None = None, **kwargs) -> Sandbox:
        made.append(Sandbox(limits, worker_package=worker_package, **kwargs))
        return made[-1]

    yield make
    for box in made:
        box.__exit__(None, None, None)


def start(box: Sandbox, code: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``code`` in ``box`` with the import paths first on sys.path."""
    program = (f"import sys; sys.path[:0] = {list(box.paths.import_paths)!r}\n"
               + textwrap.dedent(code))
    return box.start([box.paths.python, "-I", "-S", "-c", program],
                     {**box.paths.base_env(), **(env or {})})


def run(box: Sandbox, code: str, env: dict[str, str] | None = None) -> Ran:
    proc = start(box, code, env)
    out, err = proc.communicate(timeout=60)
    return Ran(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def with_marker(marker: str) -> set[int]:
    """Host pids whose environment holds ``marker`` (zombies have none)."""
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                environ = Path(f"/proc/{name}/environ").read_bytes()
            except OSError:
                continue
            if marker.encode() in environ:
                found.add(int(name))
    return found


def cgroup_folders(pid: int) -> list[Path]:
    """The host folders of the cgroups ``pid`` is in (every hierarchy mounted here)."""
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
              if line.split()[2] in ("cgroup", "cgroup2")]
    paths = [line.split(":", 2)[2] for line in Path(f"/proc/{pid}/cgroup").read_text().split()]
    return [Path(m, p.lstrip("/")) for m in mounts for p in paths
            if p != "/" and Path(m, p.lstrip("/")).is_dir()]


# ---------------------------------------------------------------------------------------
# What the machine can do, what is allowed in
# ---------------------------------------------------------------------------------------


def test_detect_says_what_is_in_force_in_one_sentence():
    found = isolation.detect()
    assert found is isolation.detect()  # cached
    sentence = found.describe()
    assert sentence.endswith(".")
    assert sentence.count(". ") == 0
    assert found.complete == (found.namespaces and found.cgroup is not None)
    assert "no sandbox view" in Isolation(False, None).describe()
    assert "cgroup v2" in Isolation(True, "cgroup v2").describe()


def test_allowed_distributions_are_the_closure_of_numpy_ipython_matplotlib():
    names = {sandbox_view.normalise_name(d.metadata["Name"])
             for d in sandbox_view.allowed_distributions()}
    assert {"numpy", "ipython", "matplotlib", "traitlets", "pillow"} <= names  # roots, requires
    assert not names & {"backprop-course", "nbgrader", "ipywidgets", "ipykernel"}
    assert not [n for n in names if n.startswith("jupyter")]
    assert "colorama" not in names  # ipython requires it only on sys_platform == "win32"


# ---------------------------------------------------------------------------------------
# The view
# ---------------------------------------------------------------------------------------


def test_the_worker_sees_only_the_allow_list(sandbox):
    """Host folders are absent, only the allowed distributions import, Agg plots in scratch."""
    require_isolation()
    box = sandbox()
    hidden = ["/tmp", "/run", "/home", "/work", "/etc", "/var", "/sys", "/srv", "/mnt", "/boot",
              "/usr/bin", "/usr/share", "/usr/lib/python3", str(ROOT), str(ROOT / "course"),
              str(ROOT / "refimpl"), sys.prefix, str(Path.home() / ".ssh")]
    ran = run(box, f"""
        import json, os
        hidden = {hidden!r}
        seen = [p for p in hidden if os.path.exists(p) and (not os.path.isdir(p) or os.listdir(p))]
        imports = {{}}
        for name in ["refimpl", "autograder", "nbgrader", "ipywidgets", "ipykernel",
                     "jupyter_client", "numpy", "IPython", "matplotlib", "backprop_worker"]:
            try:
                __import__(name)
                imports[name] = "ok"
            except BaseException as e:
                imports[name] = type(e).__name__
        import matplotlib.pyplot as plt
        plt.plot([0, 1], [1, 0])
        plt.savefig("plot.png")
        import backprop_worker
        print(json.dumps({{"seen": seen, "root": sorted(os.listdir("/")), "imports": imports,
                          "worker": backprop_worker.MARK, "cwd": os.getcwd(),
                          "env": dict(os.environ), "plot": os.path.getsize("plot.png")}}))
        """)
    found = ran.json()
    assert found["seen"] == []
    assert set(found["root"]) <= {"dev", "proc", "usr", "lib", "lib64", "lib32", "opt", "scratch",
                                  Path(sys.base_prefix).parts[1]}  # /root if pyenv lives there
    assert found["imports"] == {
        "refimpl": "ModuleNotFoundError", "autograder": "ModuleNotFoundError",
        "nbgrader": "ModuleNotFoundError", "ipywidgets": "ModuleNotFoundError",
        "ipykernel": "ModuleNotFoundError", "jupyter_client": "ModuleNotFoundError",
        "numpy": "ok", "IPython": "ok", "matplotlib": "ok", "backprop_worker": "ok"}
    assert found["worker"] == "stand-in worker"
    assert found["cwd"] == box.paths.scratch
    assert found["plot"] > 0
    # Nothing of the host's environment; bubblewrap sets PWD when it enters the scratch.
    assert found["env"] == {**box.paths.base_env(), "PWD": box.paths.scratch}


def test_no_file_inside_holds_reference_code(sandbox):
    """The whole visible tree (but /proc and /dev) is read: no reference implementation."""
    require_isolation()
    needle = "def backward_231"
    assert needle in (ROOT / "refimpl" / "network.py").read_text()  # it exists on the host
    ran = run(sandbox(), f"""
        import json, os, stat
        needle, found, files, seen = {needle!r}.encode(), [], 0, set()
        for top in sorted(set(os.listdir("/")) - {{"proc", "dev"}}):
            for folder, _, names in os.walk("/" + top):
                for name in names:
                    path = os.path.join(folder, name)
                    try:
                        info = os.lstat(path)
                        if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) in seen:
                            continue
                        seen.add((info.st_dev, info.st_ino))
                        with open(path, "rb") as f:
                            tail = b""
                            while chunk := f.read(1 << 20):
                                if needle in tail + chunk:
                                    found.append(path)
                                tail = chunk[-len(needle):]
                        files += 1
                    except OSError as e:
                        found.append(f"unreadable {{path}}: {{e}}")
        print(json.dumps({{"found": found, "files": files}}))
        """)
    found = ran.json()
    assert found["found"] == []
    assert found["files"] > 1000  # the interpreter, its libraries and the allowed packages


def test_nothing_outside_scratch_is_writable(sandbox):
    require_isolation()
    box = sandbox()
    ran = run(box, """
        import json, os, numpy
        folders = ["/", "/usr", "/usr/lib", "/opt", "/dev", "/dev/shm", "/proc",
                   os.path.dirname(sys.executable), os.path.dirname(os.__file__),
                   os.path.dirname(numpy.__file__), *sys.path[:2]]
        writable = []
        for folder in folders:
            for attempt in (lambda: open(os.path.join(folder, "x"), "w").close(),
                            lambda: os.mkdir(os.path.join(folder, "d"))):
                try:
                    attempt()
                    writable.append(folder)
                except OSError:
                    pass
        for existing in (numpy.__file__, os.__file__, sys.executable):
            try:
                open(existing, "r+b").close()
                writable.append(existing)
            except OSError:
                pass
        with open("note.txt", "w") as f:
            f.write("scratch works")
        print(json.dumps({"writable": writable, "scratch": open("note.txt").read()}))
        """)
    found = ran.json()
    assert found == {"writable": [], "scratch": "scratch works"}


# ---------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------


def test_no_socket_of_the_host_is_reachable(sandbox, tmp_path):
    """A loopback TCP listener, a pathname and an abstract unix socket of the host."""
    require_isolation()
    tcp = socket.create_server(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(tmp_path / "grader.sock"))
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(f"\0backprop-test-{secrets.token_hex(4)}")
    for listener in (tcp, unix, abstract):
        listener.listen()
        listener.setblocking(False)
    targets = [(int(socket.AF_INET), ["127.0.0.1", tcp.getsockname()[1]]),
               (int(socket.AF_UNIX), str(tmp_path / "grader.sock")),
               (int(socket.AF_UNIX), abstract.getsockname()),
               (int(socket.AF_INET), ["1.1.1.1", 53])]  # and no route out
    try:
        ran = run(sandbox(), f"""
            import errno, json, os, socket
            results = []
            for family, address in {targets!r}:
                s = socket.socket(family)  # making a socket works
                s.settimeout(2)
                try:
                    s.connect(tuple(address) if isinstance(address, list) else address)
                    results.append("connected")
                except OSError as e:
                    results.append(errno.errorcode.get(e.errno, type(e).__name__))
            print(json.dumps({{"results": results, "interfaces": socket.if_nameindex(),
                              "unix_path": os.path.exists({str(tmp_path)!r})}}))
            """)
        found = ran.json()
        # Nothing listens on the sandbox's own loopback; the socket file is not there; no route.
        assert found["results"] == ["ECONNREFUSED", "ENOENT", "ECONNREFUSED", "ENETUNREACH"]
        assert found["unix_path"] is False
        assert [name for _, name in found["interfaces"]] == ["lo"]
        for listener in (tcp, unix, abstract):
            with pytest.raises(BlockingIOError):
                listener.accept()  # nobody ever knocked
    finally:
        for listener in (tcp, unix, abstract):
            listener.close()


# ---------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------


def test_the_worker_sees_and_signals_only_its_own_processes(sandbox):
    require_isolation()
    bystander = subprocess.Popen(["sleep", "30"])  # a host process of the same user
    try:
        ran = run(sandbox(), """
            import json, os, signal, time
            pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
            tried = {}
            for target in (os.getppid(), 1, -1):  # the parent, init, everything it may signal
                try:
                    os.kill(target, signal.SIGKILL)
                    tried[target] = "sent"
                except OSError as e:
                    tried[target] = type(e).__name__
            time.sleep(0.2)
            fds = sorted(os.listdir("/proc/self/fd"))  # 3: this listing's own descriptor
            print(json.dumps({"pids": pids, "me": os.getpid(), "parent": os.getppid(),
                              "tried": tried, "init": open("/proc/1/cmdline").read(),
                              "fds": fds, "std": [os.readlink(f"/proc/self/fd/{fd}")[:5]
                                                  for fd in (0, 1, 2)]}))
            """)
        found = ran.json()
        # bwrap's options came through a descriptor it closed: no host path shows, none leaks.
        assert str(ROOT) not in found["init"]
        assert "--ro-bind" not in found["init"]
        assert "--setenv" not in found["init"]
        assert found["fds"] == ["0", "1", "2", "3"]
        assert found["std"] == ["pipe:"] * 3
        assert found["pids"] == [1, found["me"]]
        assert found["parent"] == 1
        assert ran.returncode == 0  # its init ignored the SIGKILLs; the worker went on
        assert bystander.poll() is None  # and nothing on the host was touched
    finally:
        bystander.kill()
        bystander.wait()


HIDE_AND_SEEK = """
    import os, signal, subprocess, sys, time
    subprocess.Popen([sys.executable, "-c", "import os, time; os.setsid(); time.sleep(60)"])
    stopped = os.fork()
    if stopped == 0:
        os.kill(os.getpid(), signal.SIGSTOP)
        os._exit(0)
    middle = os.fork()
    if middle == 0:  # the classic daemon: setsid, fork again, the middle one exits
        os.setsid()
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            time.sleep(60)
        os._exit(0)
    os.waitpid(middle, 0)
    print("hidden", flush=True)
    time.sleep(60)
    """


@pytest.mark.parametrize(("isolate", "cgroup"), [(True, True), (True, False), (False, True),
                                                  (False, False)],
                         ids=["view+cgroup", "view", "host+cgroup", "host"])
def test_kill_gets_setsid_double_fork_and_stopped_processes(sandbox, isolate, cgroup):
    """Every process of the sandbox is gone after kill(), however it hid (host's /proc)."""
    if isolate or cgroup:
        require_isolation(namespaces=isolate, cgroup=cgroup)
    box = sandbox(isolate=isolate, cgroup=cgroup)
    marker = f"hide-and-seek-{secrets.token_hex(6)}"
    proc = start(box, HIDE_AND_SEEK, {"BACKPROP_TEST_MARKER": marker})
    assert proc.stdout.readline() == b"hidden\n", proc.stderr.read().decode()
    assert len(with_marker(marker)) >= 4  # worker, setsid child, stopped child, daemon
    box.kill()
    assert with_marker(marker) == set()
    assert proc.returncode is not None


def test_fallback_runs_on_the_host_with_rlimits(sandbox):
    """Without the view: backprop_worker imports, the project does not, the rlimits hold."""
    limits = Limits(memory_bytes=2 * 2**30, cpu_seconds=30, file_bytes=3 * MiB)
    box = sandbox(limits, isolate=False)
    assert box.isolation.namespaces is False
    assert box.paths.python == sys.executable
    ran = run(box, """
        import json, os, resource
        import backprop_worker
        imports = {}
        for name in ("refimpl", "nbgrader", "numpy"):
            try:
                __import__(name)
                imports[name] = "ok"
            except ImportError as e:
                imports[name] = type(e).__name__
        limits = {name: resource.getrlimit(getattr(resource, name))
                  for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_CORE")}
        print(json.dumps({"worker": backprop_worker.MARK, "imports": imports,
                          "limits": limits, "cwd": os.getcwd()}))
        """)
    found = ran.json()
    assert found["worker"] == "stand-in worker"
    assert found["imports"] == {"refimpl": "ModuleNotFoundError",
                                "nbgrader": "ModuleNotFoundError", "numpy": "ok"}
    assert found["limits"] == {"RLIMIT_AS": [2 * 2**30] * 2, "RLIMIT_CPU": [30, 31],
                               "RLIMIT_FSIZE": [3 * MiB] * 2, "RLIMIT_CORE": [0, 0]}
    assert found["cwd"] == box.paths.scratch
    box.__exit__(None, None, None)
    assert not Path(box.paths.scratch).exists()


# ---------------------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------------------

TWO_ALLOCATIONS = """
    import subprocess, sys
    n = int(0.6 * {limit})
    held = b"x" * n  # touched: resident, charged to the cgroup
    print("first", flush=True)
    if {both}:
        child = subprocess.run([sys.executable, "-c", f"b = b'x' * {{n}}; print('second')"])
        print("second exited", child.returncode, flush=True)
    """


def test_memory_limit_holds_for_all_processes_together(sandbox):
    """One process may take 60% of the limit; a second one taking 60% more cannot also."""
    require_isolation(namespaces=False, cgroup=True)
    limits = Limits(memory_bytes=256 * MiB)
    alone = sandbox(limits)
    ran = run(alone, TWO_ALLOCATIONS.format(limit=limits.memory_bytes, both=False))
    assert (ran.returncode, ran.out) == (0, "first\n")
    assert alone.limit_hit() is None
    together = sandbox(limits)
    ran = run(together, TWO_ALLOCATIONS.format(limit=limits.memory_bytes, both=True))
    assert "second exited 0" not in ran.out, ran  # the OOM killer took one of them
    assert together.limit_hit() == "memory"


def test_fork_bomb_is_stopped_by_the_process_limit(sandbox):
    require_isolation(namespaces=False, cgroup=True)
    box = sandbox(Limits(processes=16))
    ran = run(box, """
        import os, time
        forks = 0
        try:
            for _ in range(500):  # bounded, in case nothing stops it
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                forks += 1
            print("not stopped", forks)
        except OSError as e:
            print("stopped after", forks, type(e).__name__)
        """)
    assert ran.out.startswith("stopped after"), ran
    assert "BlockingIOError" in ran.out
    assert int(ran.out.split()[2]) < 16
    assert box.limit_hit() == "processes"


def test_file_size_and_scratch_size_limits(sandbox):
    require_isolation()
    ran = run(sandbox(Limits(file_bytes=1 * MiB, scratch_bytes=4 * MiB)), """
        import errno, json
        results = {}
        try:
            with open("big", "wb") as f:
                f.write(b"x" * (2 << 20))
        except OSError as e:
            results["big"] = errno.errorcode[e.errno]
        try:
            for i in range(10):
                with open(f"part{i}", "wb") as f:
                    f.write(b"x" * ((1 << 20) - 4096))
        except OSError as e:
            results["parts"] = [i, errno.errorcode[e.errno]]
        print(json.dumps(results))
        """)
    found = ran.json()
    assert found["big"] == "EFBIG"
    assert found["parts"][1] == "ENOSPC"
    assert found["parts"][0] <= 4


def test_no_capabilities_no_new_namespaces_no_mounts(sandbox):
    require_isolation()
    ran = run(sandbox(), """
        import ctypes, json, os
        status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read()
                      .splitlines() if ":\\t" in line)
        libc = ctypes.CDLL(None, use_errno=True)
        calls = {
            "unshare user": libc.unshare(0x10000000),
            "unshare mount": libc.unshare(0x00020000),
            "unshare net": libc.unshare(0x40000000),
            "mount tmpfs": libc.mount(b"none", b"/opt", b"tmpfs", 0, None),
            "remount rw": libc.mount(None, b"/usr", None, 0x20 | 0x1000, None),
            "chroot": libc.chroot(b"/scratch"),
            "setuid 0": libc.setuid(0),
        }
        print(json.dumps({"cap": {k: status[k].strip() for k in ("CapEff", "CapPrm", "CapBnd")},
                          "nnp": status["NoNewPrivs"].strip(), "calls": calls}))
        """)
    found = ran.json()
    assert set(found["cap"].values()) == {"0000000000000000"}
    assert found["nnp"] == "1"
    assert found["calls"] == dict.fromkeys(found["calls"], -1)


# ---------------------------------------------------------------------------------------
# Nothing left behind, nothing shared
# ---------------------------------------------------------------------------------------


def test_a_crashed_worker_leaves_no_cgroup_and_no_scratch(sandbox):
    require_isolation(namespaces=False, cgroup=True)
    box = sandbox()
    proc = start(box, """
        import os
        open("left-behind", "w").write("secret of the previous learner")
        print("ready", flush=True)
        sys.stdin.readline()
        os.abort()
        """)
    assert proc.stdout.readline() == b"ready\n"
    folders = cgroup_folders(proc.pid)
    assert folders
    assert all(f.name.startswith("backprop-sandbox-") for f in folders)
    proc.stdin.write(b"crash\n")
    assert proc.wait(timeout=30) != 0
    box.__exit__(None, None, None)
    assert not [f for f in folders if f.exists()]
    ran = run(sandbox(), """
        import json, os
        print(json.dumps(os.listdir(".")))
        """)
    assert ran.json() == []  # a fresh scratch


def test_one_start_per_sandbox(sandbox):
    box = sandbox(isolate=False)
    run(box, "pass")
    with pytest.raises(RuntimeError, match="one worker"):
        start(box, "pass")
