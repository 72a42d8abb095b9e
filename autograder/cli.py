"""The ``backprop-course`` command line.

Subcommands
-----------
lab     bring the learner's workspace up to date, then start JupyterLab there
update  bring the learner's workspace up to date (deliver new notebooks, never overwrite work)
check   run the learner's notebooks headless and print the progress table
info    print versions and the folders the course uses

Instructors: release, collect, autograde, feedback, export, report (README, "Teaching a class").
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from autograder.course import COURSE_ROOT, CourseError, assignments, generate_release

#: Where the learner's notebooks live unless told otherwise (relative to the current folder).
DEFAULT_WORKSPACE = Path(os.environ.get("BACKPROP_COURSE_WORKSPACE", "workspace"))


def say(message: str, *, file=None) -> None:
    print(f"backprop-course: {message}", file=file or sys.stdout, flush=True)


def jupyterlab_argv(workspace: Path, extra: list[str]) -> list[str]:
    """Arguments for JupyterLab serving ``workspace``; ``extra`` is passed through unchanged."""
    argv = [f"--ServerApp.root_dir={workspace}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI run as root
    return argv + extra


def update_workspace(workspace: Path, course_root: Path | None = None) -> bool:
    """Deliver or update the student notebooks and say what happened; False if that failed."""
    from autograder.learner.workspace import deliver

    try:
        delivery = deliver(workspace, course_root or COURSE_ROOT)
    except (CourseError, OSError) as error:
        say(f"could not update the workspace {workspace}:\n{error}", file=sys.stderr)
        return False
    for message in delivery.messages:
        say(message)
    n = len(delivery.added) + len(delivery.updated) + len(delivery.kept)
    if n == 0:
        say("the course has no notebooks yet.")
    elif delivery.updated or delivery.beside:
        say("If one of these notebooks is open in JupyterLab, reload it from disk.")
    elif not delivery.messages:
        say(f"the workspace is up to date ({n} notebook{'' if n == 1 else 's'}).")
    return True


def running_lab(workspace: Path) -> str | None:
    """The URL of a Jupyter server of this user that already serves ``workspace``, if any."""
    from jupyter_server.serverapp import list_running_servers

    for info in list_running_servers():  # only servers whose process is alive
        root = info.get("root_dir") or info.get("notebook_dir") or ""
        if root and Path(root).expanduser().resolve() == workspace:
            token = info.get("token")
            return f"{info['url'].rstrip('/')}/lab" + (f"?token={token}" if token else "")
    return None


def cmd_lab(args: argparse.Namespace, extra: list[str]) -> int:
    """Update the workspace, then serve it with the learner's JupyterLab (learner/lab.py: no
    instructor tools, no news pop-up); point at the server already running on it, if any."""
    import webbrowser

    from jupyterlab.labapp import LabApp

    from autograder.learner.lab import configured, write_config

    workspace = args.workspace.expanduser().resolve()
    url = running_lab(workspace)
    if url is not None:  # a second `make lab`: the learner's server is already there
        update_workspace(workspace)
        say(f"JupyterLab is already running on the workspace {workspace}: {url}")
        if "--no-browser" not in extra:
            webbrowser.open(url)
        return 0
    if not update_workspace(workspace):
        if not any(workspace.glob("*.ipynb")):
            return 2
        say("starting JupyterLab on the notebooks you already have.", file=sys.stderr)
    try:
        write_config(workspace)
    except OSError as error:
        say(f"could not write the learner's JupyterLab settings into {workspace}:\n{error}\n"
            "Check that you may write in that folder, or choose another one with "
            "--workspace.", file=sys.stderr)
        return 2
    say(f"JupyterLab opens the workspace {workspace}")
    with configured(workspace):  # nbgrader's instructor tools off, no news pop-up
        LabApp.launch_instance(argv=jupyterlab_argv(workspace, extra))
    return 0


def cmd_update(args: argparse.Namespace, extra: list[str]) -> int:
    workspace = args.workspace.expanduser().resolve()
    return 0 if update_workspace(workspace) else 2


def resolve_notebooks(workspace: Path, names: list[str]) -> list[Path]:
    """Paths for ``check``'s arguments: a path, a name in the workspace (with or without
    ``.ipynb``) or the start of names (``02``; ``0``: every notebook whose name starts so).
    Raises ValueError naming what is available."""
    from autograder.learner.workspace import workspace_notebooks

    available = workspace_notebooks(workspace)
    found: list[Path] = []
    for name in names:
        candidates = [Path(name).expanduser(), workspace / name, workspace / f"{name}.ipynb"]
        path = next((p for p in candidates if p.is_file()), None)
        matches = [path] if path is not None else [p for p in available
                                                   if p.name.startswith(name)]
        if not matches:
            choices = ", ".join(p.stem for p in available) or "none; run `backprop-course update`"
            raise ValueError(f"no notebook {name!r} in {workspace}. Notebooks: {choices}.")
        found += [p.resolve() for p in matches if p.resolve() not in found]
    return found


def cmd_check(args: argparse.Namespace, extra: list[str]) -> int:
    from autograder.learner import progress
    from autograder.learner.workspace import workspace_notebooks

    workspace = args.workspace.expanduser().resolve()
    try:
        paths = resolve_notebooks(workspace, args.notebooks)
    except ValueError as error:
        say(str(error), file=sys.stderr)
        return 2
    if not args.notebooks:
        paths = workspace_notebooks(workspace)
        if not paths:
            say(f"no course notebooks in {workspace}: run `backprop-course update` first.",
                file=sys.stderr)
            return 2
    print(f"Running {len(paths)} notebook(s) headless (at most {args.timeout:g} s per cell, "
          f"{args.notebook_timeout:g} s per notebook)...\n", flush=True)
    reports = []
    try:
        for path in paths:
            report = progress.check_notebook(path, args.timeout, args.notebook_timeout)
            reports.append(report)
            print(progress.format_notebook(report) + "\n", flush=True)
    except KeyboardInterrupt:
        say("interrupted.", file=sys.stderr)
        return 130
    print(progress.format_summary(reports, workspace_notebooks(workspace)))
    return progress.exit_code(reports)


def cmd_release(args: argparse.Namespace, extra: list[str]) -> int:
    known = assignments(args.course)
    unknown = sorted(set(args.assignments) - set(known))
    if unknown:
        print(f"backprop-course: no assignment {', '.join(unknown)} in {args.course / 'source'}; "
              f"the assignments are {', '.join(known) or 'none'}.", file=sys.stderr)
        return 2
    try:
        folders = generate_release(args.course, args.assignments or None, db_url=args.db)
    except CourseError as error:
        print(f"backprop-course: {error}", file=sys.stderr)
        return 2
    for folder in folders:
        print(f"released {folder.name}: {folder}")
    return 0


def _course_step(step):
    """Run an instructor step; a course-wide problem ends the command with its message."""
    try:
        return step()
    except CourseError as error:
        say(str(error), file=sys.stderr)
        return 2


def cmd_collect(args: argparse.Namespace, extra: list[str]) -> int:
    from autograder.instructor.collect import collect

    def step() -> int:
        result = collect(args.course, args.source, assignment=args.assignment,
                         replace=args.replace)
        for line in result.lines():
            print(line)
        print(result.summary())
        return 1 if result.errors else 0

    return _course_step(step)


def grading_progress(console):
    """The live bar of ``autograde``: done of all, how many are being graded, how many failed
    (an error, or what graded it died). Its task needs the fields ``running`` and ``failed``."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress("autograding", BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[running]} running"),
                    TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                    console=console, transient=True)


