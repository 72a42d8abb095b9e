"""A synthetic class for the instructor end-to-end test (tests/test_instructor_e2e.py).

``build_inbox`` writes one folder per student (``<inbox>/<student>/<notebook>.ipynb``) from
the source (solution key) and release notebooks of a course copy, and returns what every
submission must score, cell by cell. The students:

- ``key``: the source notebooks (full marks); ``blank``: the release notebooks (0 everywhere);
- ``m-<key>-<slug>``: one catalogued mistake (with a ``variant``) planted in one exercise;
- ``noisy``: correct solutions that print, warn, have renamed locals and extra cells;
- ``reordered``: solution cells moved up; in 01_neuron ``test_relu`` above ``relu``;
- ``cheat``: ``relu = refimpl.relu`` in the release of 01_neuron;
- ``hardcoder``: relu and sigmoid that return the visible cases' answers from a table (what
  copying a neighbour's numbers gives): the visible checks pass, the hidden ones fail;
- ``ghost``: a notebook that does not exist and a misnamed one (collect refuses both).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import check
from autograder.exercises.catalogue import planted_source
from notebook_tools import Exercise, exercises, find_cell, first_check, read

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
#: The notebook ``reordered`` has its first test cell moved above its solution.
REORDER_NOTEBOOK = "01_neuron"
CHEAT_NOTEBOOK, CHEAT_EXERCISE = "01_neuron", "relu"
HARDCODED_NOTEBOOK, HARDCODED = "01_neuron", ("relu", "sigmoid")


@dataclass(frozen=True)
class Planted:
    """A mistake student: which exercise of which assignment carries which mistake."""

    student: str
    assignment: str
    exercise: str  # the solution cell's grade_id (the function name)
    check_name: str  # the check called in its test cell, e.g. "backward_231"
    key: str  # catalogue key, e.g. "backward_231_mse"
    slug: str


@dataclass
class SyntheticClass:
    inbox: Path
    #: (student, assignment) -> grade_id -> expected points
    expected: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    planted: list[Planted] = field(default_factory=list)
    #: assignment -> grade_id -> max points
    points: dict[str, dict[str, float]] = field(default_factory=dict)
    #: local variable names ``noisy`` renamed (all notebooks)
    renamed: list[str] = field(default_factory=list)


def hidden_call_lines(test_source: str) -> list[str]:
    """The source lines of a test cell's hidden check calls."""
    return [line.strip() for line in test_source.splitlines()
            if line.strip().startswith("check.") and "hidden=True" in line]


def _student_id(key: str, slug: str) -> str:
    student = f"m-{key}-{slug}"
    assert STUDENT_ID.match(student), student
    return student


def _write(nb, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


# ---------------------------------------------------------------------------------------
# The students' notebooks
# ---------------------------------------------------------------------------------------


def plant(nb, exercise: Exercise, key: str, slug: str):
    """The notebook with a catalogued mistake's variant typed in after the solution, as a
    learner would write it: its source and the catalogue's helpers it uses (the grading
    worker has no catalogue to import)."""
    from autograder.exercises.catalogue import mistakes_for

    variant = next(m for m in mistakes_for(key) if m.slug == slug).variant
    nb = copy.deepcopy(nb)
    nb.cells[exercise.solution_index].source += (
        "\n\n# planted wrong answer (a catalogued mistake)\n"
        + planted_source(variant, exercise.name))
    return nb


def calls_own_reference(variant, check_name: str) -> bool:
    """Whether a variant, run on its exercise's cases, calls a reference function that could
    answer that exercise and that the exercise is not given (a learner's function that does
    is graded as [uses-reference], whatever it computes)."""
    import refimpl
    from autograder.grading.policy import ANSWERS, reference_names

    exercise = check.exercise(check_name)
    called: set[str] = set()
    originals = {name: getattr(refimpl, name) for name in reference_names()}

    def recording(name, function):
        def call(*args, **kwargs):
            called.add(name)
            return function(*args, **kwargs)
        return call

    cases = exercise.cases() + exercise.cases(hidden=True, seed=0)
    call = exercise.adapt(variant)  # the cases and the driver's Value come with the check
    try:
        for name, function in originals.items():
            setattr(refimpl, name, recording(name, function))
        for case in cases:
            with contextlib.suppress(Exception):
                call(*case.args, **case.kwargs, **case.options)
    finally:
        for name, function in originals.items():
            setattr(refimpl, name, function)
    return any(check_name in ANSWERS.get(name, {check_name})
               for name in called - set(exercise.uses))


class _RenameLocals(ast.NodeTransformer):
    """Rename the local variables of every function (parameters, globals unchanged)."""

    def __init__(self) -> None:
        self.count = 0
        self.renamed: list[str] = []

    def visit_FunctionDef(self, node):
        params = {a.arg for a in (*node.args.posonlyargs, *node.args.args,
                                  *node.args.kwonlyargs)}
        params |= {a.arg for a in (node.args.vararg, node.args.kwarg) if a is not None}
        declared, nested_params, stored = set(), set(), set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Global | ast.Nonlocal):
                declared.update(sub.names)
            elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) \
                    and sub is not node:
                nested_params |= {a.arg for a in ast.walk(sub.args) if isinstance(a, ast.arg)}
                if not isinstance(sub, ast.Lambda):
                    declared.add(sub.name)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                stored.add(sub.id)
        names = sorted(stored - params - declared - nested_params)
        mapping = {}
        for name in names:
            mapping[name] = f"_local{self.count}_{name.lower()}"
            self.count += 1
        self.renamed += names
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in mapping:
                sub.id = mapping[sub.id]
        self.generic_visit(node)
        return node


