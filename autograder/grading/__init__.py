"""Trusted grading: a learner's notebook graded by code the learner cannot reach.

Three places, one job each:

- ``worker/``: the program that runs the learner's cells, in a sandbox. It imports only the
  standard library, NumPy and IPython, never ``refimpl`` or ``autograder``, so no code that
  computes a graded answer is reachable from the learner's code. It is also mounted into
  the sandbox on its own.
- the grader's process side: ``isolation`` (what a sandbox is, and what this machine can
  give), ``sandbox`` (one sandbox: start, kill, limits hit; its view in ``sandbox_view``, its
  cgroup in ``cgroups``), ``conversation`` (driving one worker, reading what it sends as
  untrusted and bounded data), ``probe_reports`` (a probe's report read back, checked),
  ``policy`` (which reference functions the worker may call, and when), ``seeds`` (the course
  secret and the hidden cases' seeds), ``overwrite`` (nbgrader's locked-cell restoring, with
  what it found recorded), ``records`` (what a grading found, per submission, for the
  instructor's report).
- ``integrity``: advice for the instructor (suspicious lines, copies of the reference). No
  score depends on it.

``autograder.grading.trusted`` ties them into nbgrader's autograde step; ``remote`` is the same
grading as one task of a Dask cluster (the worker's side of ``instructor.cluster``).
"""
