"""NMF of dask arrays on a dask.distributed cluster (issue 7).

Every test runs on a real LocalCluster with two worker processes started here; nothing
outside this process tree is needed. The whole file takes well under two minutes.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

from nmfkit import NMF  # noqa: E402

from _data import low_rank, sparse_data  # noqa: E402

LOSSES = ["frobenius", "kullback-leibler"]
TEST_TIMEOUT = 420  # seconds; a test that hangs fails instead (a hang detector, not a timing)


@pytest.fixture(autouse=True)
def _no_hang():
    """Fail (do not hang) a test stuck on a cluster; POSIX only."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"test exceeded {TEST_TIMEOUT} s")
    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture
def cl(client):
    client.wait_for_workers(2, timeout=60)  # after the killed-worker test, its restart
    return client


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("kind", ["dense", "csr"])
@pytest.mark.parametrize("tol", [0.0, 1e-4])
def test_same_start_same_fit_as_in_process(cl, loss, kind, tol):
    V = low_rank(230, 90, 4) if kind == "dense" else sparse_data(230, 90, 0.2)
    before = V.copy()
    X = da.from_array(V, chunks=(60, 90), asarray=kind == "dense")  # 4 chunks, one short
    kw = dict(n_components=4, init="random", solver="mu", beta_loss=loss, random_state=0,
              tol=tol, max_iter=60)
    ref = NMF(**kw)
    W_ref = ref.fit_transform(V)
    model = NMF(**kw)
    W = model.fit_transform(X)
    assert isinstance(W, da.Array) and W.chunks == (X.chunks[0], (4,))
    assert isinstance(model.components_, np.ndarray)
    assert model.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(model.loss_history_iter_, ref.loss_history_iter_)
    np.testing.assert_allclose(model.loss_history_, ref.loss_history_, rtol=1e-8)
    assert rel(model.components_, ref.components_) < 1e-8
    assert model.reconstruction_err_ == pytest.approx(ref.reconstruction_err_, rel=1e-8)
    # tol > 0 ends with the exact W solve for the final H, stopped per chunk: W agrees to the
    # solve's tolerance then, and to rounding otherwise.
    assert rel(W.compute(), W_ref) < (1e-8 if tol == 0 else 1e-5)
    assert (V != before).nnz == 0 if kind == "csr" else np.array_equal(V, before)


def test_penalties_restarts_and_float32(cl):
    V = low_rank(150, 70, 3).astype(np.float32)
    X = da.from_array(V, chunks=(40, 70))
    kw = dict(n_components=3, init="random", solver="mu", alpha_W=0.01, l1_ratio=0.5,
              n_init=2, random_state=1, tol=0, max_iter=30)
    ref = NMF(**kw)
    W_ref = ref.fit_transform(V)
    model = NMF(**kw)
    W = model.fit_transform(X)
    assert W.dtype == np.float32 and model.components_.dtype == np.float32
    assert W.compute().dtype == np.float32
    np.testing.assert_allclose(model.loss_history_, ref.loss_history_, rtol=1e-4)
    assert rel(model.components_, ref.components_) < 1e-4
    assert rel(W.compute(), W_ref) < 1e-4


def test_hals_and_amu_reach_the_in_process_objective(cl):
    V = low_rank(200, 80, 4, noise=0.01)
    X = da.from_array(V, chunks=(50, 80))
    for solver in ("hals", "amu", "ehals"):
        kw = dict(n_components=4, init="random", random_state=0, tol=1e-5, max_iter=150)
        # on a cluster, 'ehals' (the in-process default) runs as plain 'hals'
        ref = NMF(solver="hals" if solver == "ehals" else solver, **kw).fit(V)
        model = NMF(solver=solver, **kw).fit(X)
        assert np.all(np.diff(model.loss_history_) <= 1e-9 * model.loss_history_[0])
        assert model.reconstruction_err_ == pytest.approx(ref.reconstruction_err_, rel=1e-2)


def test_transform_of_a_dask_array(cl):
    V = low_rank(160, 60, 3)
    model = NMF(n_components=3, init="random", solver="mu", random_state=0, tol=1e-6,
                max_iter=300).fit(V)
    X = da.from_array(V, chunks=(50, 60))
    Wt = model.transform(X)
    assert isinstance(Wt, da.Array) and Wt.chunks == (X.chunks[0], (3,))
    # Both solve the same convex problem (W with H fixed) from different starts.
    W_ref = model.transform(V)
    assert np.linalg.norm(V - Wt.compute() @ model.components_) == pytest.approx(
        np.linalg.norm(V - W_ref @ model.components_), rel=1e-6)


