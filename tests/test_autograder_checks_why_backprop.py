"""The checks of notebook 08_why_backprop: mlp_forward, gd_step.

What the catalogue cannot test (see tests/check_tools.py): solutions written the way a
learner writes them, the options, the depths and shapes of the cases, a missing cache key.
"""

from __future__ import annotations

from check_tools import failure, passes

import refimpl
from autograder import check


def mlp_forward(X, params):
    L = len(params) // 2
    A = X
    cache = {"A0": X}
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        A = refimpl.relu(Z) if l < L else refimpl.sigmoid(Z)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache


def test_mlp_forward_passes(capsys):
    passes(check.mlp_forward, mlp_forward, capsys)


def test_mlp_forward_options_are_passed_when_accepted(capsys):
    check.mlp_forward(refimpl.mlp_forward, hidden_activation="tanh", output="identity")
    assert "mlp_forward (hidden='tanh', output='identity')" in capsys.readouterr().out


def test_mlp_forward_cases_cover_depths_square_layers_and_n_1():
    depth = [len(case.args[1]) // 2 for case in check.exercise("mlp_forward").cases()]
    assert sorted(depth) == [1, 2, 3]
    deep = check.exercise("mlp_forward").cases()[2].args[1]
    assert deep["W2"].shape[0] == deep["W2"].shape[1]
    hidden = check.exercise("mlp_forward").cases(hidden=True)
    assert {len(case.args[1]) // 2 for case in hidden} == {1, 2, 3}
    assert any(case.args[0].shape[0] == 1 for case in hidden)


def test_mlp_forward_missing_cache_key_is_named_with_its_purpose():
    def no_a0(X, params):
        y_hat, cache = mlp_forward(X, params)
        del cache["A0"]
        return y_hat, cache

    result = failure(check.mlp_forward, no_a0)
    assert "cache has no key 'A0'" in result.message
    assert "mlp_backward needs A0 (= X)" in result.message


def test_gd_step_passes(capsys):
    passes(check.gd_step, lambda params, grads, lr: {k: params[k] - lr * grads[k] for k in params},
           capsys)
