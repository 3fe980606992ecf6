"""Reading data files for the command line: every format, and one clear line for each problem.

The text tables of tests/data/ are the bytes R, pandas and NumPy write (see its README): each
must give back exactly the matrix, row labels and column labels that were written.
"""

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from nmfkit.cli.files import (
    InputError,
    OutputError,
    output_files,
    read_matrix,
    write_factors,
    write_table,
)

A = np.array([[1.0, 0.0, 2.5], [0.0, 3.0, 4.0]])
DATA = Path(__file__).parent / "data"

# What the writers in tests/data/make_*.{R,py} were given.
V = np.array([[1, 3, 7], [0, 4, 0.001], [2.5, 10, 6], [0.125, 0.5, 8]])
ROWS = ["gene A", "b,c", 'q"x', "Z\u00fcrich"]
COLS = ["s1", "s 2", "2021"]
R_NA = [(1, 0), (3, 2)]
PY_NA = [(0, 0), (1, 0), (3, 2)]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def X_of(path, **kwargs):
    return read_matrix(path, **kwargs).X


def with_nan(where):
    X = V.copy()
    for i, j in where:
        X[i, j] = np.nan
    return X


# -- binary formats --------------------------------------------------------------------------
def test_npy(tmp_path):
    np.save(tmp_path / "a.npy", A)
    data = read_matrix(tmp_path / "a.npy")
    np.testing.assert_array_equal(data.X, A)
    assert data.row_labels is None and data.column_labels is None
    np.save(tmp_path / "b.npy", A.astype(np.float32))
    assert X_of(tmp_path / "b.npy").dtype == np.float32
    np.save(tmp_path / "c.npy", A > 0)  # booleans become numbers
    np.testing.assert_array_equal(X_of(tmp_path / "c.npy"), (A > 0).astype(float))


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_npz_sparse(tmp_path, fmt):
    sp.save_npz(tmp_path / "a.npz", sp.csr_matrix(A).asformat(fmt))
    X = X_of(tmp_path / "a.npz")
    assert sp.issparse(X) and X.format == "csr"
    np.testing.assert_array_equal(X.toarray(), A)


def test_npz_with_arrays(tmp_path):
    np.savez(tmp_path / "one.npz", anything=A)
    np.testing.assert_array_equal(X_of(tmp_path / "one.npz"), A)
    np.savez(tmp_path / "named.npz", X=A, other=np.arange(2))
    np.testing.assert_array_equal(X_of(tmp_path / "named.npz"), A)


def test_npz_with_labels(tmp_path):
    np.savez(tmp_path / "l.npz", X=A, row_labels=np.array(["a", "b"]),
             column_labels=np.array(["x", "y", "z"]))
    data = read_matrix(tmp_path / "l.npz")
    np.testing.assert_array_equal(data.X, A)
    assert data.row_labels.tolist() == ["a", "b"]
    assert data.column_labels.tolist() == ["x", "y", "z"]
    np.savez(tmp_path / "bad.npz", X=A, row_labels=np.array(["a", "b", "c"]))
    with pytest.raises(InputError, match="row_labels has 3 entries for 2 rows"):
        read_matrix(tmp_path / "bad.npz")


def test_our_own_fit_output_is_refused_as_input(tmp_path):
    write_factors(tmp_path / "fit.npz", A, A.T @ A, params={"k": 3})
    with pytest.raises(InputError, match="is the output of nmfkit fit"):
        read_matrix(tmp_path / "fit.npz")


def test_mtx(tmp_path):
    scipy.io.mmwrite(tmp_path / "a.mtx", sp.coo_matrix(A))
    X = X_of(tmp_path / "a.mtx")
    assert sp.issparse(X)
    np.testing.assert_array_equal(X.toarray(), A)
    scipy.io.mmwrite(tmp_path / "d.mtx", A)  # array (dense) MatrixMarket
    np.testing.assert_array_equal(X_of(tmp_path / "d.mtx"), A)
    with open(tmp_path / "a.mtx", "rb") as f, gzip.open(tmp_path / "z.mtx.gz", "wb") as g:
        g.write(f.read())
    np.testing.assert_array_equal(X_of(tmp_path / "z.mtx.gz").toarray(), A)


