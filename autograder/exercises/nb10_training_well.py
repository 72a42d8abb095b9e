"""Notebook 10, training well: init_std, momentum_step, adam_step, l2_regularize,
early_stopping.

Each exercise is one ``Entry``: its cases, then its wrong versions, then the declaration.
Parameters, gradients and optimiser states are dicts keyed like ``params`` (W1, b1, ...);
the equations the hints point at (10.1 to 10.5) are the notebook's.
"""

from __future__ import annotations

from functools import partial

import numpy as np

import refimpl
from autograder.checks.types import SCALAR, Case, DictOf, Leaf, Mistake, TupleOf
from autograder.exercises.entry import Entry
from autograder.exercises.shared_cases import (
    N_HIDDEN,
    fixed,
    in_place_hints,
    random_params,
    shapes_label,
)
from autograder.exercises.shared_mistakes import as_f64


def _dict_spec(name: str) -> DictOf:
    """A returned dict with the keys of params, named ``name["W1"]`` in messages."""
    return DictOf(name, None, label=lambda key: f'{name}["{key}"]',
                  purpose=f"{name} has the keys of params.")


def _fixed_like(params: dict, seed: int, scale: float = 1.0) -> dict:
    """Readable fixed values (2 decimals, times ``scale``) with the keys and shapes of params."""
    return {key: fixed(seed + i, value.shape) * scale for i, (key, value) in
            enumerate(params.items())}


def _fixed_params(seed: int, sizes: list[int]) -> dict:
    """Readable fixed params W1, b1, ... of an MLP with layer ``sizes``."""
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = fixed(seed + 2 * l, (sizes[l - 1], sizes[l]))
        params[f"b{l}"] = fixed(seed + 2 * l + 1, (sizes[l],), 0.3)
    return params


def _random_like(rng: np.random.Generator, params: dict, scale: float = 1.0) -> dict:
    return {key: rng.normal(0.0, scale, value.shape) for key, value in params.items()}


def _random_sizes(rng: np.random.Generator) -> list[int]:
    """Layer sizes of 1 to 3 layers, each of 1 to 5 units."""
    return [int(rng.integers(1, 6)) for _ in range(2 + int(rng.integers(0, 3)))]


def _layers_label(params: dict) -> str:
    """``"W1 (2, 3), b1 (3,)"``: the keys and shapes of a params dict."""
    return shapes_label(**params)


_NEW_ARRAYS = ("{name} must be left as it was: return new dicts of new arrays. `x -= ...` and "
               "`x *= ...` write into the caller's array; `x = x - ...` makes a new one.")


# ---------------------------------------------------------------------------------------
# init_std
# ---------------------------------------------------------------------------------------


def _init_std_visible() -> list[Case]:
    return [Case((d_in, d_out, scheme), label=f"d_in = {d_in}, d_out = {d_out}, {scheme!r}")
            for d_in, d_out, scheme in ((100, 100, "normal"), (64, 32, "xavier"),
                                        (64, 32, "he"), (3, 300, "xavier"))]


def _init_std_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        d_in, d_out = (int(d) for d in rng.choice(np.arange(1, 1025), 2, replace=False))
        scheme = refimpl.INIT_SCHEMES[i % 3]
        cases.append(Case((d_in, d_out, scheme),
                          label=f"a layer of random size, scheme {scheme!r}"))
    return cases


def _init_std(d_in, d_out, scheme, *, mode):
    variance = {"normal": 1.0, "xavier": 2.0 / (d_in + d_out), "he": 2.0 / d_in}[scheme]
    if mode == "variance-not-std":
        return variance
    wrong = {("he", "he-fan-out"): 2.0 / d_out, ("he", "lecun-for-he"): 1.0 / d_in,
             ("xavier", "xavier-fan-in"): 1.0 / d_in,
             ("xavier", "xavier-uniform-limit"): 6.0 / (d_in + d_out)}
    variance = wrong.get((scheme, mode), variance)
    return float(np.sqrt(variance))


