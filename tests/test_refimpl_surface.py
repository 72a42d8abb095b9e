"""refimpl.surface: loss_surface equal to a slow loop, vectorised over the grid; the labels of
the entries it takes; the loss at one point of a slice."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from refimpl_tools import perturbed_mlp

import refimpl.activations
from refimpl import init_231, loss_231, loss_surface, mlp_loss
from refimpl.examples import example_network
from refimpl.surface import parameter_entries, slice_function

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)
CONFIGS = [  # (loss, hidden, output)
    ("bce", "relu", "sigmoid"),
    ("mse", "relu", "sigmoid"),
    ("mse", "tanh", "identity"),
    ("bce", "sigmoid", "sigmoid"),
]


def loop_surface(X, y, params, param_a, param_b, values_a, values_b, **options):
    """The slow reference: set the two entries, compute the plain loss, grid point by point."""
    surface = np.empty((len(values_a), len(values_b)))
    for i, a in enumerate(values_a):
        for j, b in enumerate(values_b):
            moved = {key: value.copy() for key, value in params.items()}
            moved[param_a[0]][param_a[1]] = a
            moved[param_b[0]][param_b[1]] = b
            surface[i, j] = mlp_loss(X, y, moved, **options)
    return surface


def random_case(sizes, seed, loss, n=6):
    return perturbed_mlp(sizes, n, loss, seed, scale=0.3)


def entries(params):
    return [(key, index) for key, value in params.items() for index in np.ndindex(value.shape)]


@SETTINGS
@given(
    sizes=st.sampled_from([[2, 3, 1], [2, 1], [3, 4, 2], [2, 3, 4, 1], [1, 2, 2, 2, 1]]),
    seed=st.integers(0, 2**32 - 1),
    config=st.sampled_from(CONFIGS),
    data=st.data(),
)
def test_loss_surface_equals_a_loop(sizes, seed, config, data):
    loss, hidden, output = config
    X, y, params, rng = random_case(sizes, seed, loss)
    param_a, param_b = data.draw(st.permutations(entries(params)))[:2]
    values_a, values_b = rng.normal(size=4), rng.normal(size=3)
    options = {"loss": loss, "hidden": hidden, "output": output}
    surface = loss_surface(X, y, params, param_a, param_b, values_a, values_b, **options)
    expected = loop_surface(X, y, params, param_a, param_b, values_a, values_b, **options)
    assert surface.shape == (4, 3)
    np.testing.assert_allclose(surface, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("loss", "hidden", "output"), CONFIGS)
def test_every_pair_of_the_231_network(loss, hidden, output):
    X, y, params, _ = random_case([2, 3, 1], 5, loss)
    values_a, values_b = np.linspace(-2, 2, 3), np.linspace(-1, 1, 2)
    options = {"loss": loss, "hidden": hidden, "output": output}
    names = entries(params)
    for k, param_a in enumerate(names):
        for param_b in names[:k] + names[k + 1 :]:
            surface = loss_surface(X, y, params, param_a, param_b, values_a, values_b, **options)
            expected = loop_surface(X, y, params, param_a, param_b, values_a, values_b, **options)
            np.testing.assert_allclose(surface, expected, rtol=1e-12, atol=1e-14)


def test_value_at_the_current_parameters_is_the_plain_loss():
    X, y, params, _ = random_case([2, 3, 1], 11, "bce", n=50)
    param_a, param_b = ("W1", (1, 0)), ("W2", (0, 0))
    a, b = params["W1"][1, 0], params["W2"][0, 0]
    values_a, values_b = np.array([a - 1.0, a, a + 0.5]), np.array([b, b + 1.0])
    surface = loss_surface(X, y, params, param_a, param_b, values_a, values_b)
    assert surface[1, 0] == pytest.approx(mlp_loss(X, y, params), rel=1e-13)


def test_rows_follow_values_a_and_columns_values_b():
    X, y, params, _ = random_case([2, 3, 1], 2, "mse")
    pair = ("b2", (0,)), ("W2", (2, 0))
    surface = loss_surface(X, y, params, *pair, [0.0, 1.0], [5.0], loss="mse")
    moved = {**params, "b2": np.array([1.0]), "W2": params["W2"].copy()}
    moved["W2"][2, 0] = 5.0
    assert surface.shape == (2, 1)
    assert surface[1, 0] == pytest.approx(mlp_loss(X, y, moved, loss="mse"), rel=1e-13)


def test_index_may_be_an_int_for_a_bias():
    X, y, params, _ = random_case([2, 3, 1], 3, "bce")
    a = loss_surface(X, y, params, ("b1", 2), ("b2", 0), [0.1, 0.2], [0.3])
    b = loss_surface(X, y, params, ("b1", (2,)), ("b2", (0,)), [0.1, 0.2], [0.3])
    np.testing.assert_array_equal(a, b)


def test_no_python_loop_over_grid_points(monkeypatch):
    """The hidden activation is called as often for a 3 x 3 grid as for a 60 x 60 one."""
    calls = []

    def counting_relu(Z):
        calls.append(np.shape(Z))
        return refimpl.activations.relu(Z)

    monkeypatch.setitem(refimpl.activations.ACTIVATIONS, "relu", counting_relu)
    X, y, params, _ = random_case([2, 3, 3, 1], 4, "bce", n=20)
    pair = (("W1", (0, 1)), ("W2", (2, 0)))
    loss_surface(X, y, params, *pair, np.linspace(-1, 1, 3), np.linspace(-1, 1, 3))
    small = len(calls)
    calls.clear()
    loss_surface(X, y, params, *pair, np.linspace(-1, 1, 60), np.linspace(-1, 1, 60))
    assert len(calls) == small
    assert (3600, 20, 3) in calls  # the layer above the touched ones, for the whole grid


def test_loss_surface_on_a_150_by_150_grid():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 2)), rng.integers(0, 2, (200, 1)).astype(float)
    grid = np.linspace(-3, 3, 150)
    surface = loss_surface(X, y, init_231(), ("W1", (0, 1)), ("W1", (1, 1)), grid, grid)
    assert surface.shape == (150, 150)
    assert np.all(np.isfinite(surface))
    assert np.all(surface > 0)


def test_loss_surface_checks_its_arguments():
    X, y, params, _ = random_case([2, 3, 1], 1, "bce")
    grid = np.linspace(-1, 1, 3)
    with pytest.raises(ValueError, match="two different parameters"):
        loss_surface(X, y, params, ("W1", (0, 1)), ("W1", (0, 1)), grid, grid)
    with pytest.raises(ValueError, match=r"param_a: \(2, 0\) is not an index of W1"):
        loss_surface(X, y, params, ("W1", (2, 0)), ("b2", (0,)), grid, grid)
    with pytest.raises(ValueError, match="param_b must be a pair"):
        loss_surface(X, y, params, ("W1", (0, 0)), ("W3", (0, 0)), grid, grid)
    with pytest.raises(ValueError, match="param_b must be a pair"):
        loss_surface(X, y, params, ("W1", (0, 0)), "b2", grid, grid)
    with pytest.raises(ValueError, match="values_b must be a non-empty 1-D array"):
        loss_surface(X, y, params, ("W1", (0, 0)), ("b2", (0,)), grid, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"y.reshape\(-1, 1\)"):
        loss_surface(X, y.ravel(), params, ("W1", (0, 0)), ("b2", (0,)), grid, grid)
    with pytest.raises(ValueError, match="BCE needs probabilities"):
        loss_surface(X, y, params, ("W1", (0, 0)), ("b2", (0,)), grid, grid, output="identity")


def test_parameter_entries_label_every_entry_as_loss_surface_takes_it():
    entries = parameter_entries(init_231())
    assert len(entries) == 13
    assert list(entries)[:3] == ["W1[0, 0]", "W1[0, 1]", "W1[0, 2]"]
    assert entries["W1[1, 0]"] == ("W1", (1, 0))
    assert entries["b2[0]"] == ("b2", (0,))


def test_the_slice_is_the_network_loss_with_two_entries_changed():
    X, y, params = example_network()
    f = slice_function(X, y, params["trained"], ("W1", (1, 0)), ("W2", (0, 0)))
    changed = {key: value.copy() for key, value in params["trained"].items()}
    changed["W1"][1, 0], changed["W2"][0, 0] = -1.5, 2.0
    assert f(np.array([-1.5, 2.0])) == pytest.approx(loss_231(X, y, changed, "bce"))