# -- the files other tools write, byte for byte ------------------------------------------------
# file in tests/data -> (matrix, row labels, column labels, read_matrix keywords)
FIXTURES = {
    "r_write_csv.csv": (V, ROWS, COLS, {}),
    "r_write_csv_na.csv": (with_nan(R_NA), ROWS, COLS, {}),
    "r_write_csv_unnamed.csv": (V, ["1", "2", "3", "4"], ["V1", "V2", "V3"], {}),
    "r_write_csv_no_row_names.csv": (V, None, COLS, {}),
    "r_write_csv_crlf.csv": (V, ROWS, COLS, {}),
    "r_write_csv2.csv": (V, ROWS, COLS, {}),
    "r_write_table.txt": (V, ROWS, COLS, {}),
    "r_write_table_na.txt": (with_nan(R_NA), ROWS, COLS, {}),
    "r_write_table_tab.tsv": (V, ROWS, COLS, {}),
    "pd_to_csv.csv": (V, ROWS, COLS, {}),
    "pd_to_csv_index_false.csv": (V, None, COLS, {}),
    "pd_to_csv_semicolon.csv": (V, ROWS, COLS, {}),
    "pd_to_csv_tab.tsv": (V, ROWS, COLS, {}),
    "pd_to_csv_bom_crlf.csv": (V, ROWS, COLS, {}),
    "pd_to_csv_nan.csv": (with_nan(PY_NA), ROWS, COLS, {}),
    "pd_to_csv_nan_index_false.csv": (with_nan(PY_NA), None, COLS, {}),
    "pd_to_csv_range_index.csv": (V, ["0", "1", "2", "3"], ["0", "1", "2"], {}),
    "pd_to_csv_years.csv": (V, None, ["2019", "2020", "2021"], {}),
    "pd_to_csv_named_index.csv": (V, ROWS, COLS, {}),
    "np_savetxt_comma.csv": (V, None, None, {}),
    "np_savetxt_default.txt": (V, None, None, {}),
    "np_savetxt_header.csv": (V, None, COLS, {}),
    "np_savetxt_nan.csv": (with_nan(PY_NA), None, COLS, {}),
    "np_savetxt_note.csv": (V, None, None, {}),
    "np_savetxt_footer.csv": (V, None, None, {}),
    "np_savetxt_fmt.csv": (V, None, None, {}),
}


def test_every_fixture_file_is_tested():
    on_disk = {p.name for p in DATA.iterdir() if p.suffix in (".csv", ".tsv", ".txt")}
    assert on_disk == set(FIXTURES)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_files_written_by_r_pandas_and_numpy(name):
    X, rows, cols, kwargs = FIXTURES[name]
    data = read_matrix(DATA / name, allow_nan=True, **kwargs)
    assert data.X.dtype == np.float64 and data.X.shape == X.shape
    np.testing.assert_array_equal(np.isnan(data.X), np.isnan(X))
    np.testing.assert_array_equal(data.X, X)  # NaN where X has NaN, the same number elsewhere
    assert (None if data.row_labels is None else data.row_labels.tolist()) == rows
    assert (None if data.column_labels is None else data.column_labels.tolist()) == cols


def test_the_fixtures_keep_their_bytes():
    """CRLF line ends and the byte-order mark survive in git (tests/data/.gitattributes)."""
    for name in ("r_write_csv_crlf.csv", "pd_to_csv_bom_crlf.csv"):
        raw = (DATA / name).read_bytes()
        assert raw.count(b"\r\n") == raw.count(b"\n") == 5
    assert (DATA / "pd_to_csv_bom_crlf.csv").read_bytes().startswith(b"\xef\xbb\xbf,s1,")
    assert b"\r" not in (DATA / "r_write_csv.csv").read_bytes()


