"""Smoke test: every benchmark runs once at its smallest size, so none of them rots; and the
benchmarks of NumPy code time NumPy alone, without loading a widget or plotting library."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import __main__ as bench
from benchmarks import peer, surface, widgets
from benchmarks._common import Table, Target, fitted_exponent
from refimpl import init_231, loss_surface

TITLES = {
    "step": "1. Training step",
    "backward": "2. Cheap gradient",
    "torch": "3. Against a peer",
    "widgets": "4a. Widget latency",
    "surface": "4b. Loss surface",
    "course": "5. Course execution",
    "grading": "6. Grading throughput",
    "scaling": "7. Scaling",
    "cold": "8. Cold start",
    "distributed": "9. Grading on a cluster (Dask)",
}


def test_every_explorer_is_benchmarked():
    assert len(widgets.explorers()) >= 4


def test_the_benchmark_command_prints_every_table(capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert set(TITLES) == set(bench.BENCHMARKS)
    for name, title in TITLES.items():
        assert (title in out) == (name not in bench.NOT_QUICK), name
    for name in bench.NOT_QUICK:
        assert f"run it with --only {name}" in out
    assert "BLAS: openblas" in out or "BLAS:" in out
    assert "threads" in out
    assert "OPENBLAS_CORETYPE" in out
    for name in widgets.explorers():
        assert name in out
    assert "stock / --jobs 2" in out  # grading: stock nbgrader against the trusted grader
    assert "MISSED" not in out  # --quick gives no verdicts


def test_only_runs_the_named_benchmarks(capsys):
    assert bench.main(["--quick", "--only", "backward", "--only", "surface"]) == 0
    out = capsys.readouterr().out
    assert TITLES["backward"] in out
    assert TITLES["surface"] in out
    assert TITLES["step"] not in out
    with pytest.raises(SystemExit):
        bench.main(["--only", "nonsense"])


def test_without_torch_the_peer_benchmark_says_it_skipped(monkeypatch):
    monkeypatch.setattr(peer, "import_torch", lambda: None)
    text = peer.run(quick=True).render()
    assert "SKIPPED: torch is not importable" in text
    assert "pip install torch==2.13.0" in text


def test_the_naive_surface_is_the_same_surface():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), rng.integers(0, 2, (30, 1)).astype(float)
    params = init_231(seed=1)
    pair = ("W1", (1, 0)), ("W2", (0, 0))
    values = np.linspace(-2, 2, 7), np.linspace(-1, 3, 5)
    np.testing.assert_allclose(
        surface.naive_surface(X, y, params, *pair, *values),
        loss_surface(X, y, params, *pair, *values),
        rtol=1e-12,
    )


def test_targets_and_exponents():
    assert Target("<=", 1.3, "x").met(1.3)
    assert not Target("<=", 1.3, "x").met(1.31)
    assert not Target(">=", 5, "x").met(float("nan"))
    assert Target("within", 2.0, tolerance=0.15).met(1.9)
    assert not Target("within", 2.0, tolerance=0.15).met(1.8)
    assert fitted_exponent([1, 2, 4, 8], [3, 12, 48, 192]) == pytest.approx(2.0)
    table = Table("t")
    table.add("fast enough", 1.2, "x", Target("<=", 1.3, "x"))
    table.add("too slow", 60.0, "ms", Target("<=", 50, "ms"))
    assert table.verdicts() == [("fast enough", True), ("too slow", False)]
    text = table.render()
    assert "met" in text
    assert "MISSED" in text


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_the_surface_does_not_depend_on_the_chunk_size(monkeypatch, loss):
    """The surface benchmark's speed comes from chunks of the grid: they change no bit."""
    import refimpl.surface

    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(20, 2)), rng.integers(0, 2, (20, 1)).astype(float)
    params = {key: value + 0.3 for key, value in init_231(seed=3).items()}
    values = np.linspace(-2, 2, 13), np.linspace(-1, 3, 11)
    for pair in [(("W1", (1, 0)), ("W2", (0, 0))), (("b1", (2,)), ("W1", (0, 2))),
                 (("W2", (1, 0)), ("b2", (0,)))]:
        whole = loss_surface(X, y, params, *pair, *values, loss=loss)
        for entries in (1, 20 * 7, 20 * 64):
            monkeypatch.setattr(refimpl.surface, "CHUNK_ENTRIES", entries)
            chunked = loss_surface(X, y, params, *pair, *values, loss=loss)
            np.testing.assert_array_equal(chunked, whole)
        monkeypatch.undo()


def test_the_floor_counts_what_it_computes():
    """step_flops matches the products matmul_floor runs, with and without dL/dX."""
    from benchmarks.step import matmul_floor, problem, step_flops

    sizes, n = [6, 5, 4, 3], 7
    X, _, params = problem(sizes, n)
    for input_gradient, products in ((False, 8), (True, 9)):  # 3 forward, 3 dW, 2 or 3 dA
        counted = []
        real_matmul = np.matmul

        def counting(a, b, out=None, _counted=counted, _matmul=real_matmul):
            _counted.append(2 * a.shape[0] * a.shape[1] * b.shape[1])
            return _matmul(a, b, out=out)

        floor = matmul_floor(X, params, input_gradient=input_gradient)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(np, "matmul", counting)
            floor()
        assert len(counted) == products
        assert sum(counted) == step_flops(sizes, n, input_gradient)


def test_blas_threads_without_a_named_blas(monkeypatch):
    """A numpy linked to MKL's own libraries shows threadpoolctl only its OpenMP pool."""
    import threadpoolctl

    from benchmarks._common import blas_threads

    openmp = {"user_api": "openmp", "internal_api": "openmp", "num_threads": 2}
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: [openmp])
    assert blas_threads() == 2
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: [])
    assert blas_threads() >= 1
    blas = {"user_api": "blas", "internal_api": "openblas", "num_threads": 3}
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: [openmp, blas])
    assert blas_threads() == 3


#: The benchmarks that time refimpl's NumPy code, with the functions that run them.
NUMPY_BENCHMARKS = {
    "surface": ["run"],
    "scaling": ["run"],
    "step": ["run_step", "run_backward"],
    "peer": ["run"],
}
#: What a benchmark of NumPy code must not load (none of these four draws anything).
DRAWING = ("ipywidgets", "matplotlib", "refimpl.viz", "IPython")


@pytest.mark.parametrize("name", sorted(NUMPY_BENCHMARKS))
def test_numpy_benchmarks_load_no_widget_or_plotting_library(name):
    """Imported in a fresh interpreter, then run at its smallest size: a benchmark of NumPy code
    must not time (or wait for) the import of ipywidgets, matplotlib or refimpl.viz."""
    runs = "".join(f"m.{function}(quick=True); " for function in NUMPY_BENCHMARKS[name])
    watch = f"[x for x in {DRAWING!r} if x in sys.modules]"
    code = (
        f"import sys; import benchmarks.{name} as m; print({watch}); "
        f"{runs}print({watch})"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    after_import, after_run = out.stdout.strip().splitlines()[-2:]
    assert after_import == "[]", f"importing benchmarks.{name} loads {after_import}"
    assert after_run == "[]", f"running benchmarks.{name} loads {after_run}"
