"""Delivering and updating the learner's workspace never loses their work.

The anchor is nbgitpuller's promise: an automatic update never loses the user's changes. Most
tests deliver one nbgrader-built release of a tiny two-notebook course and a "version 2" made
from it by editing its JSON (a course update without a second nbgrader build).
"""

import json
import os
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.course import COURSE_ROOT
from autograder.learner import workspace as ws_module
from autograder.learner.workspace import (
    MANIFEST,
    STATE_DIR,
    Release,
    build_release,
    cells_digest,
    deliver,
    read_manifest,
    workspace_notebooks,
)
from notebook_tools import cell_metadata, exercise_cells, find_cell


def write_course(course, exercises=(("00_demo", "double", 2), ("01_more", "triple", 3))):
    """A course whose solutions (marked SECRET) must never reach a learner."""
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy2(COURSE_ROOT / "nbgrader_config.py", course)
    for assignment, name, factor in exercises:
        (course / "source" / assignment).mkdir(parents=True)
        solution = (
            f"def {name}(x):\n    ### BEGIN SOLUTION\n    return {factor} * x  # SECRET\n"
            "    ### END SOLUTION"
        )
        nb = new_notebook(
            cells=[
                new_markdown_cell(f"# {assignment}, Version 1",
                                  metadata=cell_metadata(f"{name}_intro")),
                *exercise_cells(name, solution, f'"""Check."""\nassert {name}(2) == {2 * factor}'),
            ]
        )
        nbformat.write(nb, course / "source" / assignment / f"{assignment}.ipynb")
    return course


@pytest.fixture
def tiny_course(tmp_path):
    return write_course(tmp_path / "course")


@pytest.fixture(scope="module")
def v1(tmp_path_factory):
    """The student release of the tiny course, built once by nbgrader."""
    return build_release(write_course(tmp_path_factory.mktemp("course")))


@pytest.fixture(scope="module")
def v2(v1):
    """The next course version: every notebook's introduction changed."""
    return Release(
        "v2",
        {name: data.replace(b"Version 1", b"Version 2") for name, data in v1.notebooks.items()},
    )


def edit_cell(path, grade_id, source):
    nb = nbformat.read(path, as_version=4)
    find_cell(nb, grade_id).source = source
    nbformat.write(nb, path)


def learner_edits(path):
    """Edit a solution, a markdown cell, and add a cell of notes: the learner's work."""
    edit_cell(path, "double", "def double(x):\n    return x + x  # my answer")
    edit_cell(path, "double_intro", "# 00_demo, Version 1\n\nMy own note on doubling.")
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(new_code_cell("scratch = double(21)  # my experiment"))
    nbformat.write(nb, path)
    return path.read_bytes()


