"""``generate_release(gradebook=False)``, the learner's fast release, is nbgrader's release."""

from __future__ import annotations

import shutil

from autograder.course import COURSE_ROOT, generate_release


def test_a_release_without_gradebook_is_the_same_release_byte_for_byte(tmp_path):
    released = {}
    for gradebook in (True, False):
        course = tmp_path / f"gradebook-{gradebook}"
        shutil.copytree(COURSE_ROOT / "source" / "01_neuron", course / "source" / "01_neuron")
        shutil.copy2(COURSE_ROOT / "nbgrader_config.py", course)
        (folder,) = generate_release(course, gradebook=gradebook)
        released[gradebook] = {p.name: p.read_bytes() for p in folder.glob("*.ipynb")}
        assert (course / "gradebook.db").exists() == gradebook
    assert released[True] == released[False]
    assert list(released[True]) == ["01_neuron.ipynb"]
