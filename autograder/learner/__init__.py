"""The learner's tools: the workspace that updates never overwrite, and the progress check
(``backprop-course check``), and the learner's JupyterLab (``lab``: nbgrader's instructor
tools off, no news pop-up)."""