def test_missing_values_are_errors_unless_allowed():
    with pytest.raises(InputError, match="2 NaN"):
        read_matrix(DATA / "r_write_csv_na.csv")


@pytest.mark.parametrize("name, words", [
    ("r_write_csv.csv", "comma-separated, header line 1, row labels in column 1 since its "
                        "header cell is empty"),
    ("r_write_table.txt", "whitespace-separated, header line 1, row labels in column 1 since "
                          "the header has one field fewer than the rows"),
    ("r_write_csv2.csv", "semicolon-separated, header line 1, row labels in column 1 since its "
                         "header cell is empty, decimal comma"),
    ("pd_to_csv_named_index.csv", "row labels in column 1 since its cells are not numbers"),
    ("pd_to_csv_index_false.csv", "comma-separated, header line 1"),
])
def test_the_reading_is_described(name, words):
    assert words in read_matrix(DATA / name).description


def test_numpy_savetxt_data_is_data_and_a_header_is_a_header():
    # np.savetxt writes '%.18e': a first line of decimal numbers is data, and a note says so
    data = read_matrix(DATA / "np_savetxt_comma.csv")
    np.testing.assert_array_equal(data.X, V)
    assert data.column_labels is None
    assert any("read as data" in note and "--header" in note for note in data.notes)
    # --header reads it as column names all the same
    data = read_matrix(DATA / "np_savetxt_comma.csv", header=True)
    np.testing.assert_array_equal(data.X, V[1:])
    assert data.column_labels.tolist() == ["1.000000000000000000e+00",
                                           "3.000000000000000000e+00",
                                           "7.000000000000000000e+00"]
    assert not read_matrix(DATA / "np_savetxt_comma.csv", header=False).notes
    assert not read_matrix(DATA / "r_write_csv.csv").notes
    # a free-text '#' line is a comment (not R's short header: no column turns into labels)
    data = read_matrix(DATA / "np_savetxt_note.csv")
    assert data.row_labels is None and data.column_labels is None
    assert any("read as a comment" in note for note in data.notes)
    assert any("after the table" in note
               for note in read_matrix(DATA / "np_savetxt_footer.csv").notes)


@pytest.mark.parametrize("text, header", [
    ("1,0,2.5\n0,3,4\n", True),          # integers among them: names (ids, years)
    ("2019,2020\n1.5,2.5\n", True),
    ("0.5,1e3\n1,2\n", False),           # each written as a decimal number: data
    ("1.0,nan\n1,2\n", False),
    ("nan,nan\n1,2\n", True),            # nothing to tell by: a header, as read.csv
    ("a,1.5\n1,2\n", True),
])
def test_which_first_lines_are_headers(tmp_path, text, header):
    data = read_matrix(write(tmp_path, "a.csv", text), allow_nan=True)
    assert data.X.shape[0] == (1 if header else 2)
    assert (data.column_labels is not None) == header


def test_numbers_with_underscores_are_text(tmp_path):
    # Python's float() reads 1_000 as 1000; R and pandas read it as text
    with pytest.raises(InputError, match="'1_000' is not a number"):
        read_matrix(write(tmp_path, "a.csv", "a,b\n1_000,2\n3,4\n"))


def test_a_complex_matrix_market_file_is_refused(tmp_path):
    path = tmp_path / "c.mtx"
    path.write_text("%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 1 1.0 2.0\n")
    with pytest.raises(InputError, match="complex"):
        read_matrix(path)