def everything(folder):
    """Every file in a folder (recursively) with its bytes, to compare before and after."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "lock"
    }


# ---------------------------------------------------------------------------------------
# First delivery and idempotence
# ---------------------------------------------------------------------------------------


def test_first_delivery_adds_student_versions_and_a_second_run_builds_nothing(
    tiny_course, tmp_path, monkeypatch
):
    workspace = tmp_path / "ws"
    delivery = deliver(workspace, tiny_course)
    assert [path.name for path in delivery.added] == ["00_demo.ipynb", "01_more.ipynb"]
    assert delivery.messages == ["Added 00_demo.ipynb.", "Added 01_more.ipynb."]
    for name in ("00_demo.ipynb", "01_more.ipynb"):
        text = (workspace / name).read_text()
        assert "raise NotImplementedError()" in text
        assert "SECRET" not in text
    assert "SECRET" not in "".join(p.read_text() for p in workspace.rglob("*.json"))
    assert not list(workspace.rglob("*.partial"))
    assert not (tiny_course / "release").exists(), "delivery must not build inside the course"
    manifest = read_manifest(workspace)
    assert set(manifest["notebooks"]) == {"00_demo.ipynb", "01_more.ipynb"}

    def no_build(*args, **kwargs):
        raise AssertionError("a run with nothing to do must not build the release")

    monkeypatch.setattr(ws_module, "generate_release", no_build)
    before = everything(workspace)
    again = deliver(workspace, tiny_course)
    assert again.messages == again.added == again.updated == []
    assert [p.name for p in again.kept] == ["00_demo.ipynb", "01_more.ipynb"]
    assert everything(workspace) == before, "a second run changes nothing at all"

    (workspace / "01_more.ipynb").unlink()  # a missing notebook comes from the cache
    restored = deliver(workspace, tiny_course)
    assert [p.name for p in restored.added] == ["01_more.ipynb"]
    assert everything(workspace) == before


def test_a_course_without_notebooks_delivers_nothing(course, tmp_path):
    delivery = deliver(tmp_path / "ws", course)
    assert delivery.added == delivery.kept == delivery.messages == []
    assert (tmp_path / "ws").is_dir()


# ---------------------------------------------------------------------------------------
# Updates
# ---------------------------------------------------------------------------------------


def test_an_untouched_notebook_is_updated_in_place(v1, v2, tmp_path):
    workspace = tmp_path / "ws"
    deliver(workspace, release=v1)
    delivery = deliver(workspace, release=v2)
    assert [p.name for p in delivery.updated] == ["00_demo.ipynb", "01_more.ipynb"]
    assert delivery.beside == []
    assert (workspace / "00_demo.ipynb").read_bytes() == v2.notebooks["00_demo.ipynb"]
    assert "Updated 00_demo.ipynb to the new version (you had not changed it)." in delivery.messages
    assert list(workspace.glob("*.new-*")) == []


def test_a_notebook_that_was_only_run_counts_as_untouched(v1, v2, tmp_path):
    workspace = tmp_path / "ws"
    deliver(workspace, release=v1)
    path = workspace / "00_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = index
            cell.outputs = [new_output("stream", name="stdout", text="ran\n")]
    nbformat.write(nb, path)
    assert cells_digest(path.read_bytes()) == cells_digest(v1.notebooks["00_demo.ipynb"])
    delivery = deliver(workspace, release=v2)
    assert path in delivery.updated
    assert path.read_bytes() == v2.notebooks["00_demo.ipynb"]


def test_new_cell_settings_reach_an_untouched_notebook_and_its_outputs_stay(v1, tmp_path):
    """A course update that changes only cells' metadata (a tag that lets Run All go past a
    failed check) reaches a notebook the learner ran but did not edit; their outputs stay."""
    tagged = {}
    for name, data in v1.notebooks.items():
        nb = nbformat.reads(data.decode(), as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
                cell.metadata["tags"] = ["raises-exception"]
        tagged[name] = nbformat.writes(nb).encode()
    v1_tags = Release("v1-tags", tagged)
    workspace = tmp_path / "ws"
    deliver(workspace, release=v1)
    path = workspace / "00_demo.ipynb"
    nb = nbformat.read(path, as_version=4)
    ran = next(cell for cell in nb.cells if cell.cell_type == "code")
    ran.outputs = [new_output("stream", name="stdout", text="ran\n")]
    nbformat.write(nb, path)

    delivery = deliver(workspace, release=v1_tags)
    assert path in delivery.updated
    assert "Updated the cell settings of 00_demo.ipynb (your outputs are kept)." in (
        delivery.messages)
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert [c.metadata for c in nb.cells] == [
        c.metadata for c in nbformat.reads(tagged["00_demo.ipynb"].decode(), 4).cells]
    assert next(c for c in nb.cells if c.cell_type == "code").outputs[0]["text"] == "ran\n"
    again = deliver(workspace, release=v1_tags)
    assert again.updated == []
    assert again.messages == []


def test_an_edited_notebook_is_kept_and_the_new_version_put_beside_it(v1, v2, tmp_path):
    """nbgitpuller's promise: deliver, edit, deliver a new version: every edit survives."""
    workspace = tmp_path / "ws"
    deliver(workspace, release=v1)
    path = workspace / "00_demo.ipynb"
    edited = learner_edits(path)

    delivery = deliver(workspace, release=v2)
    assert path.read_bytes() == edited, "the learner's notebook must not change by one byte"
    sources = [cell.source for cell in nbformat.read(path, as_version=4).cells]
    assert "def double(x):\n    return x + x  # my answer" in sources
    assert "# 00_demo, Version 1\n\nMy own note on doubling." in sources
    assert "scratch = double(21)  # my experiment" in sources

    [beside] = delivery.beside
    assert beside.name == f"00_demo.new-{ws_module.sha256(v2.notebooks['00_demo.ipynb'])[:8]}.ipynb"
    assert beside.read_bytes() == v2.notebooks["00_demo.ipynb"]
    assert any(
        "Kept your 00_demo.ipynb as it is (you changed it)" in m and beside.name in m
        for m in delivery.messages
    ), delivery.messages
    assert (workspace / "01_more.ipynb").read_bytes() == v2.notebooks["01_more.ipynb"]

    before = everything(workspace)
    again = deliver(workspace, release=v2)
    assert again.messages == [], "the learner is told once"
    assert everything(workspace) == before

    v3 = Release("v3", {n: d.replace(b"Version 2", b"Version 3") for n, d in v2.notebooks.items()})
    third = deliver(workspace, release=v3)
    assert path.read_bytes() == edited
    [newer] = third.beside
    assert newer.read_bytes() == v3.notebooks["00_demo.ipynb"]
    assert not beside.exists(), "the older copy the learner never touched is replaced"
    assert any(beside.name in m for m in third.messages)


