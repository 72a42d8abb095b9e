"""The hidden programs of check.Value (the driving of a Value class lives with the other
drivers, in ``autograder.grading.worker.drivers``).

``random_program(rng)`` draws the hidden programs: every one contains each operation,
a node used twice by one operation (``p * p``), an intermediate node used by two later
operations, and a relu of exactly 0 (two leaves with the same value, ``(a - e).relu()``).
"""

from __future__ import annotations

import numpy as np

import refimpl
from autograder.grading.worker.drivers import (
    INTERFACE,
    evaluate_node,
    parse_program,
    run_program,
    run_value_neuron_loss,
)

__all__ = ["INTERFACE", "random_program", "run_program", "run_value_neuron_loss"]


# ---------------------------------------------------------------------------------------
# Random programs (hidden cases)
# ---------------------------------------------------------------------------------------

_TEMPORARIES = "pqrstuvghijkmn"  # intermediate names: letters only (no digits in messages)

# Programs whose intermediate values exceed this are drawn again: repeated squaring would
# otherwise reach 1e18, and a plain math.exp sigmoid overflows beyond |x| = 709.
_MAX_NODE_VALUE = 10.0


def random_program(rng: np.random.Generator, extra_ops: int = 2) -> tuple[str, dict[str, float]]:
    """A random program over 3 to 5 leaves with every operation, forks and a relu(0).

    Every intermediate value stays within +-10 (other programs are drawn again).

    Returns
    -------
    program : str, assignments ending with ``out = ...``
    leaves : dict of float, the leaves' values (two of them equal: the relu(0) pair)
    """
    while True:
        program, leaves = _draw_program(rng, extra_ops)
        nodes = {name: refimpl.Value(value) for name, value in leaves.items()}
        for target, expr in parse_program(program):
            nodes[target] = evaluate_node(expr, nodes)
        if max(abs(node.data) for node in nodes.values()) <= _MAX_NODE_VALUE:
            return program, leaves


def _draw_program(rng: np.random.Generator, extra_ops: int) -> tuple[str, dict[str, float]]:
    n_leaves = int(rng.integers(3, 6))
    names = "abcde"[:n_leaves]
    values = rng.choice([-1.0, 1.0], n_leaves) * rng.uniform(0.3, 2.0, n_leaves)
    values[-1] = values[0]  # a - e is exactly 0: relu'(0) decides a's and e's gradient
    leaves = {name: float(v) for name, v in zip(names, values, strict=True)}

    lines: list[str] = []
    pool: list[str] = list(names)  # nodes available as operands
    unused: list[str] = list(names)  # nodes no operation has used yet (summed into out)
    final: list[str] = []  # nodes reserved for the final sum

    def new(expr: str, *operands: str) -> str:
        name = _TEMPORARIES[len(lines)]
        lines.append(f"{name} = {expr}")
        for operand in operands:
            if operand in unused:
                unused.remove(operand)
        pool.append(name)
        unused.append(name)
        return name

    def pick() -> str:
        if unused and rng.random() < 0.7:
            return str(rng.choice(unused))
        return str(rng.choice(pool))

    def two() -> tuple[str, str]:
        first = pick()
        second = pick()
        while second == first and len(pool) > 1:
            second = str(rng.choice(pool))
        return first, second

    def binary(op: str) -> str:
        x, y = two()
        return new(f"{x} {op} {y}", x, y)

    def unary(kind: str) -> str:
        x = pick()
        expr = f"{x} ** 2" if kind == "square" else f"{x}.{kind}()"
        return new(expr, x)

    motifs = ["relu-at-zero", "self-product", "two-parents", "add", "sub", "mul",
              "square", "relu", "sigmoid"]
    motifs += list(rng.choice(["add", "sub", "mul", "square", "relu", "sigmoid"], extra_ops))
    rng.shuffle(motifs)
    for motif in motifs:
        if motif == "relu-at-zero":
            zero = new(f"({names[0]} - {names[-1]}).relu()", names[0], names[-1])
            pool.remove(zero)  # straight into the sum: its upstream gradient is 1
            unused.remove(zero)
            final.append(zero)
        elif motif == "self-product":  # one node used twice by ONE operation
            x = pick()
            new(f"{x} * {x}", x)
        elif motif == "two-parents":  # an intermediate node used by TWO later operations
            shared = binary(str(rng.choice(["+", "*", "-"])))
            other = pick()
            new(f"{shared} * {other}" if other != shared else f"{shared} + {shared}",
                shared, other)
            new(f"{shared}.{rng.choice(['relu', 'sigmoid'])}()" if rng.random() < 0.5
                else f"{shared} ** 2", shared)
        elif motif in ("add", "sub", "mul"):
            binary({"add": "+", "sub": "-", "mul": "*"}[motif])
        else:
            unary(motif)
    lines.append("out = " + " + ".join(unused + final))
    return "; ".join(lines), leaves
