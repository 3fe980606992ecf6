"""Writing the command line's results: W and H (write_factors) and tables (write_table).

The format is chosen by the extension and checked by output_files before any work is done,
so a long fit never ends in an unwritable file. Every problem raises OutputError, whose
message names the file and says what is wrong in one line.
"""

import csv
import json
import os

import numpy as np

from .errors import OutputError
from .formats import file_format

__all__ = ["OUTPUTS", "output_files", "check_writable", "component_labels", "write_factors",
           "write_table"]

# The extensions each kind of output may have.
OUTPUTS = {"factors": (".npz", ".csv", ".tsv"), "table": (".csv", ".tsv", ".json", ".npz")}


def output_files(path, what="factors"):
    """The files an output path stands for, checked before any work is done.

    what="factors": OUT.npz is one archive; OUT.csv (or .tsv) stands for OUT_W.csv and
    OUT_H.csv. what="table": one file, .csv, .tsv, .json or .npz. Raises OutputError when the
    extension is unknown or ambiguous, the directory does not exist or is not writable, or a
    file to write is a directory.
    """
    path = os.fspath(path)
    allowed = OUTPUTS[what]
    ext = file_format(path, allowed + (".npy",))
    if ext == ".npy":
        raise OutputError(f"{path}: a .npy file holds one array; "
                          + ("W and H need two: use .npz (W, H and the labels) or .csv "
                             "(two tables)." if what == "factors" else
                             f"use one of {', '.join(allowed)}."))
    if ext is None:
        raise OutputError(f"{path}: unknown output type; the extension must be one of "
                          f"{', '.join(allowed)}.")
    if what == "factors" and ext in (".csv", ".tsv"):
        stem, suffix = path[:-len(ext)], path[-len(ext):]
        paths = [f"{stem}_W{suffix}", f"{stem}_H{suffix}"]
    else:
        paths = [path]
    for p in paths:
        check_writable(p)
    return paths


def check_writable(path):
    """Raise OutputError unless a file can be created (or replaced) at path."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OutputError(f"{path}: cannot write there: the directory {directory} does not "
                          "exist.")
    if os.path.isdir(path):
        raise OutputError(f"{path}: is a directory; give a file name.")
    if not os.access(directory, os.W_OK | os.X_OK) or (os.path.exists(path) and
                                                        not os.access(path, os.W_OK)):
        raise OutputError(f"{path}: cannot write there (permission denied).")


def component_labels(k):
    """The names of the k components: nmf0, nmf1, ... (scikit-learn's get_feature_names_out)."""
    return np.array([f"nmf{i}" for i in range(k)])


def _labels(labels, size):
    """labels as a str array, or "0", "1", ... (the row or column index) when there are none."""
    if labels is None:
        return np.arange(size).astype(str)
    return np.asarray(labels, dtype=str)


def _write_file(path, write, mode="w"):
    """Open path for writing and call write(file); OSError becomes a one-line OutputError."""
    try:
        kwargs = {"newline": "", "encoding": "utf-8"} if mode == "w" else {}
        with open(path, mode, **kwargs) as f:
            write(f)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the output ({exc.strerror or exc}).") from None


def _csv_table(path, columns, row_labels, values):
    """A labelled table: a header line (an empty first cell, then the column labels), then
    one line per row (its label, then its values as text)."""
    sep = "\t" if path.lower().endswith(".tsv") else ","

    def write(f):
        out = csv.writer(f, delimiter=sep, lineterminator="\n")
        out.writerow([""] + [str(c) for c in columns])
        for label, row in zip(row_labels, values):
            out.writerow([str(label)] + row)
    _write_file(path, write)


def _text(values):
    """An array as rows of text: each number in the shortest form that reads back to the same
    value (float32 as float32), NaN as NA."""
    arr = np.asarray(values)
    out = arr.astype(str)
    if arr.dtype.kind == "f":
        out[np.isnan(arr)] = "NA"
    return out.tolist()


def write_factors(path, W, H, *, row_labels=None, column_labels=None, objective=None,
                  n_iter=None, converged=None, params=None):
    """Write W (m x k) and H (k x n) by the extension of path; returns the files written.

    .npz: one archive, keys W, H, row_labels, column_labels, component_labels (str arrays),
    objective, n_iter, converged and params (a JSON string); np.load(allow_pickle=False)
    reads it. .csv/.tsv: OUT_W.csv (rows: the input's row labels, columns: nmf0, nmf1, ...)
    and OUT_H.csv (rows: nmf0, nmf1, ..., columns: the input's column labels). Without labels
    in the input, the rows and columns are labelled 0, 1, 2, ...
    """
    path = os.fspath(path)
    paths = output_files(path, "factors")
    m, k = W.shape
    n = H.shape[1]
    rows, cols, comps = _labels(row_labels, m), _labels(column_labels, n), component_labels(k)
    if path.lower().endswith(".npz"):
        arrays = dict(W=W, H=H, row_labels=rows, column_labels=cols, component_labels=comps)
        if objective is not None:
            arrays["objective"] = np.float64(objective)
        if n_iter is not None:
            arrays["n_iter"] = np.int64(n_iter)
        if converged is not None:
            arrays["converged"] = np.bool_(converged)
        if params is not None:
            arrays["params"] = np.array(json.dumps(params))
        _write_file(path, lambda f: np.savez(f, **arrays), mode="wb")
    else:
        _csv_table(paths[0], comps, rows, _text(W))
        _csv_table(paths[1], cols, comps, _text(H))
    return paths


def write_table(path, columns, *, row_labels=None, params=None):
    """Write a table (a dict of equal-length 1-D columns, in order) by the extension of path.

    .csv/.tsv: a header of the column names, one line per entry; with row_labels, a first
    column of them under an empty header cell. .json: {"params": ..., "rows": [{name:
    value, ...}, ...]} (with "label" first when there are row labels; NaN as null). .npz:
    one array per column (and row_labels), params as a JSON string.
    """
    path = os.fspath(path)
    output_files(path, "table")
    names = list(columns)
    cols = [np.asarray(columns[name]) for name in names]
    size = len(cols[0]) if cols else 0
    lower = path.lower()
    if lower.endswith(".npz"):
        arrays = {name: (c.astype(str) if c.dtype.kind in "OUS" else c)
                  for name, c in zip(names, cols)}
        if row_labels is not None:
            arrays["row_labels"] = np.asarray(row_labels, dtype=str)
        if params is not None:
            arrays["params"] = np.array(json.dumps(params))
        _write_file(path, lambda f: np.savez(f, **arrays), mode="wb")
    elif lower.endswith(".json"):
        def plain(v):
            v = v.item() if hasattr(v, "item") else v
            return None if isinstance(v, float) and v != v else v
        records = []
        for i in range(size):
            rec = {"label": str(row_labels[i])} if row_labels is not None else {}
            rec.update((name, plain(c[i])) for name, c in zip(names, cols))
            records.append(rec)
        doc = {"params": params or {}, "rows": records}
        _write_file(path, lambda f: f.write(json.dumps(doc, indent=1) + "\n"))
    else:
        sep = "\t" if lower.endswith(".tsv") else ","
        texts = [_text(c[:, None]) if c.dtype.kind in "fiub" else [[str(v)] for v in c]
                 for c in cols]

        def write(f):
            out = csv.writer(f, delimiter=sep, lineterminator="\n")
            out.writerow(([""] if row_labels is not None else []) + names)
            for i in range(size):
                out.writerow(([str(row_labels[i])] if row_labels is not None else [])
                             + [t[i][0] for t in texts])
        _write_file(path, write)
    return [path]
