"""The set-up contract: pyproject.toml, environment.yml, README and .ci/run agree."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_requirements() -> dict[str, str]:
    """Runtime and test requirements of pyproject.toml as name -> specifier."""
    project = pyproject()["project"]
    lines = project["dependencies"] + project["optional-dependencies"]["test"]
    return {normalise(req.name): str(req.specifier) for req in map(Requirement, lines)}


def conda_requirements() -> tuple[dict[str, str], str]:
    """environment.yml's packages (conda and pip sections) as name -> specifier, and python's."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    found: dict[str, str] = {}
    python = ""
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            lines = [line for line in entry["pip"] if not line.startswith("-e")]
        else:
            name, _, spec = entry.partition(" ")
            if name == "python":
                python = spec.replace(" ", "")
                continue
            if name == "pip":
                continue
            lines = [name + spec.replace(" ", "")]
        for req in map(Requirement, lines):
            found[normalise(req.name)] = str(req.specifier)
    return found, python


def test_environment_yml_matches_pyproject():
    conda, python = conda_requirements()
    pip = pip_requirements()
    assert conda == pip, (
        "environment.yml and pyproject.toml list different packages or version ranges:\n"
        f"only in pyproject.toml: {sorted(set(pip.items()) - set(conda.items()))}\n"
        f"only in environment.yml: {sorted(set(conda.items()) - set(pip.items()))}"
    )
    assert python == pyproject()["project"]["requires-python"]


def test_environment_yml_uses_conda_forge_and_installs_the_project():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    pip_section = next(entry["pip"] for entry in env["dependencies"] if isinstance(entry, dict))
    assert "-e ." in pip_section


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```[a-z]*\n(.*?)```", text, re.S)
    assert block, "README.md has no code block"
    lines = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def test_readme_opens_with_exactly_two_commands():
    commands = readme_commands()
    assert len(commands) == 2, commands
    first, second = commands
    assert "lab" in first
    assert "test" in second


@pytest.mark.parametrize("target", ["lab", "test"])
def test_readme_commands_are_makefile_targets(target):
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no '{target}' target"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    _, test_command = readme_commands()
    assert test_command in ci
    assert "set -euo pipefail" in ci


def test_console_script_points_at_the_cli():
    assert pyproject()["project"]["scripts"]["backprop-course"] == "autograder.cli:main"


def test_course_source_holds_only_notebooks():
    """nbgrader copies every file of course/source/<assignment>/ into the student release."""
    source = ROOT / "course" / "source"
    strays = [
        path.relative_to(ROOT)
        for path in source.glob("*/*")
        if path.suffix != ".ipynb" and path.name != ".ipynb_checkpoints"
    ]
    assert not strays, f"non-notebook files would leak into the student release: {strays}"
