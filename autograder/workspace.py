"""The learner's workspace: the student versions of the notebooks, delivered without overwriting."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import COURSE_ROOT, assignments, generate_release


@dataclass
class Delivery:
    """What :func:`deliver` did: notebooks copied in, and those left as the learner has them."""

    added: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def deliver(workspace: Path, course_root: Path = COURSE_ROOT) -> Delivery:
    """Put the student version of every course notebook into ``workspace``.

    A notebook already in the workspace is never touched. The student versions are built by
    nbgrader from the sources in a temporary copy of the course, so the sources with their
    solutions never reach the workspace and the course folder stays clean.
    """
    workspace.mkdir(parents=True, exist_ok=True)
    delivery = Delivery()
    names = assignments(course_root)
    missing = [name for name in names if not (workspace / f"{name}.ipynb").exists()]
    delivery.kept = [workspace / f"{name}.ipynb" for name in names if name not in missing]
    if not missing:
        return delivery
    with tempfile.TemporaryDirectory(prefix="backprop-release-") as tmp:
        build = Path(tmp)
        shutil.copytree(course_root / "source", build / "source")
        shutil.copy2(course_root / "nbgrader_config.py", build)
        for folder in generate_release(build, missing):
            for notebook in sorted(folder.glob("*.ipynb")):
                target = workspace / notebook.name
                partial = target.with_suffix(".ipynb.partial")
                shutil.copy2(notebook, partial)
                partial.replace(target)  # atomic: never a half-written notebook
                delivery.added.append(target)
    return delivery
