"""refimpl.autodiff: the chain rule by hand (neuron_loss_grads) and by machine (Value)."""

import math
import sys
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from refimpl_tools import neuron_chain_rule

from refimpl import (
    Value,
    backward_231,
    forward_231,
    init_231,
    loss_231,
    neuron_loss_grads,
    numerical_derivative,
    study_sleep,
    value_grads,
    value_network_231,
    zero_grad,
)
from refimpl.autodiff import trace_neuron_loss

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True)


# ---------------------------------------------------------------------------------------
# neuron_loss_grads
# ---------------------------------------------------------------------------------------


def test_neuron_loss_grads_worked_example():
    # w = 0.5, b = 0.1, x = 1.5, y = 1:
    #   z = 0.5 * 1.5 + 0.1 = 0.85, a = sigma(0.85) = 0.7005671425
    #   dL/da = 2 (a - y) = -0.598865715;  da/dz = a (1 - a) = 0.2097728214
    #   dL/dz = -0.1256257507;  dL/dw = dL/dz * x = -0.188438626;  dL/db = dL/dz
    dL_dw, dL_db = neuron_loss_grads(0.5, 0.1, 1.5, 1.0)
    assert isinstance(dL_dw, float)
    assert isinstance(dL_db, float)
    assert dL_dw == pytest.approx(-0.188438626, rel=1e-8)
    assert dL_db == pytest.approx(-0.1256257507, rel=1e-8)


def _neuron_loss(w, b, x, y):
    return (1 / (1 + math.exp(-(w * x + b))) - y) ** 2


@SETTINGS
@given(w=st.floats(-3, 3), b=st.floats(-3, 3), x=st.floats(-3, 3), y=st.floats(0, 1))
def test_neuron_loss_grads_match_central_differences(w, b, x, y):
    dL_dw, dL_db = neuron_loss_grads(w, b, x, y)
    assert dL_dw == pytest.approx(
        numerical_derivative(lambda t: _neuron_loss(t, b, x, y), w, 1e-6), rel=1e-5, abs=1e-8)
    assert dL_db == pytest.approx(
        numerical_derivative(lambda t: _neuron_loss(w, t, x, y), b, 1e-6), rel=1e-5, abs=1e-8)


@SETTINGS
@given(w=st.floats(-5, 5), b=st.floats(-5, 5), x=st.floats(-5, 5), y=st.floats(0, 1))
def test_neuron_loss_grads_match_value(w, b, x, y):
    w_v, b_v = Value(w), Value(b)
    L = ((w_v * x + b_v).sigmoid() - y) ** 2
    L.backward()
    assert L.data == pytest.approx(_neuron_loss(w, b, x, y), rel=1e-12, abs=1e-15)
    dL_dw, dL_db = neuron_loss_grads(w, b, x, y)
    assert w_v.grad == pytest.approx(dL_dw, rel=1e-12, abs=1e-15)
    assert b_v.grad == pytest.approx(dL_db, rel=1e-12, abs=1e-15)


def test_neuron_loss_grads_is_finite_for_huge_z():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert neuron_loss_grads(1000.0, 0.0, 1.0, 0.0) == (0.0, 0.0)  # sigma'(1000) = 0
        assert neuron_loss_grads(-1000.0, 0.0, 1.0, 1.0) == (-0.0, -0.0)


# ---------------------------------------------------------------------------------------
# Value: each operation
# ---------------------------------------------------------------------------------------


def test_a_new_value_holds_a_float_and_no_gradient():
    a = Value(3)
    assert (a.data, a.grad) == (3.0, 0.0)
    assert isinstance(a.data, float)
    assert repr(a) == "Value(data=3, grad=0)"


@pytest.mark.parametrize(
    ("build", "data", "grad_a", "grad_b"),
    [
        (lambda a, b: a + b, 1.0, 1.0, 1.0),  # a = 3, b = -2
        (lambda a, b: a * b, -6.0, -2.0, 3.0),
        (lambda a, b: a - b, 5.0, 1.0, -1.0),
        (lambda a, b: a**2 + b**3, 1.0, 6.0, 12.0),
        (lambda a, b: -a + b, -5.0, -1.0, 1.0),
        (lambda a, b: a / b, -1.5, -0.5, -0.75),  # d(a/b)/db = -a / b**2
        (lambda a, b: a.relu() + b.relu(), 3.0, 1.0, 0.0),
    ],
    ids=["add", "mul", "sub", "pow", "neg", "div", "relu"],
)
def test_operations_and_their_local_derivatives(build, data, grad_a, grad_b):
    a, b = Value(3.0), Value(-2.0)
    out = build(a, b)
    out.backward()
    assert out.data == pytest.approx(data)
    assert (a.grad, b.grad) == (pytest.approx(grad_a), pytest.approx(grad_b))
    assert out.grad == 1.0


