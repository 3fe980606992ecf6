"""The binary data files: NumPy's .npy and .npz (also scipy.sparse.save_npz) and MatrixMarket.

Each reader returns the matrix as it is stored, or a DataFile when the file also holds labels;
read_matrix checks what it got.
"""

import zipfile

import numpy as np
import scipy.sparse as sp

from .errors import InputError, exception_text
from .formats import DataFile

__all__ = ["NPZ_KEYS", "read_npy", "read_npz", "read_mtx"]

# The names under which an np.savez archive of several arrays holds the data matrix, by priority.
NPZ_KEYS = ("X", "V", "data")


def read_npy(path):
    """The array of a .npy file (no pickles: a file of Python objects is refused)."""
    try:
        X = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "Object arrays" in str(exc):
            raise InputError(f"{path}: holds Python objects (a pickled array); save a numeric "
                             "array instead.") from None
        raise InputError(f"{path}: not a valid .npy file ({exception_text(exc)}).") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: not a valid .npy file ({exception_text(exc)}).") from None
    if isinstance(X, np.lib.npyio.NpzFile):
        X.close()
        raise InputError(f"{path}: is an .npz archive, not an .npy array; rename it to .npz.")
    return X


def _npz_labels(archive, key, path):
    """The 1-D string array archive[key], or None when the archive has no such key."""
    if key not in archive.files:
        return None
    labels = archive[key]
    if labels.ndim != 1 or labels.dtype.kind not in "US":
        raise InputError(f"{path}: {key} must be a 1-D array of strings, got {labels.dtype} "
                         f"with shape {labels.shape}.")
    return labels.astype(str)


def read_npz(path):
    """The matrix of a .npz file: a scipy.sparse matrix (save_npz) as CSR, or the one array of
    an np.savez archive (of several, the one named by NPZ_KEYS) with its optional row_labels
    and column_labels. The output of `nmfkit fit` is refused with a hint."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a valid .npz file ({exception_text(exc)}).") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):  # a .npy saved under a .npz name
        return archive
    with archive:
        keys = list(archive.files)
        if "format" in keys and {"shape", "data"} <= set(keys):
            try:
                return sp.load_npz(path).tocsr()
            except Exception as exc:  # noqa: BLE001 - any failure is a bad file
                raise InputError(f"{path}: a damaged scipy.sparse .npz "
                                 f"({exception_text(exc)}).") from None
        if {"W", "H", "params"} <= set(keys):
            raise InputError(f"{path}: is the output of nmfkit fit (W and H), not a data "
                             "matrix; to factorize W or H, save that array alone with np.save.")
        try:
            rows = _npz_labels(archive, "row_labels", path)
            cols = _npz_labels(archive, "column_labels", path)
            data = [key for key in keys if key not in ("row_labels", "column_labels")]
            X = None
            if len(data) == 1:
                X = archive[data[0]]
            else:
                for key in NPZ_KEYS:
                    if key in data:
                        X = archive[key]
                        break
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise InputError(f"{path}: cannot read its arrays ({exception_text(exc)}).") \
                from None
    if X is not None:
        return DataFile(X, rows, cols)
    if not keys:
        raise InputError(f"{path}: the .npz archive is empty.")
    raise InputError(f"{path}: neither a scipy.sparse matrix (save_npz) nor one array: it holds "
                     f"{', '.join(keys)}; save one array, or name the matrix X.")


def read_mtx(path):
    """The matrix of a MatrixMarket file (.mtx or .mtx.gz): CSR for coordinate format, an
    ndarray for array format."""
    import scipy.io
    try:
        X = scipy.io.mmread(path)
    except Exception as exc:  # noqa: BLE001 - scipy raises many kinds for a bad file
        raise InputError(f"{path}: not a valid MatrixMarket file ({exception_text(exc)}).") \
            from None
    return X.tocsr() if sp.issparse(X) else np.asarray(X)
