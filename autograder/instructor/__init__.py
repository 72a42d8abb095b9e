"""The instructor's workflow: collect submissions, autograde them in the trusted grader,
hand back feedback, export grades and report on a class."""
