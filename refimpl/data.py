"""Small 2-D data sets, a train/test split and standardization.

Every generator returns ``X`` of shape (n, 2) and ``y`` of shape (n, 1) with
labels 0.0 and 1.0, is deterministic for a given seed, and shuffles its rows.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

FEATURE_NAMES = ("hours studied", "hours slept")

# The rule of study_sleep: a student passes with enough study AND enough sleep.
PASS_MIN_STUDY = 3.0  # hours studied
PASS_MIN_SLEEP = 6.0  # hours slept
# One student in a hundred beats the rule (luck, illness): their label is flipped.
LABEL_FLIP_EVERY = 100

# standardize leaves a constant column unscaled: its std is 0, and dividing by
# it would give nan. Any std below this counts as constant.
STD_FLOOR = 1e-12


def _check_n(n, minimum: int = 2) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < minimum:
        raise ValueError(f"n must be a whole number >= {minimum}; got {n!r}.")
    return int(n)


def _check_noise(noise) -> float:
    is_number = isinstance(noise, Real) and not isinstance(noise, bool)
    if not (is_number and np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0; got {noise!r}.")
    return float(noise)


def _column(labels) -> np.ndarray:
    """Labels as a float64 column (n, 1): targets are never (n,)."""
    return np.asarray(labels, dtype=np.float64).reshape(-1, 1)


def _two_classes(points0, points1, rng) -> tuple[np.ndarray, np.ndarray]:
    """Stack class 0 and class 1 points, labels as a column, rows shuffled."""
    X = np.vstack([points0, points1])
    y = _column(np.r_[np.zeros(len(points0)), np.ones(len(points1))])
    order = rng.permutation(len(X))
    return X[order], y[order]


def study_sleep(n=200, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Students' hours of study and sleep before an exam, and whether they passed.

    Hours studied are uniform on 0-10, hours slept normal around 7 (sd 1.5,
    kept within 3-10), both rounded to 0.1 h. The rule: a student passes
    (y = 1) with at least ``PASS_MIN_STUDY`` = 3 hours of study AND at least
    ``PASS_MIN_SLEEP`` = 6 hours of sleep. Then one label in a hundred is
    flipped (``n // 100`` students beat the rule).

    The pass region is a corner of the plane, bounded by two lines. No single
    straight boundary (logistic regression) gets more than about 85 % of the
    students right; a trained 2-3-1 ReLU network bends its boundary around the
    corner and gets 96-100 % (measured in tests/test_refimpl_data.py).

    Parameters
    ----------
    n : int, default 200
        Number of students.
    seed : int, default 0

    Returns
    -------
    X : ndarray, shape (n, 2)
        Columns ``FEATURE_NAMES``: hours studied, hours slept.
    y : ndarray, shape (n, 1)
        1.0 = passed, 0.0 = failed.
    """
    n = _check_n(n, minimum=1)
    rng = np.random.default_rng(seed)
    studied = np.round(rng.uniform(0.0, 10.0, n), 1)
    slept = np.round(np.clip(rng.normal(7.0, 1.5, n), 3.0, 10.0), 1)
    passed = (studied >= PASS_MIN_STUDY) & (slept >= PASS_MIN_SLEEP)
    lucky = rng.choice(n, size=n // LABEL_FLIP_EVERY, replace=False)
    passed[lucky] = ~passed[lucky]
    return np.column_stack([studied, slept]), _column(passed)


def xor(n=200, seed=0, noise=0.1) -> tuple[np.ndarray, np.ndarray]:
    """Points in the square [-1, 1]^2, labelled 1 in the two quadrants where x1 x2 < 0.

    Point i lies in quadrant i mod 4 (so both classes are always present); the
    label comes from the clean position, then Gaussian noise is added.

    Parameters
    ----------
    n : int, default 200
    seed : int, default 0
    noise : float, default 0.1
        Standard deviation of the noise added to X.

    Returns
    -------
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n, 1)
    """
    n, noise = _check_n(n), _check_noise(noise)
    rng = np.random.default_rng(seed)
    signs = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]])[np.arange(n) % 4]
    clean = signs * rng.uniform(0.0, 1.0, (n, 2))  # (n, 2), quadrant by quadrant
    y = _column(clean[:, 0] * clean[:, 1] < 0.0)
    X = clean + noise * rng.standard_normal((n, 2))
    order = rng.permutation(n)
    return X[order], y[order]


