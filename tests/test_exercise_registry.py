"""The exercises are declared once, one module per notebook, and ``check.NAME`` is made from
each declaration: a real signature with the exercise's options, a docstring with its words
and its tolerance, and the name, module and help of an ordinary function.
"""

from __future__ import annotations

import inspect
import json
import pydoc
from pathlib import Path

import numpy as np
import pytest

import refimpl
from autograder import CheckFailed, check
from autograder.exercises import registry
from autograder.exercises.catalogue import mistakes_for, planted_source
from autograder.grading.trusted import parse_test_cell
from notebook_tools import SOURCE_NOTEBOOKS, exercises

EXERCISES_DIR = Path(registry.__file__).parent
NAMES = list(registry.ENTRIES)
#: Declared where notebook 06 teaches it, but no test cell checks it (yet).
NOT_CHECKED_BY_A_NOTEBOOK: set[str] = set()
KEYWORD = inspect.Parameter.KEYWORD_ONLY


def _check_calls(path: Path) -> list:
    """The check calls of a source notebook's test cells (as the trusted grader reads them)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [call for exercise in exercises(nb)
            for call in parse_test_cell("".join(nb["cells"][exercise.test_index]["source"]))]


# ---------------------------------------------------------------------------------------
# One module per notebook, one entry per exercise
# ---------------------------------------------------------------------------------------


def test_one_module_per_notebook_in_course_order():
    notebooks = [path.stem for path in SOURCE_NOTEBOOKS]
    assert list(registry.NOTEBOOKS) == notebooks
    for notebook in notebooks:
        assert (EXERCISES_DIR / f"nb{notebook}.py").is_file(), notebook
    declared = [name for names in registry.NOTEBOOKS.values() for name in names]
    assert declared == NAMES == list(check.EXERCISES)


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=[p.stem for p in SOURCE_NOTEBOOKS])
def test_every_check_call_of_a_notebook_resolves_to_a_declared_exercise(path):
    """Each call builds its exercise; a notebook checks the exercises of its own module, and
    may check one of an earlier notebook again (07_training: predict)."""
    earlier = set()
    for notebook, names in registry.NOTEBOOKS.items():
        if notebook == path.stem:
            break
        earlier |= set(names)
    own = set(registry.NOTEBOOKS[path.stem])
    called = set()
    for call in _check_calls(path):
        exercise = check.exercise(call.exercise, **call.options)
        assert exercise.name == call.exercise
        assert call.exercise in own | earlier, (path.stem, call.exercise)
        called.add(call.exercise)
    assert own - NOT_CHECKED_BY_A_NOTEBOOK <= called, path.stem


def test_every_configuration_is_one_of_its_entry():
    for key, (name, options) in registry.CONFIGURATIONS.items():
        assert registry.exercise(name, **options).key == key
        assert options in [dict(o) for o in registry.ENTRIES[name].configurations]
    assert {name for name, _ in registry.CONFIGURATIONS.values()} == set(NAMES)


def test_exercise_refuses_unknown_names_options_and_values():
    with pytest.raises(ValueError, match="unknown exercise 'nope'"):
        check.exercise("nope")
    with pytest.raises(TypeError):
        check.exercise("relu", loss="bce")
    with pytest.raises(ValueError, match="loss must be 'mse' or 'bce'"):
        check.exercise("backward_231", loss="mae")


@pytest.mark.parametrize("name", NAMES)
def test_tolerances_are_stated_once(name):
    """Only the ``Exercise`` states rtol and atol: the words of the docstring never do."""
    entry = registry.ENTRIES[name]
    for words in (entry.summary, entry.details, entry.tolerance_why):
        assert "rtol=" not in words, name
        assert "atol=" not in words, name


# ---------------------------------------------------------------------------------------
# check.NAME, made from each entry
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_is_a_check_with_the_name_and_module_of_a_function(name):
    fn = getattr(check, name)
    assert name in check.__all__
    assert (fn.__name__, fn.__qualname__, fn.__module__) == (name, name, "autograder.check")


@pytest.mark.parametrize("name", NAMES)
def test_the_signature_has_the_learners_object_the_options_hidden_and_seed(name):
    parameters = list(inspect.signature(getattr(check, name)).parameters.values())
    learner, *options, hidden, seed = parameters
    assert learner.name == ("learner_class" if name == "Value" else "learner_fn")
    assert learner.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert (hidden.name, hidden.kind, hidden.default) == ("hidden", KEYWORD, False)
    assert (seed.name, seed.kind, seed.default) == ("seed", KEYWORD, None)
    build = inspect.signature(check.EXERCISES[name]).parameters
    assert [(o.name, o.kind, o.default) for o in options] == [
        (p.name, KEYWORD, p.default) for p in build.values()]


def test_the_options_of_the_checks_with_options():
    def options(name):
        return {p.name: p.default for p in inspect.signature(getattr(check, name)).parameters
                .values() if p.name not in ("learner_fn", "hidden", "seed")}

    assert options("backward_231") == {"loss": "mse"}
    assert options("mlp_backward") == {"loss": "bce", "hidden_activation": "relu",
                                       "output": "sigmoid"}
    assert options("mlp_forward") == {"hidden_activation": "relu", "output": "sigmoid"}
    assert options("neuron") == {"activations": ("sigmoid", "relu")}
    assert str(inspect.signature(check.relu)) == (
        "(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None")


@pytest.mark.parametrize("name", NAMES)
def test_the_docstring_says_what_is_checked_and_the_tolerance(name):
    exercise, entry = check.exercise(name), registry.ENTRIES[name]
    doc = inspect.getdoc(getattr(check, name))
    flat = " ".join(doc.split())
    assert doc.startswith("Check ")
    assert " ".join(entry.summary.split()) in flat
    assert f"rtol={exercise.rtol:g}, atol={exercise.atol:g}" in flat
    assert "Parameters\n----------" in doc
    assert "CheckFailed" in doc
    for option in entry.options():
        assert f"\n{option.name} : " in doc


def test_help_shows_the_signature_and_the_docstring():
    text = pydoc.render_doc(check.backward_231, renderer=pydoc.plaintext)
    assert "backward_231(learner_fn: Any, *, loss: str = 'mse', hidden: bool = False" in text
    assert "rtol=1e-06, atol=1e-09" in text


def test_a_check_binds_its_arguments_like_a_function(capsys):
    check.backward_231(learner_fn=refimpl.backward_231, loss="bce")
    assert capsys.readouterr().out.startswith("✔ backward_231 (loss='bce'): 3 visible cases")
    with pytest.raises(TypeError, match="loss"):
        check.relu(refimpl.relu, loss="bce")
    with pytest.raises(TypeError):
        check.relu(refimpl.relu, True)  # hidden is keyword-only
    with pytest.raises(CheckFailed) as info:
        check.relu(lambda Z: np.minimum(np.asarray(Z, float), 0.0))
    assert info.value.result.mistake == "relu-min-not-max"
    assert info.value.__suppress_context__


# ---------------------------------------------------------------------------------------
# Wrong versions keep working outside their module
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "slug"), [("backward_231_bce", "db-wrong-axis"),
                                           ("mlp_backward", "relu-prime-at-zero"),
                                           ("sigmoid", "sigmoid-tanh")])
def test_a_planted_source_brings_the_shared_helpers_it_uses(key, slug):
    """A wrong version typed into a notebook as a learner would: with the helpers of the
    shared module it uses (sum_bias, hidden_delta, as_f64), without any autograder import."""
    name, options = registry.CONFIGURATIONS[key]
    variant = next(m for m in mistakes_for(key) if m.slug == slug).variant
    source = planted_source(variant, name)
    assert "autograder" not in source
    namespace = {}
    exec(compile(source, f"<planted {slug}>", "exec"), namespace)
    result = check.evaluate(name, namespace[name], **options)
    assert result.mistake == slug
