"""Claims of notebook 06 that code can compute (issue 16, items 8, 11 and 14), in the style of
tests/test_notebook_claims.py: each test holds one claim, and reads the notebook to check that
it says what the computation shows."""

from __future__ import annotations

import re
from functools import partial

import numpy as np
import pytest
from test_notebook_claims import text

import refimpl
from autograder import check
from notebook_tools import find_cell, source_notebook
from refimpl.diagnostics import slice_gradients
from refimpl.examples import example_network
from refimpl.gradcheck import RIGHT_UP_TO, WRONG_FROM, verdict
from refimpl.surface import parameter_entries

NB = "06_backprop"


def markdown(nb=None) -> str:
    """Every markdown cell of notebook 06, one string."""
    nb = nb or source_notebook(NB)
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


# ---------------------------------------------------------------------------------------
# The data of the notebook's cells (shortcut_check, transfer_gradcheck), built as they are
# ---------------------------------------------------------------------------------------


def shortcut_data():
    """shortcut_check: 20 students, the 2-3-1 network at init_231(seed=0)."""
    X, y = refimpl.study_sleep(n=20, seed=1)
    X = refimpl.standardize(X)[0]
    return X, y, refimpl.init_231(seed=0)


def tanh_data():
    """transfer_gradcheck: 20 other students, the tanh network at init_231(seed=3)."""
    X, y = refimpl.study_sleep(n=20, seed=2)
    X = refimpl.standardize(X)[0]
    return X, y, refimpl.init_231(seed=3)


def loss_231(X, y, loss):
    return lambda p: refimpl.loss_231(X, y, p, loss=loss)


def tanh_loss(X, y):
    return lambda p: refimpl.mlp_loss(X, y, p, loss="bce", hidden="tanh")


def backward_231(X, y, params, loss):
    _, cache = refimpl.forward_231(X, params)
    return refimpl.backward_231(X, y, params, cache, loss=loss)


# ---------------------------------------------------------------------------------------
# Item 8: one relative error, and a verdict table that classifies every error
# ---------------------------------------------------------------------------------------

_POWER = r"10\^\{(-?\d+)\}"
_CONDITIONS = {  # a row's condition, as the table writes it -> a test of e
    rf"\$e \\le {_POWER}\$": lambda a: lambda e: e <= 10.0 ** a,
    rf"\${_POWER} < e < {_POWER}\$": lambda a, b: lambda e: 10.0 ** a < e < 10.0 ** b,
    rf"\$e \\ge {_POWER}\$": lambda a: lambda e: e >= 10.0 ** a,
}


def verdict_table() -> list[tuple[str, object]]:
    """The rows of the gradient check's table: (verdict, condition on e)."""
    rows = []
    for line in find_cell(source_notebook(NB), "gradcheck").source.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[1].startswith("**"):
            continue
        word = re.match(r"\*\*(\w+)\*\*", cells[1]).group(1)
        for pattern, condition in _CONDITIONS.items():
            if m := re.fullmatch(pattern, cells[0]):
                rows.append((word, condition(*map(int, m.groups()))))
                break
        else:
            raise AssertionError(f"a row of the table that no pattern reads: {line}")
    return rows


def test_06_the_table_classifies_every_error_once_as_refimpl_s_verdict_does():
    rows = verdict_table()
    assert [word for word, _ in rows] == ["right", "suspicious", "wrong"]
    errors = [0.0, 1e-12, 1e-3, 0.5, 1.0]
    for bound in (RIGHT_UP_TO, WRONG_FROM):  # each boundary and the floats either side
        errors += [np.nextafter(bound, 0.0), bound, np.nextafter(bound, 1.0)]
    for e in errors:
        matching = [word for word, holds in rows if holds(e)]
        assert matching == [verdict(e)], (e, matching)


@pytest.mark.parametrize("d", [1e-9, -1e-6, 0.02, 0.5, 1.0])
def test_06_e_is_about_half_the_relative_difference(d):
    g = np.array([0.3, -2.0, 1e-4])
    assert refimpl.relative_error(g, g * (1 + d)) == pytest.approx(abs(d) / (2 + d), rel=1e-6)
    assert r"$\lvert d \rvert / (2 + d)$, about half the relative difference" in text(
        NB, "gradcheck")


def test_06_e_lies_in_0_1_a_factor_2_gives_a_third_a_flipped_sign_1(rng):
    g = rng.normal(size=50)
    assert refimpl.relative_error(2 * g, g) == pytest.approx(1 / 3)
    assert refimpl.relative_error(-g, g) == pytest.approx(1.0)
    assert refimpl.relative_error(g, np.zeros_like(g)) == pytest.approx(1.0)
    for _ in range(20):
        assert 0.0 <= refimpl.relative_error(rng.normal(size=9), rng.normal(size=9)) <= 1.0
    said = text(NB, "gradcheck")
    assert "a factor 2 gives $e = 1/3$, a flipped sign $e = 1$" in said
    assert "differ by 2 % or more" in said
    assert refimpl.relative_error([1.0], [1.02]) == pytest.approx(WRONG_FROM, rel=0.01)