def test_errors_name_the_fix(cl):
    V = low_rank(40, 30, 2)
    with pytest.raises(ValueError, match=r"chunked along its columns.*X = X\.rechunk\(\{1: -1\}\)"):
        NMF(2, init="random").fit(da.from_array(V, chunks=(20, 10)))
    with pytest.raises(ValueError, match="Negative values"):
        NMF(2, init="random").fit(da.from_array(V - 0.5, chunks=(20, 30)))
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        X = da.from_array(V, chunks=(20, 30))
        NMF(2, init="random").fit(X[X[:, 0] > 0.1])
    with pytest.raises(TypeError, match="dask.array"):
        import dask.bag as db
        NMF(2, init="random").fit(db.from_sequence([1, 2]))
    with pytest.raises(ValueError, match="init='random'"):  # NNDSVD: not distributed yet
        NMF(2).fit(da.from_array(V, chunks=(20, 30)))
    model = NMF(2, init="random", max_iter=5, tol=0).fit(da.from_array(V, chunks=(20, 30)))
    with pytest.raises(ValueError, match="30 features"):
        model.transform(da.from_array(V[:, :20], chunks=(20, 20)))


def test_custom_start(cl):
    V = low_rank(90, 40, 3)
    rng = np.random.RandomState(5)
    W0, H0 = rng.rand(90, 3), rng.rand(3, 40)
    kw = dict(n_components=3, init="custom", solver="mu", tol=0, max_iter=20)
    ref = NMF(**kw).fit(V, W=W0, H=H0)
    model = NMF(**kw).fit(da.from_array(V, chunks=(25, 40)), W=da.from_array(W0), H=H0)
    assert rel(model.components_, ref.components_) < 1e-8


def test_no_client_is_a_clear_error():
    code = textwrap.dedent("""
        import numpy as np, dask.array as da
        from nmfkit import NMF
        try:
            NMF(2, init="random").fit(da.ones((10, 4), chunks=(5, 4)))
        except ValueError as exc:
            print("ERR", exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert "ERR" in out.stdout and "no dask.distributed Client" in out.stdout, out.stderr


def test_a_killed_worker_does_not_sink_the_fit(cl):
    """A worker process is SIGKILLed mid-fit; its W chunks are recovered, the fit finishes,
    and ends within 1% of the undisturbed fit's objective (the in-process fit from the same
    start, equal to the undisturbed distributed fit: see the first test)."""
    V = low_rank(400, 120, 5, noise=0.02)
    X = da.from_array(V, chunks=(50, 120))
    kw = dict(n_components=5, init="random", solver="mu", random_state=0, tol=1e-4,
              max_iter=400)
    ref = NMF(**kw).fit(V)
    assert ref.n_iter_ > 30  # so the kill below happens mid-fit
    killed = []

    def kill_one(n_iter, objective):
        # A moment after the check at iteration 20, so that the kill lands mid-iteration
        # and the last checkpoint of W is a few iterations old.
        if n_iter == 20:
            addr = sorted(cl.scheduler_info(n_workers=-1)["workers"])[0]
            pid = cl.run(os.getpid, workers=[addr])[addr]
            timer = threading.Timer(0.15, os.kill, (pid, signal.SIGKILL))
            timer.start()  # the nanny restarts the worker, under a new address
            killed.append(timer)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = NMF(callback=kill_one, **kw)
        W = model.fit_transform(X)
    killed[0].join()
    lost = [w for w in caught if issubclass(w.category, RuntimeWarning)
            and "recovered" in str(w.message)]
    assert lost, [str(w.message) for w in caught]
    W = W.compute()
    assert W.shape == (400, 5) and np.all(np.isfinite(W)) and W.min() >= 0
    assert model.loss_history_[-1] <= 1.01 * ref.loss_history_[-1]
    # The objective of what is returned, computed here, is what the model reports.
    err = np.linalg.norm(V - W @ model.components_)
    assert err == pytest.approx(model.reconstruction_err_, rel=1e-6)


def test_data_larger_than_a_worker_memory_limit():
    """V generated on the workers, larger than one worker's memory limit, factorizes (dask
    spills what does not fit to disk). The limit leaves room for a worker's own footprint
    (Python, NumPy, SciPy, scikit-learn, dask and nmfkit: 235-270 MB measured), else the nanny
    restarts the worker before it holds any data: each worker's share of V plus that footprint
    is over the limit, and V alone is too."""
    limit = 450e6
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, memory_limit=int(limit)) as cluster, \
            distributed.Client(cluster):
        X = da.random.RandomState(0).random((60000, 1000), chunks=(2000, 1000))
        assert X.nbytes > limit
        model = NMF(n_components=4, init="random", solver="mu", random_state=0, tol=0,
                    max_iter=3)
        W = model.fit_transform(X)
        assert W.shape == (X.shape[0], 4) and W.chunks[0] == X.chunks[0]
        assert model.loss_history_[-1] < model.loss_history_[0]
        w_max = float(W.max().compute())
        assert np.isfinite(w_max) and w_max > 0


def test_a_wait_cancelled_inside_distributed_counts_as_a_cancelled_future():
    # distributed's sync() raises UnboundLocalError when the future it awaits is cancelled
    # (a worker restarted at its memory limit); the map must see a cancellation (and redo
    # itself, see mapreduce.LOST), not a crash
    import concurrent.futures

    from nmfkit.distributed import mapreduce

    class Cancelled:
        def result(self, timeout=None):
            raise UnboundLocalError("cannot access local variable 'result'")

    chunks = object.__new__(mapreduce.ChunkedMap)
    with pytest.raises(concurrent.futures.CancelledError):
        chunks._wait(Cancelled())
    assert issubclass(concurrent.futures.CancelledError, mapreduce.LOST)
