"""The command line: nmfkit fit, nmfkit rank, and clean failures on bad input."""

import io
import json
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import nmfkit
from nmfkit.cli import main, progress as _progress
from nmfkit.datasets import make_low_rank


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
    with np.load(out_path, allow_pickle=False) as f:
        assert sorted(f.files) == sorted(["W", "H", "row_labels", "column_labels",
                                          "component_labels", "objective", "n_iter",
                                          "converged", "params"])
        W, H = f["W"], f["H"]
        # an .npy has no labels: rows and columns are numbered from 0
        assert f["row_labels"].tolist() == [str(i) for i in range(60)]
        assert f["column_labels"].tolist() == [str(j) for j in range(40)]
        assert f["component_labels"].tolist() == ["nmf0", "nmf1", "nmf2", "nmf3"]
        assert float(f["objective"]) == pytest.approx(printed(out.out), rel=1e-5)
        n_iter, converged = int(f["n_iter"]), bool(f["converged"])
        params = json.loads(str(f["params"]))
    assert params["k"] == 4 and params["loss"] == "frobenius" and params["tol"] == 1e-4
    assert params["input"] == str(npy) and params["nmfkit_version"] == nmfkit.__version__
    assert W.shape == (60, 4) and H.shape == (4, 40) and W.min() >= 0 and H.min() >= 0
    assert printed(out.out) == pytest.approx(objective_of(data, W, H), rel=1e-5)
    rel = float(re.search(r"relative error .* = ([0-9.e+-]+)", out.out).group(1))
    assert rel == pytest.approx(np.linalg.norm(data - W @ H) / np.linalg.norm(data), rel=1e-3)
    assert "X.npy: 60 x 40" in out.out
    # low-rank data: the fit converges, and says after how many iterations
    assert f"converged after {n_iter} iterations (--tol 0.0001)" in out.out and converged
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
    assert "kullback-leibler" in out
    fit_line = next(line for line in out.splitlines() if line.startswith("fit "))
    assert "stopped at --max-iter 5 before the relative decrease fell below --tol 0.001" in \
        fit_line and "converged" not in fit_line
    with np.load(out_path) as f:
        assert int(f["n_iter"]) == 5 and not bool(f["converged"])
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


@pytest.mark.parametrize("name, words", [("no/s.png", "the directory"),
                                         ("s.xyz", "--plot needs a picture file name ending in"),
                                         ("s", "--plot needs a picture file name")])
def test_a_bad_plot_path_fails_before_the_survey(npy, tmp_path, capsys, monkeypatch, name,
                                                 words):
    pytest.importorskip("matplotlib")
    import nmfkit.rank.survey

    def no_survey(*args, **kwargs):
        raise AssertionError("the survey ran before the plot path was checked")

    monkeypatch.setattr(nmfkit.rank.survey, "rank_survey", no_survey)
    assert main(["rank", str(npy), "--ks", "2", "--runs", "1",
                 "--plot", str(tmp_path / name)]) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and words in out.err