def cmd_autograde(args: argparse.Namespace, extra: list[str]) -> int:
    from rich.console import Console

    from autograder.grading import isolation
    from autograder.instructor.workflow import autograde, submissions

    todo = submissions(args.course, args.assignments or None, args.student or None)
    if not todo:
        say(f"nothing to grade in {args.course / 'submitted'}: import submissions with "
            "`backprop-course collect FOLDER_OR_ZIP` first.", file=sys.stderr)
        return 2
    console = Console(highlight=False)
    if not args.scheduler:
        console.print(f"isolation: {isolation.detect().describe()}", markup=False,
                      soft_wrap=True)
    at_once = [args.jobs or os.cpu_count() or 1]
    with grading_progress(console) as bar:
        task = bar.add_task("autograde", total=len(todo), running=0, failed=0)

        def on_result(result) -> None:
            mark = "✗" if result.error else ("!" if result.attention else "✓")
            console.print(f"{mark} {result.line()}", markup=False, soft_wrap=True)
            if result.failed:
                bar.update(task, failed=bar.tasks[task].fields["failed"] + 1)
            bar.advance(task)

        def on_cluster(cluster, jobs: int) -> None:
            at_once[0] = jobs
            console.print(cluster.describe(), markup=False, soft_wrap=True)
            for sentence, count in cluster.isolation():
                console.print(f"isolation on {count} worker(s): {sentence}", markup=False,
                              soft_wrap=True)

        def waiting(message: str) -> None:
            console.print(f"backprop-course: {message}", markup=False, soft_wrap=True)

        results = _course_step(lambda: autograde(
            args.course, args.assignments or None, args.student or None,
            jobs=args.jobs or (None if args.scheduler else at_once[0]), on_result=on_result,
            wait=args.wait, on_wait=waiting, allow_unisolated=args.allow_unisolated,
            scheduler=args.scheduler, db_url=args.db, on_cluster=on_cluster,
            on_running=lambda n: bar.update(task, running=n)))
    if isinstance(results, int):
        return results
    graded = [r for r in results if r.score is not None]
    attention = [r for r in results if r.attention]
    failed = [r for r in results if r.error]
    total = sum(r.seconds for r in results)
    where = f" on the Dask cluster at {args.scheduler}" if args.scheduler else ""
    print()
    print(f"{len(results)} submission(s): {len(graded)} graded, {len(failed)} failed, "
          f"{len(attention)} need attention (see `backprop-course report`); "
          f"{total / max(len(results), 1):.1f} s of grading per submission, "
          f"{at_once[0]} at once{where}.")
    return 1 if failed else 0


