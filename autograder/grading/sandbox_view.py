"""The sandbox's view: what the grading worker sees, built from an allow-list with bubblewrap.

Inside, the worker sees the interpreter, its standard library and the system's shared
libraries (read-only, Python packages hidden), the worker package and the allow-listed
distributions (read-only), an empty scratch tmpfs, a minimal ``/dev`` and a ``/proc`` of its own
PID namespace, and nothing else (``autograder.grading.isolation`` describes the whole sandbox).
This module only builds bubblewrap's arguments; ``autograder.grading.sandbox`` runs them.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement

__all__ = ["ALLOWED_ROOTS", "CLONE_NAMESPACES", "DENIED", "INSIDE", "INSIDE_SCRATCH",
           "INSIDE_SITE", "NAMESPACE_FLAGS", "WORKER_PACKAGE", "allowed_distributions",
           "bwrap_command", "interpreter", "normalise_name", "runs_here", "site_entries"]

WORKER_PACKAGE = Path(__file__).with_name("worker")  # appears inside as ``backprop_worker``
#: The distributions the worker may import, with everything they require.
ALLOWED_ROOTS = ("numpy", "ipython", "matplotlib")
#: Never in the sandbox, even if something allowed requires it (normalised names; ``jupyter*``
#: too): the project itself (refimpl, autograder), the grader and the kernel machinery.
DENIED = frozenset({"backprop-course", "nbgrader", "ipywidgets", "ipykernel", "notebook",
                    "nbclient", "nbconvert", "nbformat", "nbval", "widgetsnbextension"})

INSIDE = "/opt/backprop-worker"  # import_paths[0]; holds the package ``backprop_worker``
INSIDE_SITE = f"{INSIDE}/site-packages"
INSIDE_SCRATCH = "/scratch"
_SANDBOX_UID = 1000  # the worker's uid and gid inside the user namespace (mapped to ours)
_HIDE_BYTES = 4096  # size of the empty tmpfs that hides a folder
#: The namespaces the sandbox gets new ones of (what ``--unshare-all`` unshares).
CLONE_NAMESPACES = ("user", "mount", "network", "PID", "IPC", "UTS", "cgroup")

NAMESPACE_FLAGS = (
    "--unshare-all",  # user, mount, network, PID, IPC, UTS, cgroup
    "--unshare-user", "--disable-userns",  # and no user namespace can be made inside
    "--uid", str(_SANDBOX_UID), "--gid", str(_SANDBOX_UID), "--hostname", "sandbox",
    "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv",
)


def bwrap_command(bwrap: str, argv: list[str], env: dict[str, str], *, worker_package: Path,
                  scratch_bytes: int) -> list[str]:
    """The bubblewrap command line that runs ``argv`` with exactly ``env`` in the view.

    Parameters
    ----------
    bwrap : the bubblewrap binary
    argv : the command, as seen inside
    env : the whole environment of the command (bubblewrap adds ``PWD``)
    worker_package : the host folder that appears inside as the package ``backprop_worker``
    scratch_bytes : the size of the scratch tmpfs (the command's cwd)
    """
    args = [bwrap, *NAMESPACE_FLAGS]
    for key, value in env.items():
        if not key or "=" in key:
            raise ValueError(f"not an environment variable name: {key!r}")
        args += ["--setenv", key, value]
    args += _system_view()
    args += ["--ro-bind", str(worker_package), f"{INSIDE}/backprop_worker"]
    for host, inside in site_entries():
        args += ["--ro-bind", host, f"{INSIDE_SITE}/{inside}"]
    args += ["--dev", "/dev", "--remount-ro", "/dev", "--proc", "/proc",
             "--size", str(scratch_bytes), "--tmpfs", INSIDE_SCRATCH,
             "--chdir", INSIDE_SCRATCH,
             "--remount-ro", "/",  # the root holding /opt, /usr...: nothing new in it
             "--", *argv]
    return args


def runs_here(bwrap: str) -> bool:
    """Whether bubblewrap can build the interpreter's view here (user namespaces allowed)."""
    argv = [bwrap, *NAMESPACE_FLAGS, *_system_view(), "--", interpreter(),
            "-I", "-S", "-c", "pass"]
    try:
        return subprocess.run(argv, capture_output=True, env={}, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


# ---------------------------------------------------------------------------------------
# The interpreter and the shared libraries
# ---------------------------------------------------------------------------------------


@functools.cache
def interpreter() -> str:
    """The real interpreter binary (the venv's ``python`` is a symlink to it)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    binary = Path(sys.base_prefix, "bin", version)
    return str((binary if binary.exists() else Path(sys.executable)).resolve())


@functools.cache
def _system_view() -> tuple[str, ...]:
    """bwrap arguments: shared libraries, the interpreter and its standard library."""
    args: list[str] = []
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for lib in ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32"):
        narrow = Path(lib, multiarch)
        if os.path.islink(lib):  # merged /usr: the same links as the host
            args += ["--symlink", os.readlink(lib), lib]
        elif multiarch and narrow.is_dir():  # Debian: only the shared libraries' folder
            args += ["--ro-bind", str(narrow), str(narrow)]
        elif Path(lib).is_dir():  # without Python packages (Debian's python3-* live there)
            args += ["--ro-bind", lib, lib, *_hide(sorted(map(str, Path(lib).glob("python3*"))))]
    python = interpreter()
    args += ["--ro-bind", python, python]
    # The base interpreter's, not a venv's: in a venv "platstdlib" is the venv's lib folder.
    base = {"installed_base": sys.base_prefix, "base": sys.base_prefix,
            "installed_platbase": sys.base_exec_prefix, "platbase": sys.base_exec_prefix}
    stdlib = {sysconfig.get_path(name, vars=base) for name in ("stdlib", "platstdlib")}
    for folder in sorted(str(Path(p).resolve()) for p in stdlib if p and Path(p).is_dir()):
        args += ["--ro-bind", folder, folder]
        args += _hide([str(p) for p in (Path(folder) / "site-packages",
                                        Path(folder) / "dist-packages") if p.is_dir()])
    for shared in sorted(Path(sys.base_prefix, "lib").glob("libpython3*.so*")):
        args += ["--ro-bind", str(shared), str(shared)]
    return tuple(args)


def _hide(folders: Iterable[str]) -> list[str]:
    """bwrap arguments that cover each folder with an empty read-only tmpfs."""
    args = []
    for folder in folders:
        args += ["--size", str(_HIDE_BYTES), "--tmpfs", folder, "--remount-ro", folder]
    return args


# ---------------------------------------------------------------------------------------
# The allow-listed distributions
# ---------------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """A distribution's name as the packaging standards compare it (``Foo_bar`` -> ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _denied(name: str) -> bool:
    key = normalise_name(name)
    return key in DENIED or key.startswith("jupyter")


@functools.cache
def allowed_distributions() -> tuple[importlib.metadata.Distribution, ...]:
    """The closure of what :data:`ALLOWED_ROOTS` require, without extras or markers that do
    not apply here, and never a :data:`DENIED` distribution (nor what only it requires)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = list(ALLOWED_ROOTS)
    while todo:
        name = todo.pop()
        key = normalise_name(name)
        if key in found or _denied(key):
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # an import of it fails inside, as it would outside
        found[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            # extras are never installed into the sandbox: "extra" is empty
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return tuple(found[k] for k in sorted(found))


@functools.cache
def site_entries() -> tuple[tuple[str, str], ...]:
    """(host path, path inside site-packages) of every top-level entry of the allowed
    distributions: packages, modules, ``*.libs`` folders, ``*.dist-info`` (for
    ``importlib.metadata``), and the compiled files of top-level modules."""
    entries: dict[str, str] = {}
    for dist in allowed_distributions():
        files = dist.files
        if files is None:  # no RECORD: the names in top_level.txt
            names = (dist.read_text("top_level.txt") or "").split()
            files = [importlib.metadata.PackagePath(n + s) for n in names for s in ("", ".py")]
        for file in files:
            parts = file.parts
            if not parts or parts[0] == ".." or parts[0].endswith(".pth") or \
                    parts[0].startswith("__editable__"):
                continue
            inside = parts[0]
            if parts[0] == "__pycache__" or _namespace_package(dist, parts[0]):
                if len(parts) < 2:
                    continue
                inside = f"{parts[0]}/{parts[1]}"  # bind one level down, never the shared folder
            host = Path(dist.locate_file(inside))
            if inside not in entries and (host.exists() or host.is_symlink()):
                entries[inside] = str(host.resolve())
    return tuple(sorted((host, inside) for inside, host in entries.items()))


def _namespace_package(dist: importlib.metadata.Distribution, name: str) -> bool:
    """A top-level folder without ``__init__.py`` that other distributions may share."""
    folder = Path(dist.locate_file(name))
    return (name.isidentifier() and folder.is_dir() and not (folder / "__init__.py").exists())
