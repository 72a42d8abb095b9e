"""The trusted grader's corpus: submissions as data (see ``tests/test_grading_corpus.py``).

A :class:`Case` is one submission, built from a real source notebook of the course (the
honest baseline) by a few :class:`Edit` s: the source of a solution cell replaced (found by
its nbgrader ``grade_id``), or a learner cell (a plain code cell, no nbgrader metadata)
inserted before or after a graded cell. Sources may name host-side facts as placeholders
(``@@COURSE@@``, ``@@MARK@@`` ...), filled in per grading by :func:`build_notebook`.

Nothing here imports the grader; the test module drives it.
"""

from __future__ import annotations

from grading_corpus.base import (
    CLASSES,
    HONEST_RELU,
    WRONG_RELU,
    Case,
    Ctx,
    build_notebook,
    fill,
    grade_id_of,
    replace,
    source_notebook,
    test_cells,
)
from grading_corpus.bounded_reading import SEVEN
from grading_corpus.forging_the_channel import FOUR
from grading_corpus.harvesting_hidden_inputs import FIVE
from grading_corpus.honest import HONEST
from grading_corpus.isolation import SIX
from grading_corpus.rebuilding_the_reference import TWO
from grading_corpus.reference_by_another_name import ONE
from grading_corpus.the_watch import THREE

ALL = ONE + TWO + THREE + FOUR + FIVE + SIX + SEVEN
ADVERSARIAL = list(ALL)
CORPUS = ADVERSARIAL + HONEST

__all__ = ["ADVERSARIAL", "ALL", "CLASSES", "CORPUS", "HONEST", "HONEST_RELU", "WRONG_RELU", "Case",
           "Ctx", "build_notebook", "fill", "grade_id_of", "replace", "source_notebook",
           "test_cells"]
