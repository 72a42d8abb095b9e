"""What every case of the corpus is built from: ``Case``, ``Edit``, ``Ctx``, the notebook
builder, and pieces of learner code shared by the sections."""

from __future__ import annotations

import copy
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell

REPO = Path(__file__).resolve().parents[2]
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



N01 = "01_neuron"
N06 = "06_backprop"

RELU0 = {"test_relu": 0}
SIGMOID0 = {"test_sigmoid": 0}
NEURON0 = {"test_neuron": 0}
MSE0 = {"test_backward_231_mse": 0}
BCE0 = {"test_backward_231_bce": 0}
TANH0 = {"test_backward_tanh_231": 0}
USED = frozenset({"reference-used"})


def _cell_output_has(case_id: str, kind: str, grade_id: str, *words: str):
    """An extra assertion: the edited cell's outputs contain every word."""

    def extra(graded) -> None:
        text = graded.cell_text(find_edit(graded.case, kind, grade_id))
        for word in words:
            assert word in text, f"{case_id}: {word!r} not in the cell's output:\n{text[:2000]}"

    return extra


def no_leak_marker(graded) -> None:
    text = graded.all_text()
    assert "LEAK" not in text, f"{graded.case.id}: the attack found something:\n" + \
        "\n".join(line for line in text.splitlines() if "LEAK" in line)[:3000]


def grader_survives(graded) -> None:
    graded.honest_regrade_works()