INIT_STD = Entry.simple(
    "init_std", refimpl.init_std, _init_std_visible, _init_std_hidden,
    summary="init_std(d_in, d_out, scheme) -> the standard deviation of a layer's starting "
            "weights: 1 for 'normal', sqrt(2 / (d_in + d_out)) for 'xavier', sqrt(2 / d_in) "
            "for 'he'",
    output=SCALAR,
    mistakes=tuple(
        Mistake(slug, name, hint, partial(_init_std, mode=slug))
        for slug, name, hint in (
            ("variance-not-std", "the variance instead of the standard deviation",
             "The schemes are stated as variances of the weights (eq. 10.1); the function "
             "returns a standard deviation, their spread in the weights' own units."),
            ("he-fan-out", "He with d_out instead of d_in",
             "He keeps the variance of the forward signal: each entry of Z sums d_in "
             "products, so the layer's fan-in sets the scale."),
            ("lecun-for-he", "He with variance 1 / d_in (LeCun's)",
             "1 / d_in keeps the variance of units that pass their whole input on; a ReLU "
             "zeroes about half of it. What factor makes up for that?"),
            ("xavier-fan-in", "Xavier with 1 / d_in",
             "Xavier (Glorot) balances the forward pass, which sums over d_in inputs, and the "
             "backward pass, which sums over d_out outputs: both sizes appear in it."),
            ("xavier-uniform-limit", "the limit of Glorot's uniform version",
             "sqrt(6 / (d_in + d_out)) is the half-width a of Glorot's uniform version "
             "U(-a, a), whose variance is a**2 / 3; this course draws weights from a normal "
             "distribution and returns its standard deviation."),
        )))


# ---------------------------------------------------------------------------------------
# momentum_step
# ---------------------------------------------------------------------------------------


def _momentum_visible() -> list[Case]:
    one = _fixed_params(40, [2, 3])
    two = _fixed_params(50, [3, 2, 2])
    three = _fixed_params(60, [2, 2, 1])
    return [
        Case((one, _fixed_like(one, 44), refimpl.zeros_like_params(one), 0.1, 0.9),
             label=f"{_layers_label(one)}; velocity 0 (the first step), lr = 0.1, beta = 0.9"),
        Case((two, _fixed_like(two, 54), _fixed_like(two, 58), 0.05, 0.8),
             label=f"{_layers_label(two)}; a velocity from earlier steps, lr = 0.05, "
                   "beta = 0.8"),
        Case((three, _fixed_like(three, 64), _fixed_like(three, 68), 0.5),
             label=f"{_layers_label(three)}; a velocity from earlier steps, lr = 0.5, beta "
                   "left at its default"),
    ]


def _momentum_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        params = random_params(rng, _random_sizes(rng), zero_bias=False)
        velocity = (refimpl.zeros_like_params(params) if i % 4 == 0
                    else _random_like(rng, params))
        lr, beta = float(rng.uniform(0.01, 0.5)), float(rng.uniform(0.5, 0.99))
        args = (params, _random_like(rng, params), velocity, lr)
        label = f"{_layers_label(params)}; " + ("velocity 0" if i % 4 == 0 else "a velocity")
        cases.append(Case(args if i % 5 == 2 else (*args, beta),
                          label=label + (", default beta" if i % 5 == 2 else "")))
    return cases


def _momentum_step(params, grads, velocity, lr, beta=0.9, *, mode):
    if mode == "in-place":
        for key in params:
            velocity[key] *= beta
            velocity[key] += grads[key]
            params[key] -= lr * velocity[key]
        return params, velocity
    new_params, new_velocity = {}, {}
    for key in params:
        old = as_f64(velocity[key])
        if mode == "ema-form":
            v = beta * old + (1 - beta) * grads[key]
        elif mode == "beta-on-gradient":
            v = old + beta * grads[key]
        else:
            v = beta * old + grads[key]
        step = lr * (old if mode == "old-velocity" else v)
        new_params[key] = params[key] + step if mode == "ascent" else params[key] - step
        new_velocity[key] = v
    return new_params, new_velocity


