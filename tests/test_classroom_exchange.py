"""The classroom package without a JupyterHub: release, collect and feedback through nbgrader's
exchange (``autograder.classroom.exchange``), the hub's configuration (``hub``), the recipe
``course/jupyterhub_config.py`` and the instructor's new command-line options.

Students are played by system users ("nobody", "daemon", "bin"): a submission is a folder in
the exchange's inbound written as nbgrader's submit writes it, then handed to its student with
``os.chown``; so the tests that submit need root. ``tests/test_classroom_hub.py`` runs the same
path in a real hub and browser.
"""

from __future__ import annotations

import errno
import json
import math
import os
import pwd
import re
import secrets
import shutil
import stat
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from hub_tools import student_python, system_python
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder import cli
from autograder.classroom import exchange as exchange_module
from autograder.classroom import hub
from autograder.classroom.exchange import (
    Exchange,
    ExchangeError,
    collect_from_exchange,
    exchange_of,
    layout_problems,
    release,
    release_feedback,
)
from autograder.course import COURSE_ROOT
from autograder.instructor.collect import SECRET_FILE, TIMESTAMP_FILE, TIMESTAMP_FORMAT
from autograder.learner.progress import CELL_TIMEOUT
from notebook_tools import copy_course, learner_notebook

pytestmark = pytest.mark.notebook

ASSIGNMENT = "01_neuron"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
COURSE_ID = "backprop-course"
EXCHANGE_ENV = "BACKPROP_COURSE_EXCHANGE"
#: A system interpreter without the course.
SHARED_PYTHON = Path("/usr/bin/python3")

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="plays students by giving files to system users (os.chown): "
    "needs root")


# ---------------------------------------------------------------------------------------
# Courses, exchanges, submissions
# ---------------------------------------------------------------------------------------


def private_course(destination: Path, monkeypatch) -> Path:
    """A course copy holding ``ASSIGNMENT``, mode 700, whose exchange is ``exchange`` beside it."""
    course = copy_course(destination / "course", [ASSIGNMENT])
    os.chmod(course, 0o700)
    monkeypatch.setenv(EXCHANGE_ENV, str(destination / "exchange"))
    return course


@pytest.fixture(scope="module")
def released_template(tmp_path_factory) -> Path:
    """A folder with ``course`` released to ``exchange`` once (about 2 s); tests copy it."""
    base = tmp_path_factory.mktemp("released")
    with pytest.MonkeyPatch.context() as monkeypatch:
        release(private_course(base, monkeypatch), [ASSIGNMENT])
    return base


@pytest.fixture
def course(released_template, tmp_path, monkeypatch) -> Path:
    """A private copy of the released course and its exchange."""
    shutil.copytree(released_template / "exchange", tmp_path / "exchange")
    shutil.copytree(released_template / "course", tmp_path / "course")
    monkeypatch.setenv(EXCHANGE_ENV, str(tmp_path / "exchange"))
    return tmp_path / "course"


@pytest.fixture
def fresh_course(tmp_path, monkeypatch) -> Path:
    """A private course copy, never released: its exchange root does not exist yet."""
    return private_course(tmp_path, monkeypatch)


@pytest.fixture
def exchange(course) -> Exchange:
    return exchange_of(course)


@pytest.fixture(scope="module")
def solved(released_template) -> bytes:
    """A notebook with every exercise solved."""
    return json.dumps(learner_notebook(released_template / "course", ASSIGNMENT)).encode()


@pytest.fixture(scope="module")
def blank(released_template) -> bytes:
    """The student version as fetched: nothing solved."""
    return (released_template / "course" / "release" / ASSIGNMENT / NOTEBOOK).read_bytes()


def give(path: Path, user: str) -> None:
    """Make ``user`` the owner of ``path`` and of everything in it (links themselves)."""
    account = pwd.getpwnam(user)
    inside = path.rglob("*") if path.is_dir() and not path.is_symlink() else []
    for name in [path, *inside]:
        os.chown(name, account.pw_uid, account.pw_gid, follow_symlinks=False)