def test_06_cs231n_s_max_convention_gives_1_to_2_times_our_e(rng):
    g, g_num = rng.normal(size=1000), rng.normal(size=1000)
    ours = np.abs(g - g_num) / (np.abs(g) + np.abs(g_num))
    cs231n = np.abs(g - g_num) / np.maximum(np.abs(g), np.abs(g_num))
    ratio = cs231n / ours
    assert np.all((ratio >= 1.0) & (ratio <= 2.0))
    assert "between 1 and 2 times our $e$" in text(NB, "gradcheck")


def test_06_right_gradients_give_1e_12_to_1e_8():
    X, y, params = shortcut_data()
    errors = [*refimpl.gradient_errors(loss_231(X, y, "mse"), params,
                                       backward_231(X, y, params, "mse")).values(),
              *refimpl.gradient_errors(loss_231(X, y, "bce"), params,
                                       backward_231(X, y, params, "bce")).values()]
    X, y, params = tanh_data()
    _, cache = refimpl.mlp_forward(X, params, hidden="tanh")
    grads = refimpl.mlp_backward(X, y, params, cache, loss="bce", hidden="tanh")
    errors += refimpl.gradient_errors(tanh_loss(X, y), params, grads).values()
    assert min(errors) >= 1e-12
    assert max(errors) <= 1e-8
    assert {verdict(e) for e in errors} == {"right"}
    assert "this notebook's give $10^{-12}$ to $10^{-8}$" in text(NB, "gradcheck")


def test_06_the_shortcut_fails_with_mse_around_0_3_and_passes_with_bce_below_1e_10():
    X, y, params = shortcut_data()
    shortcut = backward_231(X, y, params, "bce")
    with_mse = refimpl.gradient_errors(loss_231(X, y, "mse"), params, shortcut)
    with_bce = refimpl.gradient_errors(loss_231(X, y, "bce"), params, shortcut)
    assert all(0.2 <= e <= 0.45 and verdict(e) == "wrong" for e in with_mse.values())
    assert max(with_bce.values()) < 1e-10
    said = text(NB, "why")
    assert "in **every** parameter, with relative errors around 0.3" in said
    assert "passes against BCE to $10^{-10}$" in said


#: Mistakes that give no gradient to check: a matmul of the wrong shapes, or a gradient whose
#: shape is not its parameter's (gradient_errors refuses it).
SHAPE_MISTAKES = {"w2-not-transposed", "db-wrong-axis", "db-keepdims", "dw-transposed",
                  "dw1-uses-a1"}


def _mistakes(*keys):
    for key in keys:
        name, options = check.CONFIGURATIONS[key]
        for mistake in check.exercise(name, **options).mistakes:
            yield pytest.param(key, mistake, id=f"{key}:{mistake.slug}")


@pytest.mark.parametrize(("key", "mistake"), list(_mistakes(
    "backward_231_mse", "backward_231_bce", "backward_tanh_231")))
def test_06_every_named_mistake_of_a_backward_pass_is_wrong_by_the_table(key, mistake):
    """The table's "wrong" bound holds the course's own mistakes: each is 1e-2 or more off,
    except relu'(0) = 1, which changes nothing unless some Z1 is exactly 0 (a kink)."""
    if key == "backward_tanh_231":
        X, y, params = tanh_data()
        loss_fn, wrong = tanh_loss(X, y), partial(mistake.variant, X, y, params)
    else:
        loss = check.CONFIGURATIONS[key][1]["loss"]
        X, y, params = shortcut_data()
        cache = refimpl.forward_231(X, params)[1]
        loss_fn, wrong = loss_231(X, y, loss), partial(mistake.variant, X, y, params, cache,
                                                       loss=loss)
    if mistake.slug in SHAPE_MISTAKES:
        with pytest.raises(ValueError, match=r"shape|size"):  # gradient_errors', or a matmul's
            refimpl.gradient_errors(loss_fn, params, wrong())
        return
    worst = max(refimpl.gradient_errors(loss_fn, params, wrong()).values())
    if mistake.slug == "relu-prime-at-zero":
        assert verdict(worst) == "right"
    else:
        assert verdict(worst) == "wrong", worst


# ---------------------------------------------------------------------------------------
# Item 11: formulas and shapes, not code; a network the learner was not shown
# ---------------------------------------------------------------------------------------


def test_06_the_six_lines_are_formulas_and_shapes_not_code():
    prose = markdown()
    for code in ("W2.T", "relu_prime(Z1)", "sigmoid_prime(Z2)", "sum(axis", "A1.T", "X.T"):
        assert code not in prose, code
    table = text(NB, "hidden_layer")
    for row in (r"| $dZ_2$ | $2\,(\hat y - y) \odot \sigma'(Z_2) \,/\, n$ | $(n, 1)$ |",
                r"| $dZ_1$ | $(dZ_2\, W_2^\top) \odot \operatorname{relu}'(Z_1)$ |",
                r"| $dW_1$ | $X^\top dZ_1$ | $(2, n) @ (n, 3) \to (2, 3)$ |",
                r"| $db_1$ | $\sum_i dZ_1[i, :]$ | $(3,)$ |"):
        assert row in table, row


