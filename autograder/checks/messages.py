"""The sentences of a check's messages: the header and inputs of a failing case, the success
line, the lines that show a difference, and the advice for a dtype, a shape, an exception, a
floating-point error or an object that cannot be called.

Hidden mode (``hidden=True``) never shows an expected number: only shapes, indices, counts
and one-significant-digit error sizes (``formatting.magnitude``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from autograder.checks import formatting as fmt
from autograder.checks.compare import Part, constant_factor
from autograder.checks.types import Case, Mistake
from autograder.grading.worker import signatures

__all__ = ["arg_names", "cannot_call_message", "difference_lines", "dtype_text",
           "exception_hint", "factor_lines", "fp_cause", "header", "inputs_block",
           "mistake_line", "not_callable_message", "shape_text", "success_line"]


def arg_names(reference: Callable[..., Any], n_args: int) -> list[str]:
    """The names of the reference's first ``n_args`` positional parameters (``argument 3``
    where it has fewer)."""
    params = signatures.positional_names(reference)
    return [params[i] if i < len(params) else f"argument {i + 1}" for i in range(n_args)]


# ---------------------------------------------------------------------------------------
# The frame of a message
# ---------------------------------------------------------------------------------------


def header(title: str, cases: Sequence[Case], i: int, hidden: bool) -> str:
    """``relu: case 2 of 5 failed ("a label").``"""
    n = len(cases)
    case = cases[i]
    if hidden:
        label = f" ({case.label})" if case.label else ""
        return f"{title}: hidden case {i + 1} of {n} failed{label}."
    label = f' ("{case.label}")' if case.label else ""
    return f"{title}: case {i + 1} of {n} failed{label}."


def _small_arrays(mapping: Mapping[str, Any]) -> bool:
    """A dict of arrays small enough to print in full (a 2-3-1 params dict is)."""
    values = list(mapping.values())
    return (all(isinstance(v, np.ndarray) for v in values)
            and sum(v.size for v in values) <= fmt.FULL_PRINT_MAX_SIZE)


def inputs_block(reference: Callable[..., Any], case: Case) -> list[str]:
    """``Input:`` and the case's arguments by the reference's parameter names (visible mode
    only; functions among them are left out)."""
    names = arg_names(reference, len(case.args))
    shown = [(name, v) for name, v in zip(names, case.args, strict=True)]
    shown += list(case.kwargs.items())
    lines = []
    width = max((len(name) for name, _ in shown), default=0)
    for name, value in shown:
        if callable(value) and not isinstance(value, np.ndarray):
            continue
        if isinstance(value, Mapping) and _small_arrays(value):
            lines.extend(fmt.show(f"{name}[{key!r}]", v) for key, v in value.items())
        else:
            lines.append(fmt.show(name.ljust(width), value))
    return ["Input:", *lines] if lines else []


def success_line(title: str, cases: Sequence[Case], hidden: bool) -> str:
    """``✔ relu: 5 visible cases passed (label; label; ...)``."""
    n = len(cases)
    plural = "s" if n != 1 else ""
    if hidden:
        return f"✔ {title}: {n} hidden case{plural} passed"
    labels: list[str] = []
    for label in (c.label for c in cases if c.label):
        if sum(len(x) + 2 for x in labels) + len(label) > 80:
            labels.append("...")
            break
        labels.append(label)
    return f"✔ {title}: {n} visible case{plural} passed" + (
        f" ({'; '.join(labels)})" if labels else "")


def mistake_line(mistake: Mistake) -> str:
    """The last line of a failure that a known mistake explains."""
    return (f"This looks like a known mistake [{mistake.slug}]: {mistake.name}. "
            f"{mistake.hint}")


# ---------------------------------------------------------------------------------------
# The object is not what a check can call
# ---------------------------------------------------------------------------------------


def not_callable_message(exercise: str, description: str) -> str:
    """``check.relu`` got ``description`` (``None``, ``an ndarray of shape (3,)``...)."""
    text = f"{exercise}: check.{exercise} needs your function, but got {description}."
    if description == "None":
        text += " Did you run the cell that defines it?"
    else:
        text += (f" Pass the function itself, check.{exercise}({exercise}), not the result "
                 f"of calling it, check.{exercise}({exercise}(...)).")
    return text


def cannot_call_message(title: str, name: str, reference: Callable[..., Any], n_args: int,
                        error: str, signature: str) -> str:
    """The learner's function (parameters ``signature``) cannot take the reference's
    ``n_args`` positional arguments: ``error`` says why."""
    call = f"{name}({', '.join(arg_names(reference, n_args))})"
    return signatures.cannot_call(
        f"{title}: your function cannot be called as {call}", error, signature,
        f"; the exercise needs {signatures.signature_text(reference)}")


# ---------------------------------------------------------------------------------------
# Advice for one property
# ---------------------------------------------------------------------------------------


_EXCEPTION_HINTS: tuple[tuple[type[BaseException], str, str], ...] = (
    (ValueError, "matmul", "A matrix product got shapes that do not fit: in A @ B the last "
     "axis of A must equal the first axis of B. Print the shapes right before the failing "
     "line and check the order of the factors and any missing or extra .T."),
    (ValueError, "not aligned", "A matrix product (np.dot) got shapes that do not fit: print "
     "the shapes right before the failing line and check the order of the factors and .T."),
    (ValueError, "could not be broadcast", "Two arrays could not be combined entry by entry: "
     "their shapes must be equal or broadcastable. Print the shapes and compare."),
    (NameError, "", "A name is not defined: did you run the cell that defines it (and "
     "`import numpy as np`) in this kernel?"),
    (TypeError, "'str' object is not callable", "You called a string as a function: an "
     "argument such as activation='relu' is a NAME; look the function up first."),
    (RecursionError, "", "Your function calls itself without end: did a helper get the same "
     "name as the function it calls?"),
    (SystemExit, "", "Your code called exit() or sys.exit(): return a value instead."),
)


def exception_hint(exc: BaseException) -> str | None:
    """What a common exception of learners' code usually means, or None."""
    for kind, needle, hint in _EXCEPTION_HINTS:
        if isinstance(exc, kind) and needle in str(exc):
            return hint
    return None


