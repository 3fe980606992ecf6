"""The command line: nmfkit fit, nmfkit rank, and clean failures on bad input."""

import io
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from nmfkit import _progress
from nmfkit.__main__ import main
from nmfkit._datasets import make_low_rank


@pytest.fixture(scope="module")
def data():
    return make_low_rank(60, 40, 4, random_state=0)


@pytest.fixture
def npy(tmp_path, data):
    path = tmp_path / "X.npy"
    np.save(path, data)
    return path


def objective_of(X, W, H):
    return 0.5 * float(np.sum((X - W @ H) ** 2))


def printed(out, name="objective 0.5\\*\\|\\|X - WH\\|\\|_F\\^2"):
    m = re.search(name + r" = ([0-9.e+-]+)", out)
    assert m, out
    return float(m.group(1))


# -- fit ------------------------------------------------------------------------------------
def test_fit_writes_w_and_h_and_prints_their_objective(npy, data, tmp_path, capsys):
    out_path = tmp_path / "out.npz"
    assert main(["fit", str(npy), "-k", "4", "-o", str(out_path)]) == 0
    out = capsys.readouterr()
    with np.load(out_path) as f:
        assert sorted(f.files) == ["H", "W"]
        W, H = f["W"], f["H"]
    assert W.shape == (60, 4) and H.shape == (4, 40) and W.min() >= 0 and H.min() >= 0
    assert printed(out.out) == pytest.approx(objective_of(data, W, H), rel=1e-5)
    rel = float(re.search(r"relative error .* = ([0-9.e+-]+)", out.out).group(1))
    assert rel == pytest.approx(np.linalg.norm(data - W @ H) / np.linalg.norm(data), rel=1e-3)
    assert "X.npy: 60 x 40" in out.out
    assert re.search(r"\d+ iterations \((converged|stopped at --max-iter)\)", out.out)
    assert out.err == ""  # no bar when stderr is not a terminal


@pytest.mark.parametrize("fmt", ["npz", "mtx", "csv"])
def test_fit_reads_every_format(tmp_path, data, fmt, capsys):
    path = tmp_path / f"X.{fmt}"
    if fmt == "npz":
        sp.save_npz(path, sp.csr_matrix(data))
    elif fmt == "mtx":
        scipy.io.mmwrite(path, sp.coo_matrix(data))
    else:
        np.savetxt(path, data, delimiter=",", fmt="%.17g", header="a," * 39 + "a", comments="")
    out_path = tmp_path / "out.npz"
    assert main(["fit", str(path), "-k", "4", "-o", str(out_path), "--seed", "1"]) == 0
    with np.load(out_path) as f:
        W, H = f["W"], f["H"]
    # a sparse X's Frobenius objective is ||X||^2 - 2 <X, WH> + ||WH||^2: near an exact fit
    # it is exact to a few eps ||X||^2, not relative to itself
    near = 64 * np.finfo(np.float64).eps * float((data ** 2).sum())
    assert printed(capsys.readouterr().out) == pytest.approx(objective_of(data, W, H), rel=1e-5,
                                                             abs=near)
    assert np.linalg.norm(data - W @ H) < 1e-2 * np.linalg.norm(data)


def test_fit_options(npy, data, tmp_path, capsys):
    out_path = tmp_path / "kl.npz"
    assert main(["fit", str(npy), "-k", "3", "--loss", "kl", "--init", "random",
                 "--max-iter", "5", "--tol", "0.001", "--n-init", "2", "-o", str(out_path)]) == 0
    out = capsys.readouterr().out
    assert "kullback-leibler" in out and "(stopped at --max-iter)" in out
    with np.load(out_path) as f:
        W, H = f["W"], f["H"]
    WH = W @ H
    kl = float(np.sum(data * np.log(data / WH) - data + WH))
    assert printed(out, r"objective KL\(X \| WH\)") == pytest.approx(kl, rel=1e-5)
    assert W.shape == (60, 3)