def moons(n=200, seed=0, noise=0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles: class 0 on top, class 1 below and shifted.

    Parameters
    ----------
    n : int, default 200
    seed : int, default 0
    noise : float, default 0.1
        Standard deviation of the noise added to X.

    Returns
    -------
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n, 1)
    """
    n, noise = _check_n(n), _check_noise(noise)
    rng = np.random.default_rng(seed)
    t0 = rng.uniform(0.0, np.pi, n // 2)
    t1 = rng.uniform(0.0, np.pi, n - n // 2)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    X, y = _two_classes(upper, lower, rng)
    return X + noise * rng.standard_normal(X.shape), y


def spirals(n=200, seed=0, noise=0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two spirals winding around each other (1.5 turns each, radius up to 1).

    Parameters
    ----------
    n : int, default 200
    seed : int, default 0
    noise : float, default 0.1
        Standard deviation of the noise added to X.

    Returns
    -------
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n, 1)
    """
    n, noise = _check_n(n), _check_noise(noise)
    rng = np.random.default_rng(seed)

    def arm(size: int, phase: float) -> np.ndarray:
        r = rng.uniform(0.1, 1.0, size)  # distance from the centre
        theta = 3.0 * np.pi * r + phase  # 1.5 turns from the centre outwards
        return np.column_stack([r * np.cos(theta), r * np.sin(theta)])

    X, y = _two_classes(arm(n // 2, 0.0), arm(n - n // 2, np.pi), rng)
    return X + noise * rng.standard_normal(X.shape), y


def train_test_split(X, y, test_fraction=0.25, seed=0):
    """Shuffle the rows, then split them into a training and a test set.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n, 1)
    test_fraction : float, default 0.25
        Share of the rows in the test set (rounded; at least one row each).
    seed : int, default 0

    Returns
    -------
    X_train : ndarray, shape (n - n_test, d)
    X_test : ndarray, shape (n_test, d)
    y_train : ndarray, shape (n - n_test, 1)
    y_test : ndarray, shape (n_test, 1)
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D with shape (n, d); got shape {X.shape}.")
    if y.ndim != 2 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must have shape ({X.shape[0]}, 1), one target per row of X; got shape "
            f"{y.shape}. For labels of shape (n,) use y.reshape(-1, 1)."
        )
    if isinstance(test_fraction, bool) or not (
        isinstance(test_fraction, Real) and 0.0 < test_fraction < 1.0
    ):
        raise ValueError(f"test_fraction must lie strictly between 0 and 1; got {test_fraction!r}.")
    n = X.shape[0]
    n_test = round(n * test_fraction)
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"With {n} rows and test_fraction {test_fraction}, the test set would have "
            f"{n_test} rows; both sets need at least one."
        )
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def standardize(X, mean=None, std=None):
    """Shift and scale every column to mean 0 and standard deviation 1.

    Compute ``mean`` and ``std`` on the training set, then pass them in to
    standardize the test set the same way.

    Parameters
    ----------
    X : array_like, shape (n, d)
    mean : array_like, shape (d,), optional
        Column means to use; computed from X when omitted.
    std : array_like, shape (d,), optional
        Column standard deviations to use; computed from X when omitted.
        A (near-)zero std is replaced by 1 (see ``STD_FLOOR``).

    Returns
    -------
    X_standardized : ndarray, shape (n, d)
    mean : ndarray, shape (d,)
    std : ndarray, shape (d,)
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be 2-D with shape (n, d), n >= 1; got shape {X.shape}.")
    if (mean is None) != (std is None):
        raise ValueError("Pass both mean and std (from the training set), or neither.")
    if mean is None:
        mean, std = X.mean(axis=0), X.std(axis=0)
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    for name, value in (("mean", mean), ("std", std)):
        if value.shape != (X.shape[1],):
            raise ValueError(
                f"{name} must have shape ({X.shape[1]},), one value per column of X; "
                f"got shape {value.shape}."
            )
    std = np.where(std < STD_FLOOR, 1.0, std)  # a constant column stays unscaled
    return (X - mean) / std, mean, std