_DTYPE_HELP = {
    "i": ("integers", "Integers can come, for example, from Python's max(0, Z) (the int 0), "
          "np.zeros(shape, dtype=int), (Z > 0) * 1, .astype(int) or integer division //; "
          "compute with floats (0.0 instead of 0, np.maximum(Z, 0.0))."),
    "b": ("booleans (True/False)", "A comparison such as Z > 0 gives a mask, not numbers: "
          "multiply by it or use np.where(...) to build the values."),
    "c": ("complex numbers", "A power or square root of a negative number becomes complex: "
          "check the signs inside ** and np.sqrt."),
    "O": ("Python objects (dtype object)", "np.array(...) of a list that mixes arrays of "
          "different shapes, or None values, gives an object array: build the result with "
          "NumPy operations."),
    "U": ("strings", "The values must be numbers."),
}


def dtype_text(part: Part, top: bool) -> str | None:
    """Why ``part`` does not hold floating-point numbers, or None when it does (whole numbers
    are fine where the reference's are whole: an epoch, an index). ``top``: the part is the
    whole result."""
    a = np.asarray(part.got)
    kind = a.dtype.kind
    if kind == "f" or (kind in "iu" and np.asarray(part.expected).dtype.kind in "iu"):
        return None
    kind = {"u": "i", "S": "U"}.get(kind, kind)
    what, help_text = _DTYPE_HELP.get(kind, (f"values of dtype {a.dtype}", ""))
    subject = "Your function returned" if top else f"{part.name} holds"
    if a.ndim == 0 and (part.scalar or not isinstance(part.got, np.ndarray)):  # one number
        subject = "Your function returned" if top else f"{part.name} is"
        single = {"i": "an integer", "b": "a bool", "c": "a complex number"}.get(
            kind, f"a value of dtype {a.dtype}")
        help_text = {"i": "An integer can come, for example, from Python's max(0, z) (the int "
                          "0), .astype(int), // or a sum of integers: compute with floats or "
                          "convert with float(...).",
                     "b": "A comparison gives True/False, not a number."}.get(kind, help_text)
        return (f"{subject} {single} ({type(part.got).__name__}), expected a floating-point "
                f"number. {help_text}")
    return (f"{subject} {what} (dtype {a.dtype}), expected floating-point numbers "
            f"(float64). {help_text}")