def cmd_feedback(args: argparse.Namespace, extra: list[str]) -> int:
    from autograder.instructor.workflow import feedback

    def step() -> int:
        files, errors = feedback(args.course, args.assignments or None, args.student or None,
                                 jobs=args.jobs or os.cpu_count() or 1, wait=args.wait,
                                 on_wait=say, db_url=args.db)
        for path in files:
            print(f"feedback {path}")
        for error in errors:
            print(f"ERROR {error}", file=sys.stderr)
        print(f"{len(files)} feedback file(s), {len(errors)} error(s); students fetch them "
              "with nbgrader, or send the HTML files.")
        return 1 if errors else 0

    return _course_step(step)


def cmd_export(args: argparse.Namespace, extra: list[str]) -> int:
    from autograder.instructor.export import export

    def step() -> int:
        for line in export(args.course, args.out or args.course / "exports").lines():
            print(line)
        return 0

    return _course_step(step)


def cmd_report(args: argparse.Namespace, extra: list[str]) -> int:
    from autograder.instructor.report import build_report, print_report
    from autograder.instructor.workflow import submissions

    def step() -> int:
        names = args.assignments or sorted({a for _, a in submissions(args.course)})
        if not names:
            say("nothing to report: no submissions yet (see `backprop-course collect`).",
                file=sys.stderr)
            return 2
        for name in names:
            report = build_report(args.course, name, args.out or args.course / "reports")
            print_report(report)
        return 0

    return _course_step(step)


def cmd_info(args: argparse.Namespace, extra: list[str]) -> int:
    for name in ("backprop-course", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "nbgrader"):
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        print(f"{name:16} {version}")
    print(f"{'python':16} {sys.version.split()[0]}")
    print(f"{'course root':16} {COURSE_ROOT}")
    print(f"{'workspace':16} {DEFAULT_WORKSPACE.expanduser().resolve()}")
    return 0