def _noisy_statements(label: str) -> list[ast.stmt]:
    return ast.parse(f"print('noisy: in {label}')\n"
                     f"warnings.warn('noisy: {label} was called')\n").body


def _insert_after_docstring(function: ast.FunctionDef, statements: list[ast.stmt]) -> None:
    body = function.body
    at = 1 if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
               and isinstance(body[0].value.value, str)) else 0
    function.body = body[:at] + statements + body[at:]


def noisy_solution(source: str) -> tuple[str, list[str]]:
    """The solution cell rewritten: locals renamed, a print and a warning inside, a print
    outside. Returns (source, renamed local names)."""
    tree = ast.parse(source)
    renamer = _RenameLocals()
    tree = renamer.visit(tree)
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef):
            _insert_after_docstring(statement, _noisy_statements(statement.name))
        elif isinstance(statement, ast.ClassDef):
            for method in statement.body:
                if isinstance(method, ast.FunctionDef) and method.name == "__init__":
                    _insert_after_docstring(method, _noisy_statements(statement.name))
    tree.body = [*ast.parse("import warnings").body, *tree.body,
                 *ast.parse("print('noisy: solution cell ran')").body]
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n", renamer.renamed


def noisy(nb, renamed: list[str] | None = None):
    """``renamed`` collects the local names that were rewritten."""
    nb = copy.deepcopy(nb)
    for exercise in exercises(nb):
        cell = nb.cells[exercise.solution_index]
        cell.source, names = noisy_solution(cell.source)
        if renamed is not None:
            renamed += names
    extra = [nbformat.v4.new_markdown_cell("My notes: I *think* I get it now."),
             nbformat.v4.new_code_cell("scratch = [i * i for i in range(5)]\nprint(scratch)")]
    first_test = exercises(nb)[0].test_index
    nb.cells[first_test + 1:first_test + 1] = extra
    nb.cells.append(nbformat.v4.new_code_cell("print('the end')"))
    nb.cells.append(nbformat.v4.new_markdown_cell("Done!"))
    return nb


def reordered(nb, *, test_first: str | None = None):
    """Every solution cell moved to just after the first code cell (order kept); with
    ``test_first``, that exercise's test cell goes above all of them."""
    nb = copy.deepcopy(nb)
    found = exercises(nb)
    moved = [nb.cells[e.solution_index] for e in found]
    if test_first is not None:
        moved.insert(0, nb.cells[next(e.test_index for e in found if e.name == test_first)])
    rest = [c for c in nb.cells if not any(c is m for m in moved)]
    first_code = next(i for i, c in enumerate(rest) if c.cell_type == "code")
    nb.cells = rest[:first_code + 1] + moved + rest[first_code + 1:]
    return nb


def cheat(release_nb):
    nb = copy.deepcopy(release_nb)
    find_cell(nb, CHEAT_EXERCISE).source += "\nrelu = refimpl.relu\n"
    return nb


def hardcoded(nb, names: tuple[str, ...] = HARDCODED):
    """Each named solution replaced by a table of its visible cases' answers."""
    from autograder.checks.running import observe

    nb = copy.deepcopy(nb)
    for name in names:
        spec = check.exercise(name)
        table = {}
        for case in spec.cases():
            (Z,) = case.args
            expected = observe(spec.reference, case).output
            table[repr((Z.shape, Z.ravel().tolist()))] = expected.ravel().tolist()
        find_cell(nb, name).source = (
            f"_ANSWERS_{name} = {table!r}\n\n"
            f"def {name}(Z):\n"
            f"    Z = np.asarray(Z, dtype=float)\n"
            f"    found = _ANSWERS_{name}.get(repr((Z.shape, Z.ravel().tolist())))\n"
            f"    if found is None:\n"
            f"        return np.zeros_like(Z)\n"
            f"    return np.array(found).reshape(Z.shape)\n")
    return nb