def _shape_advice(got: np.ndarray, exp: np.ndarray) -> str:
    """What ``got``'s shape where ``exp``'s is expected usually means (may be empty)."""
    if len(exp.shape) == 2 and exp.shape[1] == 1 and got.shape == (exp.shape[0],):
        return (" You have a 1-D array of n values where a column (n, 1) is expected. "
                "Mixing (n,) and (n, 1) arrays in arithmetic broadcasts silently to an (n, n) "
                "table: keep columns with .reshape(-1, 1) or keepdims=True.")
    if len(got.shape) == 2 and got.shape[1] == 1 and exp.shape == (got.shape[0],):
        return (" You have a column (n, 1) where a 1-D array of n values is expected: "
                "use .ravel() or reduce without keepdims=True.")
    if (len(exp.shape) == 2 and exp.shape[1] == 1 and exp.shape[0] > 1
            and got.shape == (exp.shape[0], exp.shape[0])):
        return (" An (n, n) table instead of a column (n, 1) is what broadcasting makes of "
                "an (n,) array combined with an (n, 1) array: check that both are (n, 1).")
    if got.ndim == exp.ndim == 2 and got.shape == exp.shape[::-1]:
        return " It looks transposed: check the order of a matrix product and any .T."
    if got.size == exp.size:
        return " It has the right number of entries arranged differently."
    if got.ndim == exp.ndim + 1 and got.shape[1:] == exp.shape:
        return (" There is one extra leading axis: did you forget to sum over the samples "
                "(axis=0)?")
    if got.ndim == exp.ndim + 1 and got.shape[:-1] == exp.shape:
        return " There is one extra axis at the end (keepdims=True, or a reshape?)."
    if got.ndim == exp.ndim == 1:
        return " It has a different length."
    if got.ndim == exp.ndim and got.ndim >= 1 and got.shape[1:] == exp.shape[1:]:
        return " It has a different number of rows."
    if got.ndim == 2 and exp.ndim == 2 and got.shape[0] == exp.shape[0]:
        return " It has a different number of columns."
    return ""


def shape_text(part: Part, top: bool) -> str | None:
    """Why ``part`` has the wrong shape, or None when its shape is right.
    ``top``: the part is the whole result."""
    got = np.asarray(part.got)
    exp = part.expected
    if got.shape == exp.shape:
        return None
    name = "Your result" if top else part.name
    g = fmt.shape(got.shape)
    if part.scalar:
        if got.size == 1:
            return (f"{name} is an array of shape {g} holding one value, expected a single "
                    f"number: reduce over ALL entries (np.mean(...) or np.sum(...) without "
                    f"axis=) or convert with float(...).")
        return (f"{name} is an array of shape {g}, expected a single number: the result "
                f"averages or sums over ALL entries (no axis= argument).")
    return f"{name} has shape {g}, expected {fmt.shape(exp.shape)}." + _shape_advice(got, exp)


