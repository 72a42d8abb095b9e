"""Where things are drawn: the grid of the study/sleep plane, lines across it, contour lines.

Coordinates for the artists, in the units of the axes they are drawn on (hours on the plane);
the numbers they stand for come from refimpl.
"""

from __future__ import annotations

import contourpy
import numpy as np

from refimpl.viz._style import SLEPT_RANGE, STUDIED_RANGE

#: Grid points per axis of a heat map over the plane (fine enough at the explorers' resolution).
PLANE_POINTS = (166, 121)


def plane_grid(
    studied_range: tuple[float, float] = STUDIED_RANGE,
    slept_range: tuple[float, float] = SLEPT_RANGE,
    points: tuple[int, int] = PLANE_POINTS,
) -> tuple[np.ndarray, tuple[int, int]]:
    """Every grid point of the (studied, slept) plane as one row of X.

    Returns
    -------
    X_grid : ndarray, shape (points[1] * points[0], 2)
        Rows ``[hours studied, hours slept]``, slept varying slowest (image row order).
    image_shape : tuple (points[1], points[0])
        The shape that turns a per-row result back into an image.
    """
    studied = np.linspace(*studied_range, points[0])
    slept = np.linspace(*slept_range, points[1])
    S, T = np.meshgrid(studied, slept)  # (rows = slept, columns = studied)
    return np.column_stack([S.ravel(), T.ravel()]), S.shape


def switch_line(w1: float, w2: float, b: float) -> np.ndarray:
    """Two points of the line ``w1 * studied + w2 * slept + b = 0`` spanning the shown plane.

    Returns
    -------
    points : ndarray, shape (2, 2)
        Rows (studied, slept); empty (0, 2) when ``w1 = w2 = 0`` (no line: z is constant).
        Solved for the coordinate with the larger weight, so the numbers stay finite.
    """
    if w1 == 0.0 and w2 == 0.0:
        return np.empty((0, 2))
    if abs(w2) >= abs(w1):
        studied = np.array(STUDIED_RANGE)
        slept = -(w1 * studied + b) / w2
    else:
        slept = np.array(SLEPT_RANGE)
        studied = -(w2 * slept + b) / w1
    # far outside the axes it is clipped anyway; bounded numbers keep the renderer exact
    return np.clip(np.column_stack([studied, slept]), -1e4, 1e4)


def clip_to_plane(segment: np.ndarray) -> np.ndarray:
    """The part of a segment inside the plane shown (Liang-Barsky clipping).

    A dashed line far longer than the axes costs Agg a dash per few pixels of its whole length;
    clipped, a unit's line costs the same whatever its weights.

    Parameters
    ----------
    segment : ndarray, shape (2, 2) or (0, 2)
        Two points (studied, slept).

    Returns
    -------
    clipped : ndarray, shape (2, 2), or (0, 2) when the segment misses the plane
    """
    if segment.shape[0] != 2:
        return np.empty((0, 2))
    start, direction = segment[0], segment[1] - segment[0]
    low, high = 0.0, 1.0
    for axis, (lo, hi) in enumerate((STUDIED_RANGE, SLEPT_RANGE)):
        if direction[axis] == 0.0:
            if not lo <= start[axis] <= hi:
                return np.empty((0, 2))
            continue
        t0, t1 = sorted(
            ((lo - start[axis]) / direction[axis], (hi - start[axis]) / direction[axis])
        )
        low, high = max(low, t0), min(high, t1)
    if low >= high:
        return np.empty((0, 2))
    return np.array([start + low * direction, start + high * direction])


def contour_segments(x: np.ndarray, y: np.ndarray, Z: np.ndarray, levels) -> list[np.ndarray]:
    """Contour lines of ``Z`` (rows along y, columns along x) as a list of (k, 2) point arrays.

    One LineCollection fed with these is much cheaper to redraw than a new ``contour()`` set.
    """
    generator = contourpy.contour_generator(x, y, Z)
    return [line for level in levels for line in generator.lines(level)]
