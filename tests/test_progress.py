"""Progress for long work: the estimator's verbose and callback, and the text progress bar."""

import io
import types

import numpy as np
import pytest

from nmfkit import NMF
from nmfkit.cli import progress as _progress
from nmfkit.cli.progress import ProgressBar, fit_progress


@pytest.fixture
def X():
    return np.random.default_rng(0).random((30, 20))


def test_callback_sees_each_objective_check(X):
    seen = []
    model = NMF(3, random_state=0, max_iter=45, tol=0, check_every=10,
                callback=lambda it, obj: seen.append((it, obj))).fit(X)
    assert [it for it, _ in seen] == [0, 10, 20, 30, 40, 45]
    np.testing.assert_array_equal([o for _, o in seen], model.loss_history_)
    np.testing.assert_array_equal([it for it, _ in seen], model.loss_history_iter_)


def test_callback_restarts_at_zero_for_each_start(X):
    seen = []
    NMF(3, random_state=0, max_iter=20, tol=0, n_init=3, init="random",
        callback=lambda it, obj: seen.append(it)).fit(X)
    assert seen == [0, 10, 20] * 3


def test_verbose_prints_each_check(X, capsys):
    NMF(3, random_state=0, max_iter=30, tol=0, verbose=1).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [int(line.split()[2].rstrip(",")) for line in lines] == [0, 10, 20, 30]
    NMF(3, random_state=0, max_iter=30, tol=0).fit(X)
    assert capsys.readouterr().out == ""


def fake_clock(monkeypatch, step):
    clock = iter(np.arange(0, 1e6, step)).__next__
    monkeypatch.setattr(_progress, "time", types.SimpleNamespace(perf_counter=clock))


def test_bar_draws_throttles_and_closes(monkeypatch):
    fake_clock(monkeypatch, 0.05)
    out = io.StringIO()
    bar = ProgressBar(10, "job", stream=out, width=10, interval=0.1)
    for i in range(11):
        bar.update(i, f"step {i}")
    bar.close()
    frames = out.getvalue().split("\r")[1:]
    assert out.getvalue().endswith("\n") and out.getvalue().count("\n") == 1
    assert 1 < len(frames) < 12  # throttled, but drawn more than once
    assert frames[-1].startswith("job [##########] 10/10 step 10")
    assert frames[0].startswith("job [----------] 0/10 step 0")
    # a shorter frame blanks out the end of a longer one
    assert all(len(f.rstrip("\n")) >= len(frames[0].rstrip()) for f in frames)


def test_bar_stays_silent_for_short_jobs(monkeypatch):
    fake_clock(monkeypatch, 0.01)
    out = io.StringIO()
    bar = ProgressBar(5, stream=out, delay=0.5)
    for i in range(6):
        bar.update(i)
    bar.close()
    assert out.getvalue() == ""


def test_fit_progress_counts_over_starts(monkeypatch):
    fake_clock(monkeypatch, 1.0)
    out = io.StringIO()
    bar = ProgressBar(60, stream=out, interval=0)
    cb = fit_progress(bar, n_init=3)
    for _ in range(3):
        for it in (0, 10, 20):
            cb(it, 1.5)
    frames = [f.split("]")[1].split()[0] for f in out.getvalue().split("\r")[1:]]
    assert frames == ["0/60", "10/60", "20/60", "20/60", "30/60", "40/60", "40/60", "50/60",
                      "60/60"]
    assert "start 3/3, objective 1.5" in out.getvalue()
