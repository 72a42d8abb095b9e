"""What every test shares: the check that the course's notebooks are all there, one marker per
notebook, and the course folders many tests start from.

- A notebook that the README's table lists but ``course/source`` lacks stops the whole run
  with a usage error naming it. Otherwise the tests parametrized over the notebooks would
  shrink or skip, and the run would stay green.
- ``-m nb01`` ... ``-m nb10`` select the tests about one notebook. A test gets a notebook's
  marker when one of its parameters names the notebook, or one of its exercises, checks,
  catalogue keys or explorers (``notebook_tools.notebook_subjects``). Its file can name the
  notebook too: a module named after the notebook's topic
  (``test_autograder_checks_backprop.py``: 06_backprop), the tests of the ``refimpl.viz``
  module of one of its explorers (``test_viz_graph.py``: GraphExplorer, 05_chain_rule), or the
  notebook itself under ``--nbval``.
- Under ``--nbval`` a test cell must pass although it is tagged ``raises-exception``: the
  conftest.py at the repository's root says why.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from notebook_tools import missing_notebooks, notebook_subjects

#: Test arguments (and attributes of argument objects) that name what a test is about. Other
#: strings say how a test runs, not what it is about (``loss="mse"`` in a test of refimpl).
SUBJECT_NAMES = ("name", "exercise", "key", "assignment", "notebook")
NOTEBOOK_NAME = re.compile(r"\d\d_\w+")


def pytest_sessionstart(session):
    """Stop the run before it starts when a notebook of the README is missing."""
    problems = missing_notebooks()
    if problems:
        raise pytest.UsageError("the course is incomplete, its notebook tests cannot run:\n  "
                                + "\n  ".join(problems))


# ---------------------------------------------------------------------------------------
# Markers per notebook
# ---------------------------------------------------------------------------------------


def notebook_marker(notebook: str) -> str:
    """``06_backprop`` -> ``nb06`` (registered in pyproject.toml)."""
    return f"nb{notebook[:2]}"


def parameter_names(argument: str, value) -> set[str]:
    """What a test parameter names: a string (of a ``SUBJECT_NAMES`` argument, or a notebook's
    name), a path's stem, a class's name, or the ``SUBJECT_NAMES`` attributes of an object."""
    if isinstance(value, str):
        return {value} if argument in SUBJECT_NAMES or NOTEBOOK_NAME.fullmatch(value) else set()
    if isinstance(value, Path):
        return {value.stem}
    if isinstance(value, type):
        return {value.__name__}
    return {v for v in (getattr(value, a, None) for a in SUBJECT_NAMES) if isinstance(v, str)}


def explorer_test_modules(subjects: dict[str, set[str]]) -> dict[str, str]:
    """``test_viz_graph`` -> ``05_chain_rule``: the tests of each explorer's viz module."""
    from refimpl import viz

    modules = {}
    for notebook, names in subjects.items():
        for name in names:
            if name.endswith("Explorer") and hasattr(viz, name):
                modules["test_viz_" + getattr(viz, name).__module__.rsplit(".", 1)[-1]] = notebook
    return modules


def topic_notebook(module: str, subjects: dict[str, set[str]]) -> str | None:
    """The notebook whose topic ends the module's name; the longest topic wins
    (``test_x_why_backprop``: 08_why_backprop, not 06_backprop)."""
    topics = {notebook.split("_", 1)[1]: notebook for notebook in subjects}
    ending = [topic for topic in topics if module.endswith("_" + topic)]
    return topics[max(ending, key=len)] if ending else None


def item_notebooks(item, subjects: dict[str, set[str]], modules: dict[str, str]) -> set[str]:
    """The notebooks a collected test is about (see the docstring)."""
    names = set()
    for argument, value in getattr(getattr(item, "callspec", None), "params", {}).items():
        names |= parameter_names(argument, value)
    # A notebook named outright wins over an exercise two notebooks share (predict).
    notebooks = (names & subjects.keys()
                 or {notebook for notebook, subject in subjects.items() if names & subject})
    module = item.path.stem
    return notebooks | {n for n in (modules.get(module), topic_notebook(module, subjects)) if n}


def pytest_collection_modifyitems(config, items):
    """Mark every test with the notebooks it is about (``nb01`` ... ``nb10``)."""
    subjects = notebook_subjects()
    modules = {}
    if any(item.path.stem.startswith("test_viz_") for item in items):
        modules = explorer_test_modules(subjects)  # imports refimpl.viz: only when needed
    for item in items:
        for notebook in sorted(item_notebooks(item, subjects, modules)):
            item.add_marker(notebook_marker(notebook))


# ---------------------------------------------------------------------------------------
# Course folders
# ---------------------------------------------------------------------------------------


@pytest.fixture
def course(tmp_path) -> Path:
    """An empty course folder. A module whose tests need a filled one defines its own."""
    root = tmp_path / "course"
    root.mkdir()
    return root


@pytest.fixture(scope="session")
def gradebook_course_built(tmp_path_factory) -> Path:
    """The hand-built course of ``gradebook_tools``, built once; tests use copies of it."""
    from gradebook_tools import build_course  # imports nbgrader: only for the tests that need it

    return build_course(tmp_path_factory.mktemp("gradebook"))


@pytest.fixture
def gradebook_course(gradebook_course_built, tmp_path) -> Path:
    """A private copy of the hand-built course of ``gradebook_tools`` (tests may change it)."""
    return Path(shutil.copytree(gradebook_course_built, tmp_path / "course"))
