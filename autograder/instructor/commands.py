"""The instructors' commands of ``backprop-course``: release, collect, autograde, feedback,
export and report (README, "Teaching a class"), and the options they share."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from autograder.cli import say, seconds
from autograder.course import COURSE_ROOT, CourseError, assignments, generate_release


def cmd_release(args: argparse.Namespace, extra: list[str]) -> int:
    known = assignments(args.course)
    unknown = sorted(set(args.assignments) - set(known))
    if unknown:
        print(f"backprop-course: no assignment {', '.join(unknown)} in {args.course / 'source'}; "
              f"the assignments are {', '.join(known) or 'none'}.", file=sys.stderr)
        return 2
    if args.force and not args.exchange:
        say("--force goes with --exchange (a release into COURSE/release/ is always "
            "regenerated).", file=sys.stderr)
        return 2
    try:
        if args.exchange:
            from autograder.classroom.exchange import release

            lines = release(args.course, args.assignments or None, force=args.force,
                            db_url=args.db)
        else:
            folders = generate_release(args.course, args.assignments or None, db_url=args.db)
            lines = [f"released {folder.name}: {folder}" for folder in folders]
    except CourseError as error:
        print(f"backprop-course: {error}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
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

    if (args.source is None) == (not args.exchange):
        say("collect takes a FOLDER_OR_ZIP of submissions, or --exchange (not both).",
            file=sys.stderr)
        return 2
    if args.exchange and args.replace:
        say("--exchange always replaces a submission with the student's newer one, keeping "
            "the old one in COURSE/imports/replaced/; leave out --replace.", file=sys.stderr)
        return 2
    if (args.trust_names or args.student) and not args.exchange:
        say("--trust-names and --student go with --exchange.", file=sys.stderr)
        return 2

    def step() -> int:
        if args.exchange:
            from autograder.classroom.exchange import collect_from_exchange

            result = collect_from_exchange(
                args.course, [args.assignment] if args.assignment else None,
                students=args.student, trust_names=args.trust_names)
        else:
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
        if args.release:
            from autograder.classroom.exchange import release_feedback

            lines, problems = release_feedback(args.course, args.assignments or None,
                                               args.student or None, db_url=args.db)
            for line in lines:
                print(line)
            for problem in problems:
                print(f"ERROR {problem}", file=sys.stderr)
            errors += problems
            print(f"{len(files)} feedback file(s), {len(lines)} returned through the exchange "
                  "(students fetch them in the Assignment List), "
                  f"{len(errors)} error(s).")
        else:
            print(f"{len(files)} feedback file(s), {len(errors)} error(s); send the HTML "
                  "files to the students, or return them through the exchange (--release).")
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
    release.add_argument("--exchange", action="store_true",
                         help="also put it into nbgrader's exchange, where students fetch it "
                         "from the Assignment List (README, Teaching on a JupyterHub)")
    release.add_argument("--force", action="store_true",
                         help="with --exchange: replace an assignment already released there")
    release.set_defaults(run=cmd_release, passthrough=False)

    collect = sub.add_parser(
        "collect", parents=[course_option()],
        help="(instructors) import a folder or zip of submissions, or the exchange's",
        description="Import submissions into COURSE/submitted/STUDENT/ASSIGNMENT/. Accepted: "
        "STUDENT/NOTEBOOK.ipynb, STUDENT/ASSIGNMENT/NOTEBOOK.ipynb, or flat "
        "STUDENT_NOTEBOOK.ipynb files, in a folder or a zip. Every misnamed file gets an "
        "error line and the others are still imported; nothing already imported is "
        "overwritten unless --replace (which keeps a backup).")
    collect.add_argument("source", type=Path, nargs="?", metavar="FOLDER_OR_ZIP")
    collect.add_argument("--exchange", action="store_true",
                         help="collect what students submitted through nbgrader's exchange "
                         "instead: each student's newest submission, only if it belongs to "
                         "that student's own user (README, Teaching on a JupyterHub)")
    collect.add_argument("--student", action="append", metavar="ID",
                         help="with --exchange: only this student (repeat for several)")
    collect.add_argument("--trust-names", action="store_true",
                         help="with --exchange: take the student from the submission's name "
                         "without checking its owner; only for hubs whose servers all run as "
                         "one user, where any student could submit in another's name")
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
        "its check's message; hidden tests and their expected values are never shown. With "
        "--release, also return it through nbgrader's exchange, where each student fetches "
        "only their own.")
    feedback.add_argument("--release", action="store_true",
                          help="return the feedback through the exchange (students fetch it in "
                          "the Assignment List)")
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


