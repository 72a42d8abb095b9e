"""The teaching-check engine: compare a learner's function with the reference, case by case,
and explain the first difference. It knows no exercise: ``autograder.exercises`` describes
each one, and ``autograder.check`` is what a notebook calls.

Modules, in the order a check uses them::

    types.py      Case, Mistake, CheckResult, CheckFailed, the output specs (Leaf, DictOf, TupleOf)
    exercise.py   Exercise: everything the engine needs to check one exercise, in one object
    engine.py     run_check: the reference's results, the loop over cases, the failure message
    running.py    calling the learner's code on the cases (LearnerRun), its tracebacks
    stages.py     the per-case stages in their documented order (Judge.problem)
    compare.py    tolerances, inputs changed in place, a constant factor
    messages.py   the texts: header, inputs, differences, advice, the success line
    mistakes.py   the known mistake that best explains a failure
    formatting.py numbers, arrays, shapes and indices in text
    seeding.py    the seed of the hidden cases
"""
