"""Which reference functions a notebook being graded may call, and when.

The worker has no reference code; a notebook's ``refimpl.X(...)`` asks the grader, which runs
``refimpl.X`` in its own process only when that cannot compute an answer still to be graded:

1. during a check, the functions its exercise is meant to call (``Exercise.uses``: the
   reference ``relu`` inside ``forward_231``, so that a wrong relu costs only the relu
   points; ``numerical_gradients`` inside ``gradient_errors``), and the functions the
   check's cases hand to the learner's function (test functions, activations);
2. at any time, a function none of whose :data:`ANSWERS` is an exercise of this notebook
   that still has cases to run. A function missing from :data:`ANSWERS` is taken to answer
   every exercise, so it runs only after the notebook's last check.

A reference function is given as code only to a check whose exercise is meant to be built on
it (:data:`SHIPPED`: ``Value`` for ``value_neuron_loss``), under the same rule 2 for every
other exercise.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field

import refimpl
from autograder.grading.worker.codec import Handle

__all__ = ["ANSWERS", "SHIPPED", "Policy", "code_objects", "reference_constants",
           "reference_names"]

_FORWARD = frozenset({"relu", "sigmoid", "neuron", "dense_forward", "forward_231", "predict",
                      "mlp_forward"})
_LOSSES = frozenset({"mse", "bce", "bce_from_logits"})
_GRADIENTS = frozenset({"dense_backward", "backward_231", "backward_tanh_231", "mlp_backward",
                        "neuron_loss_grads", "value_neuron_loss", "gradient_errors", "train",
                        "gd_step"})
_NUMERICAL = frozenset({"numerical_derivative", "numerical_gradient", "gradient_errors"})
_SOFTMAX = frozenset({"log_softmax", "softmax_cross_entropy_backward"})
_CLASSIFIER = _FORWARD | _SOFTMAX | frozenset({
    "relu_backward", "dense_backward", "classifier_gradients", "train_classifier"})
_OPTIMIZERS = frozenset({"gradient_descent", "gd_step", "momentum_step", "adam_step"})

#: The exercises each reference function could answer, with a little arithmetic or a few
#: crafted calls (a function of labels still gives probabilities by bisecting thresholds).
ANSWERS: dict[str, frozenset[str]] = {
    # data sets and starting points: no exercise
    **{name: frozenset() for name in (
        "study_sleep", "moons", "spirals", "xor", "standardize", "train_test_split",
        "init_231", "validate_targets", "tanh", "tanh_prime", "identity", "identity_prime")},
    "relu": frozenset({"relu"}),
    "relu_prime": frozenset({"relu"}),
    "sigmoid": frozenset({"sigmoid"}),
    "sigmoid_prime": frozenset({"sigmoid"}),
    "neuron": _FORWARD,
    # the affine part of every forward exercise; the parameter gradients of every backward one
    "dense_forward": frozenset({"dense_forward", "neuron", "forward_231", "predict",
                                "mlp_forward"}),
    "dense_backward": frozenset({"dense_backward", "backward_231", "backward_tanh_231",
                                 "mlp_backward"}),
    "forward_231": _FORWARD,
    "predict": _FORWARD,
    "mlp_forward": _FORWARD,
    "mse": frozenset({"mse"}),
    "bce": frozenset({"bce", "bce_from_logits"}),
    "bce_from_logits": frozenset({"bce", "bce_from_logits", "sigmoid"}),
    "accuracy": frozenset({"accuracy"}),
    "numerical_derivative": _NUMERICAL,
    "numerical_gradient": _NUMERICAL,
    "numerical_gradients": _NUMERICAL,
    "relative_error": frozenset({"gradient_errors"}),
    "gradient_errors": _NUMERICAL,
    "grad_check": _NUMERICAL,
    "gradient_descent": frozenset({"gradient_descent", "gd_step"}),
    "gd_step": frozenset({"gd_step"}),
    "neuron_loss_grads": frozenset({"neuron_loss_grads", "value_neuron_loss", "sigmoid"}),
    "loss_231": _FORWARD | _LOSSES,
    "mlp_loss": _FORWARD | _LOSSES,
    "backward_231": _FORWARD | _LOSSES | _GRADIENTS,
    "mlp_backward": _FORWARD | _LOSSES | _GRADIENTS,
    "train": _FORWARD | _LOSSES | _GRADIENTS | {"gradient_descent"},
    "Value": frozenset({"Value", "value_neuron_loss", "neuron_loss_grads", "relu", "sigmoid",
                        "neuron"}),
    # the 2-3-1 network built of Values: what backward_231 answers, and Value objects
    "value_network_231": _FORWARD | _LOSSES | _GRADIENTS | {"Value"},
    "value_grads": frozenset(),
    "zero_grad": frozenset(),
    # notebook 09: the digits and their bookkeeping answer nothing
    **{name: frozenset() for name in (
        "load_digits", "load_digits_split", "one_hot", "minibatches", "confusion_matrix")},
    "label_accuracy": frozenset({"accuracy"}),
    "relu_backward": frozenset({"relu_backward", "relu"}),  # relu_backward(Z, Z) = relu(Z)
    "log_softmax": _SOFTMAX,
    "softmax": _SOFTMAX,
    "cross_entropy": _SOFTMAX,
    "softmax_cross_entropy_backward": _SOFTMAX,
    "classifier_forward": _FORWARD,
    "predict_labels": _FORWARD,
    "classifier_gradients": _CLASSIFIER,
    "train_classifier": _CLASSIFIER,
    # notebook 10: a seeded start's weights divided by the same seed's normal draws give its
    # std; so do a deep stack's activations
    "init_mlp": frozenset({"init_std"}),
    "init_std": frozenset({"init_std"}),
    "deep_stack_statistics": frozenset({"init_std"}),
    "zeros_like_params": frozenset(),
    "steps_to_reach": frozenset(),
    "momentum_step": frozenset({"momentum_step"}),
    "adam_step": frozenset({"adam_step"}),
    # crafted gradients replay any optimiser state; "sgd" is gradient descent
    "optimizer_path": _OPTIMIZERS,
    "l2_regularize": frozenset({"l2_regularize"}),
    "early_stopping": frozenset({"early_stopping"}),
    # trains with both optimisers, the L2 penalty and early stopping
    "fit_classifier": _CLASSIFIER | _OPTIMIZERS | frozenset({
        "l2_regularize", "early_stopping"}),
}

#: Reference classes given as code to the check of an exercise built on them; the source is
#: the class and the module-level helpers it uses.
SHIPPED: dict[str, dict[str, tuple[object, ...]]] = {
    "value_neuron_loss": {"Value": (refimpl.autodiff.scalar_sigmoid, refimpl.Value)},
}


def code_objects(obj: object) -> list[object]:
    """The code objects of a function, or of a class's methods and properties: what a
    reference function runs, to recognise it (or a copy of it) in a learner's code."""
    members = list(vars(obj).values()) if isinstance(obj, type) else [obj]
    codes = [getattr(getattr(m, "fget", m), "__code__", None) for m in members]
    return [code for code in codes if code is not None]


