"""Smoke test: every benchmark runs once at its smallest size, so none of them rots."""

from benchmarks import __main__ as bench
from benchmarks import widgets


def test_every_explorer_is_benchmarked():
    assert len(widgets.explorers()) >= 4


def test_the_benchmark_command_prints_its_tables(capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "BLAS" in out
    assert "Widget latency" in out
    for name in widgets.explorers():
        assert name in out
