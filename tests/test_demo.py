"""The swimmer data set, make_low_rank, part matching, and the demo (`nmfkit demo`)."""

import itertools
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from nmfkit.apps.demo import DEMO_PARAMS, match_parts, run_demo
from nmfkit.datasets import SWIMMER_LIMBS, make_low_rank, swimmer


@pytest.fixture(scope="module")
def data():
    return swimmer()


def _coefficients(V, parts):
    """Per image, the share of each (disjoint, 0/1) part that is switched on."""
    return V @ parts.T / parts.sum(axis=1)


# -- swimmer --------------------------------------------------------------------------------
def test_swimmer_shapes_values_and_dtype(data):
    V, parts = data
    assert V.shape == (256, 1024) and parts.shape == (17, 1024)
    assert V.dtype == parts.dtype == np.float64
    assert set(np.unique(V)) == {0.0, 1.0} and set(np.unique(parts)) == {0.0, 1.0}
    # parts are pairwise disjoint: torso 24 pixels, each limb 6
    np.testing.assert_array_equal(parts @ parts.T, np.diag([24.0] + [6.0] * 16))
    np.testing.assert_array_equal(V.sum(axis=1), np.full(256, 24.0 + 4 * 6.0))
    assert np.unique(V, axis=0).shape[0] == 256  # all images differ
    V32, parts32 = swimmer(dtype=np.float32)
    assert V32.dtype == parts32.dtype == np.float32
    np.testing.assert_array_equal(V32, V)
    np.testing.assert_array_equal(parts32, parts)


def test_every_image_is_torso_plus_one_position_of_each_limb(data):
    V, parts = data
    A = _coefficients(V, parts)
    assert set(np.unique(A)) == {0.0, 1.0}
    np.testing.assert_array_equal(A @ parts, V)  # exactly a 0/1 combination of the parts
    assert (A[:, 0] == 1).all()
    for j in range(len(SWIMMER_LIMBS)):
        assert (A[:, 1 + 4 * j:5 + 4 * j].sum(axis=1) == 1).all()
    # the documented order: image 64 p0 + 16 p1 + 4 p2 + p3, part 1 + 4 j + p
    expected = np.zeros((256, 17))
    expected[:, 0] = 1
    for i, pos in enumerate(itertools.product(range(4), repeat=4)):
        expected[i, [1 + 4 * j + p for j, p in enumerate(pos)]] = 1
    np.testing.assert_array_equal(A, expected)


def test_swimmer_geometry(data):
    V, parts = data
    imgs = parts.reshape(17, 32, 32)
    rows, cols = np.nonzero(imgs[0])
    assert set(cols) == {15, 16} and set(rows) == set(range(10, 22))  # centred torso
    # left and right limbs are exact mirror images; so is an image with mirrored positions
    for pair in ((0, 1), (2, 3)):
        for p in range(4):
            left, right = (imgs[1 + 4 * j + p] for j in pair)
            np.testing.assert_array_equal(left[:, ::-1], right)
    np.testing.assert_array_equal(V[64 * 2 + 16 * 2 + 4 * 3 + 3].reshape(32, 32)[:, ::-1],
                                  V[64 * 2 + 16 * 2 + 4 * 3 + 3].reshape(32, 32))
    arm_rows = np.nonzero(imgs[1:9].any(axis=(0, 2)))[0]
    leg_rows = np.nonzero(imgs[9:].any(axis=(0, 2)))[0]
    assert arm_rows.max() < leg_rows.min()  # arms above legs
    # the four positions of one limb are distinct and leave the joint's neighbourhood free
    for j in range(4):
        assert np.unique(parts[1 + 4 * j:5 + 4 * j], axis=0).shape[0] == 4


def test_swimmer_rank_structure(data):
    V, parts = data
    assert np.linalg.matrix_rank(parts) == 17
    # the images span only 1 + 4 * 3 dimensions: within a limb only differences of
    # positions are identifiable, so no single limb part lies in the row space of V ...
    assert np.linalg.matrix_rank(V) == 13
    Q = np.linalg.svd(V, full_matrices=False)[2][:13].T  # orthonormal basis of the rows

    def off_rowspace(x):
        return np.linalg.norm(x - Q @ (Q.T @ x))

    assert all(off_rowspace(parts[i]) > 1 for i in range(1, 17))
    assert off_rowspace(parts[1] - parts[2]) < 1e-10
    assert off_rowspace(parts[0] + parts[1] + parts[5] + parts[9] + parts[13]) < 1e-10
    # ... and 16 nonnegative terms already suffice: the torso rides along with one limb
    A = _coefficients(V, parts)
    H16 = parts[1:].copy()
    H16[0:4] += parts[0]
    np.testing.assert_array_equal(A[:, 1:] @ H16, V)