MOMENTUM_STEP = Entry.simple(
    "momentum_step", refimpl.momentum_step, _momentum_visible, _momentum_hidden,
    summary="momentum_step(params, grads, velocity, lr, beta=0.9) -> (new_params, "
            "new_velocity): v = beta v + dW, then W = W - lr v, for every key",
    details="params, grads and velocity must be left as they were.",
    output=TupleOf((_dict_spec("new_params"), _dict_spec("new_velocity"))),
    input_hints={name: _NEW_ARRAYS.format(name=name) for name in ("params", "velocity")}
    | in_place_hints("grads"),
    mistakes=(
        Mistake("ema-form", "v = beta v + (1 - beta) dW, an average",
                "A (1 - beta) weighting makes an average, as Adam's m is; the momentum of eq. "
                "10.2 adds up whole gradients.",
                partial(_momentum_step, mode="ema-form")),
        Mistake("old-velocity", "W moves with the velocity of the previous step",
                "The step W takes must include this step's gradient: which velocity holds it?",
                partial(_momentum_step, mode="old-velocity")),
        Mistake("momentum-ascent", "a step uphill (+ instead of -)",
                "The velocity points uphill, like the gradients it adds up; descent goes the "
                "other way.", partial(_momentum_step, mode="ascent")),
        Mistake("beta-on-gradient", "beta multiplies the gradient instead of the velocity",
                "beta is how much of the OLD velocity survives each step, a friction; the new "
                "gradient enters whole.", partial(_momentum_step, mode="beta-on-gradient")),
        Mistake("momentum-in-place", "params and velocity updated in place",
                "`-=` and `*=` write into the caller's arrays, which the training loop (and "
                "the check) still holds: compute new arrays and return new dicts.",
                partial(_momentum_step, mode="in-place")),
    ))


# ---------------------------------------------------------------------------------------
# adam_step
# ---------------------------------------------------------------------------------------


def _adam_state(rng: np.random.Generator, params: dict, scale: float) -> tuple[dict, dict]:
    """Moments m and v as a run of Adam leaves them: v of the order of m**2 and >= 0."""
    m = _random_like(rng, params, 0.5 * scale)
    v = {key: rng.uniform(0.5, 2.0, value.shape) * scale**2 + m[key] ** 2
         for key, value in params.items()}
    return m, v


def _adam_visible() -> list[Case]:
    one = _fixed_params(70, [2, 3])
    two = _fixed_params(80, [3, 2, 2])
    tiny = _fixed_params(90, [2, 2])
    m, v = _adam_state(np.random.default_rng(84), two, 1.0)
    m, v = ({key: np.round(value, 3) for key, value in state.items()} for state in (m, v))
    zeros = refimpl.zeros_like_params
    return [
        Case((one, _fixed_like(one, 74), zeros(one), zeros(one), 1),
             label=f"{_layers_label(one)}; the first step (t = 1, m = v = 0), default lr, "
                   "betas and eps"),
        Case((two, _fixed_like(two, 86), m, v, 10, 0.01, 0.8, 0.99),
             label=f"{_layers_label(two)}; step t = 10 with m and v from earlier steps, "
                   "lr = 0.01, beta1 = 0.8, beta2 = 0.99"),
        Case((tiny, _fixed_like(tiny, 94, 1e-6), zeros(tiny), zeros(tiny), 1),
             label=f"{_layers_label(tiny)}; tiny gradients (about 1e-6), the first step, "
                   "default lr, betas and eps"),
    ]


