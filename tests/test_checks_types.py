"""How a failed check looks in a notebook: IPython's ``_render_traceback_`` of CheckFailed."""

from __future__ import annotations

from autograder.checks.types import MESSAGE_WIDTH, CheckFailed, CheckResult

LONG = ("relu: your function returned integers where floating-point numbers were expected, "
        "and a notebook would otherwise break this sentence in the middle of a word such as "
        "floating-point.")


def rendered(message: str) -> list[str]:
    return CheckFailed(CheckResult("relu", False, message))._render_traceback_()


def test_sentences_wrap_between_words_and_values_stay_as_they_are():
    values = "  Z = [[ 1.25, -3.5 , " + ", ".join(["0.125"] * 20) + "]]"
    lines = rendered(f"{LONG}\nInput:\n{values}")
    words = " ".join(line.removeprefix("\x1b[1;31m✘ ").removesuffix("\x1b[0m")
                     for line in lines[:-2]).split()
    assert words == LONG.split()  # nothing lost, no word broken
    assert all(len(line) <= MESSAGE_WIDTH for line in lines[1:-2])
    assert lines[-2:] == ["Input:", values]  # an indented line is never rewrapped
    assert lines[0].startswith("\x1b[1;31m✘ relu: your function")


def test_empty_lines_survive():
    assert rendered("first\n\nthird") == ["\x1b[1;31m✘ first\x1b[0m", "", "third"]
