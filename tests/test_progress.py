"""`backprop-course check`: run notebooks headless and report every exercise.

Small notebooks built with nbformat; each run starts one kernel (about a second).
"""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import cli
from autograder.learner.progress import (
    FAILED,
    NOT_RUN,
    NOT_STARTED,
    PASSED,
    check_notebook,
    exit_code,
    format_notebook,
    format_summary,
)
from notebook_tools import exercise_cells, find_cell, read, released_course, source_notebook

STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"


def exercise(name, solution, test, points=1):
    """A solution cell and its test cell, which checks ``test``."""
    return exercise_cells(name, solution, f'"""Check {name}."""\n{test}', points)


def write(path, *cells):
    nbformat.write(new_notebook(cells=[new_markdown_cell("# A notebook"), *cells]), path)
    return path


def simple(name, body, points=1):
    """def name(x): <body>, checked by `assert name(2) == 4`."""
    return exercise(name, f"def {name}(x):\n{body}", f"assert {name}(2) == 4", points)


def test_the_table_shows_passed_failed_not_started_points_and_the_next_step(tmp_path):
    path = write(
        tmp_path / "01_demo.ipynb",
        new_code_cell("import numpy as np\nfrom autograder import check"),
        *exercise("relu", "def relu(Z):\n    return np.maximum(Z, 0.0)", "check.relu(relu)", 2),
        *exercise("sigmoid", "def sigmoid(Z):\n    return Z", "check.sigmoid(sigmoid)", 3),
        *exercise("double", f"def double(x):\n{STUB}", "assert double(2) == 4", 1),
        *exercise("square", f"def square(x):\n{STUB}", "check.relu(square)", 1),
        *exercise("noisy", "import sys", 'print("RuntimeWarning: overflow", file=sys.stderr)'),
    )
    written = path.read_bytes()
    report = check_notebook(path)
    assert path.read_bytes() == written, "check only reads the learner's notebook"
    assert report.problem is None
    status = {e.name: e.status for e in report.exercises}
    assert status == {
        "relu": PASSED,
        "sigmoid": FAILED,
        "double": NOT_STARTED,
        "square": NOT_STARTED,
        "noisy": FAILED,
    }
    assert report.points == (2, 8)
    failed = report.exercises[1]
    assert failed.message.startswith("sigmoid: case 1 of"), failed.message
    assert len(failed.message.splitlines()) <= 5
    assert "not implemented yet" in report.exercises[3].message  # the check's own words
    assert "nbgrader counts that as a failure" in report.exercises[4].message
    assert "RuntimeWarning: overflow" in report.exercises[4].message

    table = format_notebook(report)
    assert table.splitlines()[0] == "01_demo.ipynb: 2 of 8 points"
    assert "  passed       relu     2/2" in table
    assert "  failed       sigmoid  0/3  sigmoid: case 1 of" in table
    assert "  not started  double   0/1" in table
    summary = format_summary([report])
    assert "Points so far: 2 of 8 (1 of 5 exercises passed)." in summary
    assert "Next step: 01_demo.ipynb, exercise `sigmoid` (3 points): fix it." in summary
    assert exit_code([report]) == 1


def test_a_cell_that_loops_is_interrupted_and_the_notebook_goes_on(tmp_path):
    path = write(
        tmp_path / "loop.ipynb",
        *simple("double", "    return 2 * x"),
        *simple("endless", "    while True:\n        pass"),
        *exercise("top_level", "while True:\n    pass", "assert True"),
        *simple("twice", "    return x + x"),
    )
    report = check_notebook(path, cell_timeout=1)
    assert report.problem is None
    assert [e.status for e in report.exercises] == [PASSED, FAILED, FAILED, PASSED]
    assert report.exercises[1].message == (
        "Stopped after 1 s, the limit for one cell. Does a loop never end?"
    )
    assert exit_code([report]) == 1


def test_a_notebook_past_its_limit_is_stopped_with_a_clear_message(tmp_path):
    stubborn = (
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except KeyboardInterrupt:\n        pass"
    )  # ignores the interrupt
    path = write(
        tmp_path / "stubborn.ipynb",
        *simple("double", "    return 2 * x"),
        *exercise("stubborn", stubborn, "assert True"),
        *simple("twice", "    return x + x"),
    )
    report = check_notebook(path, cell_timeout=1, notebook_timeout=4)
    assert report.problem == (
        "The cell of exercise `stubborn` was still running when the notebook reached its "
        "limit of 4 s. Later cells did not run."
    )
    assert [e.status for e in report.exercises] == [PASSED, FAILED, NOT_RUN]
    assert exit_code([report]) == 2