def _adam_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        params = random_params(rng, _random_sizes(rng), zero_bias=False)
        scale, size = [(1.0, "1"), (1e-2, "1e-2"), (1e-6, "1e-6")][i % 3]
        t = [1, 2, 7, 100, 1000][i % 5]
        if t == 1:
            m, v = refimpl.zeros_like_params(params), refimpl.zeros_like_params(params)
        else:
            m, v = _adam_state(rng, params, scale)
        args = (params, _random_like(rng, params, scale), m, v, t)
        if i % 2:
            args += (float(rng.uniform(1e-4, 1e-1)), float(rng.uniform(0.5, 0.95)),
                     float(rng.uniform(0.9, 0.9999)))
        label = f"{_layers_label(params)}; gradients of size about {size}, t = {t}"
        cases.append(Case(args, label=label + (", default lr and betas" if i % 2 == 0 else "")))
    return cases


def _adam_step(params, grads, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, *, mode):
    if mode == "betas-swapped":
        beta1, beta2 = beta2, beta1
    count = t + 1 if mode == "t-from-zero" else t
    new_params, new_m, new_v = {}, {}, {}
    for key in params:
        g = as_f64(grads[key])
        new_m[key] = beta1 * m[key] + (1 - beta1) * g
        new_v[key] = beta2 * v[key] + (1 - beta2) * (g if mode == "v-of-g" else g**2)
        m_hat, v_hat = new_m[key], new_v[key]
        if mode != "no-bias-correction":
            m_hat, v_hat = m_hat / (1 - beta1**count), v_hat / (1 - beta2**count)
        with np.errstate(invalid="ignore"):  # v-of-g: the root of a negative v is nan
            root = np.sqrt(v_hat + eps) if mode == "eps-inside-sqrt" else np.sqrt(v_hat) + eps
        new_params[key] = params[key] - lr * m_hat / root
    return new_params, new_m, new_v


ADAM_STEP = Entry.simple(
    "adam_step", refimpl.adam_step, _adam_visible, _adam_hidden,
    summary="adam_step(params, grads, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8) -> "
            "(new_params, new_m, new_v): the moments, their bias corrections at step t, and "
            "W = W - lr m_hat / (sqrt(v_hat) + eps)",
    details="t counts from 1 (the first step). params, grads, m and v must be left as they "
            "were.",
    tolerance_why="The moments of tiny gradients are tiny too (about 1e-13): the absolute "
                  "tolerance is small enough to compare them.",
    output=TupleOf((_dict_spec("new_params"), _dict_spec("new_m"), _dict_spec("new_v"))),
    atol=1e-15,
    input_hints={name: _NEW_ARRAYS.format(name=name) for name in ("params", "m", "v")}
    | in_place_hints("grads"),
    mistakes=tuple(
        Mistake(slug, name, hint, partial(_adam_step, mode=slug))
        for slug, name, hint in (
            ("no-bias-correction", "m and v used without their bias corrections",
             "m and v start at 0, so in the first steps they are too small: after one step m "
             "is only (1 - beta1) g. Eq. 10.3 divides by the factors that undo this."),
            ("eps-inside-sqrt", "eps inside the square root",
             "Where does eps go in eq. 10.3? Inside the root it puts a floor of sqrt(eps) = "
             "1e-4 under the denominator, which shrinks the steps of tiny gradients."),
            ("t-from-zero", "the bias correction uses t + 1 (steps counted from 0)",
             "t is the number of this step, counting from 1: after the first step m = "
             "(1 - beta1) g, and the correction must turn that back into g."),
            ("betas-swapped", "beta1 and beta2 swapped",
             "beta1 (0.9, a short memory) averages the gradients, m; beta2 (0.999, a long "
             "memory) averages their squares, v."),
            ("v-of-g", "v averages g instead of g**2",
             "v measures the size of the gradients, whatever their sign: it averages their "
             "squares, so that sqrt(v_hat) is a typical |g|."),
        )))


# ---------------------------------------------------------------------------------------
# l2_regularize
# ---------------------------------------------------------------------------------------


