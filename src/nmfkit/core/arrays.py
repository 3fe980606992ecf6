"""Checks of the data and of starting factors. Every error names the argument, shows the
value, says the fix.

The compiled kernels trust their input completely, so everything they rely on is checked
here: dtype, shape, finiteness, signs, and the index arrays of sparse matrices.
"""

import numpy as np
import scipy.sparse as sp


def working_dtype(dtype, name="X"):
    """float32 stays float32; float64, integers, booleans and other floats become float64."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {dtype}; NMF needs "
                         "real, nonnegative values: pass np.abs(X) or X.real.")
    if dtype.kind not in "fiub":
        raise TypeError(f"{name} has dtype {dtype}, which is not numeric; convert it with "
                        "X.astype(float) first.")
    if dtype.kind == "f" and dtype.itemsize == 4:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _check_values(vmin, vmax, name, what="X"):
    if np.isnan(vmin) or np.isnan(vmax):
        if what == "start":
            raise ValueError(f"{name} contains NaN; a starting factor needs finite, "
                             "nonnegative values.")
        raise ValueError(f"{name} contains NaN; NMF needs finite values: remove or impute them, "
                         "or, for missing values, pass a dense array with NaN (or a mask).")
    if np.isinf(vmin) or np.isinf(vmax):
        raise ValueError(f"{name} contains infinity; NMF needs finite values: clip or drop them.")
    if vmin < 0:
        raise ValueError(f"Negative values in data passed to {name} (the smallest is "
                         f"{float(vmin)!r}); NMF needs a nonnegative "
                         f"{name if what == 'start' else what}: shift, clip or take np.abs first.")


def _check_shape(shape, name):
    if len(shape) != 2:
        hint = (" Reshape your data either using X.reshape(-1, 1) if it has a single feature "
                "or X.reshape(1, -1) if it contains a single sample." if len(shape) == 1 else "")
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got {len(shape)}-D "
                         f"with shape {shape}.{hint}")
    for axis, what in ((0, "sample"), (1, "feature")):
        if shape[axis] < 1:
            raise ValueError(f"Found array with 0 {what}(s) (shape={tuple(shape)}) while a "
                             f"minimum of 1 is required: {name} needs at least one row and one "
                             "column.")


def _is_pandas(X, ndim):
    return type(X).__module__.startswith("pandas") and getattr(X, "ndim", None) == ndim


def _column_is_numeric(column):
    """Whether a pandas column holds numbers (or missing values) only: numeric or boolean
    dtypes (NumPy, nullable, pyarrow, sparse), categories that are numbers, and object
    columns whose every non-missing value is a number."""
    from pandas.api import types
    dtype = column.dtype
    if types.is_bool_dtype(dtype) or types.is_numeric_dtype(dtype):
        return True
    if isinstance(dtype, types.CategoricalDtype):
        return _column_is_numeric(dtype.categories.to_series())
    if dtype == object:
        return types.infer_dtype(column, skipna=True) in (
            "integer", "floating", "mixed-integer-float", "decimal", "boolean", "empty")
    return False


def _frame_dtype(dtypes):
    """The working dtype of a frame: NumPy's promotion of its columns' dtypes (nullable,
    pyarrow and sparse columns counted by the NumPy dtype of their values), float32 kept,
    anything else as float64: float32 with float64 gives float64, float32 columns alone
    stay float32, as NumPy and scikit-learn do."""
    numpy_dtypes = [np.dtype(np.float64)] if not len(dtypes) else []  # no column: float64
    for dtype in dtypes:
        dtype = getattr(dtype, "subtype", dtype)  # a sparse column's values
        dtype = getattr(dtype, "numpy_dtype", dtype)  # nullable and pyarrow dtypes
        try:
            dtype = np.dtype(dtype)
        except TypeError:  # categories, objects: read as float64
            return np.dtype(np.float64)
        numpy_dtypes.append(dtype if dtype.kind in "fiub" else np.dtype(np.float64))
    return working_dtype(np.result_type(*numpy_dtypes))


def from_frame(X, name="X"):
    """A pandas DataFrame as the NumPy array (or, when every column is sparse with fill
    value 0, the CSR matrix) of its values; anything else is returned as it is.

    Missing values of any kind (NaN, None, pd.NA of nullable and pyarrow dtypes) become
    NaN, which the fit treats as unobserved. A column that does not hold numbers (text,
    dates, ...) is a TypeError naming it. The frame is never modified (the result may share
    memory with it, read-only)."""
    if _is_pandas(X, 1):
        raise ValueError(f"{name} is a pandas Series (1-D); NMF needs a 2-D table of samples "
                         f"by features: pass {name}.to_frame() for one feature or "
                         f"{name}.to_frame().T for one sample.")
    if not _is_pandas(X, 2) or not hasattr(X, "dtypes"):
        return X
    import pandas as pd
    from pandas.api import types
    dtypes = list(X.dtypes)
    bad = [(X.columns[i], dtype) for i, dtype in enumerate(dtypes)  # dtype first: cheap
           if not (types.is_bool_dtype(dtype) or types.is_numeric_dtype(dtype))
           and not _column_is_numeric(X.iloc[:, i])]
    if bad:
        shown = ", ".join(f"{col!r} ({dtype})" for col, dtype in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise TypeError(f"{name} has columns that are not numbers: {shown}{more}; NMF needs "
                        "numeric columns: drop them, or convert them with pd.to_numeric.")
    complex_cols = [X.columns[i] for i, dtype in enumerate(dtypes)
                    if types.is_complex_dtype(dtype)]
    if complex_cols:
        raise ValueError(f"Complex data not supported: column {complex_cols[0]!r} of {name} "
                         "is complex; NMF needs real, nonnegative values.")
    dtype = _frame_dtype(dtypes)
    sparse = [isinstance(d, pd.SparseDtype) for d in dtypes]
    if sparse and all(sparse) and all(d.fill_value == 0 for d in dtypes):
        return sp.csr_matrix(X.sparse.to_coo(), dtype=dtype)
    if all(isinstance(d, np.dtype) and d.kind in "fiub" for d in dtypes):
        return X.to_numpy(dtype=dtype)  # no missing-value markers but NaN: may be a view
    return X.to_numpy(dtype=dtype, na_value=np.nan)


def check_dense(X, name="X", allow_nan=False, what=None):
    """Return a float32/float64 ndarray that shares memory with X where it can.

    allow_nan: NaN entries are accepted (they mark missing values); an all-NaN X is not.
    A pandas DataFrame is read by from_frame. what: 'start' for a starting factor (its
    messages then speak of a start, not of data); the data's name otherwise.
    """
    X = from_frame(X, name)
    try:
        arr = X.toarray() if sp.issparse(X) else np.asarray(X)
        if arr.dtype.hasobject:
            arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} could not be read as a numeric array ({exc}); convert it with "
                        "np.asarray(X, dtype=float) first.") from None
    if arr.dtype.kind in "USV":
        raise TypeError(f"{name} has dtype {arr.dtype}, which is not numeric; convert it with "
                        "np.asarray(X, dtype=float) first.")
    _check_shape(arr.shape, name)
    dtype = working_dtype(arr.dtype, name)
    if arr.dtype != dtype or not arr.dtype.isnative:
        arr = arr.astype(dtype)
    vmin, vmax = arr.min(), arr.max()  # no temporaries; NaN propagates into both
    if allow_nan and np.isnan(vmin):
        # Only data with missing values pays for the NaN-aware passes.
        if np.isnan(arr).all():
            raise ValueError(f"{name} has no observed entry (all NaN or masked); NMF needs "
                             "some data.")
        vmin, vmax = np.nanmin(arr), np.nanmax(arr)
    _check_values(vmin, vmax, name, what or name)
    return arr


def _check_index_arrays(X, name):
    """CSR/CSC structure, checked on the caller's arrays without touching them."""
    major, minor = X.shape if X.format == "csr" else X.shape[::-1]
    indptr, indices = np.asarray(X.indptr), np.asarray(X.indices)
    if indptr.ndim != 1 or indptr.shape[0] != major + 1:
        raise ValueError(f"{name}: indptr has length {indptr.shape[0]}, expected {major + 1} "
                         f"for shape {X.shape}; the sparse matrix is corrupt.")
    if indices.ndim != 1 or indices.shape[0] != np.asarray(X.data).shape[0]:
        raise ValueError(f"{name}: indices and data have different lengths; the sparse matrix "
                         "is corrupt.")
    if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu":
        raise ValueError(f"{name}: index arrays must be integers; the sparse matrix is corrupt.")
    if indptr[0] != 0 or indptr[-1] != indices.shape[0] or np.any(np.diff(indptr) < 0):
        raise ValueError(f"{name}: indptr must start at 0, never decrease and end at "
                         f"nnz={indices.shape[0]}; the sparse matrix is corrupt.")
    if indices.shape[0] and (indices.min() < 0 or indices.max() >= minor):
        raise ValueError(f"{name}: column indices must lie in [0, {minor}), found "
                         f"[{indices.min()}, {indices.max()}]; the sparse matrix is corrupt.")