def test_a_kernel_crash_is_reported_and_the_next_notebook_still_runs(tmp_path, capsys):
    write(
        tmp_path / "crash.ipynb",
        *simple("double", "    return 2 * x"),
        *exercise("crash", "import os\nos._exit(1)", "assert True"),
        *simple("twice", "    return x + x"),
    )
    write(tmp_path / "fine.ipynb", *simple("double", "    return 2 * x", points=2))
    code = cli.main(["check", f"--workspace={tmp_path}", "crash", "fine"])
    out = capsys.readouterr().out
    assert code == 2
    assert "! The cell of exercise `crash` made the Python kernel die (crash)." in out
    assert "  not run      twice   0/1  not checked: the notebook stopped before this" in out
    assert "fine.ipynb: 2 of 2 points" in out
    assert "Points so far: 3 of 5 (2 of 4 exercises passed)." in out


def test_an_unreadable_notebook_is_reported_and_the_others_still_run(tmp_path, capsys):
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    write(tmp_path / "fine.ipynb", *simple("double", "    return 2 * x"))
    code = cli.main(["check", f"--workspace={tmp_path}", "broken.ipynb", "fine"])
    out = capsys.readouterr().out
    assert code == 2
    assert "broken.ipynb\n  ! This file could not be read as a notebook" in out
    assert "fine.ipynb: 1 of 1 point" in out
    assert "Next step: repair broken.ipynb (see above)." in out
    assert "`backprop-course update` puts a fresh copy beside it" in out


def test_an_unreadable_notebook_with_a_fresh_copy_beside_points_at_the_copy(tmp_path, capsys):
    """`update` already put a fresh copy beside the damaged notebook: say so, not `update`."""
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    write(tmp_path / "broken.new-0123abcd.ipynb", *simple("double", "    return 2 * x"))
    assert cli.main(["check", f"--workspace={tmp_path}", "broken.ipynb"]) == 2
    out = capsys.readouterr().out
    assert "A fresh copy is already beside it: broken.new-0123abcd.ipynb." in out
    assert "backprop-course update" not in out


def test_all_passed_exits_0_and_says_so(tmp_path, capsys):
    write(tmp_path / "fine.ipynb", *simple("double", "    return 2 * x"))
    assert cli.main(["check", f"--workspace={tmp_path}", str(tmp_path / "fine.ipynb")]) == 0
    assert "Next step: every exercise passes. Well done!" in capsys.readouterr().out


def test_by_default_every_course_notebook_in_the_workspace_runs_in_course_order(tmp_path, capsys):
    write(tmp_path / "02_forward.ipynb", *simple("twice", f"{STUB}"))
    write(tmp_path / "01_neuron.ipynb", *simple("double", "    return 2 * x"))
    write(tmp_path / "01_neuron.new-0123abcd.ipynb", *simple("double", STUB))
    write(tmp_path / "scratch.ipynb", *simple("double", STUB))
    assert cli.main(["check", f"--workspace={tmp_path}"]) == 1
    out = capsys.readouterr().out
    assert out.index("01_neuron.ipynb: 1 of 1 point") < out.index("02_forward.ipynb: 0 of 1 point")
    assert "scratch" not in out
    assert "new-0123abcd" not in out
    assert "Next step: 02_forward.ipynb, exercise `twice` (1 point): start it." in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["nothing-here"], "no notebook 'nothing-here'"),
        ([], "no course notebooks in"),
        (["--timeout=0"], None),
    ],
)
def test_usage_errors_exit_2(argv, says, tmp_path, capsys):
    try:
        code = cli.main(["check", f"--workspace={tmp_path}", *argv])
    except SystemExit as exit:  # argparse
        code = exit.code
    assert code == 2
    if says:
        assert says in capsys.readouterr().err


@pytest.mark.notebook
def test_the_real_first_notebook_through_check(tmp_path, capsys):
    """The student release of 01_neuron with the instructor's relu put in: relu passes, the
    other stubs are 'not started' in the check's own words."""
    course = released_course(tmp_path / "course", ["01_neuron"])
    path = tmp_path / "ws" / "01_neuron.ipynb"
    path.parent.mkdir()
    nb = read(course / "release" / "01_neuron" / "01_neuron.ipynb")
    find_cell(nb, "relu").source = find_cell(source_notebook("01_neuron"), "relu").source
    nbformat.write(nb, path)

    assert cli.main(["check", f"--workspace={path.parent}", "01"]) == 1
    out = capsys.readouterr().out
    assert "  passed       relu     2/2" in out
    assert "  not started  sigmoid  0/2  sigmoid is not implemented yet" in out
    stubs = [line for line in out.splitlines() if line.startswith("  not started")]
    assert len(stubs) >= 2  # how to start is said once; the other stubs say "as above"
    assert all(line.endswith("not implemented yet (as above)") for line in stubs[1:])
    assert "Points so far: 2 of" in out
    assert "Next step: 01_neuron.ipynb, exercise `sigmoid` (2 points): start it." in out
