"""The reference passes every check; every catalogued mistake is caught and named.

- the reference (refimpl) passes every check, visible and hidden, for several seeds;
- every mistake's variant fails with its slug and hint, visible AND hidden (mutation tests);
- no two mistakes of an exercise (nor a mistake and the reference) behave alike on the
  visible cases, so every name the checker gives is unambiguous.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from autograder import CheckFailed, check
from autograder.checks.mistakes import same_behaviour
from autograder.checks.running import observe
from autograder.exercises.catalogue import CATALOGUE, mistakes_for

CONFIGS = check.CONFIGURATIONS  # catalogue key -> (check name, options)

MISTAKES = [(key, m) for key, mistakes in CATALOGUE.items() for m in mistakes]


def _exercise(key):
    name, options = CONFIGS[key]
    return check.exercise(name, **options)


def test_every_exercise_and_catalogue_key_is_configured():
    assert set(CONFIGS) == set(CATALOGUE)
    assert {name for name, _ in CONFIGS.values()} == set(check.EXERCISES)
    for key in CONFIGS:
        assert _exercise(key).key == key


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_every_exercise_is_registered_with_its_check_and_mistakes(key):
    name, options = CONFIGS[key]
    assert name in check.EXERCISES
    assert key in check.CONFIGURATIONS
    assert name in check.__all__
    assert callable(getattr(check, name))
    assert len(mistakes_for(key)) >= 3
    assert check.evaluate(name, _exercise(key).reference, **options).passed


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_reference_emits_no_warning_on_any_case(key):
    """pytest turns warnings into errors: refimpl must be silent on every case."""
    ex = _exercise(key)
    for case in ex.cases() + ex.cases(hidden=True):
        if case.raises is not None:  # bad input: the reference refuses it, as learners must
            with pytest.raises(case.raises):
                ex.reference(*case.args, **case.kwargs, **case.options)
        else:
            ex.reference(*case.args, **case.kwargs, **case.options)


@pytest.mark.parametrize("key", sorted(CONFIGS))
@pytest.mark.parametrize("seed", [None, 0, 1, 12345])
def test_reference_passes_visible_and_hidden(key, seed, capsys):
    name, options = CONFIGS[key]
    ex = _exercise(key)
    getattr(check, name)(ex.reference, **options, seed=seed)
    getattr(check, name)(ex.reference, **options, hidden=True, seed=seed)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"✔ {ex.title}: {len(ex.cases())} visible case")
    assert out[1] == f"✔ {ex.title}: {check.N_HIDDEN} hidden cases passed"


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
@pytest.mark.parametrize(("key", "mistake"), MISTAKES,
                         ids=[f"{key}:{m.slug}" for key, m in MISTAKES])
def test_planted_mistake_is_caught_and_named(key, mistake, hidden):
    name, options = CONFIGS[key]
    with pytest.raises(CheckFailed) as info:
        getattr(check, name)(mistake.variant, **options, hidden=hidden, seed=3)
    result = info.value.result
    assert not result.passed
    assert result.mistake == mistake.slug
    assert f"[{mistake.slug}]" in str(info.value)
    assert mistake.hint in str(info.value)
    assert result.message == str(info.value)


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_reference_matches_no_mistake(key):
    result = check.run(_exercise(key), _exercise(key).reference)
    assert result.passed
    assert result.mistake is None
    assert result.stage is None


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_mistakes_are_distinguishable_on_the_visible_cases(key):
    """No two mistakes (nor a mistake and the reference) behave alike on every visible case."""
    ex = _exercise(key)
    cases = ex.cases()
    expected = [observe(ex.reference, case) for case in cases]
    behaviours = {"<reference>": expected}
    behaviours |= {m.slug: [observe(m.variant, case) for case in cases] for m in ex.mistakes}
    alike = [
        (a, b)
        for a, b in itertools.combinations(behaviours, 2)
        if all(same_behaviour(x, y, ex.output, e.output, ex.rtol, ex.atol)
               for x, y, e in zip(behaviours[a], behaviours[b], expected, strict=True))
    ]
    assert alike == []


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_catalogue_entries_are_well_formed(key):
    slugs = [m.slug for m in CATALOGUE[key]]
    assert len(slugs) == len(set(slugs)), "slugs must be unique within an exercise"
    for m in CATALOGUE[key]:
        assert m.variant is not None, "every mistake has a variant (used by these tests)"
        assert m.name
        assert m.hint.endswith((".", "?", ")"))


def test_catalogue_covers_the_required_mistakes():
    required = {
        "relu": {"relu-returns-mask", "relu-min-not-max", "relu-abs"},
        "sigmoid": {"sigmoid-exp-sign", "sigmoid-tanh", "sigmoid-minus-in-denominator"},
        "neuron": {"activation-not-applied", "bias-after-activation", "neuron-transposed"},
        "dense_forward": {"bias-missing", "w-transposed"},
        "mse": {"mse-no-square", "mse-abs", "sum-instead-of-mean", "half-mse"},
        "bce": {"unclipped-log", "bce-sign-flip", "sum-instead-of-mean"},
        "numerical_gradient": {"forward-difference", "missing-2-in-2h", "x-not-restored"},
        "gradient_descent": {"gd-ascent", "path-without-x0"},
        "backward_231_mse": {"missing-sigmoid-prime", "bce-shortcut-with-mse", "missing-1-over-n",
                             "missing-factor-2", "w2-not-transposed", "relu-prime-at-zero",
                             "db-wrong-axis", "sign-flip", "missing-relu-prime"},
        "backward_231_bce": {"extra-factor-2", "missing-1-over-n", "w2-not-transposed",
                             "relu-prime-at-zero", "db-wrong-axis", "sign-flip"},
        "mlp_backward": {"w-not-transposed", "missing-hidden-derivative",
                         "dw-uses-own-activation"},
        "backward_tanh_231": {"tanh-prime-of-z", "relu-prime-in-tanh-layer",
                              "mse-gradient-with-bce", "missing-1-over-n"},
    }
    for key, slugs in required.items():
        assert slugs <= {m.slug for m in CATALOGUE[key]}, key


def test_visible_backward_cases_expose_relu_prime_at_zero_and_avoid_n_1_2():
    for loss in ("mse", "bce"):
        cases = check.exercise("backward_231", loss=loss).cases()
        assert all(case.args[0].shape[0] not in (1, 2) for case in cases)
        assert any((case.args[3]["Z1"] == 0).any() for case in cases)


def test_visible_mlp_cases_include_a_square_hidden_layer():
    sizes = [[case.args[2][f"W{l}"].shape for l in range(1, len(case.args[2]) // 2 + 1)]
             for case in check.exercise("mlp_backward").cases()]
    assert any(any(a == b for a, b in layer_shapes) for layer_shapes in sizes)


def test_hidden_cases_include_n_1_and_non_square_shapes():
    for key in ("dense_forward", "backward_231_mse", "mlp_backward"):
        cases = _exercise(key).cases(hidden=True)
        first = [np.shape(case.args[0]) for case in cases]
        assert any(s[0] == 1 for s in first), key
        assert any(len(s) == 2 and s[0] != s[1] for s in first), key
