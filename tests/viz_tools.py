"""Helpers shared by the widget tests."""

import numpy as np


def assert_finite(drawn, values):
    """Every array an explorer drew for these control values is finite."""
    assert drawn, f"nothing drawn for {values}"
    for name, array in drawn.items():
        assert np.all(np.isfinite(array)), f"{name} has nan/inf at {values}"
