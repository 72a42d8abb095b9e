"""nbval's rule for the course's check cells, wherever pytest runs a notebook from this folder.

Under ``--nbval`` a test cell must pass, although it carries the ``raises-exception`` tag. The tag
is there for the learner: Run All goes on past an unfinished exercise. nbval reads the same tag
as "this cell may raise", so without this rule a source notebook whose solution is broken would
pass (``tests/test_run_all.py`` proves that it fails). It lives here, at the root, so that
``pytest --nbval course/source/06_backprop/06_backprop.ipynb`` is as strict as ``make test``.
"""

from __future__ import annotations

from nbgrader.utils import is_grade, is_solution


def pytest_collection_modifyitems(config, items):
    for item in items:
        require_checks_to_pass(item)


def require_checks_to_pass(item) -> None:
    """Make nbval fail ``item`` if it is a test cell that raises, whatever its tags say.

    nbval (0.11, ``nbval/plugin.py``) turns a ``raises-exception`` tag into the cell option
    ``check_exception`` when it collects the cell, and reads the option when the cell runs: an
    error then neither fails the cell nor is required. The option is switched off here, between
    the two, for test cells only: another cell of the course may still be tagged to raise.
    """
    if item.path.suffix != ".ipynb":
        return
    cell = getattr(item, "cell", None)  # nbval's IPyNbCell: one code cell of the notebook
    options = getattr(item, "options", None)
    if (cell is not None and options is not None and cell.get("cell_type") == "code"
            and is_grade(cell) and not is_solution(cell)):
        options["check_exception"] = False
