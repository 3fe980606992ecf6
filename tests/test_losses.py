"""The loss objects (nmfkit.losses) against plain NumPy: their statistics, their updates
(monotone), their objectives, and the one dispatch loss_for."""

import numpy as np
import pytest
import scipy.sparse as sp

from nmfkit.core.matrix import Matrix
from nmfkit.losses import BetaDivergence, Frobenius, KullbackLeibler, beta_gamma, loss_for


def _problem(kind, dtype, seed=0, m=30, n=20, k=4):
    rng = np.random.RandomState(seed)
    V = rng.rand(m, n) * (rng.rand(m, n) < 0.5)  # half zeros, so CSR stores half
    X = sp.csr_matrix(V) if kind == "csr" else V
    M = Matrix(np.asarray(X, dtype=dtype) if kind == "dense" else X.astype(dtype))
    W = rng.rand(m, k).astype(dtype) + 0.1
    Ht = rng.rand(n, k).astype(dtype) + 0.1
    return V.astype(np.float64), M, W, Ht


def _kl(V, WH):
    WH = np.maximum(WH, 1e-300)
    pos = V > 0
    return float(np.sum(V[pos] * np.log(V[pos] / WH[pos])) - V.sum() + WH.sum())


def _beta_div(V, WH, beta):
    return float(np.sum((V ** beta + (beta - 1) * WH ** beta - beta * V * WH ** (beta - 1))
                        / (beta * (beta - 1))))


@pytest.mark.parametrize("beta, masked, expected", [
    (2.0, False, Frobenius), (1.0, False, KullbackLeibler), (0.0, False, BetaDivergence),
    (1.5, False, BetaDivergence), (2.0, True, BetaDivergence), (1.0, True, BetaDivergence)])
def test_loss_for_is_the_one_dispatch(beta, masked, expected):
    loss = loss_for(beta, masked)
    assert type(loss) is expected
    assert loss.beta == beta
    assert loss.has_product_objective == (expected is Frobenius)


def test_names_and_gamma():
    assert (Frobenius.name, KullbackLeibler.name) == ("frobenius", "kullback-leibler")
    assert BetaDivergence(0.0).name == "itakura-saito"
    assert BetaDivergence(1.5).name == "beta=1.5"
    # Fevotte & Idier 2011: 1/(2 - beta) below 1, 1/(beta - 1) above 2, 1 in between
    assert beta_gamma(0.0) == 0.5 and beta_gamma(3.0) == 0.5 and beta_gamma(1.5) == 1.0


