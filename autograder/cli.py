"""The ``backprop-course`` command line.

Subcommands
-----------
lab     bring the learner's workspace up to date, then start JupyterLab there
update  bring the learner's workspace up to date (deliver new notebooks, never overwrite work)
check   run the learner's notebooks headless and print the progress table
info    print versions and the folders the course uses

Instructors: release, collect, autograde, feedback, export, report (README, "Teaching a class"),
in autograder/instructor/commands.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import metadata
from pathlib import Path

from autograder.course import COURSE_ROOT, CourseError

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
    from autograder.instructor import commands as instructor_commands

    parser = argparse.ArgumentParser(
        prog="backprop-course",
        description="Backpropagation, from one neuron to a trained network.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_learner_commands(sub)
    add_check_command(sub)
    instructor_commands.add_release_and_collect_commands(sub)
    instructor_commands.add_grading_commands(sub)
    instructor_commands.add_report_commands(sub)
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not args.passthrough:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from autograder.instructor.commands import database

    with database(getattr(args, "db", None)):
        return args.run(args, extra)


if __name__ == "__main__":
    raise SystemExit(main())
