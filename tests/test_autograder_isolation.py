"""Each check grades one exercise: earlier exercises it calls are the reference's meanwhile."""

import numpy as np
import pytest

from autograder import CheckFailed, check

LEARNER_CELLS = '''
import numpy as np

def relu(Z):
    return np.minimum(Z, 0)  # wrong

def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))

def dense_forward(X, W, b):
    return X @ W + b

def forward_231(X, params):
    Z1 = dense_forward(X, params["W1"], params["b1"])
    A1 = relu(Z1)
    Z2 = dense_forward(A1, params["W2"], params["b2"])
    A2 = sigmoid(Z2)
    return A2, {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}
'''


@pytest.fixture
def notebook_namespace():
    """Functions defined the way a notebook defines them: globals of one namespace."""
    namespace: dict = {}
    exec(compile(LEARNER_CELLS, "<learner cells>", "exec"), namespace)
    return namespace


def test_a_wrong_relu_fails_only_the_relu_check(notebook_namespace, capsys):
    with pytest.raises(CheckFailed):
        check.relu(notebook_namespace["relu"])
    check.forward_231(notebook_namespace["forward_231"])
    check.forward_231(notebook_namespace["forward_231"], hidden=True)
    assert "forward_231" in capsys.readouterr().out


def test_the_learners_own_functions_are_put_back(notebook_namespace):
    wrong_relu = notebook_namespace["relu"]
    check.evaluate("forward_231", notebook_namespace["forward_231"])
    assert notebook_namespace["relu"] is wrong_relu
    np.testing.assert_array_equal(wrong_relu(np.array([1.0, -1.0])), [0.0, -1.0])


def test_functions_are_put_back_after_a_failing_check(notebook_namespace):
    notebook_namespace["sigmoid_before"] = notebook_namespace["sigmoid"]
    exec("def forward_231(X, params):\n    raise ValueError('boom')", notebook_namespace)
    result = check.evaluate("forward_231", notebook_namespace["forward_231"])
    assert not result.passed
    assert notebook_namespace["sigmoid"] is notebook_namespace["sigmoid_before"]