# -- layouts and spellings (hand-written, each the smallest case) -----------------------------
@pytest.mark.parametrize("text, X, rows, cols", [
    ("1,0,2.5\n0,3,4\n", A[1:], None, ["1", "0", "2.5"]),    # the first line is a header
    ("a,b,c\n1,0,2.5\n0,3,4\n", A, None, ["a", "b", "c"]),
    (",a,b,c\nr1,1,0,2.5\nr2,0,3,4\n", A, ["r1", "r2"], ["a", "b", "c"]),
    ("a,b,c\nr1,1,0,2.5\nr2,0,3,4\n", A, ["r1", "r2"], ["a", "b", "c"]),  # R's write.table
    ("id,a,b,c\nr1,1,0,2.5\nr2,0,3,4\n", A, ["r1", "r2"], ["a", "b", "c"]),
    ("\n a , b ,c\n\n1, 0, 2.5\n\n0 ,3,4e0\n\n\n", A, None, ["a", "b", "c"]),  # spaces, blanks
    ('"a","b","c"\n"1","0","2.5"\n"0",3,"4"\n', A, None, ["a", "b", "c"]),  # quoted numbers
    ("\ufeffx,y,z\r\n1,0,2.5\r\n0,3,4\r\n", A, None, ["x", "y", "z"]),  # BOM, CRLF
    ("x,y,z\r1,0,2.5\r0,3,4\r", A, None, ["x", "y", "z"]),  # old Mac line ends
    ("a,b,c,\n1,0,2.5,\n0,3,4,\n", A, None, ["a", "b", "c"]),  # a trailing separator
    ('"",a\n"x\ny",1\nz,2\n', [[1.0], [2.0]], ["x\ny", "z"], ["a"]),  # a label over two lines
    ("a\tb\tc\n1\t0\t2.5\n0\t3\t4\n", A, None, ["a", "b", "c"]),  # tabs in a .csv
    ("# made by numpy\n# a b c\n1 0 2.5\n0 3 4\n", A, None, ["a", "b", "c"]),
])
def test_csv_layouts(tmp_path, text, X, rows, cols):
    data = read_matrix(write(tmp_path, "a.csv", text))
    np.testing.assert_array_equal(data.X, X)
    assert (None if data.row_labels is None else data.row_labels.tolist()) == rows
    assert (None if data.column_labels is None else data.column_labels.tolist()) == cols


def test_a_numeric_first_column_under_a_name_is_data(tmp_path):
    # a label column that looks numeric is data unless its header cell is empty
    data = read_matrix(write(tmp_path, "a.csv", "id,a,b\n101,1,2\n102,3,4\n"))
    np.testing.assert_array_equal(data.X, [[101, 1, 2], [102, 3, 4]])
    assert data.row_labels is None and data.column_labels.tolist() == ["id", "a", "b"]
    data = read_matrix(write(tmp_path, "b.csv", ",a,b\n101,1,2\n102,3,4\n"))
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4]])
    assert data.row_labels.tolist() == ["101", "102"]


def test_no_header(tmp_path):
    path = write(tmp_path, "a.csv", "1,0,2.5\n0,3,4\n")
    data = read_matrix(path, header=False)
    np.testing.assert_array_equal(data.X, A)
    assert data.row_labels is None and data.column_labels is None
    data = read_matrix(write(tmp_path, "b.csv", "r1,1,0,2.5\nr2,0,3,4\n"), header=False)
    np.testing.assert_array_equal(data.X, A)
    assert data.row_labels.tolist() == ["r1", "r2"]


def test_one_column(tmp_path):
    data = read_matrix(write(tmp_path, "c.csv", "v\n1\n2\n"))
    np.testing.assert_array_equal(data.X, [[1], [2]])
    assert data.column_labels.tolist() == ["v"]
    data = read_matrix(write(tmp_path, "d.csv", "sample id\n1\n2\n"))  # a space in the name
    np.testing.assert_array_equal(data.X, [[1], [2]])
    assert data.column_labels.tolist() == ["sample id"]
    # headerless: --no-header keeps the first row
    data = read_matrix(write(tmp_path, "e.csv", "3\n1\n2\n"), header=False)
    np.testing.assert_array_equal(data.X, [[3], [1], [2]])
    assert data.column_labels is None


