"""Reading a data matrix from a file for the command line, with one-line error messages.

Formats, chosen by extension:
- .npy       a 2-D numeric NumPy array (no pickles);
- .npz       a scipy.sparse matrix saved with scipy.sparse.save_npz, or an np.savez archive
             holding one 2-D array (or several, one of them named X, V or data);
- .mtx       MatrixMarket (also .mtx.gz), coordinate or array;
- .csv .tsv  numbers separated by commas (tabs for .tsv); a header line and a first column
             of row labels are recognized and skipped.
Every problem raises InputError (a ValueError) whose message names the file and says what is
wrong in one line.
"""

import csv
import os
import zipfile

import numpy as np
import scipy.sparse as sp

__all__ = ["InputError", "read_matrix", "write_factors", "FORMATS"]

FORMATS = (".npy", ".npz", ".mtx", ".mtx.gz", ".csv", ".tsv")
_NPZ_KEYS = ("X", "V", "data")


class InputError(ValueError):
    """A data file that cannot be used; the message is one line, fit for a terminal."""


def _format(path):
    name = os.fspath(path).lower()
    for ext in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return None


def read_matrix(path, allow_nan=False):
    """The 2-D nonnegative matrix in path: an ndarray, or a CSR matrix for sparse files.

    allow_nan: NaN entries of a dense matrix (in a CSV: nan or NA) are kept, as missing
    values; otherwise, and always in a sparse file, they are an error.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file.")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a data file.")
    ext = _format(path)
    if ext is None:
        raise InputError(f"{path}: unsupported file type; use one of {', '.join(FORMATS)}.")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise InputError(f"{path}: cannot open it ({exc.strerror or exc}).") from None
    reader = {".npy": _read_npy, ".npz": _read_npz, ".mtx": _read_mtx, ".mtx.gz": _read_mtx,
              ".csv": _read_csv, ".tsv": _read_csv}[ext]
    X = reader(path)
    return _check(X, path, allow_nan)


def _one_line(exc):
    return " ".join(str(exc).split()) or type(exc).__name__


def _read_npy(path):
    try:
        X = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "Object arrays" in str(exc):
            raise InputError(f"{path}: holds Python objects (a pickled array); save a numeric "
                             "array instead.") from None
        raise InputError(f"{path}: not a valid .npy file ({_one_line(exc)}).") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: not a valid .npy file ({_one_line(exc)}).") from None
    if isinstance(X, np.lib.npyio.NpzFile):
        X.close()
        raise InputError(f"{path}: is an .npz archive, not an .npy array; rename it to .npz.")
    return X


def _read_npz(path):
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a valid .npz file ({_one_line(exc)}).") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):  # a .npy saved under a .npz name
        return archive
    with archive:
        keys = list(archive.files)
        if "format" in keys and {"shape", "data"} <= set(keys):
            try:
                return sp.load_npz(path).tocsr()
            except Exception as exc:  # noqa: BLE001 - any failure is a bad file
                raise InputError(f"{path}: a damaged scipy.sparse .npz ({_one_line(exc)}).") \
                    from None
        try:
            if len(keys) == 1:
                return archive[keys[0]]
            for key in _NPZ_KEYS:
                if key in keys:
                    return archive[key]
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise InputError(f"{path}: cannot read its arrays ({_one_line(exc)}).") from None
    if not keys:
        raise InputError(f"{path}: the .npz archive is empty.")
    raise InputError(f"{path}: neither a scipy.sparse matrix (save_npz) nor one array: it holds "
                     f"{', '.join(keys)}; save one array, or name the matrix X.")


def _read_mtx(path):
    import scipy.io
    try:
        X = scipy.io.mmread(path)
    except Exception as exc:  # noqa: BLE001 - scipy raises many kinds for a bad file
        raise InputError(f"{path}: not a valid MatrixMarket file ({_one_line(exc)}).") from None
    return X.tocsr() if sp.issparse(X) else np.asarray(X)


def _number(text):
    try:
        return float(text)
    except ValueError:
        return float("nan") if text.strip() == "NA" else None


def _read_csv(path):
    delimiter = "\t" if path.lower().endswith(".tsv") else ","
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [(i, row) for i, row in enumerate(csv.reader(f, delimiter=delimiter), 1)
                    if row and any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (is it binary?); give numbers separated by "
                         f"{'tabs' if delimiter == chr(9) else 'commas'}.") from None
    except (OSError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read it as CSV ({_one_line(exc)}).") from None
    if not rows:
        raise InputError(f"{path}: the file is empty; it needs at least one row of numbers.")
    # A header is a first line of names: no cell a number (a row-label cell aside).
    first = rows[0][1]
    if all(_number(cell) is None for cell in (first[1:] if len(first) > 1 else first)):
        rows = rows[1:]
        if not rows:
            raise InputError(f"{path}: only a header line; no rows of numbers follow it.")
    labels = all(_number(row[0]) is None for _, row in rows) and len(rows[0][1]) > 1
    width = len(rows[0][1])
    if all(len(row) == width for _, row in rows):
        try:  # the fast path: numpy parses all the fields at once
            return np.array([row[labels:] for _, row in rows]).astype(np.float64)
        except ValueError:
            pass  # find and report the first bad field below
    data = np.empty((len(rows), width - labels))
    for r, (line, row) in enumerate(rows):
        if len(row) != width:
            raise InputError(f"{path}: line {line} has {len(row)} fields but line "
                             f"{rows[0][0]} has {width}; every row needs the same number.")
        for c, cell in enumerate(row[labels:]):
            value = _number(cell)
            if value is None:
                where = f"{path}: line {line}, column {c + 1 + labels}"
                if cell.strip():
                    raise InputError(f"{where}: {cell.strip()!r} is not a number.")
                raise InputError(f"{where}: the field is empty; every field needs a number.")
            data[r, c] = value
    return data


def _check(X, path, allow_nan=False):
    """2-D, numeric, finite (NaN allowed in a dense X if allow_nan), nonnegative, not empty."""
    if sp.issparse(X):
        values = X.data
    else:
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise InputError(f"{path}: holds {X.dtype} values; NMF needs real numbers.")
        values = X
    if X.ndim != 2:
        raise InputError(f"{path}: the array is {X.ndim}-D with shape {X.shape}; NMF needs a "
                         "2-D matrix (rows = samples, columns = features).")
    if 0 in X.shape:
        raise InputError(f"{path}: the matrix is empty (shape {X.shape}).")
    if values.size:
        if values.dtype.kind == "f":
            bad = ~np.isfinite(values)
            if allow_nan and not sp.issparse(X):
                bad &= ~np.isnan(values)
            if bad.any():
                what = "NaN" if np.isnan(values[bad]).any() else "infinite"
                raise InputError(f"{path}: {int(bad.sum())} {what} entr"
                                 f"{'y' if bad.sum() == 1 else 'ies'}; NMF needs finite values.")
        vmin = np.nanmin(values) if not np.isnan(values).all() else 0.0
        if vmin < 0:
            n_neg = int(np.count_nonzero(values < 0))
            raise InputError(f"{path}: {n_neg} negative entr{'y' if n_neg == 1 else 'ies'} "
                             f"(smallest {vmin:g}); NMF needs nonnegative data.")
    if not sp.issparse(X) and X.dtype.kind == "b":
        X = X.astype(np.float64)
    return X


def write_factors(path, W, H):
    """Save W and H to an .npz file at path (exactly this name), keys "W" and "H"."""
    path = os.fspath(path)
    try:
        with open(path, "wb") as f:
            np.savez(f, W=W, H=H)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the output ({exc.strerror or exc}).") from None
