"""The harness of tests/conftest.py: a notebook missing from the course stops the run, and
``-m nb01`` ... ``-m nb10`` select the tests about one notebook.

The runs here are real pytest processes (collection only, a few seconds each).
"""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from notebook_tools import SOURCE_NOTEBOOKS, missing_notebooks, readme_notebooks

ROOT = Path(__file__).resolve().parents[1]
#: Files with tests about every notebook: the notebooks, their planted mistakes, their checks.
PER_NOTEBOOK = ["tests/test_notebook_contract.py", "tests/test_notebook_mistakes.py",
                "tests/test_autograder_catalogue.py"]
#: A plugin that prints the notebook markers of every collected test: "NB nb06 <node id>".
SHOW_MARKERS = """
def pytest_collection_finish(session):
    for item in session.items:
        for mark in item.iter_markers():
            if mark.name.startswith("nb"):
                print("NB", mark.name, item.nodeid)
"""


def collect(*args: str, plugin_path: Path | None = None) -> subprocess.CompletedProcess:
    """``pytest --collect-only -q`` in a new process, from the repository's root."""
    env = dict(os.environ)
    if plugin_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(plugin_path), str(ROOT / "tests")])
    return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:nbval", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_course_has_the_ten_notebooks_of_the_readme():
    assert len(readme_notebooks()) == 10
    assert missing_notebooks() == []
    assert [path.stem for path in SOURCE_NOTEBOOKS] == readme_notebooks()


def test_a_missing_notebook_is_named(tmp_path):
    names = readme_notebooks()
    for name in names[1:]:  # the course without its first notebook
        (tmp_path / "source" / name).mkdir(parents=True)
        (tmp_path / "source" / name / f"{name}.ipynb").write_text("{}")
    [problem] = missing_notebooks(source=tmp_path / "source")
    assert f"{names[0]}.ipynb is missing (README.md lists it)" in problem
    no_table = tmp_path / "README.md"
    no_table.write_text("# A course\n\nNo table of notebooks.\n")
    assert "lists no notebook" in missing_notebooks(readme=no_table)[0]


def test_a_missing_notebook_stops_the_run(tmp_path):
    """A broken notebook path turns the run red with the reason, not into skips."""
    (tmp_path / "course_without_notebooks.py").write_text(
        "import notebook_tools\n"
        f"notebook_tools.SOURCE = notebook_tools.Path({str(tmp_path / 'nowhere')!r})\n")
    run = collect("-p", "course_without_notebooks", "tests/test_notebook_contract.py",
                  plugin_path=tmp_path)
    assert run.returncode == 4, run.stdout + run.stderr  # pytest's usage error
    assert "the course is incomplete, its notebook tests cannot run" in run.stderr
    assert "01_neuron.ipynb is missing" in run.stderr


def test_marker_nb06_selects_the_tests_about_06_backprop():
    run = collect("-m", "nb06", *PER_NOTEBOOK, "tests/test_autograder_checks_backprop.py",
                  "tests/test_autograder_checks_why_backprop.py")
    assert run.returncode == 0, run.stdout + run.stderr
    selected = [line for line in run.stdout.splitlines() if "::" in line]
    by_file = Counter(line.split("::")[0] for line in selected)
    assert set(by_file) == {*PER_NOTEBOOK, "tests/test_autograder_checks_backprop.py"}
    for line in selected:
        if "test_notebook" in line:
            assert "[06_backprop" in line, line
        if "catalogue" in line:
            assert any(key in line for key in ("backward_231", "backward_tanh_231",
                                               "gradient_errors")), line


def test_every_notebook_marker_selects_its_notebook_mistakes_and_checks(tmp_path):
    (tmp_path / "show_nb_markers.py").write_text(SHOW_MARKERS)
    run = collect("-p", "show_nb_markers", *PER_NOTEBOOK, plugin_path=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    marked = Counter((line.split()[1], line.split()[2].split("::")[0])
                     for line in run.stdout.splitlines() if line.startswith("NB "))
    for notebook in readme_notebooks():
        for path in PER_NOTEBOOK:
            assert marked[f"nb{notebook[:2]}", path] >= 1, (notebook, path)
