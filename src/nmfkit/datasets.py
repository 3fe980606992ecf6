"""Datasets generated in-package (no download): the swimmer images and random low-rank data."""

import itertools
import numbers

import numpy as np
import scipy.sparse as sp

from .core.params import check_int
from .core.random import check_random_state

__all__ = ["swimmer", "make_low_rank", "SWIMMER_LIMBS"]

SWIMMER_LIMBS = ("left arm", "right arm", "left leg", "right leg")

_SIZE = 32
_TORSO_ROWS, _TORSO_COLS = (10, 22), (15, 17)  # half-open pixel ranges
_SHOULDER, _HIP = 10, 21  # joint rows; joints sit in columns 14 (left) and 17 (right)
_ARM_ANGLES = (0.0, 60.0, 120.0, 180.0)  # degrees from pointing straight down
_LEG_ANGLES = (0.0, 30.0, 60.0, 90.0)
_LIMB_PIXELS = range(2, 8)  # distances from the joint: 6 pixels, clear of torso and joint


def _limb(row, col, angle, side):
    """32 x 32 0/1 image of one limb: a 6-pixel digital segment from the joint (row, col)
    at `angle` degrees from straight down, turned outwards (side -1: left, +1: right)."""
    a = np.deg2rad(angle)
    dr, dc = np.cos(a), side * np.sin(a)
    major = max(abs(dr), abs(dc))  # one pixel per step along the major axis
    img = np.zeros((_SIZE, _SIZE))
    for t in _LIMB_PIXELS:
        # round half away from zero, so that left and right limbs mirror exactly
        r = int(np.copysign(np.floor(abs(t * dr / major) + 0.5), dr))
        c = int(np.copysign(np.floor(abs(t * dc / major) + 0.5), dc))
        img[row + r, col + c] = 1
    return img


def swimmer(dtype=np.float64):
    """The swimmer images (Donoho & Stodden 2003), drawn procedurally, in the given dtype.

    A torso (a 12 x 2 bar, 24 pixels) with four limbs, each a 6-pixel segment in one of
    four positions p = 0..3: arms at 0, 60, 120, 180 degrees from pointing down, legs at
    0, 30, 60, 90 degrees, all turned outwards; left and right are mirror images. All 17
    parts are 0/1 and pairwise disjoint, so every image is 0/1 with 48 pixels on.

    Returns
    -------
    V : ndarray of shape (256, 1024)
        One flattened (row-major) 32 x 32 image per row: image
        ``64*p[0] + 16*p[1] + 4*p[2] + p[3]`` shows limb j in position p[j], limbs ordered
        as SWIMMER_LIMBS (left arm, right arm, left leg, right leg).
    parts : ndarray of shape (17, 1024)
        The torso (row 0), then limb j in position p at row ``1 + 4*j + p``.
        ``V == A @ parts`` with A the (256, 17) 0/1 matrix of torso and limb positions.
    """
    dtype = np.dtype(dtype)
    torso = np.zeros((_SIZE, _SIZE))
    torso[slice(*_TORSO_ROWS), slice(*_TORSO_COLS)] = 1
    joints = [(_SHOULDER, 14, -1, _ARM_ANGLES), (_SHOULDER, 17, 1, _ARM_ANGLES),
              (_HIP, 14, -1, _LEG_ANGLES), (_HIP, 17, 1, _LEG_ANGLES)]
    images = [torso] + [_limb(r, c, a, side) for r, c, side, angles in joints for a in angles]
    parts = np.array([img.ravel() for img in images], dtype=dtype)
    A = np.zeros((4 ** 4, 17), dtype=dtype)
    A[:, 0] = 1
    for i, pos in enumerate(itertools.product(range(4), repeat=4)):
        A[i, [1 + 4 * j + p for j, p in enumerate(pos)]] = 1
    return A @ parts, parts


def _uniform(rng, size):
    return rng.random(size) if isinstance(rng, np.random.Generator) else rng.random_sample(size)


def make_low_rank(m, n, k, density=None, random_state=None, dtype=np.float64):
    """A nonnegative (m, n) matrix W_true @ H_true of rank <= k, for tests and benchmarks.

    W_true (m, k) and H_true (k, n) have independent uniform [0, 1) entries. With density
    None the result is a dense C-ordered ndarray; with density in (0, 1] it is a
    scipy.sparse CSR matrix that keeps each entry independently with probability density
    (the others are 0). random_state is None, an int or a numpy RandomState / Generator.
    """
    m, n, k = check_int(m, "m"), check_int(n, "n"), check_int(k, "k")
    if density is not None and (isinstance(density, (bool, np.bool_))
                                or not isinstance(density, numbers.Real)
                                or not 0 < density <= 1):
        raise ValueError(f"density must be None or a number in (0, 1], got {density!r}.")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":  # an integer or complex dtype would not hold W_true @ H_true
        raise TypeError(f"dtype must be a floating-point dtype (e.g. np.float32 or "
                        f"np.float64), got {dtype}.")
    rng = check_random_state(random_state)
    W, H = _uniform(rng, (m, k)), _uniform(rng, (k, n))
    if density is None:
        return np.ascontiguousarray((W @ H).astype(dtype, copy=False))
    blocks, step = [], max(1, (1 << 22) // max(n, 1))  # row blocks of ~4M entries
    for i in range(0, m, step):
        block = W[i:i + step] @ H
        block[_uniform(rng, block.shape) >= density] = 0
        blocks.append(sp.csr_matrix(block.astype(dtype, copy=False)))
    if not blocks:
        return sp.csr_matrix((m, n), dtype=dtype)
    return sp.vstack(blocks, format="csr").astype(dtype, copy=False)
