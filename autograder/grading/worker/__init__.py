"""The grading worker: runs a learner's notebook in the sandbox, with no reference code.

This package is the whole program that runs beside the learner's code. It imports only the
standard library, NumPy and IPython (a test checks every import), never ``refimpl`` or
``autograder``: the sandbox mounts this folder alone, as the package ``backprop_worker``, so
no code that computes a graded answer is on its disk, in its modules or in its memory.
Everything it holds, the learner's code can read and change; the grader therefore trusts
nothing it sends (``autograder.grading.conversation``).

Modules: ``codec`` (plain data and frames, shared with the grader), ``describe`` (short
descriptions of Python values), ``calls`` (calling the learner's object on a case),
``signatures`` (a function's parameters in messages; "cannot be called as ..."),
``problems`` (``LearnerProblem``, a teaching sentence about the learner's object),
``drivers`` (how objects that are not plain functions are called: a Value class, a training
loop), ``standin`` (the ``refimpl`` and ``autograder`` modules the notebook imports while
graded), ``cells`` (running code cells), ``__main__`` (the conversation with the grader).
"""
