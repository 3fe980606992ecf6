"""Reading data files for the command line: every format, and one clear line for each problem."""

import gzip
import os

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from nmfkit._io import InputError, read_matrix, write_factors

A = np.array([[1.0, 0.0, 2.5], [0.0, 3.0, 4.0]])


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# -- what is accepted ------------------------------------------------------------------------
def test_npy(tmp_path):
    np.save(tmp_path / "a.npy", A)
    np.testing.assert_array_equal(read_matrix(tmp_path / "a.npy"), A)
    np.save(tmp_path / "b.npy", A.astype(np.float32))
    assert read_matrix(tmp_path / "b.npy").dtype == np.float32
    np.save(tmp_path / "c.npy", A > 0)  # booleans become numbers
    np.testing.assert_array_equal(read_matrix(tmp_path / "c.npy"), (A > 0).astype(float))


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_npz_sparse(tmp_path, fmt):
    sp.save_npz(tmp_path / "a.npz", sp.csr_matrix(A).asformat(fmt))
    X = read_matrix(tmp_path / "a.npz")
    assert sp.issparse(X) and X.format == "csr"
    np.testing.assert_array_equal(X.toarray(), A)


def test_npz_with_arrays(tmp_path):
    np.savez(tmp_path / "one.npz", anything=A)
    np.testing.assert_array_equal(read_matrix(tmp_path / "one.npz"), A)
    np.savez(tmp_path / "named.npz", X=A, labels=np.arange(2))
    np.testing.assert_array_equal(read_matrix(tmp_path / "named.npz"), A)


def test_mtx(tmp_path):
    scipy.io.mmwrite(tmp_path / "a.mtx", sp.coo_matrix(A))
    X = read_matrix(tmp_path / "a.mtx")
    assert sp.issparse(X)
    np.testing.assert_array_equal(X.toarray(), A)
    scipy.io.mmwrite(tmp_path / "d.mtx", A)  # array (dense) MatrixMarket
    np.testing.assert_array_equal(read_matrix(tmp_path / "d.mtx"), A)
    with open(tmp_path / "a.mtx", "rb") as f, gzip.open(tmp_path / "z.mtx.gz", "wb") as g:
        g.write(f.read())
    np.testing.assert_array_equal(read_matrix(tmp_path / "z.mtx.gz").toarray(), A)


@pytest.mark.parametrize("text", [
    "1,0,2.5\n0,3,4\n",
    "a,b,c\n1,0,2.5\n0,3,4\n",                     # header
    ",a,b,c\nr1,1,0,2.5\nr2,0,3,4\n",              # header and row labels
    "r1,1,0,2.5\nr2,0,3,4\n",                      # row labels only
    "\n1, 0, 2.5\n\n0 ,3,4e0\n\n",                 # blank lines, spaces, exponent
    "\ufeffx,y,z\r\n1,0,2.5\r\n0,3,4\r\n",         # byte-order mark, CRLF
])
def test_csv_variants(tmp_path, text):
    np.testing.assert_array_equal(read_matrix(write(tmp_path, "a.csv", text)), A)


def test_tsv_and_one_column(tmp_path):
    np.testing.assert_array_equal(read_matrix(write(tmp_path, "a.tsv", "1\t0\t2.5\n0\t3\t4\n")), A)
    np.testing.assert_array_equal(read_matrix(write(tmp_path, "c.csv", "v\n1\n2\n")), [[1], [2]])


def test_write_factors(tmp_path):
    path = tmp_path / "out.result"  # the exact name, no extension added
    write_factors(path, A, A.T)
    with np.load(path) as f:
        assert sorted(f.files) == ["H", "W"]
        np.testing.assert_array_equal(f["W"], A)
    with pytest.raises(InputError, match="cannot write"):
        write_factors(tmp_path / "no" / "dir.npz", A, A)