def test_an_edited_notebook_without_a_new_version_is_left_alone(v1, tmp_path):
    workspace = tmp_path / "ws"
    deliver(workspace, release=v1)
    edited = learner_edits(workspace / "00_demo.ipynb")
    rebuilt = Release("v1-rebuilt", dict(v1.notebooks))  # the sources changed elsewhere
    delivery = deliver(workspace, release=rebuilt)
    assert delivery.messages == delivery.beside == []
    assert (workspace / "00_demo.ipynb").read_bytes() == edited


def test_a_deleted_notebook_is_delivered_again_and_the_command_says_so(v1, v2, tmp_path):
    workspace = tmp_path / "ws"
    deliver(workspace, release=v1)
    (workspace / "01_more.ipynb").unlink()
    delivery = deliver(workspace, release=v2)
    assert [p.name for p in delivery.added] == ["01_more.ipynb"]
    assert "01_more.ipynb was missing (deleted?): delivered a fresh copy." in delivery.messages
    assert (workspace / "01_more.ipynb").read_bytes() == v2.notebooks["01_more.ipynb"]


@pytest.mark.parametrize("release_name", ["v1", "v2"])
def test_a_corrupt_notebook_is_kept_untouched_with_a_fresh_copy_beside(
    release_name, v1, v2, tmp_path
):
    release = {"v1": v1, "v2": v2}[release_name]
    workspace = tmp_path / "ws"
    deliver(workspace, release=v1)
    path = workspace / "00_demo.ipynb"
    damaged = path.read_bytes()[:200]  # e.g. a save cut short by a full disk
    path.write_bytes(damaged)

    delivery = deliver(workspace, release=release)
    assert path.read_bytes() == damaged
    [beside] = delivery.beside
    assert beside.read_bytes() == release.notebooks["00_demo.ipynb"]
    assert any(
        "00_demo.ipynb could not be read as a notebook" in m
        and "kept untouched" in m
        and beside.name in m
        for m in delivery.messages
    ), delivery.messages

    again = deliver(workspace, release=release)  # a reminder, nothing rewritten
    assert path.read_bytes() == damaged
    assert any(beside.name in m for m in again.messages)
    assert len(list(workspace.glob("00_demo.new-*.ipynb"))) == 1


# ---------------------------------------------------------------------------------------
# Interrupted updates and a damaged record
# ---------------------------------------------------------------------------------------


def test_leftover_partial_files_are_removed_with_a_message(v1, v2, tmp_path):
    workspace = tmp_path / "ws"
    deliver(workspace, release=v1)
    (workspace / "00_demo.ipynb.partial").write_bytes(v2.notebooks["00_demo.ipynb"][:100])
    (workspace / STATE_DIR / "manifest.json.partial").write_text("{")
    (workspace / "notes.ipynb.partial").write_text("not ours")
    delivery = deliver(workspace, release=v2)
    assert "Removed 00_demo.ipynb.partial, left over from an interrupted update." in (
        delivery.messages
    )
    assert "Removed manifest.json.partial, left over from an interrupted update." in (
        delivery.messages
    )
    assert (workspace / "notes.ipynb.partial").exists(), "only our own leftovers are removed"
    assert (workspace / "00_demo.ipynb").read_bytes() == v2.notebooks["00_demo.ipynb"]


def test_an_update_interrupted_before_the_manifest_was_written_recovers(v1, v2, tmp_path):
    workspace = tmp_path / "ws"
    deliver(workspace, release=v1)
    # The notebook was replaced, then the run stopped before recording it.
    (workspace / "00_demo.ipynb").write_bytes(v2.notebooks["00_demo.ipynb"])
    delivery = deliver(workspace, release=v2)
    assert delivery.beside == []
    assert any("00_demo.ipynb already is the current version" in m for m in delivery.messages)
    assert read_manifest(workspace)["release"] == "v2"