def test_tsv_and_txt(tmp_path):
    np.testing.assert_array_equal(X_of(write(tmp_path, "a.tsv", "1\t0\t2.5\n0\t3\t4\n"),
                                       header=False), A)
    np.testing.assert_array_equal(X_of(write(tmp_path, "a.txt", "  1  0 2.5\n0\t3 4\n"),
                                       header=False), A)


def test_separator_override(tmp_path):
    path = write(tmp_path, "a.csv", "a;b,c\n1;0,5\n")
    with pytest.raises(InputError, match="line 1 has both semicolon .* and comma .*; pass --sep"):
        read_matrix(path)
    data = read_matrix(path, sep=";")
    assert data.column_labels.tolist() == ["a", "b,c"]
    np.testing.assert_array_equal(data.X, [[1.0, 0.5]])
    with pytest.raises(InputError, match="'2;0' is not a number \\(fields are separated by ','"):
        read_matrix(write(tmp_path, "b.csv", "a,b,c\n1,2;0,5\n"))


def test_the_second_line_settles_two_separators(tmp_path):
    # a label with a comma, unquoted, in a ';' file (pandas quotes only its own separator)
    data = read_matrix(write(tmp_path, "a.csv", ";x,y;z\nr;1;2\n"))
    assert data.column_labels.tolist() == ["x,y", "z"] and data.row_labels.tolist() == ["r"]
    np.testing.assert_array_equal(data.X, [[1, 2]])


def test_missing_value_spellings(tmp_path):
    spellings = ["", "NA", "NaN", "nan", "N/A", "NULL", "null", "None", "<NA>", "#N/A", "-nan",
                 "n/a", "#NA"]
    text = "a,b\n" + "".join(f"{s},1\n" for s in spellings)
    X = X_of(write(tmp_path, "a.csv", text), allow_nan=True)
    assert np.isnan(X[:, 0]).all() and (X[:, 1] == 1).all()
    # a row of missing values is a row, not a blank line
    X = X_of(write(tmp_path, "b.csv", "a,b\n,\n1,2\n"), allow_nan=True)
    np.testing.assert_array_equal(X, [[np.nan, np.nan], [1, 2]])
    X = X_of(write(tmp_path, "c.tsv", "a\tb\n\t\n1\t2\n"), allow_nan=True)
    np.testing.assert_array_equal(X, [[np.nan, np.nan], [1, 2]])


def test_decimal_comma(tmp_path):
    X = X_of(write(tmp_path, "a.csv", "a;b\n1,5;2\n0,25;1e3\n"))
    np.testing.assert_array_equal(X, [[1.5, 2], [0.25, 1000]])
    with pytest.raises(InputError, match="decimal comma \\(line 2\\) and with a decimal point "
                                         "\\(line 3\\)"):
        read_matrix(write(tmp_path, "b.csv", "a;b\n1,5;2\n3.5;4\n"))
    with pytest.raises(InputError, match="decimal comma \\(line 3\\) and with a decimal point "
                                         "\\(line 2\\)"):  # in the first column too
        read_matrix(write(tmp_path, "c.csv", "a;b\n1.5;2\n3,5;4\n"))
    with pytest.raises(InputError, match="'1,5' is not a number \\(a decimal comma is read only"):
        read_matrix(write(tmp_path, "d.tsv", "a\tb\n1,5\t2\n"))


def test_duplicated_labels_are_kept_with_a_note(tmp_path):
    data = read_matrix(write(tmp_path, "a.csv", ",a,a\nx,1,2\nx,3,4\ny,5,6\n"))
    assert data.row_labels.tolist() == ["x", "x", "y"]
    assert data.column_labels.tolist() == ["a", "a"]
    assert data.notes == ("1 row label(s) occur more than once (e.g. 'x'); they are kept as "
                          "they are.", "1 column label(s) occur more than once (e.g. 'a'); "
                          "they are kept as they are.")


