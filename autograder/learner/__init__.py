"""The learner's tools: the workspace that updates never overwrite, and the progress check
(``backprop-course check``)."""