@pytest.mark.parametrize("damage", ["garbage", "missing"])
def test_a_damaged_or_missing_manifest_keeps_every_changed_notebook(damage, v1, v2, tmp_path):
    workspace = tmp_path / "ws"
    deliver(workspace, release=v1)
    edited = learner_edits(workspace / "00_demo.ipynb")
    manifest = workspace / STATE_DIR / MANIFEST
    if damage == "garbage":
        manifest.write_text('{"format": 1, "notebooks": [')
    else:
        manifest.unlink()
    delivery = deliver(workspace, release=v2)
    assert (workspace / "00_demo.ipynb").read_bytes() == edited
    # Without a record, an unchanged v1 notebook cannot be told from an edited one: both are
    # kept, each with the new version beside it.
    assert (workspace / "01_more.ipynb").read_bytes() == v1.notebooks["01_more.ipynb"]
    assert [p.name for p in delivery.beside] == [
        f"{name.removesuffix('.ipynb')}.new-{ws_module.sha256(data)[:8]}.ipynb"
        for name, data in v2.notebooks.items()
    ]
    if damage == "garbage":
        assert any("was damaged and has been rebuilt" in m for m in delivery.messages)
    assert read_manifest(workspace)["release"] == "v2"


def test_no_interruption_at_any_point_loses_the_learners_work(v1, v2, tmp_path, monkeypatch):
    """Stop an update at every file replacement in turn; the next run must recover."""
    real_replace = os.replace
    template = tmp_path / "template"
    deliver(template, release=v1)
    edited = learner_edits(template / "00_demo.ipynb")

    calls = []
    monkeypatch.setattr(os, "replace", lambda *a: (calls.append(a), real_replace(*a)))
    deliver(shutil.copytree(template, tmp_path / "count"), release=v2)
    n_writes = len(calls)
    assert n_writes >= 3  # the untouched notebook, the copy beside, the manifest

    for stop_at in range(n_writes):
        workspace = shutil.copytree(template, tmp_path / f"stop{stop_at}")
        done = []

        def replace(src, dst, done=done, stop_at=stop_at):
            if len(done) == stop_at:
                raise OSError("power cut")
            done.append(dst)
            real_replace(src, dst)

        monkeypatch.setattr(os, "replace", replace)
        with pytest.raises(OSError, match="power cut"):
            deliver(workspace, release=v2)
        assert (workspace / "00_demo.ipynb").read_bytes() == edited
        monkeypatch.setattr(os, "replace", real_replace)

        deliver(workspace, release=v2)
        assert (workspace / "00_demo.ipynb").read_bytes() == edited
        assert (workspace / "01_more.ipynb").read_bytes() == v2.notebooks["01_more.ipynb"]
        [beside] = workspace.glob("00_demo.new-*.ipynb")
        assert beside.read_bytes() == v2.notebooks["00_demo.ipynb"]
        assert not list(workspace.rglob("*.partial"))
        assert read_manifest(workspace)["release"] == "v2"


# ---------------------------------------------------------------------------------------
# Small pieces
# ---------------------------------------------------------------------------------------


def test_cells_digest_ignores_outputs_and_rejects_what_is_not_a_notebook():
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    ran = new_notebook(
        cells=[
            new_code_cell(
                "x = 1",
                execution_count=3,
                outputs=[new_output("stream", name="stdout", text="1\n")],
            )
        ]
    )
    edited = new_notebook(cells=[new_code_cell("x = 2")])
    digest = cells_digest(nbformat.writes(nb).encode())
    assert digest == cells_digest(nbformat.writes(ran).encode())
    assert digest != cells_digest(nbformat.writes(edited).encode())
    for junk in (b"", b"{", b"[]", b'{"cells": 3}', b'{"cells": [{"source": "x"}]}', b"\xff"):
        assert cells_digest(junk) is None


def test_workspace_notebooks_are_the_delivered_ones_in_course_order(v1, tmp_path):
    workspace = tmp_path / "ws"
    deliver(workspace, release=v1)
    (workspace / "00_demo.new-0123abcd.ipynb").write_text("{}")
    (workspace / "scratch.ipynb").write_text("{}")
    names = [p.name for p in workspace_notebooks(workspace, tmp_path / "no-course")]
    assert names == ["00_demo.ipynb", "01_more.ipynb"]
    assert json.loads((workspace / STATE_DIR / MANIFEST).read_text())["format"] == 1
