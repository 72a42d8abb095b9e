"""While the trusted grader runs a submission, explorers are not drawn (no time, no figure)."""

import pytest

from refimpl import viz
from refimpl.viz._core import GRADING_ENV, NotDrawn


def test_explorers_are_not_drawn_while_grading(monkeypatch):
    monkeypatch.setenv(GRADING_ENV, "1")
    explorer = viz.NeuronExplorer()
    assert isinstance(explorer, NotDrawn)
    assert explorer.update(w1=1.0) is None  # every method is a no-op
    assert "not drawn while grading" in repr(explorer)
    assert "NeuronExplorer" in repr(explorer)


@pytest.mark.parametrize("value", [None, "0", ""])
def test_explorers_are_drawn_otherwise(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(GRADING_ENV, raising=False)
    else:
        monkeypatch.setenv(GRADING_ENV, value)
    assert isinstance(viz.NeuronExplorer(), viz.NeuronExplorer)