def _l2_visible() -> list[Case]:
    one = _fixed_params(100, [2, 2])
    two = _fixed_params(110, [3, 4, 2])
    three = _fixed_params(120, [2, 3, 3, 2])
    return [
        Case((0.5, _fixed_like(one, 104), one, 0.1), label=f"{_layers_label(one)}; loss 0.5, "
                                                           "lam = 0.1"),
        Case((1.25, _fixed_like(two, 114), two, 0.01),
             label=f"{_layers_label(two)}; loss 1.25, lam = 0.01"),
        Case((0.75, _fixed_like(three, 124), three, 1.0),
             label=f"{_layers_label(three)}; loss 0.75, lam = 1"),
    ]


def _l2_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(N_HIDDEN):
        params = random_params(rng, _random_sizes(rng), zero_bias=False)
        lam = float(10 ** rng.uniform(-4, 0))
        cases.append(Case((float(rng.uniform(0.01, 3.0)), _random_like(rng, params), params,
                           lam), label=f"{_layers_label(params)}; a random loss and lam"))
    return cases


def _l2_regularize(loss, grads, params, lam, *, mode):
    decayed = [key for key in params if mode == "biases-decayed" or str(key).startswith("W")]
    penalty = sum(float(np.sum(as_f64(params[key]) ** 2)) for key in decayed)
    total = {"penalty-missing": loss,
             "penalty-without-half": loss + lam * penalty}.get(mode, loss + lam / 2 * penalty)
    factor = {"penalty-without-half": 2 * lam, "gradient-twice": 2 * lam, "decay-sign": -lam,
              "gradient-missing": 0.0}.get(mode, lam)
    if mode == "grads-in-place":
        for key in decayed:
            grads[key] += lam * params[key]
        return total, grads
    new_grads = {key: as_f64(value).copy() for key, value in grads.items()}
    for key in decayed:
        new_grads[key] = new_grads[key] + factor * params[key]
    return total, new_grads


L2_REGULARIZE = Entry.simple(
    "l2_regularize", refimpl.l2_regularize, _l2_visible, _l2_hidden,
    summary="l2_regularize(loss, grads, params, lam) -> (total_loss, new_grads): loss + "
            "(lam / 2) * the sum of every W**2, and lam * W added to every weight gradient "
            "(keys starting with 'W'); bias gradients unchanged",
    details="grads and params must be left as they were.",
    output=TupleOf((Leaf("total_loss", scalar=True), _dict_spec("new_grads"))),
    input_hints={"grads": _NEW_ARRAYS.format(name="grads")} | in_place_hints("params"),
    mistakes=tuple(
        Mistake(slug, name, hint, partial(_l2_regularize, mode=slug))
        for slug, name, hint in (
            ("biases-decayed", "the biases are penalised and decayed too",
             "Weight decay is for the weights W only: a bias shifts a unit's threshold and "
             "does not make the network more complex, so it is not penalised."),
            ("penalty-without-half", "the penalty is lam * sum(W**2), without the 1/2",
             "Look at the penalty's factor in eq. 10.4: the course's convention makes its "
             "gradient free of any 2."),
            ("gradient-twice", "the gradient term is 2 lam W",
             "Differentiate the penalty of eq. 10.4 yourself: what happens to the 2 of the "
             "square?"),
            ("penalty-missing", "the penalty is not added to the loss",
             "total_loss is what training minimises: the data loss plus the price of large "
             "weights."),
            ("gradient-missing", "the penalty's gradient is not added",
             "The penalty is part of the loss, so it adds its own gradient to every weight's "
             "dW; without it, training never feels it."),
            ("decay-sign", "lam W subtracted from the gradient",
             "The penalty grows with |W|, so its gradient points away from 0, and the step "
             "W - lr dW pulls W back towards 0 (hence 'weight decay')."),
            ("grads-in-place", "the gradients updated in place",
             "`+=` writes into the caller's arrays, which the training loop still holds: "
             "return new arrays."),
        )))


# ---------------------------------------------------------------------------------------
# early_stopping
# ---------------------------------------------------------------------------------------