# -- errors name the line and the column of the file -------------------------------------------
@pytest.mark.parametrize("text, words", [
    ("a,b,c\n1,2,3\n4,x,6\n", "line 3, column 2 ('b'): 'x' is not a number."),
    (",a,b,c\nr1,1,2,3\nr2,4,5,x\n", "line 3, column 4 ('c'): 'x' is not a number."),
    ("a,b,c\nr1,1,2,3\nr2,4,x,6\n", "line 3, column 3 ('b'): 'x' is not a number."),  # R layout
    ("r1,1,2,3\nr2,4,x,6\n", "line 2, column 3: 'x' is not a number."),  # --no-header
    ("a;b\n1;2\n3;x,y\n", "line 3, column 2 ('b'): 'x,y' is not a number (fields are "
                        "separated by ';' here; pass --sep if the file uses ',')."),
    ("g,a,b\nx,1,2\n3,3,4\n", "line 2, column 1 ('g'): 'x' is not a number; if column 1 holds "
                              "row labels, leave its header cell empty."),
    ("# made by, x\na,b\n1,2\n", "line 2, column 2 ('x'): 'b' is not a number (the header "
                                 "is the '#' line 1;"),
])
def test_a_bad_field_is_named_by_line_and_column(tmp_path, text, words):
    header = not text.startswith("r1")
    with pytest.raises(InputError) as info:
        read_matrix(write(tmp_path, "a.csv", text), header=header, allow_nan=False)
    message = str(info.value)
    assert message.startswith(str(tmp_path / "a.csv") + ": " + words), message


def test_empty_fields_in_a_labelled_file_are_missing_not_shifted(tmp_path):
    X = X_of(write(tmp_path, "a.csv", ",a,b,c\nr1,1,,3\nr2,,5,6\n"), allow_nan=True)
    np.testing.assert_array_equal(np.isnan(X), [[False, True, False], [True, False, False]])


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
    add("blank csv", "blank.csv", lambda p: p.write_text("\n \n\n"), "empty")
    add("header only", "header.csv", lambda p: p.write_text("a,b\n"), "only a header")
    add("ragged", "ragged.csv", lambda p: p.write_text("a,b,c\n1,2,3\n4,5\n"),
        "line 3 has 2 fields but line 2 has 3")
    add("long header", "long.csv", lambda p: p.write_text("a,b,c,d\n1,2\n"),
        "the header (line 1) has 4 fields but the rows have 2")
    add("trailing on rows", "trail.csv", lambda p: p.write_text("a,b\n1,2,\n3,4,\n"),
        "every row ends with an empty field")
    add("labels only", "labels.csv", lambda p: p.write_text("a\nx\ny\n"),
        "its one column holds labels")
    add("text cell", "text.csv", lambda p: p.write_text("a,b\n1,2\n3,abc\n"),
        "line 3, column 2 ('b'): 'abc' is not a number")
    add("binary csv", "binary.csv", lambda p: p.write_bytes(b"\xff\xfe\x00\x81" * 10),
        "not a text file")
    add("utf-16 csv", "utf16.csv", lambda p: p.write_bytes("a,b\n1,2\n".encode("utf-16")),
        "UTF-16")
    add("latin-1 csv", "latin1.csv", lambda p: p.write_bytes("a,b\nZ\xfcrich,2\n".encode(
        "latin-1")), "line 2 is not UTF-8 text")
    add("negative csv", "neg.csv", lambda p: p.write_text("a,b\n1,2\n3,-4\n"),
        "1 negative entry (smallest -4)")
    add("nan csv", "nan.csv", lambda p: p.write_text("a,b\n1,nan\n3,4\n"), "NaN")
    add("inf csv", "inf.csv", lambda p: p.write_text("a,b\n1,Inf\n3,4\n"), "infinite")
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
    add("npz as npy", "arch.npy", lambda p: np.savez(p.open("wb"), X=A),  # noqa: SIM115
        "rename it to .npz")
    add("garbage npz", "junk.npz", lambda p: p.write_bytes(b"PK\x03\x04garbage"),
        "not a valid .npz")
    add("npz many", "many.npz", lambda p: np.savez(p, a=A, b=A), "holds a, b")
    add("npz empty", "void.npz", lambda p: np.savez(p), "empty")
    add("npz labels", "lab.npz", lambda p: np.savez(p, X=A, row_labels=np.arange(2)),
        "row_labels must be a 1-D array of strings")
    add("garbage mtx", "junk.mtx", lambda p: p.write_text("hello\n"), "not a valid MatrixMarket")
    return cases


