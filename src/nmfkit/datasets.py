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

    A figure of a torso and four limbs, each limb in one of four positions: 256 images of
    32 x 32 pixels that are exactly sums of 17 parts, the classic test of whether NMF
    recovers the parts of images. A torso (a 12 x 2 bar, 24 pixels) with four limbs, each
    a 6-pixel segment in one of four positions p = 0..3: arms at 0, 60, 120, 180 degrees
    from pointing down, legs at 0, 30, 60, 90 degrees, all turned outwards; left and right
    are mirror images. All 17 parts are 0/1 and pairwise disjoint, so every image is 0/1
    with 48 pixels on.

    Parameters
    ----------
    dtype : data-type, default=np.float64
        The dtype of both arrays.

    Returns
    -------
    V : ndarray of shape (256, 1024)
        One flattened (row-major) 32 x 32 image per row: image
        ``64*p[0] + 16*p[1] + 4*p[2] + p[3]`` shows limb j in position p[j], limbs ordered
        as SWIMMER_LIMBS (left arm, right arm, left leg, right leg).
    parts : ndarray of shape (17, 1024)
        The torso (row 0), then limb j in position p at row ``1 + 4*j + p``.
        ``V == A @ parts`` with A the (256, 17) 0/1 matrix of torso and limb positions.

    See Also
    --------
    nmfkit.parts_grid : Lays out the parts (or the components found) as one image.
    nmfkit.plot_parts : Draws them.

    Notes
    -----
    Every image has the torso and exactly one position of each limb, so in A the four
    columns of each limb sum to the torso's column: A and V have rank 13, and the 17 parts
    are not the only nonnegative factorization of V (NMF at rank 17 need not return them
    exactly). The images are drawn by this function with the structure Donoho & Stodden
    describe; they are not their data files.

    References
    ----------
    .. [1] Donoho, D. & Stodden, V. (2003). When does non-negative matrix factorization
       give a correct decomposition into parts? Advances in Neural Information Processing
       Systems 16.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import swimmer
    >>> V, parts = swimmer()
    >>> V.shape, parts.shape
    ((256, 1024), (17, 1024))
    >>> np.unique(V.sum(axis=1))
    array([48.])
    >>> V.reshape(-1, 32, 32).shape  # the images
    (256, 32, 32)
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
    """A nonnegative (m, n) matrix W_true @ H_true of rank at most k, for tests and benchmarks.

    W_true (m, k) and H_true (k, n) have independent uniform [0, 1) entries, drawn in that
    order from `random_state`.

    Parameters
    ----------
    m : int
        The number of rows, >= 1.
    n : int
        The number of columns, >= 1.
    k : int
        The inner dimension, >= 1: the rank of the dense result (almost surely, when
        k <= min(m, n)).
    density : float, optional
        None: a dense result. A number in (0, 1]: a sparse result that keeps each entry
        of W_true @ H_true independently with probability `density` (the others are 0),
        then no longer of low rank.
    random_state : None, int, RandomState or Generator, default=None
        Seeds the factors (and the kept entries).
    dtype : data-type, default=np.float64
        A floating-point dtype of the result.

    Returns
    -------
    ndarray or scipy.sparse.csr_matrix of shape (m, n)
        A C-ordered ndarray when `density` is None, else a CSR matrix.

    Raises
    ------
    ValueError
        If `density` is not None nor a number in (0, 1], or a dimension is below 1.
    TypeError
        If `dtype` is not a floating-point dtype.

    See Also
    --------
    nmfkit.swimmer : Images made of parts, with a known factorization.
    nmfkit.make_topic_corpus : Documents with planted topics.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import make_low_rank
    >>> X = make_low_rank(6, 5, 2, random_state=0)
    >>> X.shape, int(np.linalg.matrix_rank(X)), bool((X >= 0).all())
    ((6, 5), 2, True)
    >>> S = make_low_rank(100, 50, 3, density=0.1, random_state=0, dtype=np.float32)
    >>> S.format, S.dtype
    ('csr', dtype('float32'))
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