def _early_visible() -> list[Case]:
    dip = [1.0, 0.8, 0.7, 0.75, 0.72, 0.69, 0.71, 0.73, 0.74, 0.8]
    ties = [0.9, 0.6, 0.6, 0.6, 0.65, 0.7]
    never = [1.0, 0.9, 0.95, 0.85, 0.8]
    return [
        Case((np.array(dip), 3), label="a dip, a rise, a lower dip, patience 3"),
        Case((np.array(ties), 2), label="the lowest loss three times, patience 2"),
        Case((np.array(never), 2), label="no stop before the last epoch, patience 2"),
    ]


def _early_hidden(rng: np.random.Generator) -> list[Case]:
    """Noisy curves that fall, then (mostly) rise again; two decimals make ties."""
    cases = []
    for i in range(N_HIDDEN):
        epochs = int(rng.integers(3, 41))
        turn = rng.uniform(0.2, 1.5) * epochs
        x = np.arange(epochs)
        curve = 1.0 / (1.0 + 0.3 * x) + 0.02 * np.maximum(x - turn, 0.0)
        losses = np.round(curve + rng.normal(0.0, [0.005, 0.02, 0.05][i % 3], epochs), 2)
        patience = int(rng.integers(1, 7))
        cases.append(Case((losses, patience),
                          label=f"{epochs} noisy validation losses, patience {patience}"))
    return cases


def _early_stopping(val_losses, patience, *, mode):
    losses = [float(loss) for loss in val_losses]
    if mode == "patience-ignored":
        patience = 1
    best, best_epoch, waited = losses[0], 0, 0
    for epoch in range(1, len(losses)):
        if losses[epoch] < best or (mode == "ties-improve" and losses[epoch] == best):
            best, best_epoch, waited = losses[epoch], epoch, 0
            continue
        waited += 1
        if waited > patience or (mode != "one-epoch-late" and waited == patience):
            return (epoch if mode == "last-epoch" else best_epoch), epoch
    last = len(losses) if mode == "stop-is-a-count" else len(losses) - 1
    return (len(losses) - 1 if mode == "last-epoch" else best_epoch), last


EARLY_STOPPING = Entry.simple(
    "early_stopping", refimpl.early_stopping, _early_visible, _early_hidden,
    summary="early_stopping(val_losses, patience) -> (best_epoch, stop_epoch): stop patience "
            "epochs after the last strict improvement (or at the last epoch), and the epoch "
            "of the lowest loss up to there",
    details="Epochs are indices into val_losses, from 0. An epoch improves when its loss is "
            "strictly below every earlier one; epoch 0 always does.",
    output=TupleOf((Leaf("best_epoch", scalar=True), Leaf("stop_epoch", scalar=True))),
    input_hints=in_place_hints("val_losses"),
    mistakes=tuple(
        Mistake(slug, name, hint, partial(_early_stopping, mode=slug))
        for slug, name, hint in (
            ("patience-ignored", "stops at the first epoch without improvement",
             "Validation losses are noisy: one epoch without improvement is not yet a trend. "
             "Wait `patience` epochs after the last improvement."),
            ("last-epoch", "the stop epoch returned as the best one",
             "best_epoch is the epoch with the lowest validation loss, whose parameters you "
             "keep, not the epoch where training stopped."),
            ("one-epoch-late", "stops one epoch after patience runs out",
             "Count again: with patience 1, training stops at the first epoch after the best "
             "that does not improve on it."),
            ("ties-improve", "a loss equal to the best counts as an improvement",
             "An epoch improves only when its loss is strictly below the best so far: an "
             "equal loss is no progress."),
            ("stop-is-a-count", "the number of epochs instead of the last one's index",
             "Epochs are indices into val_losses, starting at 0: which index does the last "
             "epoch have?"),
        )))


ENTRIES = (INIT_STD, MOMENTUM_STEP, ADAM_STEP, L2_REGULARIZE, EARLY_STOPPING)