# -- make_low_rank --------------------------------------------------------------------------
def test_make_low_rank_dense():
    X = make_low_rank(40, 30, 4, random_state=0)
    assert isinstance(X, np.ndarray) and X.shape == (40, 30) and X.dtype == np.float64
    assert X.flags.c_contiguous and (X > 0).all()
    assert np.linalg.matrix_rank(X) == 4
    np.testing.assert_array_equal(X, make_low_rank(40, 30, 4, random_state=0))
    assert not np.array_equal(X, make_low_rank(40, 30, 4, random_state=1))
    X32 = make_low_rank(40, 30, 4, random_state=np.random.default_rng(0), dtype=np.float32)
    assert X32.dtype == np.float32 and np.linalg.matrix_rank(X32) == 4


def test_make_low_rank_sparse_masks_the_dense_matrix():
    dense = make_low_rank(200, 300, 5, random_state=3)
    X = make_low_rank(200, 300, 5, density=0.1, random_state=3)
    assert sp.issparse(X) and X.format == "csr" and X.shape == (200, 300)
    assert X.dtype == np.float64 and X.has_canonical_format
    assert abs(X.nnz / (200 * 300) - 0.1) < 0.01
    rows, cols = X.nonzero()
    np.testing.assert_array_equal(X.data, dense[rows, cols])  # kept entries are exact
    full = make_low_rank(20, 10, 2, density=1.0, random_state=0, dtype=np.float32)
    assert full.dtype == np.float32 and full.nnz == 200
    np.testing.assert_allclose(full.toarray(), make_low_rank(20, 10, 2, random_state=0),
                               rtol=1e-6)
    for bad in (0, -0.5, 1.5):
        with pytest.raises(ValueError, match="density"):
            make_low_rank(5, 5, 2, density=bad)


# -- match_parts ----------------------------------------------------------------------------
def test_match_parts_recovers_a_permuted_scaled_copy(data):
    _, parts = data
    rng = np.random.RandomState(0)
    perm = rng.permutation(17)
    components = parts[perm] * rng.uniform(0.1, 10.0, size=(17, 1))
    cosines, assignment = match_parts(components, parts)
    np.testing.assert_allclose(cosines, 1.0, rtol=1e-12)
    np.testing.assert_array_equal(perm[assignment], np.arange(17))
    # extra components (noise) change nothing
    noisy = np.vstack([rng.uniform(0, 0.01, (3, 1024)), components])
    cosines, assignment = match_parts(noisy, parts)
    np.testing.assert_allclose(cosines, 1.0, rtol=1e-12)
    np.testing.assert_array_equal(perm[assignment - 3], np.arange(17))


def test_match_parts_is_one_to_one_and_handles_zero_and_missing(data):
    _, parts = data
    dup = parts.copy()
    dup[2] = parts[1]  # part 1 twice, part 2 missing: only one copy may count
    cosines, assignment = match_parts(dup, parts)
    assert cosines[2] == 0 and np.isclose(cosines[1], 1) and cosines.sum() == pytest.approx(16)
    assert len(set(assignment)) == 17
    zero = parts.copy()
    zero[5] = 0
    cosines, _ = match_parts(zero, parts)
    assert cosines[5] == 0 and np.isfinite(cosines).all()
    cosines, assignment = match_parts(parts[:15], parts)  # fewer components than parts
    assert (assignment[15:] == -1).all() and (cosines[15:] == 0).all()
    np.testing.assert_allclose(cosines[:15], 1.0)
    with pytest.raises(ValueError, match="same number of columns"):
        match_parts(parts[:, :10], parts)


# -- the demo -------------------------------------------------------------------------------
# The demo runs on one OpenMP thread here: its result does not depend on the thread count
# (the kernels sum in a fixed order), and on a busy 2-core machine the many tiny parallel
# regions of this small problem make 2 threads many times slower than 1.
def _check_report(out):
    lines = out.strip().splitlines()
    assert 8 <= len(lines) <= 15
    assert "256 x 1024" in out and "rank 13" in out
    assert f"n_components={DEMO_PARAMS['n_components']}" in out
    assert re.search(r"fit +[0-9.]+ s wall, \d+ iterations", out)
    assert re.search(r"\|\|V - WH\|\|_F = [0-9.e+-]+", out)
    table = [line for line in lines if line.startswith("  ")]
    assert len(table) == 5 and "torso" in table[0]
    cosines = [float(x) for line in table for x in re.findall(r"\b[01]\.\d{3}\b", line)]
    assert len(cosines) == 17 and all(0 <= c <= 1 for c in cosines)
    m = re.search(r"recovered (\d+)/17 parts with cosine >= 0\.9; mean cosine ([0-9.]+)", out)
    assert m, out
    recovered, mean = int(m.group(1)), float(m.group(2))
    assert recovered == sum(c >= 0.9 for c in cosines)  # the summary agrees with the table
    assert mean == pytest.approx(np.mean(cosines), abs=2e-3)
    return recovered


def test_run_demo_recovers_the_parts(capsys):
    with threadpool_limits(1, user_api="openmp"):
        assert run_demo(seed=0) == 0
    out = capsys.readouterr().out
    assert _check_report(out) >= 16
    assert "random_state=0" in out and ("1 OpenMP thread" in out or "no OpenMP" in out)


def test_command_line_demo():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "nmfkit", "demo", "--seed", "1"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    assert _check_report(proc.stdout) >= 16
    assert "random_state=1" in proc.stdout