def submit(exchange: Exchange, student: str, notebook: bytes, *, seconds: float = 0,
           owner: str | None = None, secret: str | None = None) -> Path:
    """A submission as nbgrader's submit writes it, claimed ``seconds`` from now (within
    ``CLOCK_SLACK`` of its files' time: believed), owned by ``owner`` (default the student)."""
    claimed = (datetime.now(UTC) + timedelta(seconds=seconds)).strftime(TIMESTAMP_FORMAT)
    folder = exchange.inbound / f"{student}+{ASSIGNMENT}+{claimed}+{secrets.token_urlsafe(9)}"
    folder.mkdir()
    (folder / NOTEBOOK).write_bytes(notebook)
    (folder / TIMESTAMP_FILE).write_text(claimed)
    (folder / SECRET_FILE).write_text(secret or secrets.token_hex(64))
    give(folder, owner or student)
    return folder


def submitted(course: Path, student: str, name: str = NOTEBOOK) -> bytes:
    return (course / "submitted" / student / ASSIGNMENT / name).read_bytes()


def load_config(path: Path) -> Config:
    """Run a Jupyter config file (``c = get_config()`` ...) and return what it set."""
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------------------------------
# Collect
# ---------------------------------------------------------------------------------------


@needs_root
def test_the_newest_submission_is_imported_with_its_timestamp_and_secret(course, exchange,
                                                                         solved, blank):
    newest = submit(exchange, "nobody", solved, seconds=2, secret="s3cret")
    submit(exchange, "nobody", blank, seconds=1)
    assert collect_from_exchange(course).lines() == [f"imported nobody {ASSIGNMENT}"]
    assert submitted(course, "nobody") == solved
    assert submitted(course, "nobody", SECRET_FILE) == b"s3cret"
    assert submitted(course, "nobody", TIMESTAMP_FILE) == (newest / TIMESTAMP_FILE).read_bytes()


@needs_root
@pytest.mark.parametrize("changed", ["notebook", "secret only"])
def test_a_newer_submission_replaces_the_collected_one_which_is_kept(course, exchange, solved,
                                                                     blank, changed):
    """A new secret alone replaces too: the student's fetch_feedback looks for the feedback
    under the secret of their latest submit."""
    submit(exchange, "nobody", blank, seconds=1, secret="first")
    collect_from_exchange(course)
    newer = solved if changed == "notebook" else blank
    submit(exchange, "nobody", newer, seconds=2, secret="second")
    result = collect_from_exchange(course)
    kept = course / "imports" / "replaced"
    assert result.backup.parent == kept
    assert result.lines() == [f"replaced nobody {ASSIGNMENT} (the old version is in "
                              f"{result.backup / 'nobody' / ASSIGNMENT})"]
    assert submitted(course, "nobody") == newer
    assert submitted(course, "nobody", SECRET_FILE) == b"second"
    old = result.backup / "nobody" / ASSIGNMENT
    assert (old / SECRET_FILE).read_bytes() == b"first"
    assert (old / NOTEBOOK).exists() == (changed == "notebook")
    assert collect_from_exchange(course).lines() == [f"unchanged nobody {ASSIGNMENT}"]


@needs_root
@pytest.mark.parametrize("trust_names", [False, True])
def test_a_submission_in_another_students_name(course, exchange, solved, blank, trust_names):
    """Refused unless --trust-names: nobody's own earlier submission is what counts."""
    submit(exchange, "nobody", solved, seconds=1)
    forged = submit(exchange, "nobody", blank, seconds=2, owner="daemon")
    result = collect_from_exchange(course, trust_names=trust_names)
    assert result.imported == [("nobody", ASSIGNMENT)]
    if trust_names:
        assert result.warnings == [
            "--trust-names: the student ids come from the submissions' names unchecked"]
        assert result.errors == []
        assert submitted(course, "nobody") == blank
    else:
        assert result.errors == [
            f"inbound/{forged.name}: claims to be nobody's submission but belongs to daemon; "
            "refused (only the student's own user can submit in their name)"]
        assert submitted(course, "nobody") == solved


def owned_by_daemon(folder: Path, course: Path, monkeypatch) -> None:
    give(folder / NOTEBOOK, "daemon")


def linked_to_the_source(folder: Path, course: Path, monkeypatch) -> None:
    (folder / NOTEBOOK).unlink()
    (folder / NOTEBOOK).symlink_to(course / "source" / ASSIGNMENT / NOTEBOOK)
    give(folder, "nobody")