def check_sparse(X, name="X"):
    """Return a canonical csr_matrix copy (sorted, summed duplicates, no explicit zeros).

    The caller's matrix and its arrays are never modified: scipy's in-place canonicalization
    runs only on our own copy.
    """
    _check_shape(X.shape, name)
    dtype = working_dtype(X.dtype, name)
    if X.format in ("csr", "csc"):
        _check_index_arrays(X, name)
        cls = sp.csr_matrix if X.format == "csr" else sp.csc_matrix
        X = cls((np.array(X.data, dtype=dtype), np.array(X.indices), np.array(X.indptr)),
                shape=X.shape, copy=False)
    elif X.format == "coo":
        row, col = np.asarray(X.row), np.asarray(X.col)
        if row.shape != col.shape or row.shape != np.asarray(X.data).shape:
            raise ValueError(f"{name}: COO row, col and data differ in length; corrupt matrix.")
        if row.size and (row.min() < 0 or row.max() >= X.shape[0] or col.min() < 0
                         or col.max() >= X.shape[1]):
            raise ValueError(f"{name}: COO indices out of range for shape {X.shape}.")
        X = sp.coo_matrix((np.array(X.data, dtype=dtype), (row, col)), shape=X.shape)
    else:
        X = sp.csr_matrix(X, dtype=dtype, copy=True)
    X = sp.csr_matrix(X, dtype=dtype)
    if not X.data.dtype.isnative:
        X.data = X.data.astype(dtype)
    X.sum_duplicates()
    if X.nnz:
        _check_values(X.data.min(), X.data.max(), name)
    X.eliminate_zeros()
    return X