def test_numbers_mix_with_values_on_either_side():
    a = Value(2.0)
    out = 3 * a + 1 - (1 - a) * 2 + a / 4 + 8 / a
    out.backward()
    assert out.data == pytest.approx(3 * 2 + 1 - (1 - 2) * 2 + 2 / 4 + 8 / 2)
    assert a.grad == pytest.approx(3 + 2 + 0.25 - 8 / 4)


def test_relu_prime_at_zero_is_zero():
    x = Value(0.0)
    out = x.relu()
    out.backward()
    assert (out.data, x.grad) == (0.0, 0.0)


def test_sigmoid_is_stable_and_its_derivative_comes_from_the_output():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for z, s in ((1000.0, 1.0), (-1000.0, 0.0), (0.0, 0.5)):
            x = Value(z)
            out = x.sigmoid()
            out.backward()
            assert out.data == s
            assert x.grad == pytest.approx(s * (1 - s))


def test_pow_needs_a_number_exponent():
    with pytest.raises(TypeError, match="plain number"):
        Value(2.0) ** Value(3.0)


def test_operations_reject_other_types():
    with pytest.raises(TypeError):
        Value(1.0) + "a"
    with pytest.raises(TypeError):
        [1] * Value(2.0)


# ---------------------------------------------------------------------------------------
# Value: forks, order, accumulation
# ---------------------------------------------------------------------------------------


def test_a_value_used_twice_by_one_operation():
    a = Value(3.0)
    out = a * a
    out.backward()
    assert a.grad == 6.0  # d(a**2)/da = 2a: both uses add up


def test_a_leaf_in_two_branches():
    a, b = Value(3.0), Value(-2.0)
    out = a * a + a * b  # d/da = 2a + b = 4, d/db = a = 3
    out.backward()
    assert (a.grad, b.grad) == (4.0, 3.0)


def test_an_intermediate_value_in_two_branches_waits_for_both():
    a, b = Value(1.5), Value(2.0)
    c = a * b
    d = c + a
    out = d * d + c.relu()
    out.backward()
    # out = (ab + a)**2 + ab: d/da = 2 (ab + a)(b + 1) + b = 29, d/db = 2 (ab + a) a + a = 15
    assert (a.grad, b.grad) == (29.0, 15.0)
    assert c.grad == pytest.approx(2 * d.data + 1)


def test_gradients_accumulate_over_two_backward_calls():
    a = Value(2.0)
    out = a * 3
    out.backward()
    out.backward()
    assert a.grad == 6.0  # documented: zero .grad between backward calls


def test_a_deep_chain_needs_no_recursion():
    x = Value(0.5)
    out = x
    for _ in range(3 * sys.getrecursionlimit()):
        out = out * 1.0 + 0.0
    out.backward()
    assert x.grad == 1.0


# ---------------------------------------------------------------------------------------
# Value on random expressions vs central differences
# ---------------------------------------------------------------------------------------

OPS = ("add", "sub", "mul", "square", "relu", "sigmoid")


@st.composite
def programs(draw):
    """(leaf values, [(op, i, j)]) where i, j index earlier nodes: a DAG with forks."""
    leaves = draw(st.lists(st.floats(-2, 2), min_size=1, max_size=4))
    steps = []
    for k in range(draw(st.integers(1, 10))):
        n_nodes = len(leaves) + k
        op = draw(st.sampled_from(OPS))
        steps.append((op, draw(st.integers(0, n_nodes - 1)), draw(st.integers(0, n_nodes - 1))))
    return leaves, steps


