"""``backprop-course check`` counts what the README counts: every exercise and written answer
(graded by hand), and its last line is right for a partly checked course."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from autograder import cli
from autograder.learner import progress

ROOT = Path(__file__).resolve().parents[1]
SOURCE = sorted((ROOT / "course" / "source").glob("*/*.ipynb"))


def _readme_points() -> dict[str, float]:
    """The learners' table of the README: notebook -> points."""
    rows = re.findall(r"^\| (\d\d_\w+): .*\| (\d+) \|$", (ROOT / "README.md").read_text(),
                      re.MULTILINE)
    return {name: float(points) for name, points in rows}


def test_the_points_check_counts_are_the_readme_s():
    readme = _readme_points()
    assert len(readme) == len(SOURCE) == 10
    for path in SOURCE:
        nb = nbformat.read(path, as_version=4)
        total = (sum(ex.points for ex in progress.graded_exercises(nb))
                 + sum(answer.points for answer in progress.written_answers(nb)))
        assert total == readme[path.stem], path.stem
    assert sum(readme.values()) == 115


def test_the_readme_s_course_time_is_the_sum_of_the_notebooks_estimates():
    minutes = 0
    for path in SOURCE:
        opening = nbformat.read(path, as_version=4).cells[0].source
        [estimate] = re.findall(r"\*\*Time:\*\* about (\d+) minutes", opening)
        minutes += int(estimate)
    readme = (ROOT / "README.md").read_text()
    [(hours, total)] = re.findall(r"The whole course takes about ([\d.]+) hours \((\d+) minutes",
                                  readme)
    assert int(total) == minutes
    assert float(hours) == round(minutes / 60, 1)

def test_written_answers_are_listed_as_graded_by_hand():
    nb = nbformat.read(ROOT / "course" / "source" / "04_gradient_descent" /
                       "04_gradient_descent.ipynb", as_version=4)
    [answer] = progress.written_answers(nb)
    report = progress.NotebookReport(Path("04_gradient_descent.ipynb"), [
        progress.ExerciseReport("numerical_derivative", 3, progress.PASSED), answer])
    table = progress.format_notebook(report)
    assert "04_gradient_descent.ipynb: 3 of 5 points" in table
    assert re.search(r"by hand\s+why_diverge\s+-/2\s+a written answer: your instructor", table)
    summary = progress.format_summary([report])
    assert "Points so far: 3 of 5 (1 of 1 exercises passed; 1 written answer (2 points) " \
           "graded by hand)." in summary
    assert summary.endswith("Next step: every exercise passes. Well done!")
    assert progress.exit_code([report]) == 0


def test_a_partly_checked_course_points_at_the_next_notebook():
    done = progress.NotebookReport(Path("/ws/01_neuron.ipynb"), [
        progress.ExerciseReport("relu", 2, progress.PASSED)])
    course = [Path("/ws/01_neuron.ipynb"), Path("/ws/02_forward.ipynb")]
    assert progress.next_step([done], course) == (
        "every exercise of 01_neuron passes. Then 02_forward.ipynb: `backprop-course check 02`.")
    assert progress.next_step([done], course[:1]).endswith("Well done!")


def test_a_prefix_shared_by_several_notebooks_checks_them_all(tmp_path):
    for name in ("01_neuron", "02_forward", "10_later"):
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / f"{name}.ipynb")
    found = [p.name for p in cli.resolve_notebooks(tmp_path, ["0"])]
    assert found == ["01_neuron.ipynb", "02_forward.ipynb"]
    assert [p.name for p in cli.resolve_notebooks(tmp_path, ["02"])] == ["02_forward.ipynb"]