def over_the_size_cap(folder: Path, course: Path, monkeypatch) -> None:
    monkeypatch.setattr(exchange_module, "MAX_NOTEBOOK_BYTES", 2**20)
    with open(folder / NOTEBOOK, "ab") as notebook:
        notebook.write(b" " * 2 * 2**20)  # still notebook JSON, 2 MB


@needs_root
@pytest.mark.parametrize(("tamper", "reason"), [
    (owned_by_daemon, "belongs to daemon, not nobody"),
    (linked_to_the_source, f"cannot be read ({os.strerror(errno.ELOOP)})"),
    (over_the_size_cap, None),
], ids=["owned by another user", "a link", "too large"])
def test_a_notebook_that_is_not_the_students_own_file_is_refused(course, exchange, solved,
                                                                 monkeypatch, tamper, reason):
    folder = submit(exchange, "nobody", solved)
    tamper(folder, course, monkeypatch)
    result = collect_from_exchange(course)
    where = f"inbound/{folder.name}"
    reason = reason or (f"{(folder / NOTEBOOK).stat().st_size:,} bytes, more than the limit "
                        f"of {2**20:,}")
    assert result.errors == [f"{where}/{NOTEBOOK}: {reason}; refused",
                             f"{where}: no notebook of {ASSIGNMENT} in it; nothing taken"]
    assert result.imported == result.replaced == []
    assert not (course / "submitted").exists()  # nothing copied, not even to a staging folder
    assert not (course / "imports").exists()


@needs_root
@pytest.mark.parametrize("trust_names", [False, True], ids=["checked", "trusted names"])
def test_a_folder_swapped_for_a_link_after_the_check_is_refused(course, exchange, solved,
                                                                monkeypatch, trust_names):
    """The student's race: their submission passes the owner check, then becomes a link to
    the instructor's source (solutions and all) before it is copied."""
    folder = submit(exchange, "nobody", solved)
    checked = exchange_module._submissions

    def swap_after_check(*args):
        newest = checked(*args)
        shutil.rmtree(folder)
        folder.symlink_to(course / "source" / ASSIGNMENT)
        return newest

    monkeypatch.setattr(exchange_module, "_submissions", swap_after_check)
    result = collect_from_exchange(course, trust_names=trust_names)
    assert result.errors == [f"inbound/{folder.name}: is no longer a folder (a link was put "
                             "in its place); refused"]
    assert not (course / "submitted").exists()


@needs_root
def test_entries_that_are_not_submissions_are_refused_and_extra_files_left(course, exchange,
                                                                           solved):
    folder = submit(exchange, "nobody", solved)
    (folder / "helper.py").write_text("print('hi')\n")
    give(folder, "nobody")
    a_file = exchange.inbound / folder.name.replace("nobody", "daemon")
    a_file.write_bytes(solved)
    give(a_file, "daemon")
    for name in ("notes", f"bin+{ASSIGNMENT}+yesterday+x",
                 f"..+{ASSIGNMENT}+{folder.name.split('+')[2]}+x"):
        (exchange.inbound / name).mkdir()
        give(exchange.inbound / name, "bin")
    result = collect_from_exchange(course)
    assert result.imported == [("nobody", ASSIGNMENT)]
    assert result.warnings == [f"inbound/{folder.name}/helper.py: not a notebook of "
                               f"{ASSIGNMENT}; left in the exchange"]
    assert sorted(result.errors) == sorted([
        f"inbound/bin+{ASSIGNMENT}+yesterday+x: not an nbgrader submission name; refused",
        f"inbound/{a_file.name}: not a folder; refused",
        "inbound/notes: not an nbgrader submission name; refused",
        f"inbound/..+{ASSIGNMENT}+{folder.name.split('+')[2]}+x: not an nbgrader submission "
        "name; refused"])
    taken = course / "submitted" / "nobody" / ASSIGNMENT
    assert sorted(p.name for p in taken.iterdir()) == sorted([NOTEBOOK, SECRET_FILE,
                                                              TIMESTAMP_FILE])
    assert not (course / "submitted" / "daemon").exists()