def _run(leaves, steps, make, relu, sigmoid, kinks=None):
    operations = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y,
                  "mul": lambda x, y: x * y, "square": lambda x, y: x**2,
                  "relu": lambda x, y: relu(x), "sigmoid": lambda x, y: sigmoid(x)}
    nodes = [make(v) for v in leaves]
    for op, i, j in steps:
        if op == "relu" and kinks is not None:
            kinks.append(nodes[i])
        nodes.append(operations[op](nodes[i], nodes[j]))
    total = nodes[0]
    for node in nodes[1:]:  # every node reaches the output
        total = total + node
    return nodes, total


def _float_program(leaves, steps, kinks=None):
    def sigmoid(x):
        return 1 / (1 + math.exp(-x))

    return _run(leaves, steps, float, lambda x: max(x, 0.0), sigmoid, kinks)[1]


@SETTINGS
@given(program=programs())
def test_value_gradients_match_central_differences(program):
    leaves, steps = program
    kinks = []
    values = _float_program(leaves, steps, kinks)
    assume(all(abs(k) > 1e-3 for k in kinks))  # h must not cross a relu kink
    assume(abs(values) < 1e3)
    nodes, out = _run(leaves, steps, Value, Value.relu, Value.sigmoid)
    out.backward()
    assert out.data == pytest.approx(values, rel=1e-12, abs=1e-12)
    for k in range(len(leaves)):
        def f(t, k=k):
            return _float_program([t if m == k else v for m, v in enumerate(leaves)], steps)

        slope = numerical_derivative(f, leaves[k], 1e-6)
        assert nodes[k].grad == pytest.approx(slope, rel=1e-4, abs=1e-5)


@SETTINGS
@given(program=programs())
def test_every_backward_is_called_once_after_all_its_parents(program):
    """The topological order: a node passes its gradient on only once it is complete."""
    leaves, steps = program
    _, out = _run(leaves, steps, Value, Value.relu, Value.sigmoid)
    reachable, stack = {}, [out]
    while stack:
        node = stack.pop()
        if id(node) not in reachable:
            reachable[id(node)] = node
            stack.extend(node._prev)
    calls = []
    for node in reachable.values():
        inner = node._backward

        def spy(node=node, inner=inner):
            calls.append(node)
            inner()

        node._backward = spy
    out.backward()
    assert sorted(map(id, calls)) == sorted(reachable)  # every node, exactly once
    position = {id(node): i for i, node in enumerate(calls)}
    for node in calls:
        for child in node._prev:
            assert position[id(child)] > position[id(node)]


def test_trace_uses_only_add_mul_sigmoid_and_backward():
    got = trace_neuron_loss(Value, 0.5, -0.5, 2.0, 1.0)
    e = neuron_chain_rule(0.5, -0.5, 2.0, 1.0)
    for key, value in e.items():
        assert got[key] == pytest.approx(value, rel=1e-12)


def test_a_second_backward_compounds_through_intermediate_values():
    """The docstring's example: intermediate gradients are passed on again, so p gets 18."""
    p = Value(1.0)
    r = 3 * (2 * p)
    r.backward()
    assert p.grad == 6.0
    r.backward()
    assert p.grad == 18.0  # not 12: q kept its .grad from the first call


# ---------------------------------------------------------------------------------------
# The 2-3-1 network built from Values; zero_grad
# ---------------------------------------------------------------------------------------


class MinimalValue(Value):
    """Only the operations of notebook 05's Value that value_network_231 may use: +, *, **,
    relu, sigmoid, backward (a learner's class need not have the others)."""

    __radd__ = __rmul__ = __sub__ = __rsub__ = __neg__ = __truediv__ = __rtruediv__ = None


class SubValue(Value):
    """A subclass of the reference: every node it makes must be one too."""


def _students(seed, n=5):
    X, y = study_sleep(n=n, seed=seed)
    params = {key: np.random.default_rng(seed).normal(0.0, 1.0, value.shape)
              for key, value in init_231(seed=seed).items()}
    return (X - X.mean(axis=0)) / X.std(axis=0), y, params


def _graph(root):
    """Every Value the root was computed from (and the root)."""
    nodes, stack = {}, [root]
    while stack:
        node = stack.pop()
        if id(node) not in nodes:
            nodes[id(node)] = node
            stack.extend(node._prev)
    return list(nodes.values())


def _largest_difference(got, expected):
    return max(np.max(np.abs(got[key] - expected[key])) for key in expected)


@pytest.mark.parametrize("value", [Value, MinimalValue, SubValue],
                         ids=["reference", "minimal", "subclass"])