def test_rank_progress_bar(npy, capsys):
    assert main(["rank", str(npy), "--ks", "2,3", "--runs", "2", "--progress"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "4/4 k=3 run 2/2" in err.split("\r")[-1]


# -- failures -------------------------------------------------------------------------------
BAD = {
    "missing.npy": (None, "no such file"),
    "negative.csv": ("a,b\n1,2\n3,-1\n", "negative"),
    "malformed.csv": ("a,b\n1,2\n3,x\n", "'x' is not a number"),
    "wrong.json": ("[[1, 2]]", "unsupported file type"),
    "vector.npy": (np.ones(3), "1-D"),
    "inf.csv": ("a,b\n1,inf\n2,3\n", "infinite"),
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
        with open(path, "wb") as f:
            np.save(f, content)
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
    assert err.count("\n") == 1 and "no/o.npz: cannot write there: the directory" in err


def test_a_rank_above_the_data_is_reported_not_raised(tmp_path, capsys):
    path = tmp_path / "one.csv"
    path.write_text("a,b,c\n1,2,3\n")
    assert main(["rank", str(path), "--ks", "2"]) == 1
    assert "at least 2" in capsys.readouterr().err


@pytest.mark.parametrize("args, words", [
    (["fit", "X.npy", "-o", "o.npz"], "nmfkit fit: error: the following arguments are required: "
                                      "-k/--n-components"),
    (["fit", "X.npy", "-k", "0", "-o", "o.npz"], "argument -k/--n-components: must be >= 1"),
    (["fit", "X.npy", "-k", "2", "-o", "o.npz", "--loss", "ls"], "'ls' is not a loss"),
    (["fit", "X.npy", "-k", "2", "-o", "o.npz", "--seed", "-1"], "must be between 0 and 2**32"),
    (["fit", "X.csv", "-k", "2", "-o", "o.npz", "--sep", "|"], "'|' is not a separator"),
    (["rank", "X.npy", "--ks", "1-3"], "nmfkit rank: error: argument --ks"),
    (["rank", "X.npy", "--ks", "a"], "cannot read 'a'"),
    (["rank", "X.npy", "--ks", "2", "--clusters", "2"], "argument --clusters: expected 2"),
    ([], "nmfkit: error: the following arguments are required: COMMAND"),
    (["fitt", "X.npy"], "nmfkit: error: argument COMMAND: invalid choice: 'fitt'"),
])
def test_bad_arguments_are_one_line_and_status_1(args, words, capsys):
    assert main(args) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and "usage:" not in out.err
    assert words in out.err and out.err.rstrip().endswith("--help)")


def test_help_and_version(capsys):
    assert main(["--help"]) == 0
    assert "usage: nmfkit" in capsys.readouterr().out
    assert main(["fit", "--help"]) == 0
    assert "--no-header" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"nmfkit {nmfkit.__version__}\n"


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
    proc = subprocess.run([sys.executable, "-m", "nmfkit", "fit", str(bad), "-o", "o.npz"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "required: -k/--n-components" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "nmfkit", "--version"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0 and proc.stdout == f"nmfkit {nmfkit.__version__}\n"
    good = tmp_path / "ok.csv"
    good.write_text("a,b,c\n1,2,0\n2,4,0\n0,0,5\n")
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
    assert main(["fit", str(path), "--no-header", "-k", "4", "-o", str(out_path)]) == 0
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


# -- files from R, labelled outputs, checks before the work ------------------------------------
DATA = os.path.join(os.path.dirname(__file__), "data")
R_ROWS = ["gene A", "b,c", 'q"x', "Z\u00fcrich"]
R_COLS = ["s1", "s 2", "2021"]


def test_fit_an_r_file_to_labelled_tables(tmp_path, capsys):
    """write.csv's file in, two labelled tables out, holding exactly the fitted W and H."""
    from nmfkit.cli.files import read_matrix
    src = os.path.join(DATA, "r_write_csv_na.csv")
    assert main(["fit", src, "-k", "2", "--seed", "3", "-o", str(tmp_path / "f.npz")]) == 0
    assert main(["fit", src, "-k", "2", "--seed", "3", "-o", str(tmp_path / "f.csv")]) == 0
    out = capsys.readouterr().out
    assert f"input     {src}: 4 x 3 (comma-separated, header line 1, row labels in column 1 " \
           "since its header cell is empty), 2 missing (NaN) entries left out of the fit" in out
    assert f"wrote     {tmp_path / 'f_W.csv'}: W 4 x 2 (rows: the row labels; columns: " \
           "nmf0..nmf1)" in out
    assert not (tmp_path / "f.csv").exists()
    W, H = read_matrix(tmp_path / "f_W.csv"), read_matrix(tmp_path / "f_H.csv")
    assert W.row_labels.tolist() == R_ROWS and W.column_labels.tolist() == ["nmf0", "nmf1"]
    assert H.row_labels.tolist() == ["nmf0", "nmf1"] and H.column_labels.tolist() == R_COLS
    with np.load(tmp_path / "f.npz", allow_pickle=False) as f:
        np.testing.assert_array_equal(W.X, f["W"])  # the text holds every bit
        np.testing.assert_array_equal(H.X, f["H"])
        assert f["row_labels"].tolist() == R_ROWS and f["column_labels"].tolist() == R_COLS


def test_tol_0_runs_max_iter_and_does_not_claim_convergence(npy, tmp_path, capsys):
    out_path = tmp_path / "o.npz"
    assert main(["fit", str(npy), "-k", "4", "--tol", "0", "--max-iter", "30",
                 "-o", str(out_path)]) == 0
    out = capsys.readouterr().out
    fit_line = next(line for line in out.splitlines() if line.startswith("fit "))
    assert "ran 30 iterations (--tol 0: no convergence test)" in fit_line
    assert "converged" not in fit_line and "stopped" not in fit_line
    with np.load(out_path) as f:
        assert int(f["n_iter"]) == 30 and not bool(f["converged"])


def test_headerless_csv_needs_no_header(tmp_path, capsys):
    path = tmp_path / "plain.csv"
    path.write_text("1,2,0\n2,4,0\n0,0,5\n")
    assert main(["fit", str(path), "-k", "2", "-o", str(tmp_path / "a.npz")]) == 0
    out = capsys.readouterr().out
    assert ": 2 x 3 (comma-separated, header line 1)" in out
    assert "note: the header line (line 1: 1, 2, 0) is all numbers; it is read as column " \
           "labels: if it is data, pass --no-header." in out
    assert main(["fit", str(path), "--no-header", "-k", "2", "-o", str(tmp_path / "b.npz")]) == 0
    out = capsys.readouterr().out
    assert ": 3 x 3 (comma-separated, no header)" in out and "note" not in out
    one = tmp_path / "one.csv"  # one column, no header: the first row is kept
    one.write_text("4\n1\n2\n")
    assert main(["fit", str(one), "--no-header", "-k", "1", "-o", str(tmp_path / "c.npz")]) == 0
    with np.load(tmp_path / "c.npz") as f:
        assert f["W"].shape == (3, 1) and f["row_labels"].tolist() == ["0", "1", "2"]


@pytest.mark.parametrize("output, words", [
    ("o.npy", "a .npy file holds one array; W and H need two"),
    ("o.xlsx", "unknown output type"),
    ("no/o.npz", "the directory"),
    ("no/o.csv", "o_W.csv: cannot write there"),
])
def test_a_bad_output_fails_before_the_input_is_read(npy, tmp_path, capsys, monkeypatch,
                                                     output, words):
    import nmfkit.cli.files

    def no_read(*args, **kwargs):
        raise AssertionError("the input was read before the output was checked")

    monkeypatch.setattr(nmfkit.cli.files, "read_matrix", no_read)
    assert main(["fit", str(npy), "-k", "2", "-o", str(tmp_path / output)]) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1 and words in out.err


def test_outputs_never_overwrite_the_input(tmp_path, capsys):
    data = tmp_path / "d.npz"
    np.savez(data, X=np.ones((4, 3)))
    assert main(["fit", str(data), "-k", "1", "-o", str(data)]) == 1
    assert "is the input file" in capsys.readouterr().err
    w = tmp_path / "d_W.csv"
    w.write_text(",a,b\nx,1,2\ny,3,4\n")
    before = w.read_text()
    assert main(["fit", str(w), "-k", "1", "-o", str(tmp_path / "d.csv")]) == 1
    assert "d_W.csv: is the input file" in capsys.readouterr().err and w.read_text() == before
    assert main(["rank", str(w), "--ks", "2", "-o", str(tmp_path / "t.csv"),
                 "--clusters", "2", str(tmp_path / "t.csv")]) == 1
    assert "named for two outputs" in capsys.readouterr().err


def test_other_bad_inputs_and_arguments(npy, tmp_path, capsys, monkeypatch):
    out = str(tmp_path / "o.npz")
    # a fit's own output passed back in
    assert main(["fit", str(npy), "-k", "2", "-o", out]) == 0
    capsys.readouterr()
    assert main(["fit", out, "-k", "2", "-o", str(tmp_path / "p.npz")]) == 1
    assert "is the output of nmfkit fit" in capsys.readouterr().err
    # text-file options on a binary input would be silently ignored: refused
    assert main(["fit", str(npy), "--no-header", "-k", "2", "-o", out]) == 1
    assert "--no-header applies to text input" in capsys.readouterr().err
    assert main(["rank", str(npy), "--sep", ";", "--ks", "2"]) == 1
    assert "--sep applies to text input" in capsys.readouterr().err
    # NNDSVD needs k <= min(m, n)
    assert main(["fit", str(npy), "-k", "50", "--init", "nndsvd", "-o", out]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot factorize with -k 50" in err
    # more memory than there is
    import nmfkit.estimator.nmf

    def no_memory(self, X, *args, **kwargs):
        raise MemoryError("Unable to allocate 37.3 GiB")

    monkeypatch.setattr(nmfkit.estimator.nmf.NMF, "fit_transform", no_memory)
    assert main(["fit", str(npy), "-k", "1000000000", "-o", out]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs more memory than there is" in err


@pytest.fixture
def blocks(tmp_path):
    """Two groups of rows on disjoint columns, labelled, as a pandas-style CSV."""
    rng = np.random.default_rng(0)
    X = np.zeros((12, 8))
    X[:6, :4] = rng.uniform(1, 2, (6, 4))
    X[6:, 4:] = rng.uniform(1, 2, (6, 4))
    labels = [f"r{i}" for i in range(12)]
    path = tmp_path / "blocks.csv"
    path.write_text("," + ",".join(f"c{j}" for j in range(8)) + "\n" + "".join(
        label + "," + ",".join(repr(float(v)) for v in row) + "\n"
        for label, row in zip(labels, X)))
    return path, labels


@pytest.mark.parametrize("ext", ["csv", "tsv", "json", "npz"])
def test_rank_writes_its_table_and_clusters(blocks, tmp_path, capsys, ext):
    from nmfkit.cli.files import read_matrix
    path, labels = blocks
    table, clusters = tmp_path / f"t.{ext}", tmp_path / f"c.{ext}"
    assert main(["rank", str(path), "--ks", "2-3", "--runs", "4", "-o", str(table),
                 "--clusters", "2", str(clusters)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split()[:2] == ["k", "cophenetic"])
    shown = np.array([[float(v) for v in line.split()] for line in lines[head + 1:head + 3]])
    names = ["k", "cophenetic", "dispersion", "rss", "evar", "objective"]
    if ext in ("csv", "tsv"):
        got = read_matrix(table, sep="\t" if ext == "tsv" else ",")
        assert got.column_labels.tolist() == list(SURVEY_COLUMNS) and got.row_labels is None
        got = got.X
        cells = [line.split("\t" if ext == "tsv" else ",")
                 for line in clusters.read_text().splitlines()]
        assert cells[0] == ["", "cluster", "factor", "silhouette"]
        rows = [c[0] for c in cells[1:]]
        cluster, factor = [int(c[1]) for c in cells[1:]], [c[2] for c in cells[1:]]
    elif ext == "json":
        doc = json.loads(table.read_text())
        got = np.array([[r[n] for n in names] for r in doc["rows"]])
        assert doc["params"]["ks"] == [2, 3] and doc["params"]["runs"] == 4
        doc = json.loads(clusters.read_text())
        assert doc["params"]["k"] == 2
        rows = [r["label"] for r in doc["rows"]]
        cluster, factor = [r["cluster"] for r in doc["rows"]], [r["factor"] for r in doc["rows"]]
    else:
        with np.load(table, allow_pickle=False) as f:
            got = np.column_stack([f[n] for n in names])
            assert json.loads(str(f["params"]))["ks"] == [2, 3]
        with np.load(clusters, allow_pickle=False) as f:
            rows, cluster, factor = (f["row_labels"].tolist(), f["cluster"].tolist(),
                                     f["factor"].tolist())
    np.testing.assert_array_equal(got[:, 0], [2, 3])
    np.testing.assert_allclose(got[:, 1:5], shown[:, 1:5], rtol=1e-3, atol=1e-4)
    assert rows == labels
    # the two blocks of rows are the two clusters, numbered in order of the rows
    assert cluster == [1] * 6 + [2] * 6
    assert len(set(factor[:6])) == 1 and len(set(factor[6:])) == 1 and factor[0] != factor[6]
    assert set(factor) <= {"nmf0", "nmf1"}
    assert f"wrote {clusters}: the cluster of each of the 12 rows at k=2" in out


SURVEY_COLUMNS = ("k", "cophenetic", "dispersion", "rss", "evar", "objective", "stability",
                  "factor_distance", "silhouette_samples", "silhouette_features")


def _table(path):
    from nmfkit.cli.files import read_matrix
    got = read_matrix(path)
    return dict(zip(got.column_labels.tolist(), got.X.T)), got.row_labels


def test_rank_randomized_and_features(blocks, tmp_path, capsys):
    from nmfkit.rank.features import feature_scores
    path, labels = blocks
    table, feats = tmp_path / "t.csv", tmp_path / "f.csv"
    assert main(["rank", str(path), "--ks", "2-3", "--runs", "4", "--randomized", "-o",
                 str(table), "--features", "2", str(feats), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "the same survey of the randomized input" in out
    cols, _ = _table(table)
    assert list(cols) == list(SURVEY_COLUMNS) + [f"random_{c}" for c in SURVEY_COLUMNS[1:]]
    # two clean blocks: the real consensus is perfect, the shuffled one is not
    assert np.all(cols["cophenetic"] > cols["random_cophenetic"] - 1e-12)
    assert np.all(cols["rss"] < cols["random_rss"])
    text = [line.split(",") for line in feats.read_text().splitlines()]
    assert text[0] == ["", "score", "defines", "contribution"]
    assert [row[0] for row in text[1:]] == [f"c{j}" for j in range(8)]
    # the blocks' columns each belong to one component: every score is 1 and every column
    # defines the component of its block
    np.testing.assert_allclose([float(row[1]) for row in text[1:]], 1.0, atol=1e-6)
    defines = [row[2] for row in text[1:]]
    assert len(set(defines[:4])) == 1 and len(set(defines[4:])) == 1
    assert defines[0] != defines[4] and set(defines) <= {"nmf0", "nmf1"}
    assert feature_scores(np.eye(2)).tolist() == [1.0, 1.0]
    assert main(["rank", str(path), "--ks", "2-3", "--features", "5",
                 str(tmp_path / "g.csv")]) == 1
    assert "--features 5" in capsys.readouterr().err


def test_fit_orthogonal_sparse_features_and_clusters(blocks, tmp_path, capsys):
    from nmfkit import hoyer_sparseness
    path, labels = blocks
    out, feats, clusters = tmp_path / "o.npz", tmp_path / "f.tsv", tmp_path / "c.json"
    assert main(["fit", str(path), "-k", "2", "--orthogonal", "W", "-o", str(out),
                 "--features", str(feats), "--clusters", str(clusters)]) == 0
    printed_out = capsys.readouterr().out
    assert "orthogonal W" in printed_out
    with np.load(out) as f:
        W = f["W"]
        assert json.loads(str(f["params"]))["orthogonal"] == "W"
    assert np.all(np.count_nonzero(W, axis=1) <= 1)  # one cluster per row: W^T W diagonal
    doc = json.loads(clusters.read_text())
    assert [r["label"] for r in doc["rows"]] == labels
    factor = [r["factor"] for r in doc["rows"]]
    assert len(set(factor[:6])) == 1 and len(set(factor[6:])) == 1 and factor[0] != factor[6]
    assert all(r["silhouette"] > 0.9 for r in doc["rows"])
    assert feats.read_text().splitlines()[0].split("\t") == ["", "score", "defines",
                                                               "contribution"]
    assert main(["fit", str(path), "-k", "2", "--sparseness", "H", "0.6", "-o",
                 str(tmp_path / "s.npz")]) == 0
    with np.load(tmp_path / "s.npz") as f:
        np.testing.assert_allclose(hoyer_sparseness(f["H"], axis=1), 0.6, atol=1e-6)
    capsys.readouterr()
    for bad, words in ((["--sparseness", "Q", "0.5"], "FACTOR must be W or H"),
                       (["--sparseness", "H", "2"], "S must be a number in [0, 1]"),
                       (["--orthogonal", "W", "--loss", "kl"], "Frobenius loss only"),
                       (["--orthogonal", "W", "--sparseness", "H", "0.5"], "not allowed")):
        assert main(["fit", str(path), "-k", "2", "-o", str(tmp_path / "b.npz")] + bad) in (1, 2)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, err


def test_rank_clusters_need_a_surveyed_rank(blocks, tmp_path, capsys):
    path, _ = blocks
    assert main(["rank", str(path), "--ks", "2-3", "--clusters", "4",
                 str(tmp_path / "c.csv")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rank 4 is not surveyed; give one of --ks (2, 3)" in err
    assert main(["rank", str(path), "--ks", "2", "-o", str(tmp_path / "t.npy")]) == 1
    assert "use one of .csv, .tsv, .json, .npz" in capsys.readouterr().err


def test_warnings_during_the_fit_are_note_lines(npy, tmp_path, capsys, monkeypatch):
    import warnings

    import nmfkit.estimator.nmf
    original = nmfkit.estimator.nmf.NMF.fit_transform

    def warn_then_fit(self, X, *args, **kwargs):
        warnings.warn("something to know\n  on two lines", UserWarning)
        warnings.warn("a library detail", DeprecationWarning)
        return original(self, X, *args, **kwargs)

    monkeypatch.setattr(nmfkit.estimator.nmf.NMF, "fit_transform", warn_then_fit)
    assert main(["fit", str(npy), "-k", "2", "-o", str(tmp_path / "o.npz")]) == 0
    out = capsys.readouterr()
    assert "note: something to know on two lines\n" in out.out
    assert "library detail" not in out.out + out.err and out.err == ""
