"""The checks of notebook 01_neuron: sigmoid's hidden cases overflow a naive sigmoid.

What the catalogue cannot test (see tests/check_tools.py): the design of the cases.
"""

from __future__ import annotations

import pytest

from autograder import check


@pytest.mark.parametrize("seed", [None, 0, 1, 3, 11, 12345])
def test_every_hidden_sigmoid_run_contains_overflowing_inputs(seed):
    cases = check.exercise("sigmoid").cases(hidden=True, seed=seed)
    assert any((case.args[0] < -709).any() for case in cases)
    assert any((case.args[0] > 709).any() for case in cases)
    assert all(case.forbid_fp_errors == ("overflow",) for case in cases)
