"""nbgrader settings for backprop-course (nbgrader 0.9.6).

Paths are relative to this file, so the course folder can be copied anywhere (tests grade a
temporary copy). The instructor workflow in autograder/course.py loads this file.
"""

import os

c = get_config()  # noqa: F821  (nbgrader injects get_config)
course_root = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "backprop-course"
c.CourseDirectory.root = course_root

# Stubs the learner sees in place of solutions.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A learner who deletes a graded cell gets it back (else it silently becomes "needs manual grade").
c.OverwriteCells.add_missing_cells = True

# Per-cell execution limit; a loop in a learner's cell cannot hang a batch.
c.Execute.timeout = 60

# Keep no widget state in executed notebooks: the HTML of feedback then shows each explorer's
# static PNG, which works offline; saved state would make nbconvert render an empty widget.
c.Execute.store_widget_state = False

# The default exchange (/srv/nbgrader/exchange) is not writable on most machines.
c.Exchange.root = os.path.join(course_root, "exchange")
