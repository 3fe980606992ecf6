"""parts_grid: components tiled as images; the swimmer's parts come back."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nmfkit import NMF, NotFittedError, parts_grid, swimmer
from nmfkit.apps.demo import DEMO_PARAMS, match_parts


def tiles(grid, n, shape, n_cols, padding):
    h, w = shape
    out = []
    for i in range(n):
        r, c = divmod(i, n_cols)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        out.append(grid[top:top + h, left:left + w])
    return np.array(out)


def test_grid_geometry_and_tiles():
    rng = np.random.default_rng(0)
    H = rng.random((5, 6)) * np.arange(1, 6)[:, None]
    grid = parts_grid(H, (2, 3), n_cols=2, padding=1, pad_value=-1.0)
    assert grid.shape == (3 * 3 + 1, 2 * 4 + 1)
    T = tiles(grid, 5, (2, 3), 2, 1)
    np.testing.assert_allclose(T, H.reshape(5, 2, 3) / H.max(axis=1)[:, None, None])
    mask = np.ones(grid.shape, bool)
    for i in range(5):
        r, c = divmod(i, 2)
        mask[1 + 3 * r:3 + 3 * r, 1 + 4 * c:4 + 4 * c] = False
    assert (grid[mask] == -1.0).all()  # padding and the empty sixth cell


def test_grid_defaults_and_options():
    H = np.arange(1, 17, dtype=float).reshape(4, 4)
    grid = parts_grid(H, (2, 2))  # 2 x 2 grid, padding 1, normalized
    assert grid.shape == (7, 7) and grid.max() == 1.0
    raw = parts_grid(H, (2, 2), normalize=False, padding=0)
    np.testing.assert_array_equal(raw[:2, :2], H[0].reshape(2, 2))
    np.testing.assert_array_equal(raw[2:, 2:], H[3].reshape(2, 2))
    assert parts_grid(H, (2, 2), n_cols=10, padding=0).shape == (2, 8)  # one row
    assert parts_grid(np.zeros((1, 4)), (2, 2)).max() == 0.0  # an all-zero part stays zero
    assert parts_grid(H[0], (2, 2), padding=0).shape == (2, 2)  # one image


def test_grid_takes_a_fitted_model():
    V, parts = swimmer()
    model = NMF(3, random_state=0, max_iter=20, tol=0).fit(V[:20])
    np.testing.assert_array_equal(parts_grid(model, (32, 32)),
                                  parts_grid(model.components_, (32, 32)))


@pytest.mark.parametrize("args, words", [((np.ones((2, 6)), (2, 2)), "has 4 pixels"),
                                         ((np.ones((2, 6)), (2,)), "image_shape"),
                                         ((np.ones((2, 6)), (0, 6)), "image_shape"),
                                         ((np.ones((2, 6)), None), "image_shape"),
                                         ((np.ones((2, 6)), (2.0, 3.0)), "image_shape"),
                                         ((np.ones((0, 6)), (2, 3)), "at least one part"),
                                         ((np.ones((2, 2, 3)), (2, 3)), "2-D")])
def test_grid_rejects_bad_shapes(args, words):
    with pytest.raises(ValueError, match=words):
        parts_grid(*args)


@pytest.mark.parametrize("components, kwargs, exc, words", [
    (NMF(2), {}, NotFittedError, "not fitted yet"),
    ("abcd", {}, TypeError, "components must be a fitted NMF model or"),
    (None, {}, TypeError, "components must be a fitted NMF model or"),
    (np.array([[1.0, np.nan, 0.0, 2.0]]), {}, ValueError, "NaN or infinity"),
    (np.array([[1.0, np.inf, 0.0, 2.0]]), {}, ValueError, "NaN or infinity"),
    (np.ones((2, 4)), dict(normalize="no"), TypeError, "normalize must be True or False"),
    (np.ones((2, 4)), dict(pad_value="white"), TypeError, "pad_value must be a number"),
    (np.ones((2, 4)), dict(n_cols=0), ValueError, "n_cols"),
    (np.ones((2, 4)), dict(padding=-1), ValueError, "padding"),
])
def test_grid_rejects_bad_arguments(components, kwargs, exc, words):
    with pytest.raises(exc, match=words):
        parts_grid(components, (2, 2), **kwargs)


def test_swimmer_parts_are_recovered_in_the_grid():
    V, parts = swimmer()
    # one OpenMP thread: the same bits, and much faster on a busy machine (see test_demo)
    with threadpool_limits(1, user_api="openmp"):
        H = NMF(random_state=0, **DEMO_PARAMS).fit(V).components_
    grid = parts_grid(H, (32, 32), n_cols=6, padding=2)
    learned = tiles(grid, H.shape[0], (32, 32), 6, 2).reshape(H.shape[0], -1)
    cosines, assignment = match_parts(learned, parts)
    assert (cosines >= 0.9).all()  # torso and all 16 limb positions
    assert len(set(assignment)) == 17