@needs_root
@pytest.mark.parametrize("seconds", [-24 * 3600, 24 * 3600], ids=["earlier", "later"])
def test_a_claimed_time_far_from_the_files_gives_way_to_theirs(course, exchange, solved,
                                                               seconds):
    folder = submit(exchange, "nobody", solved, seconds=seconds)
    claimed = datetime.strptime((folder / TIMESTAMP_FILE).read_text().removesuffix(" UTC"),
                                "%Y-%m-%d %H:%M:%S.%f")
    written = datetime.fromtimestamp(max(p.stat().st_ctime for p in folder.iterdir()), UTC)
    result = collect_from_exchange(course)
    assert result.warnings == [
        f"inbound/{folder.name}: claims to be submitted at {claimed:%Y-%m-%d %H:%M:%S} UTC but "
        f"its files were written at {written:%Y-%m-%d %H:%M:%S} UTC; their time is used"]
    stamp = submitted(course, "nobody", TIMESTAMP_FILE).decode()
    assert stamp == written.strftime(TIMESTAMP_FORMAT)


@needs_root
@pytest.mark.parametrize("problem", ["missing", "owned by a student"])
def test_collect_refuses_an_inbound_folder_that_is_not_the_instructors(course, exchange,
                                                                       problem):
    if problem == "missing":
        shutil.rmtree(exchange.inbound)
        expected = (f"nothing was released to the exchange at {exchange.course} (no inbound "
                    "folder): release an assignment with `backprop-course release --exchange` "
                    "first.")
    else:
        give(exchange.inbound, "nobody")
        expected = (f"{exchange.inbound} is not a folder of this user (root), so it is not the "
                    "inbound folder nbgrader made; it belongs to nobody. Nothing was collected.")
    with pytest.raises(ExchangeError) as raised:
        collect_from_exchange(course)
    assert str(raised.value) == expected


# ---------------------------------------------------------------------------------------
# Release, the exchange's layout, feedback
# ---------------------------------------------------------------------------------------


def test_release_refuses_a_course_folder_open_to_other_users(fresh_course):
    os.chmod(fresh_course, 0o755)
    with pytest.raises(ExchangeError, match=r"^Not released: the course folder") as raised:
        release(fresh_course, [ASSIGNMENT])
    assert "students could read the source with its solutions" in str(raised.value)
    assert str(raised.value).endswith(f"chmod 700 {fresh_course.resolve()}.")
    assert not (fresh_course.parent / "exchange").exists()


def test_a_second_release_needs_force(course, exchange):
    outbound = exchange.course / "outbound" / ASSIGNMENT
    with pytest.raises(ExchangeError) as raised:
        release(course, [ASSIGNMENT])
    assert str(raised.value) == (f"{ASSIGNMENT} is already in the exchange ({outbound}); "
                                 "students may have fetched it. Pass --force to replace it.")
    (outbound / "stale.txt").write_text("from the first release")
    assert release(course, [ASSIGNMENT], force=True) == [
        f"released {ASSIGNMENT} to {outbound}"]
    assert sorted(p.name for p in outbound.iterdir()) == [NOTEBOOK]


def test_the_released_exchange_has_the_modes_of_the_recipe(course, exchange):
    """nbgrader makes the root 777; release adds the sticky bit."""
    assert (mode(exchange.root), mode(exchange.inbound)) == (0o1777, 0o2733)
    assert layout_problems(course, exchange) == []
    os.chmod(exchange.root, 0o777)
    assert layout_problems(course, exchange) == [
        f"the exchange root {exchange.root} has mode 777: it needs 1777 (everyone may add a "
        f"course, nobody may replace another's); chmod 1777 {exchange.root}"]


