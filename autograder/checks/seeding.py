"""Seeds for the hidden (seeded-random) test cases.

``resolve_seed(exercise, seed)`` is the ONE place that decides which random cases a hidden
check draws, so the same exercise gets the same cases on every machine and in every run:

1. an explicit ``seed`` argument wins (``check.relu(relu, hidden=True, seed=7)``);
2. else the environment variable ``BACKPROP_COURSE_SEED`` (an integer), mixed with the
   exercise name, so that each exercise draws different cases from one course-wide seed;
3. else a fixed per-exercise default derived from the exercise name.

Mixing uses SHA-256 (``hashlib``), never the built-in ``hash()``, which is salted per process.

Per-submission seeds: the trusted grader (``autograder.grading.seeds``) computes an HMAC of the
assignment, student, exercise and the submitted code with the course secret, outside the
learner's process (the secret never ships to students), and passes it as ``seed``; it stores
the seeds in the grading records, so that a grade can be reproduced.
"""

from __future__ import annotations

import hashlib
import os

SEED_ENV_VAR = "BACKPROP_COURSE_SEED"

# Seeds handed to numpy.random.default_rng stay in [0, 2**63).
_SEED_BITS = 63


def seed_from_digest(digest: bytes) -> int:
    """A seed for ``numpy.random.default_rng`` from a hash digest: its first 63 bits."""
    return int.from_bytes(digest[:8], "big") >> (64 - _SEED_BITS)


def _mix(*parts: str) -> int:
    """A stable non-negative 63-bit integer from text parts (same on every machine)."""
    return seed_from_digest(hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest())


def resolve_seed(exercise: str, seed: int | None = None) -> int:
    """The seed of ``exercise``'s hidden cases.

    Parameters
    ----------
    exercise : str   the exercise key, e.g. ``"relu"`` or ``"backward_231_mse"``
    seed : int or None   an explicit seed (returned unchanged); must be >= 0

    Returns
    -------
    int >= 0, usable with ``numpy.random.default_rng``.
    """
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        return seed
    env = os.environ.get(SEED_ENV_VAR, "").strip()
    if env:
        try:
            course_seed = int(env)
        except ValueError:
            raise ValueError(
                f"the environment variable {SEED_ENV_VAR} must be an integer, got {env!r}"
            ) from None
        return _mix("backprop-course", str(course_seed), exercise)
    return _mix("backprop-course", "default", exercise)