def fp_cause(fp_errors: Sequence[str], kind: str) -> str:
    """What NumPy's floating-point errors ``fp_errors`` mean; ``kind`` (``"inf"`` or
    ``"nan"``) chooses the common causes named when NumPy reported none."""
    causes = []
    if "overflow" in fp_errors:
        causes.append("NumPy reported an overflow: exp of a large number is inf "
                      "(np.exp(1000) = inf); rewrite the formula so that exp only sees "
                      "non-positive numbers, e.g. exp(-|z|)")
    if "divide by zero" in fp_errors:
        causes.append("NumPy reported a division by zero: a log(0) or an x / 0 happened (keep "
                      "the argument of a log away from 0, e.g. with np.clip)")
    if "invalid value" in fp_errors:
        causes.append("NumPy reported an invalid operation: 0 * inf, inf - inf, 0 / 0, or the "
                      "log or sqrt of a negative number")
    if not causes:
        causes.append("Common causes are exp of a large number (overflow), log(0), a "
                      "division by zero, and 0 * inf" if kind == "inf"
                      else "Common causes are 0 * log(0), inf - inf, 0 / 0 and the log of a "
                      "negative number")
    return "; ".join(causes) + "."


# ---------------------------------------------------------------------------------------
# Values that differ
# ---------------------------------------------------------------------------------------


def difference_lines(part: Part, got: np.ndarray, close: np.ndarray, *, single: bool,
                     full: bool, hidden: bool) -> list[str]:
    """Where ``part`` differs from its expected value and by how much.

    got : ``part.got`` as float64; close : the entries that agree (same shape)
    single : the part is the whole result; full : print both arrays (visible mode)
    """
    exp = part.expected
    with np.errstate(all="ignore"):
        err = np.abs(got - exp)
    err = np.where(np.isnan(err) & ~close, np.inf, err)
    err = np.where(close, 0.0, err)
    worst = fmt.magnitude(float(err.max()))
    idx = tuple(int(k) for k in np.argwhere(~close)[0])
    n_wrong = int((~close).sum())
    one_value = part.scalar or close.size == 1
    if hidden:
        if one_value:
            return [("It" if single else part.name) + f" is off by about {worst}."]
        where = (f"The first difference is at {fmt.index(idx)}" if single else
                 f"{part.name}: {n_wrong} of {close.size} entries differ, the first at "
                 f"{fmt.index(idx)}")
        return [f"{where}; the largest difference is about {worst}."]
    if one_value:
        label = "" if single else f"{part.name}: "
        value_idx = idx if exp.ndim else ()
        return [f"{label}expected {fmt.num(exp[value_idx], 10)}, returned "
                f"{fmt.num(got[value_idx], 10)}."]
    first = (f"expected {fmt.num(exp[idx], 10)}, returned {fmt.num(got[idx], 10)}")
    if not full:
        return [f"{part.name}: {n_wrong} of {close.size} entries differ, the first at "
                f"{fmt.index(idx)} ({first})."]
    lines = [] if single else [f"{part.name} ({n_wrong} of {close.size} entries differ):"]
    lines.append(fmt.show("expected", exp))
    lines.append(fmt.show("returned", got))
    lines.append(f"The first difference is at {fmt.index(idx)}: {first}.")
    return lines


def factor_lines(wrong: Sequence[tuple[Part, np.ndarray, np.ndarray]], single: bool,
                 atol: float) -> list[str]:
    """Point out a constant factor (a sign, a 2, n...) between returned and expected.

    wrong : (part, got as float64, close) of every differing part
    """
    factors = [constant_factor(got, part.expected, atol) for part, got, _ in wrong]
    if single or len(wrong) == 1:
        c = factors[0]
        if c is None:
            return []
        return [f"Returned = {fmt.num(c, 4)} x expected everywhere: a constant factor is "
                "missing or extra (a sign, a 2, an n or 1/n?)."]
    known = [c for c in factors if c is not None]
    if known and len(known) == len(factors) and np.allclose(known, known[0], rtol=1e-6):
        return [f"Every differing result is {fmt.num(known[0], 4)} x the expected one: a "
                "constant factor is missing or extra (a sign, a 2, an n or 1/n?)."]
    return [f"{part.name}: returned = {fmt.num(c, 4)} x expected everywhere (a constant "
            "factor)." for (part, got, _), c in zip(wrong, factors, strict=True)
            if c is not None and np.count_nonzero(np.abs(part.expected) > atol) >= 2]
