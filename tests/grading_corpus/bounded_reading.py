"""The corpus: bounded reading."""

from __future__ import annotations

from grading_corpus.base import N01, RELU0, WRONG_RELU, Case, grader_survives, index_of, replace

# ---------------------------------------------------------------------------------------
# 7. Bounded reading
# ---------------------------------------------------------------------------------------

def _bounded(graded) -> None:
    size = sum(len(graded.cell_text(i)) for i in range(len(graded.nb.cells)))
    assert size < 2 * 2**20, f"the graded notebook holds {size} characters of output"
    grown = graded.rss_growth_mib()
    assert grown < 512, f"the grader's memory grew by {grown:.0f} MiB"


SEVEN = [
    Case("print-200-mb-in-a-cell", "7-bounds", N01,
         (replace("relu", WRONG_RELU, """
          import sys
          chunk = "x" * (1 << 20)
          for _ in range(200):
              sys.stdout.write(chunk)
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None},
         extra=_bounded, note="the worker may run out of memory keeping it: later checks are "
                              "not specified"),
    Case("stderr-100-mb-line-by-line", "7-bounds", N01,
         (replace("relu", WRONG_RELU, """
          import sys
          line = "e" * 99 + "\\n"
          for _ in range(1_000_000):
              sys.__stderr__.write(line)
          sys.__stderr__.flush()
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None},
         extra=_bounded, max_seconds=12,
         note="past the stderr cap the worker is killed (the issue), not left blocked until "
              "the cell's time limit (20 s here); later checks are not specified"),
    Case("relu-returns-a-2-gib-array", "7-bounds", N01,
         (replace("relu", """
          def relu(Z):
              try:
                  return np.zeros(2**28)  # 2 GiB of float64
              except MemoryError:
                  return np.zeros(2**20)
          """),), {"test_relu": 0, "test_sigmoid": None, "test_neuron": None},
         extra=lambda g: (_bounded(g), grader_survives(g), _failed_with_a_reason(g, "test_relu"))),
    Case("exception-with-a-100-mb-message", "7-bounds", N01,
         (replace("relu", """
          def relu(Z):
              raise ValueError("m" * (100 * 2**20))
          """),), RELU0, extra=_bounded,
         note="the worker bounds what it carries (exception texts too): the later checks run"),
    Case("result-nested-100000-deep", "7-bounds", N01,
         (replace("relu", """
          def relu(Z):
              out = []
              for _ in range(100_000):
                  out = [out]
              return out
          """),), RELU0, extra=_bounded),
]


def _failed_with_a_reason(graded, grade_id: str) -> None:
    cell = graded.record_cell(grade_id)
    assert cell.points == 0
    assert any(not c.passed and c.stage for c in cell.checks) or "not graded" in \
        graded.cell_text(index_of(graded.nb, grade_id)), cell
    assert graded.cell_text(index_of(graded.nb, grade_id)).strip(), "no message"
