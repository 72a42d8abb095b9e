"""Advice for the instructor: lines that reach past the exercise, copies of the reference.

Nothing here changes a score: the worker cannot reach reference code, so a submission earns
what its own code computes. These findings put a submission on the report's attention list,
for a person to look at: a learner cell that names the grader's internals or the reference of
a graded exercise (``suspicious-code``), and a function typed into the notebook whose
operations are the reference's, exactly or as an edited copy (``reference-copied``). Copies
are found by compiling the learner's cells here (compiling runs nothing) and comparing each
function's operations with the reference's.
"""

from __future__ import annotations

import difflib
import dis
import re
import types
from collections.abc import Iterator

from nbformat import NotebookNode
from nbgrader.utils import is_solution

import refimpl
from autograder.exercises import registry
from autograder.grading import policy
from autograder.grading.records import Attention

__all__ = ["copies_of_the_reference", "suspicious_lines"]

def _is_learner_cell(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and (is_solution(cell) or "grade_id" not in meta)


_SUSPICIOUS = [
    (re.compile(r"\bsys\s*\.\s*(setprofile|settrace|argv|modules|_getframe)"
                r"|\bthreading\s*\.\s*(setprofile|settrace)"),
     "reaches into the interpreter (tracing, frames, modules, arguments)"),
    (re.compile(r"__code__|__globals__|__closure__|__builtins__|\bgc\s*\.|\bimport\s+gc\b"
                r"|\bctypes\b|\bmarshal\b|\bpickle\b|\bFunctionType\b"),
     "reaches into the interpreter's internals"),
    (re.compile(r"\bexec\s*\(|\beval\s*\(|\bcompile\s*\(|__import__|\bimportlib\b"
                r"|\brunpy\b|\bgetsource\b|\bgetattr\s*\([^)]*(\+|\bf[\"'])"),
     "builds or runs code from text"),
    (re.compile(r"\bautograder\s*\.\s*(engine|check|sandbox|wire|trusted|seeding|grading)\b"
                r"|\bfrom\s+autograder\b.*\bimport\b"),
     "reaches into the grader"),
    (re.compile(r"\bbackprop_worker\b|\bsys\s*\.\s*(stdout|__stdout__|stdin)\s*\.\s*buffer"),
     "reaches into the grading worker or its channel"),
    (re.compile(r"get_ipython\s*\(\s*\)\s*\.\s*(events|input_transformers|ast_transformers)"),
     "hooks the notebook's execution"),
    (re.compile(r"\bsubprocess\b|\bos\s*\.\s*(system|exec\w*|fork|kill|write|fdopen|open)\b"
                r"|\bsocket\b|/proc/"),
     "starts processes, opens connections or writes to raw files"),
]


#: ``import refimpl as ref`` anywhere in the notebook (a locked cell too) makes ``ref.`` a name
#: of the reference.
_REFIMPL_ALIAS = re.compile(r"^\s*import\s+refimpl\s+as\s+(\w+)", re.MULTILINE)


def _reference_module_names(nb: NotebookNode) -> set[str]:
    """``refimpl`` and every alias the notebook imports it under."""
    return {"refimpl"} | {match.group(1) for cell in nb.cells if cell.cell_type == "code"
                          for match in _REFIMPL_ALIAS.finditer(cell.source)}


def suspicious_lines(nb: NotebookNode, exercises: set[str]) -> list[Attention]:
    """Lines of the learner's cells that reach past the exercise (flagged, never scored).

    ``exercises``: the names graded in this notebook. Naming the reference implementation of
    one of them (``refimpl.relu``, or ``ref.relu`` after ``import refimpl as ref``) is flagged,
    except in a cell that defines an exercise allowed to build on it (09's
    ``classifier_gradients`` on the reference layers); other reference functions are not.
    """
    modules = "|".join(sorted(map(re.escape, _reference_module_names(nb))))
    found = []
    for index, cell in enumerate(nb.cells):
        if not _is_learner_cell(cell):
            continue
        patterns = list(_SUSPICIOUS)
        flagged = exercises - _allowed_references(cell.source, exercises)
        if flagged:
            names = "|".join(sorted(map(re.escape, flagged)))
            patterns.insert(0, (re.compile(rf"\b({modules})\s*\.\s*({names})\b"
                                           rf"|\bfrom\s+refimpl\S*\s+import\b.*\b({names})\b"),
                                "uses the reference implementation of a graded exercise"))
        for number, line in enumerate(cell.source.splitlines(), 1):
            code = line.split("#", 1)[0]
            for pattern, what in patterns:
                if pattern.search(code):
                    found.append(Attention("suspicious-code", f"cell {index + 1}, line {number} "
                                           f"{what}: `{line.strip()[:80]}`"))
                    break
    return found


_DEFINITION = re.compile(r"^\s*def\s+(\w+)\s*\(", re.MULTILINE)


def _allowed_references(source: str, exercises: set[str]) -> set[str]:
    """The graded exercises whose reference the cell's own exercises may call (their
    ``Exercise.uses``): a cell's exercise is a graded one it defines."""
    allowed: set[str] = set()
    for name in set(_DEFINITION.findall(source)) & exercises:
        try:
            allowed |= set(registry.exercise(name).uses)
        except (ValueError, TypeError):  # not the course's: nothing is allowed
            continue
    return allowed


# Instructions that differ between two compilations of the same source (a method call on a
# module imported in the same cell or not), or that do nothing.
_SAME_INSTRUCTION = {"LOAD_METHOD": "LOAD_ATTR", "PRECALL": None, "PUSH_NULL": None,
                     "RESUME": None, "NOP": None, "CACHE": None, "EXTENDED_ARG": None}
_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)
# A notebook function shorter than this that matches the reference may be the same idea written
# the same way (``return X @ W + b``): only longer ones are reported as copies.
_COPY_MIN_INSTRUCTIONS = 40
# A function compiled in the notebook (or by exec) whose operations are at least this share of
# the reference's, in order (difflib's ratio), is noted as an edited copy. The course's own
# solutions of 40 operations or more are at most 0.74 of their reference.
_NEAR_COPY_RATIO = 0.85


