"""The teaching-check engine: compare a learner's function with the reference, case by case,
and explain the first difference. It knows no exercise: ``autograder.exercises`` describes
each one, and ``autograder.check`` is what a notebook calls."""