# -- what is rejected, and how ---------------------------------------------------------------
def _bad_files(tmp_path):
    """name -> (path, fragment of the message)."""
    cases = {}

    def add(key, name, make, words):
        path = tmp_path / name
        make(path)
        cases[key] = (path, words)

    add("missing", "missing.npy", lambda p: None, "no such file")
    add("directory", "dir.csv", lambda p: p.mkdir(), "is a directory")
    add("extension", "data.xlsx", lambda p: p.write_text("1,2"), "unsupported file type")
    add("no extension", "data", lambda p: p.write_text("1,2"), "unsupported file type")
    add("empty csv", "empty.csv", lambda p: p.write_text(""), "empty")
    add("header only", "header.csv", lambda p: p.write_text("a,b\n"), "only a header")
    add("ragged", "ragged.csv", lambda p: p.write_text("1,2,3\n4,5\n"), "line 2 has 2 fields")
    add("text cell", "text.csv", lambda p: p.write_text("1,2\n3,abc\n"),
        "line 2, column 2: 'abc' is not a number")
    add("empty cell", "hole.csv", lambda p: p.write_text("1,2\n3,\n"), "line 2, column 2")
    add("binary csv", "binary.csv", lambda p: p.write_bytes(b"\xff\xfe\x00\x81" * 10),
        "not a text file")
    add("negative csv", "neg.csv", lambda p: p.write_text("1,2\n3,-4\n"),
        "1 negative entry (smallest -4)")
    add("nan csv", "nan.csv", lambda p: p.write_text("1,nan\n3,4\n"), "NaN")
    add("inf npy", "inf.npy", lambda p: np.save(p, np.array([[1.0, np.inf]])), "infinite")
    add("negative npy", "neg.npy", lambda p: np.save(p, -A), "negative entries")
    add("negative sparse", "neg.npz", lambda p: sp.save_npz(p, sp.csr_matrix(-A)), "negative")
    add("1-D", "vec.npy", lambda p: np.save(p, np.ones(4)), "1-D")
    add("3-D", "cube.npy", lambda p: np.save(p, np.ones((2, 2, 2))), "3-D")
    add("0 rows", "none.npy", lambda p: np.save(p, np.ones((0, 3))), "empty")
    add("strings", "str.npy", lambda p: np.save(p, np.array([["a", "b"]])), "real numbers")
    add("complex", "cplx.npy", lambda p: np.save(p, A + 1j), "real numbers")
    add("objects", "obj.npy", lambda p: np.save(p, np.array([[1, None]], dtype=object),
                                                allow_pickle=True), "Python objects")
    add("garbage npy", "junk.npy", lambda p: p.write_bytes(b"not numpy"), "not a valid .npy")
    add("npz as npy", "arch.npy", lambda p: np.savez(open(p, "wb"), X=A), "rename it to .npz")
    add("garbage npz", "junk.npz", lambda p: p.write_bytes(b"PK\x03\x04garbage"),
        "not a valid .npz")
    add("npz many", "many.npz", lambda p: np.savez(p, a=A, b=A), "holds a, b")
    add("npz empty", "void.npz", lambda p: np.savez(p), "empty")
    add("garbage mtx", "junk.mtx", lambda p: p.write_text("hello\n"), "not a valid MatrixMarket")
    return cases


CASES = ["missing", "directory", "extension", "no extension", "empty csv", "header only",
         "ragged", "text cell", "empty cell", "binary csv", "negative csv", "nan csv", "inf npy",
         "negative npy", "negative sparse", "1-D", "3-D", "0 rows", "strings", "complex",
         "objects", "garbage npy", "npz as npy", "garbage npz", "npz many", "npz empty",
         "garbage mtx"]


@pytest.mark.parametrize("case", CASES)
def test_bad_files_give_one_line_that_names_the_file(tmp_path, case):
    path, words = _bad_files(tmp_path)[case]
    with pytest.raises(InputError) as info:
        read_matrix(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path) + ":")
    assert words in message


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.csv"
    path.write_text("1,2\n")
    path.chmod(0)
    try:
        with pytest.raises(InputError, match="cannot open it"):
            read_matrix(path)
    finally:
        path.chmod(0o600)


def test_a_file_that_cannot_be_opened(tmp_path, monkeypatch):
    # (as root every file is readable, so permission errors are simulated)
    import nmfkit._io as io_mod
    path = tmp_path / "locked.csv"
    path.write_text("1,2\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(io_mod, "open", refuse, raising=False)
    with pytest.raises(InputError, match="locked.csv: cannot open it \\(Permission denied\\)"):
        read_matrix(path)


def test_nan_is_kept_when_allowed(tmp_path):
    path = write(tmp_path, "holes.csv", "1,NA,2\nnan,3,4\n")
    X = read_matrix(path, allow_nan=True)
    np.testing.assert_array_equal(np.isnan(X), [[False, True, False], [True, False, False]])
    with pytest.raises(InputError, match="2 NaN entries"):
        read_matrix(path)
    sp.save_npz(tmp_path / "s.npz", sp.csr_matrix(np.array([[1.0, np.nan]])))
    with pytest.raises(InputError, match="NaN"):
        read_matrix(tmp_path / "s.npz", allow_nan=True)
