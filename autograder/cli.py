"""The ``backprop-course`` command line.

Subcommands
-----------
lab   start JupyterLab in the learner's workspace (the README's first command)
info  print versions and the folders the course uses
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import metadata
from pathlib import Path

from autograder.course import COURSE_ROOT

#: Where ``backprop-course lab`` puts the learner's notebooks unless told otherwise.
DEFAULT_WORKSPACE = Path(os.environ.get("BACKPROP_COURSE_WORKSPACE", "workspace"))


def jupyterlab_argv(workspace: Path, extra: list[str]) -> list[str]:
    """Arguments for JupyterLab serving ``workspace``; ``extra`` is passed through unchanged."""
    argv = [f"--ServerApp.root_dir={workspace}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI run as root
    return argv + extra


def cmd_lab(args: argparse.Namespace, extra: list[str]) -> int:
    from jupyterlab.labapp import LabApp

    from autograder.workspace import deliver

    workspace = args.workspace.expanduser().resolve()
    delivery = deliver(workspace)
    for path in delivery.added:
        print(f"backprop-course: added {path.name}")
    if not delivery.added and not delivery.kept:
        print("backprop-course: the course has no notebooks yet.")
    print(f"backprop-course: JupyterLab opens the workspace {workspace}", flush=True)
    LabApp.launch_instance(argv=jupyterlab_argv(workspace, extra))
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backprop-course",
        description="Backpropagation, from one neuron to a trained network.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lab = sub.add_parser(
        "lab",
        help="start JupyterLab on the course notebooks",
        description="Start JupyterLab in the learner's workspace. Options that this command "
        "does not know (for example --no-browser or --port=8899) are passed to JupyterLab.",
    )
    lab.add_argument(
        "--workspace",
        type=Path,
        default=DEFAULT_WORKSPACE,
        help="the learner's folder (default: ./workspace, or $BACKPROP_COURSE_WORKSPACE)",
    )
    lab.set_defaults(run=cmd_lab, passthrough=True)

    info = sub.add_parser("info", help="print versions and folders")
    info.set_defaults(run=cmd_info, passthrough=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not args.passthrough:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args.run(args, extra)


if __name__ == "__main__":
    raise SystemExit(main())
