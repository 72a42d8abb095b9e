"""A wrong answer in one exercise fails exactly that exercise's check, and names the mistake.

For every exercise of every source notebook, the solution is replaced by the first catalogued
mistake of that exercise (a real wrong implementation), the notebook runs top to bottom, and
only that exercise's test cell may fail.
"""

import pytest

from autograder import check
from notebook_tools import (
    SOURCE_NOTEBOOKS,
    cell_errors,
    execute,
    exercises,
    first_check,
    notebook_id,
    read,
)

pytestmark = pytest.mark.notebook


def planted_cases():
    for path in SOURCE_NOTEBOOKS:
        nb = read(path)
        for exercise in exercises(nb):
            name, options = first_check(nb.cells[exercise.test_index].source)
            key = check.exercise(name, **options).key
            mistake = next(m for m in check.exercise(name, **options).mistakes if m.variant)
            yield pytest.param(path, exercise, key, mistake.slug,
                               id=f"{notebook_id(path)}:{exercise.name}:{mistake.slug}")


@pytest.mark.parametrize(("path", "exercise", "key", "slug"), list(planted_cases()))
def test_a_planted_mistake_fails_only_its_own_check(path, exercise, key, slug):
    nb = read(path)
    nb.cells[exercise.solution_index].source += (
        "\n\n# planted wrong answer (a catalogued mistake)\n"
        "from autograder.exercises.catalogue import mistakes_for as _mistakes_for\n"
        f"{exercise.name} = next(m for m in _mistakes_for({key!r}) if m.slug == {slug!r}).variant\n"
    )
    errors = cell_errors(execute(nb, path.parent))
    assert set(errors) == {exercise.test_index}, (
        f"planting {slug} in {exercise.name} should fail only test_{exercise.name}; failed cells: "
        + ", ".join(f"{i} ({errors[i]['ename']}: {errors[i]['evalue'][:200]})" for i in errors)
    )
    assert f"[{slug}]" in errors[exercise.test_index]["evalue"]
