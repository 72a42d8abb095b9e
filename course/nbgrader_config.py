"""nbgrader settings for backprop-course (nbgrader 0.9.6).

Paths are relative to this file, so the course folder can be copied anywhere (tests grade a
temporary copy). The instructor workflow in autograder/course.py loads this file.
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from autograder.grading.overwrite import (
    GuardedDeduplicateIds,
    GuardedOverwriteCells,
    SanitizedHTMLExporter,
    SourceClearHiddenTests,
)
from autograder.grading.trusted import TrustedExecute

c = get_config()  # noqa: F821  (nbgrader injects get_config)
course_root = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "backprop-course"
c.CourseDirectory.root = course_root

# Stubs the learner sees in place of solutions.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A learner who deletes a graded cell gets it back (else it silently becomes "needs manual grade").
c.OverwriteCells.add_missing_cells = True

# Trusted grading (autograder/grading/trusted.py): the learner's code runs in a sandbox, the checks
# compare its results with the reference in the grader's process. nbgrader's own steps stay.
# The learner controls a submission's metadata too. GuardedDeduplicateIds and
# GuardedOverwriteCells (autograder/grading/overwrite.py): every cell the source knows gets its
# type and metadata back, a grade cell the source does not know grades nothing, malformed or
# repeated metadata is dropped (nbgrader's own steps stop there with an exception), and what
# changed is listed in the class report; stripped hidden tests are not reported as a change, so
# a real tamper warning stands out.
c.Autograde.sanitize_preprocessors = [
    ClearOutput, GuardedDeduplicateIds, OverwriteKernelspec, GuardedOverwriteCells,
    CheckCellMetadata]
c.Autograde.autograde_preprocessors = [
    TrustedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata]
c.TrustedExecute.course_root = course_root
# Limits: a loop in one cell or check cannot hang a batch, nor the whole notebook, nor use all
# the memory. Test cells write only the checks' messages, never stderr: a correct answer that
# warns is not failed (nbgrader fails any test cell with stderr output).
c.TrustedExecute.cell_timeout = 60
c.TrustedExecute.notebook_timeout = 600
c.TrustedExecute.memory_limit_mb = 4096

# Feedback never shows hidden tests: nbgrader 0.9.6 leaves them in the feedback HTML unless
# this step removes them; the checks' messages in hidden mode carry no expected value.
# SourceClearHiddenTests touches only the source's locked test cells: nbgrader's
# ClearHiddenTests fails on a learner's cell that quotes its marker, and that learner would get
# no feedback.
c.GenerateFeedback.preprocessors = [GetGrades, SourceClearHiddenTests, CSSHTMLHeaderPreprocessor]

# Feedback is a web page made from the learner's Markdown: no script, iframe, event handler or
# javascript: link of theirs may run in it. SanitizedHTMLExporter applies sanitize_html to the
# Markdown cells too (nbgrader's feedback template skips it there), keeping headings, tables,
# math and images.
c.GenerateFeedback.exporter_class = SanitizedHTMLExporter
c.HTMLExporter.sanitize_html = True

# Per-cell limit when nbgrader itself executes (nbgrader validate, stock autograde).
c.Execute.timeout = 60

# Keep no widget state in executed notebooks: the HTML of feedback then shows each explorer's
# static PNG, which works offline; saved state would make nbconvert render an empty widget.
c.Execute.store_widget_state = False

# nbgrader's exchange, where students fetch and submit on a shared server (README, "Teaching on
# a JupyterHub"): outside the course folder, which students must not read. The hub's students
# are given the same root (autograder/classroom/hub.py). $BACKPROP_COURSE_EXCHANGE moves it.
c.Exchange.root = os.environ.get("BACKPROP_COURSE_EXCHANGE", "/srv/nbgrader/exchange")
