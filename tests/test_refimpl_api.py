"""The refimpl package: its public names, its glossary, and its dependencies."""

import subprocess
import sys

import refimpl

# every public name of the API contract
CONTRACT = [
    *("relu", "relu_prime", "sigmoid", "sigmoid_prime", "tanh", "tanh_prime"),
    *("identity", "identity_prime", "ACTIVATIONS", "DERIVATIVES", "get_activation", "neuron"),
    *("validate_targets", "mse", "mse_grad", "BCE_EPS", "bce", "bce_grad", "bce_from_logits"),
    *("bce_from_logits_grad", "LOSSES", "LOSS_GRADS", "dense_forward", "dense_backward"),
    *("init_231", "forward_231", "backward_231", "loss_231"),
    *("init_mlp", "mlp_forward", "mlp_backward", "mlp_loss"),
    *("gd_step", "gradient_descent", "TrainingHistory", "train", "DIVERGENCE_FACTOR"),
    *("numerical_gradient", "numerical_gradients", "relative_error", "GradientCheckError"),
    *("grad_check", "study_sleep", "FEATURE_NAMES", "xor", "moons", "spirals"),
    *("train_test_split", "standardize", "loss_surface"),
    *("neuron_loss_grads", "Value", "gradient_errors"),  # notebooks 05 and 06
    *("value_network_231", "value_grads", "zero_grad"),  # notebook 05, not graded
    *("INIT_SCHEMES", "init_std", "StackStatistics", "deep_stack_statistics"),  # notebook 10
    *("OPTIMIZERS", "ADAM_DEFAULTS", "zeros_like_params", "momentum_step", "adam_step"),
    *("optimizer_path", "steps_to_reach", "l2_regularize", "early_stopping"),
    *("FitHistory", "fit_classifier"),
]


def test_every_contract_name_is_exported():
    missing = [name for name in CONTRACT if not hasattr(refimpl, name)]
    assert not missing
    assert sorted(refimpl.__all__) == sorted(set(refimpl.__all__))
    assert set(CONTRACT) <= set(refimpl.__all__)
    for name in refimpl.__all__:
        assert getattr(refimpl, name) is not None


def test_public_functions_have_numpydoc_docstrings():
    for name in refimpl.__all__:
        obj = getattr(refimpl, name)
        if callable(obj) and not isinstance(obj, type):
            doc = obj.__doc__ or ""
            assert doc.strip(), name
            assert "Returns\n" in doc or "Raises\n" in doc, name


def test_the_module_docstring_is_the_glossary():
    doc = refimpl.__doc__
    rows = [line.split("  ")[0] for line in doc.splitlines()]
    symbols = {symbol.strip() for row in rows for symbol in row.split(",")}
    for symbol in ("X", "y", "n", "W1", "b1", "Z1", "A1", "W2", "b2", "Z2", "y_hat", "A2",
                   "dW", "db", "dZ", "delta", "L", "lr", "params", "grads", "cache"):  # fmt: skip
        assert symbol in symbols, symbol
    assert "relu'(0) = 0" in doc
    assert "never (n,)" in doc
    assert "including the 1/n" in doc


def test_refimpl_imports_numpy_only():
    code = (
        "import sys, refimpl; "
        "bad = [m for m in ('matplotlib', 'ipywidgets', 'autograder', 'scipy', 'IPython') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