def test_feedback_of_a_submission_not_from_the_exchange_is_not_released(course):
    folder = course / "feedback" / "bin" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.html").write_text("<p>feedback</p>")
    assert release_feedback(course) == ([], [
        f"bin {ASSIGNMENT}: was not submitted through the exchange (no {SECRET_FILE}); send "
        f"{folder} to the student instead"])


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@needs_root
def test_collect_grade_and_return_feedback_through_the_exchange(course, exchange, solved,
                                                                blank, capsys):
    """The instructor's commands: each student's feedback lands under their secret's hash."""
    from nbgrader.utils import notebook_hash

    from autograder.grading import isolation

    secret = {"nobody": "nobody's secret", "daemon": "daemon's secret"}
    submit(exchange, "nobody", solved, secret=secret["nobody"])
    submit(exchange, "daemon", blank, secret=secret["daemon"])
    status, out, _ = run(capsys, "collect", "--exchange", "--course", str(course))
    assert (status, out.splitlines()) == (0, [
        f"imported daemon {ASSIGNMENT}", f"imported nobody {ASSIGNMENT}",
        "2 imported, 0 replaced, 0 unchanged, 0 skipped, 0 warnings, 0 errors"])

    grade = ["autograde", "--course", str(course), "--jobs", "1"]
    if isolation.refusal() is not None:
        grade.append("--allow-unisolated")  # a learner's machine without bubblewrap
    status, out, err = run(capsys, *grade)
    assert status == 0, out + err
    assert re.search(rf"nobody {ASSIGNMENT} (\d+)/\1\b", out), out  # full marks: the solved one
    assert f"daemon {ASSIGNMENT} 0/" in out, out

    status, out, err = run(capsys, "feedback", "--release", "--course", str(course))
    assert status == 0, out + err
    assert ("2 feedback file(s), 2 returned through the exchange (students fetch them in the "
            "Assignment List), 0 error(s).") in out
    assert mode(exchange.feedback) == 0o711  # a student cannot list the others' feedback
    for student in secret:
        assert f"returned the feedback of {student} {ASSIGNMENT}" in out
        name = notebook_hash(secret=secret[student], notebook_id=ASSIGNMENT)
        written = course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert (exchange.feedback / f"{name}.html").read_bytes() == written.read_bytes()
    assert len(list(exchange.feedback.iterdir())) == 2


# ---------------------------------------------------------------------------------------
# The hub
# ---------------------------------------------------------------------------------------


def test_students_get_the_assignment_list_but_no_instructor_tools(tmp_path):
    root = Path("/srv/class/exchange")
    files = hub.student_config_files(Exchange(root, COURSE_ID))
    extensions = json.loads(files["jupyter_server_config.json"])["ServerApp"][
        "jpserver_extensions"]
    assert extensions == {
        "jupyterlab": True,
        "nbgrader.server_extensions.assignment_list": True,
        "nbgrader.server_extensions.validate_assignment": True,
        "nbgrader.server_extensions.course_list": False,
        "nbgrader.server_extensions.formgrader": False}
    page = json.loads(files["labconfig/page_config.json"])
    off = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
           "@jupyter/nbgrader:create-assignment"}
    assert page["disabledExtensions"] == page["lockedExtensions"] == dict.fromkeys(off, True)
    (tmp_path / "nbgrader_config.py").write_bytes(files["nbgrader_config.py"])
    nbgrader = load_config(tmp_path / "nbgrader_config.py")
    assert nbgrader.CourseDirectory.course_id == COURSE_ID
    assert nbgrader.Exchange.root == str(root)
    assert nbgrader.Execute.timeout == math.ceil(CELL_TIMEOUT)


@pytest.fixture(scope="module")
def shared_python() -> Path:
    """An interpreter every user can run, with the course (hub_tools.student_python), in a
    folder every user can enter (pytest's own are closed)."""
    if hub.unreachable(Path(sys.executable)) and system_python() is None:
        pytest.skip("no interpreter every user can run here")
    folder = Path(tempfile.mkdtemp(prefix="bpc-python-"))
    os.chmod(folder, 0o755)
    yield Path(student_python(folder / "python"))
    shutil.rmtree(folder, ignore_errors=True)


def test_configure_refuses_an_interpreter_without_the_course(fresh_course, tmp_path):
    if hub.unreachable(SHARED_PYTHON) is not None:
        pytest.skip(f"{SHARED_PYTHON} is not an interpreter every user can run here")
    with pytest.raises(ExchangeError, match=re.escape(
            f"The hub does not start: {SHARED_PYTHON} cannot import the course "
            "(ModuleNotFoundError: No module named 'autograder'); install it there with pip "
            "install '.[hub]'.")):
        hub.configure(Config(), fresh_course, tmp_path / "state", tmp_path / "student-config",
                      python=str(SHARED_PYTHON))