def _signature(code: types.CodeType) -> tuple:
    """What a function's code computes, independent of where it was compiled (file, lines),
    of the names of its local variables and of its strings (docstring, messages): a copy of
    the reference has the reference's signature."""
    ops = []
    for ins in dis.get_instructions(code):
        op = _SAME_INSTRUCTION.get(ins.opname, ins.opname)
        if op is None:
            continue
        arg = ins.argval
        if isinstance(arg, types.CodeType):
            arg = _signature(arg)
        elif ins.opcode in _JUMPS or (isinstance(arg, str) and ins.opname == "LOAD_CONST"):
            arg = None
        elif ins.opname.endswith("_FAST"):
            arg = ins.arg  # the slot, not the name
        ops.append((op, arg if isinstance(arg, tuple) else repr(arg)))
    return tuple(ops)


def _functions(code: types.CodeType, prefix: str = "") -> Iterator[tuple[str, types.CodeType]]:
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            name = prefix + const.co_name
            yield name, const
            yield from _functions(const, name + ".")


def _reference_signatures(exercises: set[str]) -> dict[str, set[tuple]]:
    found: dict[str, set[tuple]] = {}
    for name in exercises:
        reference = getattr(refimpl, name, None)
        found[name] = {_signature(code) for code in policy.code_objects(reference)}
    return found


def copies_of_the_reference(nb: NotebookNode, exercises: set[str]) -> list[Attention]:
    """Functions of the learner's cells whose operations are a graded exercise's reference's
    (40 or more of them; 85% of them in order for an edited copy)."""
    references = _reference_signatures(exercises)
    found = []
    for index, cell in enumerate(nb.cells):
        if not _is_learner_cell(cell):
            continue
        try:
            module = compile(cell.source, f"<cell {index + 1}>", "exec")
        except (SyntaxError, ValueError):
            continue  # IPython syntax (magics) or a broken cell: nothing to compare
        for qualname, code in _functions(module):
            signature = _signature(code)
            if len(signature) < _COPY_MIN_INSTRUCTIONS:
                continue
            for exercise, signatures in references.items():
                ratio = max((difflib.SequenceMatcher(None, signature, s, autojunk=False).ratio()
                             for s in signatures), default=0.0)
                if ratio >= 1.0 or signature in signatures:
                    found.append(Attention("reference-copied", (
                        f"the code of {qualname} in cell {index + 1} is the reference "
                        f"implementation of {exercise}, operation for operation")))
                elif ratio >= _NEAR_COPY_RATIO:
                    found.append(Attention("reference-copied", (
                        f"the code of {qualname} in cell {index + 1} is an edited copy of the "
                        f"reference implementation of {exercise}: {ratio:.0%} of its "
                        "operations, in order")))
    return found