def reference_names() -> list[str]:
    """The public functions and classes of refimpl (the stand-in's callables)."""
    return sorted(name for name in refimpl.__all__ if callable(getattr(refimpl, name)))


def reference_constants() -> dict[str, object]:
    """The public values of refimpl, for the worker: plain data as it is, and the tables of
    functions (``ACTIVATIONS``) with each function as a handle to the grader's."""
    names = set(reference_names())

    def portable(value: object) -> object:
        if isinstance(value, int | float | str | bool | type(None)):
            return value
        if isinstance(value, tuple | list):
            return type(value)(portable(v) for v in value)
        if isinstance(value, dict):
            return {k: portable(v) for k, v in value.items()}
        if callable(value) and getattr(value, "__name__", None) in names:
            return Handle(0, value.__name__)
        raise TypeError(type(value).__name__)

    constants = {}
    for name in refimpl.__all__:
        if name not in names:
            with contextlib.suppress(TypeError):
                constants[name] = portable(getattr(refimpl, name))
    return constants


def shipped_source(exercise: str) -> dict[str, str]:
    """The code an exercise's check gives the worker: ``{name: source}``."""
    sources = {}
    for name, objects in SHIPPED.get(exercise, {}).items():
        header = "from __future__ import annotations\nimport math\nfrom numbers import Real\n\n"
        sources[name] = header + "\n\n".join(inspect.getsource(obj) for obj in objects)
    return sources


@dataclass
class Policy:
    """The state of one notebook's grading: which exercises still have cases to run.

    ``pending``: the exercise of every check still to run, in order (one entry per check).
    """

    pending: list[str]
    current: str | None = None
    check: object = None  # the running check's key (its test cell and position)
    uses: frozenset[str] = frozenset()
    refused: list[tuple[str, object]] = field(default_factory=list)  # (name, check key)

    def start_check(self, exercise: str, uses: Iterable[str], key: object = None) -> None:
        self.current, self.check, self.uses = exercise, key, frozenset(uses)

    def end_check(self) -> None:
        if self.current in self.pending:
            self.pending.remove(self.current)
        self.current, self.check, self.uses = None, None, frozenset()

    def refusal(self, name: str) -> str | None:
        """Why the reference function ``name`` may not run now; None when it may."""
        if name in self.uses:
            return None
        answers = ANSWERS.get(name)
        waiting = set(self.pending) if answers is None else answers & set(self.pending)
        if not waiting:
            return None
        self.refused.append((name, self.check))
        what = ("the notebook's last check" if answers is None
                else "the check" + ("s" if len(waiting) > 1 else "") + " of "
                + ", ".join(sorted(waiting)))
        verb = "have" if len(waiting) > 1 and answers is not None else "has"
        return (f"refimpl.{name} is not available while this notebook is graded, until "
                f"{what} {verb} run: it could compute an answer still to be graded.")

    def may_ship(self, exercise: str) -> bool:
        """Whether the code :data:`SHIPPED` to ``exercise`` answers no other pending check."""
        others = set(self.pending) - {exercise}
        return not any(ANSWERS.get(name, others) & others for name in SHIPPED.get(exercise, {}))

    def used_own_reference(self, exercise: str, key: object = None) -> str | None:
        """A reference function that could answer ``exercise`` and that its check ``key``
        tried to call (and was refused)."""
        if key is None:
            return None
        for name, during in self.refused:
            if during == key and exercise in ANSWERS.get(name, {exercise}):
                return name
        return None