@pytest.mark.parametrize("kind", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_frobenius_statistics_and_objective(kind, dtype):
    V, M, W, Ht = _problem(kind, dtype)
    loss = Frobenius()
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    num_w = loss.numerator(M, W, Ht, False, np.empty_like(W), 1)
    num_h = loss.numerator(M, W, Ht, True, np.empty_like(Ht), 1)
    np.testing.assert_allclose(num_w, V @ Ht, rtol=rtol)
    np.testing.assert_allclose(num_h, V.T @ W, rtol=rtol)
    gram = loss.denominator(Ht)
    np.testing.assert_allclose(gram, Ht.T.astype(np.float64) @ Ht, rtol=rtol)
    value = loss.product_objective(M.sq_norm, W, num_w, loss.denominator(W), gram)
    expected = 0.5 * np.sum((V - W.astype(np.float64) @ Ht.T) ** 2)
    np.testing.assert_allclose(value, expected, rtol=10 * rtol)
    np.testing.assert_allclose(loss.divergence(M, W, Ht, 1), expected, rtol=10 * rtol)


@pytest.mark.parametrize("solver", ["hals", "mu"])
def test_frobenius_update_lowers_the_loss_and_hals_solves_each_column(solver):
    V, M, W, Ht = _problem("dense", np.float64)
    loss = Frobenius()
    before = loss.divergence(M, W, Ht, 1)
    num = loss.numerator(M, W, Ht, False, np.empty_like(W), 1)
    gram = loss.denominator(Ht)
    W_old = W.copy()
    delta = loss.update(W, num, gram, 0.0, 0.0, 0.0, M.tiny, 1, solver=solver, n_inner=1)
    assert loss.divergence(M, W, Ht, 1) < before
    np.testing.assert_allclose(delta, np.sum((W - W_old) ** 2), rtol=1e-8)
    if solver == "mu":  # Lee & Seung: W * (V Ht) / (W Ht^T Ht)
        np.testing.assert_allclose(W, W_old * num / (W_old @ gram), rtol=1e-12)
    else:  # HALS: the first column is the exact nonnegative minimizer with the others fixed
        R = V - np.delete(W_old, 0, axis=1) @ np.delete(Ht, 0, axis=1).T
        col = np.maximum(R @ Ht[:, 0] / (Ht[:, 0] @ Ht[:, 0]), 0.0)
        np.testing.assert_allclose(W[:, 0], col, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("kind", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kl_statistics_update_and_objective(kind, dtype):
    V, M, W, Ht = _problem(kind, dtype, seed=1)
    loss = KullbackLeibler()
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    WH = W.astype(np.float64) @ Ht.T.astype(np.float64)
    num = np.empty_like(W)
    den = loss.statistics(M, W, Ht, False, num, None, 1)
    np.testing.assert_allclose(num, (V / WH) @ Ht, rtol=rtol)
    np.testing.assert_allclose(den, Ht.sum(axis=0), rtol=rtol)
    np.testing.assert_allclose(loss.divergence(M, W, Ht, 1), _kl(V, WH), rtol=10 * rtol)
    before = loss.divergence(M, W, Ht, 1)
    W_old = W.copy()
    loss.update(W, num, den, 0.0, 0.0, 0.0, M.tiny, 1)
    np.testing.assert_allclose(W, W_old * num / den, rtol=rtol)  # Lee & Seung
    assert loss.divergence(M, W, Ht, 1) < before


@pytest.mark.parametrize("beta", [0.5, 1.5, 3.0])
@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_beta_statistics_update_and_objective(beta, kind):
    V, M, W, Ht = _problem(kind, np.float64, seed=2)
    V = V + 0.05 if beta <= 1 else V  # beta <= 1 needs positive entries
    M = Matrix(sp.csr_matrix(V) if kind == "csr" else V)
    loss = BetaDivergence(beta)
    WH = W @ Ht.T
    num, den = np.empty_like(W), np.empty_like(W)
    den = loss.statistics(M, W, Ht, False, num, den, 1)
    np.testing.assert_allclose(num, (V * WH ** (beta - 2)) @ Ht, rtol=1e-10)
    np.testing.assert_allclose(den, WH ** (beta - 1) @ Ht, rtol=1e-10)
    np.testing.assert_allclose(loss.divergence(M, W, Ht, 1), _beta_div(V, WH, beta), rtol=1e-9)
    before = loss.divergence(M, W, Ht, 1)
    W_old = W.copy()
    loss.update(W, num, den, 0.0, 0.0, 0.0, M.tiny, 1)
    np.testing.assert_allclose(W, W_old * (num / den) ** beta_gamma(beta), rtol=1e-10)
    assert loss.divergence(M, W, Ht, 1) < before


def test_missing_values_take_the_general_update_over_observed_entries():
    V, _, W, Ht = _problem("dense", np.float64, seed=3)
    Vn = V.copy()
    Vn[::3, ::2] = np.nan
    M = Matrix(Vn)
    loss = loss_for(2.0, M.masked)
    assert isinstance(loss, BetaDivergence)
    obs = ~np.isnan(Vn)
    WH = W @ Ht.T
    num, den = np.empty_like(W), np.empty_like(W)
    loss.statistics(M, W, Ht, False, num, den, 1)
    np.testing.assert_allclose(num, np.where(obs, Vn, 0) @ Ht, rtol=1e-10)
    np.testing.assert_allclose(den, np.where(obs, WH, 0) @ Ht, rtol=1e-10)
    np.testing.assert_allclose(loss.divergence(M, W, Ht, 1),
                               0.5 * np.nansum((Vn - WH) ** 2), rtol=1e-10)


def test_statistics_are_sums_over_row_chunks():
    """The distributed reduction adds the chunks' partials: the statistics of the H update
    from two row chunks add up to the whole's."""
    V, M, W, Ht = _problem("dense", np.float64, seed=4)
    for loss in (Frobenius(), KullbackLeibler()):
        whole = loss.numerator(M, W, Ht, True, np.empty_like(Ht), 1)
        parts = np.zeros_like(Ht)
        for rows in (slice(0, 13), slice(13, None)):
            Mc = Matrix(np.ascontiguousarray(V[rows]))
            Wc = np.ascontiguousarray(W[rows])
            parts += loss.numerator(Mc, Wc, Ht, True, np.empty_like(Ht), 1)
        np.testing.assert_allclose(parts, whole, rtol=1e-12)
        den = loss.denominator(W[:13]) + loss.denominator(np.ascontiguousarray(W[13:]))
        np.testing.assert_allclose(den, loss.denominator(W), rtol=1e-12)
