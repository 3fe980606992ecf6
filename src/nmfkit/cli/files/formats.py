"""The data file formats, told apart by extension, and DataFile: what reading one gives."""

import os
from dataclasses import dataclass, field

__all__ = ["FORMATS", "TEXT_FORMATS", "DataFile", "file_format"]

FORMATS = (".npy", ".npz", ".mtx", ".mtx.gz", ".csv", ".tsv", ".txt")
TEXT_FORMATS = (".csv", ".tsv", ".txt")


@dataclass
class DataFile:
    """What read_matrix found in a file.

    X : ndarray or CSR matrix (m, n)
    row_labels, column_labels : 1-D str arrays of length m and n, or None when the file has none
    description : how a text file was read (separator, header, where the row labels came
        from), for the command line's report; empty for binary formats
    notes : things the user should know about the reading (e.g. a header line that is all
        numbers), one sentence each
    """
    X: object
    row_labels: object = None
    column_labels: object = None
    description: str = ""
    notes: tuple = field(default_factory=tuple)


def file_format(path, formats=FORMATS):
    """The extension of path among formats (the longest that fits: .mtx.gz before .gz), or
    None; case does not matter."""
    name = os.fspath(path).lower()
    for ext in sorted(formats, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return None