@pytest.mark.parametrize("loss", ["mse", "bce"])
@pytest.mark.parametrize("seed", range(6))
def test_value_network_gets_the_gradients_of_backward_231(seed, loss, value):
    X, y, params = _students(seed)
    root, leaves = value_network_231(X, y, params, value=value, loss=loss)
    assert all(type(node) is value for node in _graph(root))
    root.backward()
    _, cache = forward_231(X, params)
    expected = backward_231(X, y, params, cache, loss=loss)
    got = value_grads(leaves)
    assert {key: g.shape for key, g in got.items()} == {k: e.shape for k, e in expected.items()}
    assert _largest_difference(got, expected) < 1e-12
    assert root.data == pytest.approx(loss_231(X, y, params, loss=loss), rel=1e-12)


def test_value_network_uses_dead_units_and_saturated_outputs_safely():
    X, y, params = _students(0)
    params["b1"] = np.array([-100.0, 0.0, 100.0])  # one unit dead for every student
    params["b2"] = np.array([800.0])  # sigma'(Z2) = 0 and BCE's softplus would overflow naively
    for loss in ("mse", "bce"):
        root, leaves = value_network_231(X, y, params, loss=loss)
        root.backward()
        _, cache = forward_231(X, params)
        expected = backward_231(X, y, params, cache, loss=loss)
        assert _largest_difference(value_grads(leaves), expected) < 1e-12
        assert math.isfinite(root.data)


def test_a_second_backward_compounds_and_zero_grad_of_the_loss_undoes_it():
    X, y, params = _students(1)
    root, leaves = value_network_231(X, y, params)
    root.backward()
    first = value_grads(leaves)
    root.backward()
    ratios = np.concatenate([(value_grads(leaves)[k] / first[k]).ravel() for k in first])
    assert not np.allclose(ratios, 2.0)  # compounded, not doubled
    zero_grad(root)
    assert all(node.grad == 0.0 for node in _graph(root))  # every node, leaves included
    root.backward()
    assert _largest_difference(value_grads(leaves), first) < 1e-15


def test_a_new_graph_on_the_same_leaves_adds_its_gradients_to_theirs():
    """A training loop's situation: only the parameters carry gradients over (hence zero_grad
    of the parameters, PyTorch's optimizer.zero_grad())."""
    X, y, params = _students(2)
    root, leaves = value_network_231(X, y, params, value=MinimalValue)
    root.backward()
    first = value_grads(leaves)
    again, same = value_network_231(X, y, leaves, value=MinimalValue)
    assert all(same[key][i] is leaves[key][i] for key in leaves
               for i in np.ndindex(leaves[key].shape))
    again.backward()
    doubled = value_grads(leaves)
    for key in first:
        np.testing.assert_allclose(doubled[key], 2 * first[key], rtol=1e-12, atol=1e-15)
    zero_grad(leaves)  # the parameters only, then the next step's new graph
    assert all(v.grad == 0.0 for values in leaves.values() for v in values.flat)
    value_network_231(X, y, leaves, value=MinimalValue)[0].backward()
    assert _largest_difference(value_grads(leaves), first) < 1e-15


def test_zero_grad_takes_values_lists_and_arrays():
    a, b = Value(2.0), Value(3.0)
    out = a * b + a
    out.backward()
    zero_grad([a, (np.array([b], dtype=object),)])
    assert (a.grad, b.grad, out.grad) == (0.0, 0.0, 1.0)  # out was not given
    zero_grad(out)
    assert out.grad == 0.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda X, y, p: (X, y[:, 0], p), r"y should have shape \(5, 1\)"),
        (lambda X, y, p: (X[:, :1], y, p), r"X should have shape \(n, 2\)"),
        (lambda X, y, p: (X, y, {**p, "W1": p["W1"].T}), r"params\['W1'\] should have shape"),
        (lambda X, y, p: (X, y, {"W1": p["W1"]}), "needs params W1, b1, W2, b2"),
        (lambda X, y, p: (X, 2 * y - 1, p), "BCE needs targets y in"),
    ],
)
def test_value_network_rejects_wrong_shapes_and_labels(change, message):
    X, y, params = _students(0)
    with pytest.raises(ValueError, match=message):
        value_network_231(*change(X, y, params), loss="bce")
