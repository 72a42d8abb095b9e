"""``LearnerProblem``: what the learner's object did wrong, in a teaching sentence.

Raised where the learner's code runs (a driver, :func:`signatures.bind_or_explain`) or by an
exercise's postcheck in the grader; the checks show its message as it is.
"""

from __future__ import annotations

__all__ = ["LearnerProblem"]


class LearnerProblem(Exception):
    """Raised by a driver when the learner's code does something it can describe better than
    a generic exception: a class without a needed method, an operation that returns a float
    instead of an object, training that does not lower the loss. The message is shown as it
    is, as the failure of stage ``stage``; when raised ``from`` the learner's own exception,
    the learner's traceback frames of that exception are shown under it.
    """

    def __init__(self, message: str, stage: str = "type") -> None:
        super().__init__(message)
        self.stage = stage