CASES = ["missing", "directory", "extension", "no extension", "empty csv", "blank csv",
         "header only", "ragged", "long header", "trailing on rows", "labels only", "text cell",
         "binary csv", "utf-16 csv", "latin-1 csv", "negative csv", "nan csv", "inf csv",
         "inf npy", "negative npy", "negative sparse", "1-D", "3-D", "0 rows", "strings",
         "complex", "objects", "garbage npy", "npz as npy", "garbage npz", "npz many",
         "npz empty", "npz labels", "garbage mtx"]


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
    import nmfkit.cli.files.reader as io_mod
    path = tmp_path / "locked.csv"
    path.write_text("1,2\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(io_mod, "open", refuse, raising=False)
    with pytest.raises(InputError, match="locked.csv: cannot open it \\(Permission denied\\)"):
        read_matrix(path)


def test_nan_is_kept_when_allowed(tmp_path):
    path = write(tmp_path, "holes.csv", "1,NA,2\nnan,3,4\n")
    X = X_of(path, allow_nan=True, header=False)
    np.testing.assert_array_equal(np.isnan(X), [[False, True, False], [True, False, False]])
    with pytest.raises(InputError, match="2 NaN"):
        read_matrix(path, header=False)
    sp.save_npz(tmp_path / "s.npz", sp.csr_matrix(np.array([[1.0, np.nan]])))
    with pytest.raises(InputError, match="NaN"):
        read_matrix(tmp_path / "s.npz", allow_nan=True)


# -- outputs ---------------------------------------------------------------------------------
W = np.array([[0.5, 1e-5], [2.0, 1 / 3]])
H = np.array([[1.0, 0.1, 2.0], [0.0, 3.0, 1e300]], dtype=np.float64)


def test_write_factors_npz(tmp_path):
    path = tmp_path / "out.npz"
    written = write_factors(path, W, H, row_labels=["a", "b"], column_labels=["x", "y", "z"],
                            objective=1.25, n_iter=7, converged=False, params={"k": 2})
    assert written == [str(path)]
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == sorted(["W", "H", "row_labels", "column_labels",
                                          "component_labels", "objective", "n_iter",
                                          "converged", "params"])
        np.testing.assert_array_equal(f["W"], W)
        np.testing.assert_array_equal(f["H"], H)
        assert f["row_labels"].tolist() == ["a", "b"]
        assert f["column_labels"].tolist() == ["x", "y", "z"]
        assert f["component_labels"].tolist() == ["nmf0", "nmf1"]
        assert float(f["objective"]) == 1.25 and int(f["n_iter"]) == 7
        assert not bool(f["converged"])
        assert json.loads(str(f["params"])) == {"k": 2}


@pytest.mark.parametrize("ext, sep", [(".csv", ","), (".tsv", "\t"), (".CSV", ",")])
def test_write_factors_as_two_labelled_tables(tmp_path, ext, sep):
    written = write_factors(tmp_path / f"out{ext}", W, H, row_labels=["a", 'q"x'],
                            column_labels=["x", "y,z", "2021"])
    assert written == [str(tmp_path / f"out_W{ext}"), str(tmp_path / f"out_H{ext}")]
    assert not (tmp_path / f"out{ext}").exists()
    lines = (tmp_path / f"out_W{ext}").read_text().splitlines()
    assert lines[0] == sep.join(["", "nmf0", "nmf1"])
    # read back by our own reader: the same numbers, bit for bit, and the same labels
    Wd = read_matrix(written[0], sep=sep)
    np.testing.assert_array_equal(Wd.X, W)
    assert Wd.row_labels.tolist() == ["a", 'q"x']
    assert Wd.column_labels.tolist() == ["nmf0", "nmf1"]
    Hd = read_matrix(written[1], sep=sep)
    np.testing.assert_array_equal(Hd.X, H)
    assert Hd.row_labels.tolist() == ["nmf0", "nmf1"]
    assert Hd.column_labels.tolist() == ["x", "y,z", "2021"]


def test_write_factors_without_labels_numbers_rows_and_columns(tmp_path):
    write_factors(tmp_path / "o.csv", W, H)
    Wd, Hd = read_matrix(tmp_path / "o_W.csv"), read_matrix(tmp_path / "o_H.csv")
    assert Wd.row_labels.tolist() == ["0", "1"]
    assert Hd.column_labels.tolist() == ["0", "1", "2"]


def test_write_factors_float32_stays_exact(tmp_path):
    W32 = np.array([[0.1, 1 / 3]], dtype=np.float32)
    write_factors(tmp_path / "o.csv", W32, W32.T @ W32)
    text = (tmp_path / "o_W.csv").read_text()
    assert "0.1," in text  # the float32 0.1, not 0.10000000149011612
    np.testing.assert_array_equal(read_matrix(tmp_path / "o_W.csv").X.astype(np.float32), W32)


@pytest.mark.parametrize("name, words", [
    ("out.npy", "a .npy file holds one array; W and H need two: use .npz"),
    ("out.xlsx", "unknown output type; the extension must be one of .npz, .csv, .tsv"),
    ("out", "unknown output type"),
    ("no/out.npz", "the directory"),
    ("adir.npz", "is a directory"),
])
def test_bad_output_paths(tmp_path, name, words):
    (tmp_path / "adir.npz").mkdir()
    with pytest.raises(OutputError) as info:
        output_files(tmp_path / name)
    assert words in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(OutputError):
        write_factors(tmp_path / name, W, H)


def test_a_failed_write_is_one_line(tmp_path, monkeypatch):
    import nmfkit.cli.files.writer as io_mod

    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io_mod, "open", refuse, raising=False)
    with pytest.raises(OutputError, match="out_W.csv: cannot write the output \\(No space"):
        write_factors(tmp_path / "out.csv", W, H)