def test_06_the_transfer_network_is_the_reference_s_tanh_network():
    """The exercise's network (tanh hidden layer, sigmoid, BCE): its gradients are those of
    refimpl.mlp_backward with hidden="tanh", and tanh'(Z1) = 1 - A1**2 with A1 = tanh(Z1)."""
    X, y, params = tanh_data()
    _, cache = refimpl.mlp_forward(X, params, hidden="tanh")
    np.testing.assert_allclose(refimpl.tanh_prime(cache["Z1"]), 1 - cache["A1"] ** 2)
    assert check.exercise("backward_tanh_231").reference(X, y, params).keys() == params.keys()
    said = text(NB, "transfer_task")
    assert r"A_1 = \tanh(Z_1)" in said
    assert r"\tanh'(z) = 1 - \tanh^2(z)$, a smooth slope, 1 at $z = 0$" in said
    assert refimpl.tanh_prime(0.0) == 1.0


# ---------------------------------------------------------------------------------------
# Item 14: n is the number of samples only
# ---------------------------------------------------------------------------------------


def test_06_n_counts_samples_and_the_numerical_gradient_is_g_num():
    nb = source_notebook(NB)
    for old in (r"\lvert n \rvert", "|a - n|", "$n$ the numerical"):
        assert old not in markdown(nb), old
    assert r"$\tilde g$ the numerical one" in text(NB, "gradcheck")
    solution = find_cell(nb, "gradient_errors").source
    assert "g_num = numerical[name]" in solution
    assert "n = numerical" not in solution
    for function in (refimpl.relative_error, refimpl.gradient_errors):
        assert "|g - g_num| / max(|g| + |g_num|, 1e-8)" in " ".join(function.__doc__.split())


# ---------------------------------------------------------------------------------------
# The worked numbers and the saturation
# ---------------------------------------------------------------------------------------


def test_06_the_worked_student_s_gradients():
    x, y = np.array([[6.0, 8.0]]), np.array([[1.0]])
    params = {"W1": np.array([[0.1, -0.2, 0.1], [0.05, 0.1, -0.1]]),
              "b1": np.array([0.0, 0.2, 0.5]), "W2": np.array([[0.5], [-0.4], [1.0]]),
              "b2": np.array([-0.3])}
    y_hat, cache = refimpl.forward_231(x, params)
    grads = refimpl.backward_231(x, y, params, cache, loss="mse")
    dZ2 = 2 * (y_hat - y) * refimpl.sigmoid_prime(cache["Z2"])
    dA1 = dZ2 @ params["W2"].T
    by_hand = text(NB, "output_layer") + text(NB, "hidden_layer")
    numbers = [2 * (y_hat - y), refimpl.sigmoid_prime(cache["Z2"]), dZ2, grads["W2"][2], dA1,
               grads["W1"], grads["b1"]]
    for value in np.concatenate([np.ravel(v) for v in numbers]):
        if value != 0:
            assert f"{value:.6f}" in by_hand, value
    first_row = f"{grads['W1'][0, 0]:.3f} & 0 & {grads['W1'][0, 2]:.3f}"
    assert f"$dW_1 = \\begin{{pmatrix}} {first_row}" in text(NB, "recap")


def test_06_a_saturated_wrong_prediction_learns_about_1500_times_slower_with_mse():
    z = np.array([[-8.0]])
    y_hat = refimpl.sigmoid(z)
    mse_dZ2 = 2 * (y_hat - 1.0) * refimpl.sigmoid_prime(z)
    bce_dZ2 = y_hat - 1.0
    assert f"{100 * y_hat[0, 0]:.2f} %" == "0.03 %"
    assert f"{mse_dZ2[0, 0]:.4f}" == "-0.0007"
    assert bce_dZ2[0, 0] / mse_dZ2[0, 0] == pytest.approx(1500, rel=0.01)
    said = text(NB, "bce_task")
    assert "0.03 % chance" in said
    assert "a gradient of $-0.0007$: a learning signal about 1500 times weaker" in said


def test_06_the_explorer_opens_with_the_shortcut_about_160_degrees_off():
    from refimpl.viz.gradients import DEFAULT_PAIR, DEFAULT_POINT  # imports matplotlib

    X, y, networks = example_network()
    params = networks["initial"]  # the explorer's first network
    entries = parameter_entries(params)
    (na, ia), (nb, ib) = (entries[label] for label in DEFAULT_PAIR)
    params[na][ia] += DEFAULT_POINT[0]
    params[nb][ib] += DEFAULT_POINT[1]
    analytic, numerical = slice_gradients(partial(refimpl.backward_231, loss="bce"), X, y,
                                          params, "mse")
    down = [-np.array([g[na][ia], g[nb][ib]]) for g in (analytic, numerical)]
    cosine = down[0] @ down[1] / (np.linalg.norm(down[0]) * np.linalg.norm(down[1]))
    assert np.degrees(np.arccos(cosine)) == pytest.approx(160, abs=5)
    assert "an angle of about 160°" in text(NB, "explorer_intro")


@pytest.fixture
def rng():
    return np.random.default_rng(6)