def test_fit_progress_bar(npy, tmp_path, capsys):
    assert main(["fit", str(npy), "-k", "4", "--max-iter", "50", "--tol", "0", "--progress",
                 "-o", str(tmp_path / "o.npz")]) == 0
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1  # one line, redrawn with \r
    last = err.rstrip().split("\r")[-1]
    assert re.match(r"fit \[#{30}\] 50/50 objective [0-9.e+-]+ [0-9.]+ s", last), last
    assert main(["fit", str(npy), "-k", "4", "--no-progress", "-o", str(tmp_path / "p.npz")]) == 0
    assert capsys.readouterr().err == ""


def test_fit_progress_on_a_terminal_waits_for_long_fits(npy, tmp_path, capsys, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    clock = iter(np.arange(0, 1e4, 0.3)).__next__  # the bar's clock: 0.3 s per reading
    monkeypatch.setattr(_progress, "time", types.SimpleNamespace(perf_counter=clock))
    assert main(["fit", str(npy), "-k", "4", "--max-iter", "40", "--tol", "0",
                 "-o", str(tmp_path / "o.npz")]) == 0
    shown = term.getvalue()
    # the first update comes before the 0.5 s delay and is not drawn; later ones are
    assert "fit [" in shown and " 0/40 " not in shown and "40/40" in shown


# -- rank -----------------------------------------------------------------------------------
def test_rank_prints_the_table(npy, capsys):
    assert main(["rank", str(npy), "--ks", "2-4", "--runs", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["k", "cophenetic"])
    rows = [line.split() for line in lines[header + 1:header + 4]]
    assert [int(r[0]) for r in rows] == [2, 3, 4]
    for r in rows:
        coph, disp, rss, evar = map(float, r[1:5])
        assert 0 <= disp <= 1 and rss >= 0 and evar <= 1 and -1 <= coph <= 1
    assert "3 runs per k" in out


def test_rank_plot(npy, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "survey.png"
    assert main(["rank", str(npy), "--ks", "2,3", "--runs", "2", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {png}" in capsys.readouterr().out


def test_rank_plot_without_matplotlib_fails_before_the_survey(npy, tmp_path, capsys,
                                                              monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["rank", str(npy), "--ks", "2", "--plot", str(tmp_path / "s.png")]) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1
    assert 'pip install "nmfkit[plot]"' in out.err


def test_rank_plot_to_a_missing_directory(npy, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["rank", str(npy), "--ks", "2", "--runs", "1",
                 "--plot", str(tmp_path / "no" / "s.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the plot" in err


def test_rank_progress_bar(npy, capsys):
    assert main(["rank", str(npy), "--ks", "2,3", "--runs", "2", "--progress"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "4/4 k=3 run 2/2" in err.split("\r")[-1]


# -- failures -------------------------------------------------------------------------------
BAD = {
    "missing.npy": (None, "no such file"),
    "negative.csv": ("1,2\n3,-1\n", "negative"),
    "malformed.csv": ("1,2\n3,x\n", "'x' is not a number"),
    "wrong.json": ("[[1, 2]]", "unsupported file type"),
    "vector.npy": (np.ones(3), "1-D"),
    "inf.csv": ("1,inf\n2,3\n", "infinite"),
    "nan.npz": (None, "NaN"),
}


@pytest.mark.parametrize("name", sorted(BAD))
@pytest.mark.parametrize("command", [["fit", "-k", "2", "-o", "OUT"], ["rank", "--ks", "2-3"]])
def test_bad_files_exit_1_with_one_line(tmp_path, capsys, name, command):
    content, words = BAD[name]
    path = tmp_path / name
    if name == "nan.npz":  # NaN in a sparse file: not a missing value, an error
        sp.save_npz(path, sp.csr_matrix(np.array([[1.0, np.nan]])))
    elif isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        np.save(open(path, "wb"), content)
    args = [command[0], str(path)] + [str(tmp_path / "o.npz") if a == "OUT" else a
                                      for a in command[1:]]
    assert main(args) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.count("\n") == 1 and "Traceback" not in out.err
    assert out.err.startswith(f"nmfkit {command[0]}: error: {path}:")
    assert words in out.err
    assert not (tmp_path / "o.npz").exists()


def test_unwritable_output(npy, tmp_path, capsys):
    assert main(["fit", str(npy), "-k", "2", "-o", str(tmp_path / "no" / "o.npz")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the output" in err


def test_a_rank_above_the_data_is_reported_not_raised(tmp_path, capsys):
    path = tmp_path / "one.csv"
    path.write_text("1,2,3\n")
    assert main(["rank", str(path), "--ks", "2"]) == 1
    assert "at least 2" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["fit", "X.npy", "-o", "o.npz"],           # no -k
                                  ["fit", "X.npy", "-k", "0", "-o", "o.npz"],
                                  ["fit", "X.npy", "-k", "2", "-o", "o.npz", "--loss", "ls"],
                                  ["rank", "X.npy", "--ks", "1-3"],
                                  ["rank", "X.npy", "--ks", "a"]])
def test_bad_arguments_are_usage_errors(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert "usage: nmfkit" in capsys.readouterr().err


def test_subprocess_exit_status_and_stderr(tmp_path):
    """The installed entry point (python -m nmfkit): exit codes and streams, end to end."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    bad = tmp_path / "neg.csv"
    bad.write_text("1,2\n-3,4\n")
    proc = subprocess.run([sys.executable, "-m", "nmfkit", "fit", str(bad), "-k", "2", "-o",
                           str(tmp_path / "o.npz")], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "1 negative entry" in proc.stderr
    good = tmp_path / "ok.csv"
    good.write_text("1,2,0\n2,4,0\n0,0,5\n")
    proc = subprocess.run([sys.executable, "-m", "nmfkit", "fit", str(good), "-k", "2", "-o",
                           str(tmp_path / "o.npz")], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and "objective" in proc.stdout
    with np.load(tmp_path / "o.npz") as f:
        W, H = f["W"], f["H"]
    X = np.array([[1.0, 2, 0], [2, 4, 0], [0, 0, 5]])
    assert W.shape == (3, 2) and H.shape == (2, 3)
    assert printed(proc.stdout) == pytest.approx(objective_of(X, W, H), rel=1e-5)


def test_fit_leaves_nan_entries_out(tmp_path, data, capsys):
    X = data.copy()
    X[3, 5] = X[10, 0] = np.nan
    path = tmp_path / "holes.csv"
    lines = [",".join("NA" if np.isnan(v) else repr(float(v)) for v in row) for row in X]
    path.write_text("\n".join(lines))
    out_path = tmp_path / "o.npz"
    assert main(["fit", str(path), "-k", "4", "-o", str(out_path)]) == 0
    out = capsys.readouterr().out
    assert "2 missing (NaN) entries left out of the fit" in out
    with np.load(out_path) as f:
        W, H = f["W"], f["H"]
    observed = ~np.isnan(X)
    expected = 0.5 * float(np.sum((X - W @ H)[observed] ** 2))
    assert printed(out) == pytest.approx(expected, rel=1e-5)
    # the hidden entries are predicted from the rest
    assert abs((W @ H)[3, 5] - data[3, 5]) < 0.05 * data[3, 5]


@pytest.mark.parametrize("loss, words", [("is", "itakura-saito"), ("1.5", "1.5")])
def test_fit_other_beta_losses(npy, tmp_path, capsys, loss, words):
    assert main(["fit", str(npy), "-k", "3", "--loss", loss, "--max-iter", "30",
                 "-o", str(tmp_path / "o.npz")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"objective D_beta\(X \| WH\) = [0-9.e+-]+ \(" + words, out), out