def test_configure_sets_the_spawner_and_prepares_the_folders(fresh_course, tmp_path,
                                                             shared_python):
    c = Config()
    state, student_config = tmp_path / "state", tmp_path / "student-config"
    exchange = hub.configure(c, fresh_course, state, student_config, python=str(shared_python))
    assert exchange == Exchange(tmp_path / "exchange", COURSE_ID)
    assert c.JupyterHub.spawner_class == "localprocess"
    assert c.Spawner.cmd == [str(shared_python), "-m", "jupyterhub.singleuser"]
    assert c.Spawner.default_url == "/lab"
    prefixes = list(dict.fromkeys([hub.students_environment(str(shared_python))[0],
                                   Path(sys.prefix)]))
    assert c.Spawner.environment == {
        "JUPYTER_CONFIG_PATH": os.pathsep.join(
            [str(student_config), *(f"{p}/etc/jupyter" for p in prefixes)]),
        "JUPYTER_PATH": os.pathsep.join(f"{p}/share/jupyter" for p in prefixes)}
    assert c.Spawner.pre_spawn_hook is hub.refuse_open_home
    assert c.JupyterHub.db_url == f"sqlite:///{state}/jupyterhub.sqlite"
    assert (c.JupyterHub.cookie_secret_file, c.JupyterHub.pid_file,
            c.ConfigurableHTTPProxy.pid_file) == (
        f"{state}/jupyterhub_cookie_secret", f"{state}/jupyterhub.pid",
        f"{state}/jupyterhub-proxy.pid")
    assert (mode(exchange.root), mode(state), mode(student_config)) == (0o1777, 0o700, 0o755)
    for name, content in hub.student_config_files(exchange).items():
        assert (student_config / name).read_bytes() == content
        assert mode(student_config / name) == 0o644


@pytest.mark.parametrize("course_mode", [0o755, 0o750], ids=["others", "group"])
def test_configure_refuses_an_open_course_folder(fresh_course, tmp_path, shared_python,
                                                 course_mode):
    os.chmod(fresh_course, course_mode)
    with pytest.raises(ExchangeError, match=r"^The hub does not start: the course folder") as e:
        hub.configure(Config(), fresh_course, tmp_path / "state", tmp_path / "student-config",
                      python=str(shared_python))
    assert str(e.value).endswith(f"chmod 700 {fresh_course.resolve()}.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course"]  # nothing made


def test_configure_refuses_an_interpreter_the_students_cannot_run(fresh_course, tmp_path,
                                                                  shared_python):
    environment = tmp_path / "closed" / "environment"  # the same venv, behind a closed folder
    environment.parent.mkdir(mode=0o700)
    environment.symlink_to(shared_python.parent.parent)
    python = environment / "bin" / shared_python.name
    with pytest.raises(ExchangeError) as raised:
        hub.configure(Config(), fresh_course, tmp_path / "state", tmp_path / "student-config",
                      python=str(python))
    message = str(raised.value)
    assert message.startswith(f"The hub does not start: the students' servers run as the "
                              f"students, who cannot reach {python} (")
    assert "is closed to other users): install the course in a folder every user" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["closed", "course"]  # nothing made


def test_an_interpreter_linked_from_an_open_folder_into_a_closed_one_is_unreachable(tmp_path):
    """As ``.venv/bin/python`` -> ``/root/.pyenv/...`` is, with /root closed."""
    closed = tmp_path / "python"  # tmp_path is under pytest's folder of mode 700
    shutil.copy(sys.executable, closed)
    open_folder = Path(tempfile.mkdtemp(prefix="backprop-course-link-"))
    try:
        os.chmod(open_folder, 0o755)
        (open_folder / "python").symlink_to(closed)
        assert hub.unreachable(open_folder / "python") is not None
    finally:
        shutil.rmtree(open_folder)


@pytest.mark.parametrize("home_mode", [0o755, 0o750, 0o700, None],
                         ids=["755", "750", "700", "no account"])