def check_factor(F, name, shape, dtype):
    """A user-given W or H: right shape, finite, nonnegative, returned as a new array."""
    if F is None:
        raise ValueError(f"{name} is required with init='custom'; pass both W and H.")
    if sp.issparse(F):
        raise TypeError(f"{name} must be a dense array, got a sparse matrix; use {name}.toarray().")
    arr = check_dense(F, name, what="start")
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} has shape {arr.shape}, expected {tuple(shape)}.")
    if not np.any(arr):
        raise ValueError(f"{name} is all zeros; multiplicative updates cannot move an all-zero "
                         "factor: use a nonzero start.")
    return np.array(arr, dtype=dtype, order="C")


def check_mask(mask, shape, name="mask"):
    """A mask of observed entries: a boolean ndarray (True = observed) or a sparse matrix
    whose nonzero stored entries are the observed ones. Returns a bool ndarray or a
    canonical CSR matrix with data all True; the caller's mask is never modified."""
    if sp.issparse(mask):
        if tuple(mask.shape) != tuple(shape):
            raise ValueError(f"{name} has shape {tuple(mask.shape)}, expected {tuple(shape)} "
                             "(the shape of X).")
        csr = sp.csr_matrix(mask, copy=True)
        csr.sum_duplicates()
        csr.eliminate_zeros()
        csr.data = np.ones(csr.nnz, dtype=bool)
        return csr
    try:
        arr = np.asarray(mask)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} could not be read as an array ({exc}); pass a boolean array "
                        "of X's shape (True = observed).") from None
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf" or (arr.size and not np.isin(arr, (0, 1)).all()):
            raise TypeError(f"{name} must be a boolean array (True = observed), got dtype "
                            f"{arr.dtype}" + (" with values other than 0 and 1" if
                                              arr.dtype.kind in "iuf" else "") + ".")
        arr = arr.astype(bool)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} has shape {arr.shape}, expected {tuple(shape)} (the shape "
                         "of X).")
    return arr
