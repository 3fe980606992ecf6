"""read_matrix: the data matrix of a file, whatever its format, checked for NMF.

The format is chosen by the extension (formats.FORMATS): binary files are read by
binary.py, text tables by text.read_text. Every problem raises InputError, whose message
names the file and says what is wrong in one line.
"""

import os

import numpy as np
import scipy.sparse as sp

from .binary import read_mtx, read_npy, read_npz
from .errors import InputError
from .formats import FORMATS, TEXT_FORMATS, DataFile, file_format
from .text import read_text

__all__ = ["read_matrix", "check_matrix"]

BINARY_READERS = {".npy": read_npy, ".npz": read_npz, ".mtx": read_mtx, ".mtx.gz": read_mtx}


def read_matrix(path, allow_nan=False, *, header=None, sep=None):
    """The 2-D nonnegative matrix in path with its labels, as a DataFile.

    allow_nan: missing entries of a dense matrix (NaN; in a text file also NA, an empty
    field and the other spellings in MISSING) are kept as NaN; otherwise, and always in a
    sparse file, they are an error.
    header, sep: for text files only (see read_text); header=False says the first line is data,
    header=True that it names the columns, None (default) decides by read_text's rule.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file.")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a data file.")
    ext = file_format(path)
    if ext is None:
        raise InputError(f"{path}: unsupported file type; use one of {', '.join(FORMATS)}.")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise InputError(f"{path}: cannot open it ({exc.strerror or exc}).") from None
    if ext in TEXT_FORMATS:
        data = read_text(path, header=header, sep=sep)
    else:
        data = BINARY_READERS[ext](path)
        if not isinstance(data, DataFile):
            data = DataFile(data)
    data.X = check_matrix(data.X, path, allow_nan)
    for name, labels, size in (("row_labels", data.row_labels, data.X.shape[0]),
                               ("column_labels", data.column_labels, data.X.shape[1])):
        if labels is not None and len(labels) != size:
            raise InputError(f"{path}: {name} has {len(labels)} entries for {size} "
                             f"{'rows' if name == 'row_labels' else 'columns'}; give one "
                             "label each.")
    return data


def check_matrix(X, path, allow_nan=False):
    """X if NMF can factorize it: 2-D, numeric, finite (NaN allowed in a dense X if
    allow_nan), nonnegative, not empty; a boolean dense X comes back as float64."""
    if not sp.issparse(X):
        X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise InputError(f"{path}: holds {X.dtype} values; NMF needs real numbers.")
    values = X.data if sp.issparse(X) else X
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
                what = "NaN (missing)" if np.isnan(values[bad]).any() else "infinite"
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