def test_write_table(tmp_path):
    columns = {"k": np.array([2, 3]), "score": np.array([0.5, np.nan]),
               "name": np.array(["a", "b"])}
    write_table(tmp_path / "t.csv", columns, params={"runs": 4})
    assert (tmp_path / "t.csv").read_text() == "k,score,name\n2,0.5,a\n3,NA,b\n"
    write_table(tmp_path / "t.tsv", columns, row_labels=["r1", "r2"])
    assert (tmp_path / "t.tsv").read_text() == "\tk\tscore\tname\nr1\t2\t0.5\ta\nr2\t3\tNA\tb\n"
    write_table(tmp_path / "t.json", columns, row_labels=["r1", "r2"], params={"runs": 4})
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc == {"params": {"runs": 4}, "rows": [
        {"label": "r1", "k": 2, "score": 0.5, "name": "a"},
        {"label": "r2", "k": 3, "score": None, "name": "b"}]}
    write_table(tmp_path / "t.npz", columns, row_labels=["r1", "r2"], params={"runs": 4})
    with np.load(tmp_path / "t.npz", allow_pickle=False) as f:
        np.testing.assert_array_equal(f["k"], [2, 3])
        np.testing.assert_array_equal(f["score"], [0.5, np.nan])
        assert f["name"].tolist() == ["a", "b"] and f["row_labels"].tolist() == ["r1", "r2"]
        assert json.loads(str(f["params"])) == {"runs": 4}
    with pytest.raises(OutputError, match="use one of .csv, .tsv, .json, .npz"):
        write_table(tmp_path / "t.npy", columns)