def seconds(text: str) -> float:
    """``--wait``: 0 seconds or more."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backprop-course",
        description="Backpropagation, from one neuron to a trained network.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_learner_commands(sub)
    add_check_command(sub)
    add_release_and_collect_commands(sub)
    add_grading_commands(sub)
    add_report_commands(sub)
    info = sub.add_parser("info", help="print versions and folders")
    info.set_defaults(run=cmd_info, passthrough=False)
    return parser


# Options shared by several commands, as argparse parents.


def workspace_option() -> argparse.ArgumentParser:
    workspace = argparse.ArgumentParser(add_help=False)
    workspace.add_argument(
        "--workspace",
        type=Path,
        default=DEFAULT_WORKSPACE,
        metavar="DIR",
        help="the learner's folder (default: ./workspace, or $BACKPROP_COURSE_WORKSPACE)",
    )
    return workspace


def course_option() -> argparse.ArgumentParser:
    course = argparse.ArgumentParser(add_help=False)
    course.add_argument("--course", type=Path, default=COURSE_ROOT, metavar="DIR",
                        help="the nbgrader course folder (default: this checkout's course/)")
    return course


def database_option() -> argparse.ArgumentParser:
    """``--db URL``: the gradebook's database, over ``nbgrader_config.py``'s."""
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--db", metavar="URL", default=None,
        help="the gradebook's database, an SQLAlchemy URL such as "
        "postgresql+psycopg://USER@HOST:PORT/DATABASE (default: c.CourseDirectory.db_url of "
        "COURSE/nbgrader_config.py, else the SQLite file COURSE/gradebook.db)")
    return database


def submissions_options() -> argparse.ArgumentParser:
    """Which submissions a grading step handles, how many at once, how long it waits."""
    chosen = argparse.ArgumentParser(add_help=False)
    chosen.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="for example 01_neuron (default: all)")
    chosen.add_argument("--student", action="append", metavar="ID",
                        help="only this student (repeat for several)")
    chosen.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="submissions handled at once (default: the number of CPUs; with "
                        "--scheduler, the cluster's worker threads plus this machine's CPUs)")
    chosen.add_argument("--wait", type=seconds, default=0.0, metavar="SECONDS",
                        help="while another autograde or feedback runs on the course (both "
                        "write its gradebook), wait this long for it before giving up "
                        "(default 0: stop at once and say which run it is)")
    return chosen


# The commands, in the order `backprop-course --help` lists them.


def add_learner_commands(sub) -> None:
    """``lab`` and ``update``."""
    lab = sub.add_parser(
        "lab",
        parents=[workspace_option()],
        help="update the workspace and start JupyterLab there",
        description="Bring the learner's workspace up to date (as `update` does), then start "
        "JupyterLab there. Options that this command does not know (for example --no-browser "
        "or --port=8899) are passed to JupyterLab.",
    )
    lab.set_defaults(run=cmd_lab, passthrough=True)

    update = sub.add_parser(
        "update",
        parents=[workspace_option()],
        help="deliver new notebooks and updates, never overwriting your work",
        description="Put the student notebooks into the workspace, or bring them up to date. "
        "A notebook you have not changed is updated in place; one you have changed is kept "
        "as it is, and the new version is put beside it as NAME.new-XXXXXXXX.ipynb.",
    )
    update.set_defaults(run=cmd_update, passthrough=False)


def add_check_command(sub) -> None:
    from autograder.learner.progress import CELL_TIMEOUT, NOTEBOOK_TIMEOUT

    check = sub.add_parser(
        "check",
        parents=[workspace_option()],
        help="run your notebooks and show which exercises pass",
        description="Run notebooks headless (your files are only read) and print every "
        "exercise: passed, failed (with the check's message), not started. Exit status: 0 "
        "when every exercise passed, 1 when some did not, 2 when a notebook could not be "
        "run to the end or the command was used wrongly.",
    )
    check.add_argument(
        "notebooks",
        nargs="*",
        metavar="NOTEBOOK",
        help="a notebook in the workspace (01_neuron, 01_neuron.ipynb, or just 01) or a path "
        "(default: every course notebook in the workspace, in course order)",
    )
    check.add_argument(
        "--timeout",
        type=positive_seconds,
        default=CELL_TIMEOUT,
        metavar="SECONDS",
        help=f"interrupt a cell that runs longer than this (default {CELL_TIMEOUT:g})",
    )
    check.add_argument(
        "--notebook-timeout",
        type=positive_seconds,
        default=NOTEBOOK_TIMEOUT,
        metavar="SECONDS",
        help=f"stop a notebook that runs longer than this (default {NOTEBOOK_TIMEOUT:g})",
    )
    check.set_defaults(run=cmd_check, passthrough=False)


def add_release_and_collect_commands(sub) -> None:
    release = sub.add_parser(
        "release",
        parents=[course_option(), database_option()],
        help="(instructors) generate the student version of assignments",
        description="Generate the student version of the named assignments (default: all) "
        "with nbgrader, into COURSE/release/: solutions become stubs, hidden tests are removed.",
    )
    release.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                         help="for example 01_neuron (default: every assignment)")
    release.set_defaults(run=cmd_release, passthrough=False)

    collect = sub.add_parser(
        "collect", parents=[course_option()],
        help="(instructors) import a folder or zip of submissions",
        description="Import submissions into COURSE/submitted/STUDENT/ASSIGNMENT/. Accepted: "
        "STUDENT/NOTEBOOK.ipynb, STUDENT/ASSIGNMENT/NOTEBOOK.ipynb, or flat "
        "STUDENT_NOTEBOOK.ipynb files, in a folder or a zip. Every misnamed file gets an "
        "error line and the others are still imported; nothing already imported is "
        "overwritten unless --replace (which keeps a backup).")
    collect.add_argument("source", type=Path, metavar="FOLDER_OR_ZIP")
    collect.add_argument("--assignment", metavar="ASSIGNMENT",
                         help="import only this assignment")
    collect.add_argument("--replace", action="store_true",
                         help="replace changed submissions (the old ones go to imports/replaced/)")
    collect.set_defaults(run=cmd_collect, passthrough=False)


def add_grading_commands(sub) -> None:
    """``autograde`` and ``feedback``: both write the gradebook, one run per course at once."""
    grade = sub.add_parser(
        "autograde", parents=[course_option(), submissions_options(), database_option()],
        help="(instructors) grade submissions with the trusted grader",
        description="Grade every imported submission: nbgrader restores the test cells, the "
        "learner's code runs in a sandbox (no network, no access to the course folder, time "
        "and memory limits), and the checks compare its results with the reference outside "
        "it. One line per submission, a summary at the end. Only one autograde or feedback "
        "runs on a course at a time: another one stops with a message, or waits (--wait).")
    grade.add_argument("--allow-unisolated", action="store_true",
                       help="grade even where the machine cannot isolate the learner's code "
                            "(no bubblewrap or user namespaces): a submission could then read "
                            "the course folder and harm the grader; the records say so")
    grade.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="grade on a Dask cluster: the address of its scheduler, e.g. "
                            "tcp://10.0.0.5:8786 (README, Grading on a cluster). nbgrader's "
                            "steps and the gradebook stay on this machine; each notebook's "
                            "sandboxed grading runs on a worker")
    grade.set_defaults(run=cmd_autograde, passthrough=False)

    feedback = sub.add_parser(
        "feedback", parents=[course_option(), submissions_options(), database_option()],
        help="(instructors) write the HTML feedback of graded submissions",
        description="Write COURSE/feedback/STUDENT/ASSIGNMENT/*.html: each test cell shows "
        "its check's message; hidden tests and their expected values are never shown.")
    feedback.set_defaults(run=cmd_feedback, passthrough=False)


def add_report_commands(sub) -> None:
    """``export`` and ``report``: what the gradebook holds, for the instructor."""
    export = sub.add_parser(
        "export", parents=[course_option(), database_option()],
        help="(instructors) write grades.csv and exercises.csv",
        description="Write nbgrader's grades.csv and exercises.csv (one column per graded "
        "cell) from the gradebook.")
    export.add_argument("--out", type=Path, metavar="DIR",
                        help="output folder (default: COURSE/exports)")
    export.set_defaults(run=cmd_export, passthrough=False)

    report = sub.add_parser(
        "report", parents=[course_option(), database_option()],
        help="(instructors) the class report of an assignment",
        description="Score histogram, pass rate per exercise, the named mistakes and how often "
        "they occurred, and the submissions that need attention: printed, and written as "
        "report.md, report.html and scores.png.")
    report.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="for example 01_neuron (default: every graded assignment)")
    report.add_argument("--out", type=Path, metavar="DIR",
                        help="output folder (default: COURSE/reports)")
    report.set_defaults(run=cmd_report, passthrough=False)


@contextmanager
def database(url: str | None):
    """``--db URL`` for every step of the command (``autograder.course.gradebook_url``),
    then as before."""
    from autograder.course import DB_URL_ENV

    if not url:
        yield
        return
    before = os.environ.get(DB_URL_ENV)
    os.environ[DB_URL_ENV] = url
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(DB_URL_ENV, None)
        else:
            os.environ[DB_URL_ENV] = before


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not args.passthrough:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    with database(getattr(args, "db", None)):
        return args.run(args, extra)


if __name__ == "__main__":
    raise SystemExit(main())