def test_a_students_server_does_not_start_while_their_home_is_open(tmp_path, monkeypatch,
                                                                   home_mode):
    """``refuse_open_home`` for "nobody", whose home is ``tmp_path/home`` (None: no account)."""
    home = tmp_path / "home"
    home.mkdir(mode=home_mode or 0o700)

    def getpwnam(name: str):
        if home_mode is None:
            raise KeyError(name)
        return SimpleNamespace(pw_dir=str(home))

    monkeypatch.setattr(hub, "pwd", SimpleNamespace(getpwnam=getpwnam))
    spawner = SimpleNamespace(user=SimpleNamespace(name="nobody"))
    if home_mode == 0o700:
        hub.refuse_open_home(spawner)
        return
    with pytest.raises(RuntimeError) as raised:
        hub.refuse_open_home(spawner)
    assert str(raised.value) == (
        "nobody has no Unix account on this machine; create it (README, Teaching on a "
        "JupyterHub)" if home_mode is None else
        f"The home folder {home} is open to other users (mode {home_mode:o}): they could read "
        f"this student's submissions. The instructor fixes it with chmod 700 {home}.")


def test_the_recipe_loads_in_a_private_course(fresh_course, tmp_path, monkeypatch,
                                              shared_python):
    recipe = Path(shutil.copy(COURSE_ROOT / "jupyterhub_config.py", fresh_course))
    monkeypatch.setenv("BACKPROP_COURSE_HUB_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("BACKPROP_COURSE_HUB_STUDENT_CONFIG", str(tmp_path / "student-config"))
    monkeypatch.setenv("BACKPROP_COURSE_HUB_PYTHON", str(shared_python))
    c = load_config(recipe)
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.Spawner.cmd[0] == str(shared_python)
    assert c.JupyterHub.db_url == f"sqlite:///{tmp_path}/state/jupyterhub.sqlite"
    assert (tmp_path / "student-config" / "nbgrader_config.py").is_file()
    assert mode(tmp_path / "exchange") == 0o1777


@pytest.mark.skipif(mode(COURSE_ROOT) & 0o007 == 0, reason="this checkout's course/ is closed")
def test_the_recipe_refuses_to_start_from_an_open_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv(EXCHANGE_ENV, str(tmp_path / "exchange"))
    monkeypatch.setenv("BACKPROP_COURSE_HUB_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("BACKPROP_COURSE_HUB_STUDENT_CONFIG", str(tmp_path / "student-config"))
    with pytest.raises(ExchangeError, match=re.escape(f"chmod 700 {COURSE_ROOT}")):
        load_config(COURSE_ROOT / "jupyterhub_config.py")
    assert not (tmp_path / "state").exists()


# ---------------------------------------------------------------------------------------
# The instructor's command line
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    (["collect"], "collect takes a FOLDER_OR_ZIP of submissions, or --exchange (not both)."),
    (["collect", "inbox", "--exchange"],
     "collect takes a FOLDER_OR_ZIP of submissions, or --exchange (not both)."),
    (["collect", "inbox", "--trust-names"], "--trust-names and --student go with --exchange."),
    (["collect", "inbox", "--student", "nobody"],
     "--trust-names and --student go with --exchange."),
    (["collect", "--exchange", "--replace"], "--exchange always replaces a submission with "),
    (["release", "--force"], "--force goes with --exchange (a release into COURSE/release/ is "
     "always regenerated)."),
], ids=["no source", "two sources", "trust-names", "student", "replace", "force"])
def test_options_that_need_or_exclude_the_exchange(fresh_course, capsys, argv, message):
    status, out, err = run(capsys, *argv, "--course", str(fresh_course))
    assert (status, out) == (2, "")
    assert err.startswith(f"backprop-course: {message}")


@needs_root
def test_a_course_folder_made_in_the_exchange_by_somebody_else_stops_the_release(course,
                                                                                exchange):
    """A student who makes EXCHANGE/COURSE_ID before the first release would own its inbound."""
    shutil.rmtree(exchange.course)
    exchange.course.mkdir()
    give(exchange.course, "nobody")
    with pytest.raises(ExchangeError, match=re.escape(
            f"Not released: {exchange.course} belongs to nobody, not to this user (root)")):
        release(course, [ASSIGNMENT])
    assert not any(exchange.course.iterdir())
