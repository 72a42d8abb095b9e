"""Files written so that a crash never leaves half of one: the learner's workspace and the
instructor's collected submissions both go through :func:`write_atomic`."""

from __future__ import annotations

import os
from pathlib import Path

# The suffix of a file being written; it is renamed over the target when complete.
PARTIAL = ".partial"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` so that it is always either the old file or the complete new one."""
    partial = path.with_name(path.name + PARTIAL)
    with open(partial, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)