# ---------------------------------------------------------------------------------------
# The class
# ---------------------------------------------------------------------------------------


def build_inbox(course: Path, inbox: Path) -> SyntheticClass:
    """Write every student's notebooks into ``inbox``; return what each must score."""
    klass = SyntheticClass(inbox)
    for source_path in sorted((course / "source").glob("*/*.ipynb")):
        assignment, name = source_path.parent.name, source_path.stem
        source = read(source_path)
        release = read(course / "release" / assignment / f"{name}.ipynb")
        found = exercises(source)
        full = {f"test_{e.name}": e.points for e in found}
        klass.points[assignment] = full

        def expect(student, scores, assignment=assignment):
            klass.expected[(student, assignment)] = scores

        _write(source, inbox / "key", name)
        expect("key", dict(full))
        _write(release, inbox / "blank", name)
        expect("blank", dict.fromkeys(full, 0.0))
        _write(noisy(source, klass.renamed), inbox / "noisy", name)
        expect("noisy", dict(full))
        test_first = "relu" if assignment == REORDER_NOTEBOOK else None
        _write(reordered(source, test_first=test_first), inbox / "reordered", name)
        expect("reordered", {**full, **({"test_relu": 0.0} if test_first else {})})
        if assignment == CHEAT_NOTEBOOK:
            _write(cheat(release), inbox / "cheat", name)
            expect("cheat", dict.fromkeys(full, 0.0))
        if assignment == HARDCODED_NOTEBOOK:
            _write(hardcoded(source), inbox / "hardcoder", name)
            expect("hardcoder", {**full, **{f"test_{n}": 0.0 for n in HARDCODED}})

        for exercise in found:
            check_name, options = first_check(source.cells[exercise.test_index].source)
            spec = check.exercise(check_name, **options)
            for mistake in spec.mistakes:
                if mistake.variant is None or calls_own_reference(mistake.variant, check_name):
                    continue  # the grader fails the latter as [uses-reference] (test_trusted)
                student = _student_id(spec.key, mistake.slug)
                _write(plant(source, exercise, spec.key, mistake.slug), inbox / student, name)
                expect(student, {**full, f"test_{exercise.name}": 0.0})
                klass.planted.append(Planted(student, assignment, exercise.name, check_name,
                                             spec.key, mistake.slug))
        if assignment == "01_neuron":
            _write(release, inbox / "ghost", "09_attention")  # no such notebook
            _write(release, inbox / "ghost", "neuron")  # misnamed 01_neuron
    return klass


# ---------------------------------------------------------------------------------------
# Hidden values
# ---------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def significant_digits(text: str) -> int:
    """Significant digits written in a number (leading and trailing zeros not counted)."""
    mantissa = re.split(r"[eE]", text.lstrip("+-"))[0].replace(".", "")
    return len(mantissa.strip("0"))


def numbers_in(text: str, min_digits: int = 4) -> list[str]:
    return [n for n in _NUMBER.findall(text) if significant_digits(n) >= min_digits]


def numeric_leaves(value) -> list[float]:
    """Every finite float inside a (nested) reference output."""
    import numpy as np

    if isinstance(value, dict):
        return [x for v in value.values() for x in numeric_leaves(v)]
    if isinstance(value, list | tuple):
        return [x for v in value for x in numeric_leaves(v)]
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return []
    return [float(x) for x in array.ravel() if np.isfinite(x) and x != 0]


def hidden_reference_values(check_name: str, options: dict, seed: int) -> list[float]:
    """The reference's outputs on a student's hidden cases (the values that must not leak)."""
    from autograder.checks.running import observe

    spec = check.exercise(check_name, **options)
    values = []
    for case in spec.cases(hidden=True, seed=seed):
        if case.raises is not None:
            continue
        obs = observe(spec.reference, case)
        if obs.error is None:
            values += numeric_leaves(obs.output)
    return values


def leaked(text: str, values: list[float]) -> list[str]:
    """Numbers of ``text`` (>= 4 significant digits) equal to one of ``values`` at the
    precision written."""
    hits = []
    for number in numbers_in(text):
        digits = significant_digits(number)
        shown = float(number)
        for v in values:
            if float(f"{v:.{digits}g}") == shown or float(f"{-v:.{digits}g}") == shown:
                hits.append(number)
                break
    return hits


__all__ = ["Planted", "SyntheticClass", "build_inbox", "hidden_call_lines",
           "hidden_reference_values", "leaked", "numbers_in"]
