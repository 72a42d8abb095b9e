"""The corpus: isolation."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grading_corpus.base import (
    LEAK,
    N01,
    RELU0,
    REPO,
    WRONG_RELU,
    Case,
    Ctx,
    fill,
    grader_survives,
    index_of,
    no_leak_marker,
    replace,
)

# ---------------------------------------------------------------------------------------
# 6. Isolation
# ---------------------------------------------------------------------------------------

def _setup_bob(ctx: Ctx) -> None:
    folder = ctx.course / "submitted" / "bob" / "01_neuron"
    folder.mkdir(parents=True)
    (folder / "01_neuron.ipynb").write_text(f'{{"bob": "BOB-ANSWERS-{ctx.mark}"}}')


def _no_text(*texts: Callable[[Any], str]):
    def extra(graded) -> None:
        everything = graded.all_text()
        for text_of in texts:
            text = text_of(graded)
            assert text not in everything, f"{text!r} reached the graded notebook"
        no_leak_marker(graded)

    return extra


def _secret_of(graded) -> str:
    return (graded.ctx.course / "grading_secret").read_text().strip()


def _setup_tcp(ctx: Ctx) -> None:
    import socket
    import threading

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    ctx.port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except OSError:
                continue
            ctx.connections.append(f"tcp from {peer}")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ctx.cleanups.append(lambda: (stop.set(), thread.join(2), server.close()))


def _setup_unix(ctx: Ctx) -> None:
    import socket
    import threading

    path = ctx.tmp / "grader.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    server.settimeout(0.2)
    ctx.sock = str(path)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            ctx.connections.append("unix socket")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ctx.cleanups.append(lambda: (stop.set(), thread.join(2), server.close()))


def _no_connections(graded) -> None:
    assert graded.ctx.connections == [], graded.ctx.connections
    no_leak_marker(graded)


def _host_processes_with(mark: str) -> list[int]:
    import os

    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as stream:
                if mark.encode() in stream.read():
                    found.append(int(name))
        except OSError:
            pass
    return found


def _no_survivors(graded) -> None:
    import os
    import signal
    import time

    stop = time.monotonic() + 3
    while (alive := _host_processes_with(graded.ctx.mark)) and time.monotonic() < stop:
        time.sleep(0.1)
    for pid in alive:  # processes this test started (through the submission): end them
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not alive, f"processes of the submission outlived grading: {alive}"


def _printed(graded, grade_id: str, words: str) -> None:
    """The attack really ran: its cell printed ``words``."""
    text = graded.cell_text(index_of(graded.nb, grade_id))
    assert words in text, f"the attack did not run as planned: {text[-1500:]}"


def _sandbox_memory(graded) -> None:
    text = graded.cell_text(index_of(graded.nb, "relu"))
    held = [line for line in text.splitlines() if line.startswith("held together:")]
    assert held, f"the attack did not run as planned: {text[-1500:]}"
    count = int(held[-1].split(":")[1])
    assert count <= 2, f"{count} processes held 1.5 GiB each at once: the memory limit is " \
                       "not the whole sandbox's"




_WRITE_TARGETS = ("@@REPO@@/course/pwned-@@MARK@@", "@@COURSE@@/pwned-@@MARK@@",
                  "@@TMP@@/pwned-@@MARK@@", "/tmp/pwned-@@MARK@@", "/root/pwned-@@MARK@@",
                  "@@NUMPY_DIR@@/pwned-@@MARK@@", "@@WORKER_DIR@@/pwned-@@MARK@@",
                  "@@REPO@@/refimpl/pwned-@@MARK@@")


def _setup_write_targets(ctx: Ctx) -> None:
    import numpy

    ctx.facts["numpy_dir"] = Path(numpy.__file__).parent
    ctx.facts["worker_dir"] = REPO / "autograder" / "grading" / "worker"


def _nothing_written(graded) -> None:
    written = []
    for target in _WRITE_TARGETS:
        path = Path(fill(target, graded.ctx))
        if path.exists():
            written.append(str(path))
            path.unlink()
    assert not written, f"the submission wrote outside its scratch folder: {written}"


SIX = [
    Case("read-the-course-folder", "6-isolation", N01,
         (replace("relu", WRONG_RELU, f"""
          import os
          for folder, dirs, files in os.walk("@@COURSE@@"):
              for name in files:
                  try:
                      print({LEAK}, name, open(os.path.join(folder, name)).read()[:500])
                  except OSError as error:
                      print("no", name, type(error).__name__)
          print("listing:", os.path.exists("@@COURSE@@"))
          """),), RELU0, isolation=True, setup=_setup_bob, extra=_no_text(_secret_of)),
    Case("read-another-students-submission", "6-isolation", N01,
         (replace("relu", WRONG_RELU, f"""
          for path in ("@@COURSE@@/submitted/bob/01_neuron/01_neuron.ipynb",
                       "/proc/1/root@@COURSE@@/submitted/bob/01_neuron/01_neuron.ipynb"):
              try:
                  print({LEAK}, open(path).read())
              except OSError as error:
                  print("no", type(error).__name__)
          """),), RELU0, isolation=True, setup=_setup_bob,
         extra=_no_text(lambda g: f"BOB-ANSWERS-{g.ctx.mark}")),
    Case("read-the-source-notebooks", "6-isolation", N01,
         (replace("relu", WRONG_RELU, f"""
          for path in ("@@REPO@@/course/source/01_neuron/01_neuron.ipynb",
                       "@@REPO@@/course/source/06_backprop/06_backprop.ipynb"):
              try:
                  print({LEAK}, open(path).read()[:3000])
              except OSError as error:
                  print("no", type(error).__name__)
          """),), RELU0, isolation=True, extra=_no_text(lambda g: "### BEGIN SOLUTION")),
    Case("read-the-grading-secret", "6-isolation", N01,
         (replace("relu", WRONG_RELU, f"""
          import os
          for path in ("@@COURSE@@/grading_secret", "/proc/1/root@@COURSE@@/grading_secret"):
              try:
                  print({LEAK}, open(path).read())
              except OSError as error:
                  print("no", type(error).__name__)
          print({{k: v for k, v in os.environ.items()}})
          """),), RELU0, isolation=True, extra=_no_text(_secret_of)),
    Case("connect-to-a-host-tcp-port", "6-isolation", N01,
         (replace("relu", WRONG_RELU, f"""
          import socket
          for host in ("127.0.0.1", "localhost", "::1", "10.0.2.2"):
              try:
                  socket.create_connection((host, @@PORT@@), timeout=1).sendall(b"@@MARK@@")
                  print({LEAK}, "connected", host)
              except OSError as error:
                  print("no", host, type(error).__name__)
          """),), RELU0, isolation=True, setup=_setup_tcp, extra=_no_connections),
    Case("connect-to-a-host-unix-socket", "6-isolation", N01,
         (replace("relu", WRONG_RELU, f"""
          import socket
          for path in ("@@SOCK@@", "/proc/1/root@@SOCK@@"):
              try:
                  s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                  s.settimeout(1)
                  s.connect(path)
                  print({LEAK}, "connected", path)
              except OSError as error:
                  print("no", type(error).__name__)
          """),), RELU0, isolation=True, setup=_setup_unix, extra=_no_connections),
    Case("kill-the-parent", "6-isolation", N01,
         (replace("relu", """
          import os, signal
          def relu(Z):
              for pid in (os.getppid(), 1):
                  try:
                      os.kill(pid, signal.SIGKILL)
                  except OSError as error:
                      pass
              return np.zeros(np.shape(Z))
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None},
         isolation=True, extra=grader_survives,
         note="inside a PID namespace the kill may end the sandbox itself: later checks are "
              "not specified; the grader must survive"),
    Case("setsid-daemon-outlives-grading", "6-isolation", N01,
         (replace("relu", WRONG_RELU, """
          import os, sys, time
          if os.fork() == 0:
              try:
                  os.setsid()
                  if os.fork() == 0:
                      os.execv(sys.executable, [sys.executable, "-c",
                                                "import time; time.sleep(120)", "@@MARK@@"])
              finally:
                  os._exit(0)
          time.sleep(0.5)
          def _running(mark):
              for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
                  try:
                      if mark in open(f"/proc/{pid}/cmdline", "rb").read():
                          return True
                  except OSError:
                      pass
              return False
          print("daemon running:", _running(b"@@MARK@@"))
          """),), RELU0,
         extra=lambda g: (_no_survivors(g), _printed(g, "relu", "daemon running: True")),
         note="every process is gone when grading ends, with or without namespaces"),
    Case("fork-bomb-bounded-at-300", "6-isolation", N01,
         (replace("relu", WRONG_RELU, """
          import os, sys, time
          children = 0
          for i in range(300):
              try:
                  pid = os.fork()
              except OSError as error:
                  print("fork refused after", children, type(error).__name__)
                  break
              if pid == 0:
                  try:
                      if i % 50 == 0:
                          os.execv(sys.executable, [sys.executable, "-c",
                                                    "import time; time.sleep(60)", "@@MARK@@"])
                      time.sleep(20)
                  finally:
                      os._exit(0)
              children += 1
          print("children:", children)
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None},
         extra=lambda g: (_no_survivors(g), grader_survives(g)),
         note="the process limit may leave the worker unable to go on: later checks are not "
              "specified"),
    Case("memory-bomb-8-gib", "6-isolation", N01,
         (replace("relu", """
          def relu(Z):
              try:
                  block = np.ones(2**30)  # 8 GiB of float64, every page touched
                  block[::4096] = 2.0
              except MemoryError:
                  pass
              return np.zeros(np.shape(Z))
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None},
         extra=grader_survives,
         note="a memory limit of the whole sandbox may kill the worker: later checks are not "
              "specified"),
    Case("memory-bomb-6-gib-across-four-processes", "6-isolation", N01,
         (replace("relu", WRONG_RELU, """
          import os, select, signal, time
          children = {}
          for _ in range(4):
              r, w = os.pipe()
              pid = os.fork()
              if pid == 0:
                  try:
                      os.close(r)
                      blocks = [np.ones(2**25) for _ in range(6)]  # 1.5 GiB, every page touched
                      os.write(w, b"1")
                      time.sleep(30)
                  finally:
                      os._exit(0)
              os.close(w)
              children[r] = pid
          reported, waiting, stop = [], set(children), time.monotonic() + 15
          while waiting and time.monotonic() < stop:
              ready, _, _ = select.select(list(waiting), [], [], 0.5)
              for r in ready:
                  if os.read(r, 1):
                      reported.append(children[r])
                  waiting.discard(r)
          alive = [pid for pid in reported if os.waitpid(pid, os.WNOHANG) == (0, 0)]
          print("held together:", len(alive))
          for pid in children.values():
              try:
                  os.kill(pid, signal.SIGKILL)
                  os.waitpid(pid, 0)
              except OSError:
                  pass
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None},
         extra=lambda g: (_sandbox_memory(g), grader_survives(g)),
         note="the issue: memory is limited for the whole sandbox, not per process (4 GiB); "
              "the limit may kill the worker: later checks are not specified"),
    Case("write-outside-the-scratch-folder", "6-isolation", N01,
         (replace("relu", WRONG_RELU, f"""
          import os
          for path in {list(_WRITE_TARGETS)!r}:
              try:
                  with open(path, "w") as stream:
                      stream.write("pwned")
                  print({LEAK}, "wrote", path)
              except OSError as error:
                  print("no", path, type(error).__name__)
          try:
              import backprop_worker
              path = os.path.join(os.path.dirname(backprop_worker.__file__), "pwned-@@MARK@@")
              open(path, "w").write("pwned")
              print({LEAK}, "wrote", path)
          except OSError as error:
              print("worker folder:", type(error).__name__)
          """),), RELU0, isolation=True, setup=_setup_write_targets,
         extra=lambda g: (_nothing_written(g), no_leak_marker(g))),
]
