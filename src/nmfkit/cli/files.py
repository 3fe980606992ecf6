"""Reading a data matrix and writing results for the command line, with one-line errors.

Input formats, chosen by extension:
- .npy            a 2-D numeric NumPy array (no pickles);
- .npz            a scipy.sparse matrix saved with scipy.sparse.save_npz, or an np.savez archive
                  holding one 2-D array (or several, one of them named X, V or data), with
                  optional 1-D string arrays row_labels and column_labels;
- .mtx            MatrixMarket (also .mtx.gz), coordinate or array;
- .csv .tsv .txt  a delimited text table, read by the rules of `read_text` below, which follow
                  the files that R (write.csv, write.table), pandas (to_csv) and NumPy
                  (savetxt) write.

The text reader is the standard library's csv module plus explicit rules, so the command line
reads the same file the same way whether or not pandas is installed. Every problem raises
InputError (a ValueError) whose message names the file and says what is wrong in one line.

Outputs (`output_files`, `write_factors`, `write_table`): the format is chosen by the
extension and checked before any work, so a long fit never ends in an unwritable file.
"""

import csv
import io
import itertools
import json
import os
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

__all__ = ["InputError", "OutputError", "DataFile", "read_matrix", "read_text", "output_files",
           "write_factors", "write_table", "FORMATS", "TEXT_FORMATS", "MISSING",
           "component_labels"]

FORMATS = (".npy", ".npz", ".mtx", ".mtx.gz", ".csv", ".tsv", ".txt")
TEXT_FORMATS = (".csv", ".tsv", ".txt")
_NPZ_KEYS = ("X", "V", "data")

# The spellings of a missing value: those pandas' read_csv treats as missing by default. They
# include R's NA (and NaN), the empty field pandas writes for NaN and NumPy's nan.
MISSING = frozenset(["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                     "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
                     "nan", "null"])

SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", " ": "whitespace"}
_QUOTED = re.compile(r'"(?:[^"\\]|\\.|"")*"?')
# Whitespace mode (R's read.table default sep = ""): a field is a double-quoted string ("" or
# \" inside it stand for a quote, as R's write.table writes one) or a run of other characters.
_WS_FIELD = re.compile(r'"((?:[^"\\]|\\.|"")*)"|([^\s"]\S*)')
_BLANK_LINE = {"\t": re.compile(r"^ +$", re.MULTILINE)}  # tabs alone: a row of empty fields
_ANY_BLANK_LINE = re.compile(r"^[ \t]+$", re.MULTILINE)
# A number with a decimal comma (1,5): read only in ';'-separated files, an error elsewhere.
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


class InputError(ValueError):
    """A data file that cannot be used; the message is one line, fit for a terminal."""


class OutputError(ValueError):
    """An output path that cannot be written; the message is one line, fit for a terminal."""


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


def _format(path, formats=FORMATS):
    name = os.fspath(path).lower()
    for ext in sorted(formats, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return None


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
    ext = _format(path)
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
        reader = {".npy": _read_npy, ".npz": _read_npz, ".mtx": _read_mtx,
                  ".mtx.gz": _read_mtx}[ext]
        data = reader(path)
        if not isinstance(data, DataFile):
            data = DataFile(data)
    data.X = _check(data.X, path, allow_nan)
    for name, labels, size in (("row_labels", data.row_labels, data.X.shape[0]),
                               ("column_labels", data.column_labels, data.X.shape[1])):
        if labels is not None and len(labels) != size:
            raise InputError(f"{path}: {name} has {len(labels)} entries for {size} "
                             f"{'rows' if name == 'row_labels' else 'columns'}; give one "
                             "label each.")
    return data


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


def _npz_labels(archive, key, path):
    if key not in archive.files:
        return None
    labels = archive[key]
    if labels.ndim != 1 or labels.dtype.kind not in "US":
        raise InputError(f"{path}: {key} must be a 1-D array of strings, got {labels.dtype} "
                         f"with shape {labels.shape}.")
    return labels.astype(str)


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
                for key in _NPZ_KEYS:
                    if key in data:
                        X = archive[key]
                        break
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise InputError(f"{path}: cannot read its arrays ({_one_line(exc)}).") from None
    if X is not None:
        return DataFile(X, rows, cols)
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


# -- text tables -----------------------------------------------------------------------------
def _outside_quotes(line):
    """line with its double-quoted parts removed (for counting separators)."""
    return _QUOTED.sub("", line)


def _n_fields(line, sep):
    if sep == " ":
        return len(_WS_FIELD.findall(line.strip()))
    return len(next(csv.reader([line], delimiter=sep, skipinitialspace=True), []))


def _detect_separator(path, first, second, first_no, header):
    """The separator of a .csv/.txt table from its first two lines (see read_text)."""
    bare = _outside_quotes(first)
    found = [s for s in ("\t", ";", ",") if s in bare]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        fits = []
        for s in found:
            a, b = _n_fields(first, s), _n_fields(second, s) if second is not None else None
            if a >= 2 and (b is None or b == a or (header and b == a + 1)):
                fits.append(s)
        if len(fits) == 1:
            return fits[0]
        names = " and ".join(f"{SEPARATORS[s]} ({s!r})" for s in found)
        raise InputError(f"{path}: line {first_no} has both {names} outside quotes and the "
                         "next line does not settle which separates the fields; pass --sep.")
    probe = second if second is not None else first
    return " " if _n_fields(probe, " ") >= 2 else ","


def _records(path, text, sep, first_no):
    """(line number, fields) of the non-blank records of text, whose first line is first_no.

    text has \\n line ends. Whitespace mode splits each line by _WS_FIELD; the other
    separators go through the csv module (quoted fields may span lines).
    """
    if sep == " ":
        for number, line in enumerate(text.split("\n"), first_no):
            fields = [q.replace('\\"', '"').replace('""', '"') if q or not plain else plain
                      for q, plain in _WS_FIELD.findall(line.strip())]
            if fields:
                yield number, fields
        return
    if '\\"' in text:  # R's write.table writes a quote inside a quoted field as \"
        text = text.replace('\\"', '""')
    # a line of spaces is blank, not a field of spaces
    if " \n" in text or "\t\n" in text or text.endswith((" ", "\t")):
        text = _BLANK_LINE.get(sep, _ANY_BLANK_LINE).sub("", text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"',
                        skipinitialspace=True, strict=False)
    try:
        for fields in reader:
            if not fields:  # a blank line (a quoted "" is a field)
                continue
            yield reader.line_num + first_no - 1, fields
    except csv.Error as exc:
        raise InputError(f"{path}: line {reader.line_num + first_no - 1}: cannot read it as a "
                         f"table ({_one_line(exc)}).") from None


class _Cells:
    """Turns text fields into numbers by the file's rules, remembering the decimal marks seen."""

    def __init__(self, sep):
        self.decimal_comma = sep == ";"
        self.comma_line = self.dot_line = None

    def value(self, cell, line, track=True):
        """The number in cell, NaN for a missing value, None for text.

        track: remember the line of the first decimal comma and of the first decimal point
        (a ';'-separated file must use one of them throughout).
        """
        text = cell.strip()
        if text in MISSING:
            return float("nan")
        comma = self.decimal_comma and "," in text
        if comma:
            if text.count(",") > 1 or "." in text:
                return None
            text = text.replace(",", ".")
        if "_" in text:  # float() takes 1_000; R and pandas read it as text
            return None
        try:
            number = float(text)
        except ValueError:
            return None
        if track and self.decimal_comma:
            if comma:
                self.comma_line = self.comma_line or line
            elif "." in text:
                self.dot_line = self.dot_line or line
        return number

    def row(self, fields, line):
        """fields as a float array, or the index of the first field that is not a number.

        NumPy converts the row at once, after missing values (and decimal commas) are
        rewritten; only a row with a field that is not a number goes field by field, to find
        it.
        """
        if not self.decimal_comma:
            cleaned = ["nan" if f.strip() in MISSING else f for f in fields]
        else:
            cleaned = ["nan" if f.strip() in MISSING else f.replace(",", ".") if "," in f
                       else f for f in fields]
        try:
            if any("_" in f for f in cleaned):
                raise ValueError("1_000 is text")
            out = np.array(cleaned, dtype=np.float64)
        except ValueError:
            pass
        else:
            if self.decimal_comma:
                plain = "\x00".join(f for f, c in zip(fields, cleaned) if c != "nan")
                if "," in plain:
                    self.comma_line = self.comma_line or line
                if "." in plain:
                    self.dot_line = self.dot_line or line
            return out
        out = np.empty(len(fields))
        for j, cell in enumerate(fields):
            value = self.value(cell, line)
            if value is None:
                return j
            out[j] = value
        return out


def read_text(path, *, header=None, sep=None):
    """Read a delimited text table (.csv, .tsv, .txt) as a DataFile.

    The rules (those of R's read.csv / read.table and pandas' read_csv, made explicit):

    - Encoding: UTF-8, with or without a byte-order mark; line ends \\n, \\r\\n or \\r.
    - Lines before the table that start with '#' are comments, except that with header=True
      the last of them, without the '#' and one space, is the header (np.savetxt(header=...)
      writes "# " before it). Blank lines are skipped everywhere.
    - Separator (sep=None): a tab for .tsv; for .csv and .txt it is read off the first line of
      the table, outside quoted fields: the one of tab, ';' and ',' it contains; if it
      contains several, the one that splits the first two lines into equally many fields
      (or one more on the second line); if none, runs of spaces when the second line has
      several such fields (R's write.table and np.savetxt defaults), else one column.
      sep may be ',', ';', '\\t' or ' ' (runs of whitespace).
    - In a ';'-separated file a number may have a decimal comma (1,5: R's write.csv2 and
      spreadsheets in many locales); a file that uses both a decimal comma and a decimal
      point is refused, since one of them would then be a thousands separator.
    - Fields are stripped of surrounding spaces; double quotes quote a field ("" inside is a
      quote, and \\" as R's write.table writes it). A quoted number is a number.
    - Header: header=True says the first line names the columns, header=False that it is
      data. header=None (the default) reads it as a header, as read.csv and read_csv do, even
      when its names are numbers (years, sample ids: a note says so), except when it holds
      only numbers each written with a decimal point or an exponent, which is how np.savetxt
      writes data (1.000000000000000000e+00) and never how names are written: that line is
      data, and a note says so. A '#' line just before the table is the header when it has
      one field per column (np.savetxt(header=...)), else a comment.
    - Row labels: the first column holds row labels when its header cell is empty (R's
      write.csv writes "", pandas an empty field), when the header has one field fewer than
      the rows (R's write.table), or when none of its cells is a number and some are text
      (also with header=False). A first column of numbers under a non-empty header is data.
    - A trailing separator (an empty last field on every line, the header's included) is not
      a column.
    - Missing values: the spellings in MISSING (an empty field, NA, NaN, nan, ...) read as
      NaN.
    """
    raw = _read_bytes(path)
    if b"\x00" in raw[:65536]:
        raise InputError(f"{path}: not a text file (it has NUL bytes: binary, or UTF-16 text); "
                         "save it as UTF-8 text.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputError(f"{path}: line {line} is not UTF-8 text; save the file as UTF-8.") \
            from None
    del raw
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    ext = _format(path, TEXT_FORMATS)
    if sep is not None and sep not in SEPARATORS:
        raise InputError(f"{path}: unknown separator {sep!r}; use ',', ';', '\\t' or ' '.")

    # The table starts at the first line that is neither blank nor a '#' comment.
    comment = None  # (line number, text) of the last leading comment line
    start, number, first_no = 0, 1, None
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end]
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            first_no = number
            break
        if stripped and stripped.lstrip("#").strip():
            comment = (number, re.sub(r"^#\s?", "", line.lstrip()))
        start, number = end + 1, number + 1
    body = text[start:] if first_no is not None else ""
    del text
    body, footer = _strip_footer(body)
    head = comment if header is not False and comment is not None else None
    probe = ([head[1]] if head else []) + [line for line in body.split("\n", 4)[:4]
                                           if line.strip()]
    if not probe:
        raise InputError(f"{path}: the file is empty; it needs at least one row of numbers.")
    if sep is None:
        sep = "\t" if ext == ".tsv" else _detect_separator(
            path, probe[0], probe[1] if len(probe) > 1 else None,
            head[0] if head else first_no, header is not False)

    records = _records(path, body, sep, first_no)
    notes = []
    if header is not False:
        first = next(records, None)
        if first is not None:
            records = itertools.chain([first], records)
        if head is not None and first is not None:
            # np.savetxt(header=...) writes the column names on a '#' line; free text there
            # (a note on how the file was made) is a comment: it does not name every column.
            named = next(_records(path, head[1], sep, head[0]), (head[0], []))[1]
            if len(named) != len(first[1]):
                notes.append(f"line {head[0]} (a '#' line with {len(named)} field"
                             f"{'s' if len(named) != 1 else ''}, the rows have "
                             f"{len(first[1])}) is read as a comment, not as the header.")
                head = None
        if header is None:
            header = head is not None or first is None or not _all_decimal(first[1], sep)
            if not header:
                notes.append(f"line {first[0]} holds only numbers written with a decimal point "
                             "or an exponent, so it is read as data, not as a header (as "
                             "np.savetxt writes); pass --header if it names the columns.")
    header_fields, header_no = None, None
    if header:
        if head is not None:
            header_no, header_fields = next(_records(path, head[1], sep, head[0]),
                                            (head[0], [""]))
        else:
            header_no, header_fields = next(records, (None, None))
        if header_fields is None:
            raise InputError(f"{path}: the file is empty; it needs at least one row of numbers.")
        header_fields = [cell.strip() for cell in header_fields]
    h = len(header_fields) if header_fields is not None else None
    from_comment = head[0] if header_fields is not None and head is not None else None

    cells = _Cells(sep)
    firsts, rows, lines_of = [], [], []
    width, width_no = None, None
    n_number = n_text = 0
    all_last_empty = True
    for number, fields in records:
        if width is None:
            width, width_no = len(fields), number
        elif len(fields) != width:
            raise InputError(f"{path}: line {number} has {len(fields)} field"
                             f"{'s' if len(fields) != 1 else ''} but line {width_no} has "
                             f"{width}; every row needs the same number.")
        all_last_empty &= not fields[-1].strip()
        first = fields[0].strip()
        firsts.append(first)
        lines_of.append(number)
        if first not in MISSING:
            if cells.value(first, number, track=False) is None and not \
                    _DECIMAL_COMMA.fullmatch(first):
                n_text += 1
            else:
                n_number += 1
        values = cells.row(fields[1:], number)
        if isinstance(values, int):
            raise InputError(_not_a_number(path, number, values + 1, fields[values + 1],
                                           header_fields, width, sep, from_comment))
        rows.append(values)
    if width is None:
        raise InputError(f"{path}: only a header line; no rows of numbers follow it."
                         if header_fields is not None else
                         f"{path}: the file is empty; it needs at least one row of numbers.")

    how = []
    # A trailing separator: every line, the header's too, ends with an empty field.
    if width > 1 and all_last_empty and (h is None or (h == width and not header_fields[-1])):
        width -= 1
        rows = [r[:-1] for r in rows]
        if header_fields is not None:
            header_fields, h = header_fields[:-1], h - 1
        how.append("a trailing separator ends each line")
    elif h is not None and h == width - 1 and width > 1 and all_last_empty:
        raise InputError(f"{path}: every row ends with an empty field and has one field more "
                         f"than the header (line {header_no}): a trailing separator, or row "
                         "labels and an empty last column? Remove the trailing separators.")
    if h is not None and h not in (width, width - 1):
        raise InputError(f"{path}: the header (line {header_no}) has {h} field"
                         f"{'s' if h != 1 else ''} but the rows have {width}; give one name "
                         "per column (an empty first name over a column of row labels), or "
                         "pass --no-header if the first line is data.")
    if h is not None and h == width - 1:
        labelled, why = True, "the header has one field fewer than the rows (R's write.table)"
    elif h is not None and header_fields[0] == "" and width > 1:
        labelled, why = True, "its header cell is empty"
    elif n_number == 0 and n_text > 0:
        labelled, why = True, "its cells are not numbers"
    else:
        labelled, why = False, ""
    if labelled and width == 1:
        raise InputError(f"{path}: its one column holds labels ({why}); there is no column of "
                         "numbers.")
    X = np.array(rows, dtype=np.float64).reshape(len(rows), width - 1)
    del rows
    row_labels = None
    if labelled:
        row_labels = np.array(firsts, dtype=str)
    else:
        column = np.empty(len(firsts))
        for i, cell in enumerate(firsts):
            value = cells.value(cell, lines_of[i])
            if value is None:
                raise InputError(_not_a_number(path, lines_of[i], 0, cell, header_fields,
                                               width, sep, from_comment, n_text))
            column[i] = value
        X = np.column_stack([column, X])
    if cells.comma_line and cells.dot_line:
        raise InputError(f"{path}: numbers with a decimal comma (line {cells.comma_line}) and "
                         f"with a decimal point (line {cells.dot_line}); one of them would be "
                         "a thousands separator: write every number the same way.")

    if footer:
        notes.append(f"{footer} '#' line{'s' if footer > 1 else ''} after the table "
                     f"{'are' if footer > 1 else 'is'} read as comment{'s' if footer > 1 else ''}.")
    column_labels = None
    if header_fields is not None:
        column_labels = np.array(header_fields[1:] if labelled and h == width
                                 else header_fields, dtype=str)
        if all(cells.value(c, 0, track=False) is not None and c not in MISSING
               for c in column_labels):
            shown = ", ".join(column_labels[:3]) + (", ..." if len(column_labels) > 3 else "")
            notes.append(f"the header line (line {header_no}: {shown}) is all numbers; it is "
                         "read as column labels: if it is data, pass --no-header.")
    for what, labels in (("row", row_labels), ("column", column_labels)):
        if labels is not None:
            unique, counts = np.unique(labels, return_counts=True)
            if (counts > 1).any():
                notes.append(f"{int((counts > 1).sum())} {what} label(s) occur more than once "
                             f"(e.g. {str(unique[counts > 1][0])!r}); they are kept as they "
                             "are.")
    how.insert(0, f"{SEPARATORS[sep]}-separated" if width > 1 else "one column")
    how.insert(1, f"header line {header_no}" if header_fields is not None else "no header")
    if labelled:
        how.append(f"row labels in column 1 since {why}")
    if cells.comma_line:
        how.append("decimal comma")
    return DataFile(X, row_labels, column_labels, ", ".join(how), tuple(notes))


def _strip_footer(body):
    """body without the '#' comment lines (and blank lines) that end it, e.g. the footer
    np.savetxt(footer=...) writes; and how many '#' lines there were."""
    lines = body.rstrip().split("\n")
    n = 0
    while len(lines) > 1 and lines[-1].lstrip().startswith("#"):
        lines.pop()
        while len(lines) > 1 and not lines[-1].strip():
            lines.pop()
        n += 1
    return ("\n".join(lines) + "\n" if n else body), n


def _all_decimal(fields, sep):
    """True when every field of a first line is a number (or missing) and each number is
    written with a decimal point or an exponent, as np.savetxt writes data ('%.18e'), and
    never as names are (years, sample ids, pandas' default column names 0, 1, ...)."""
    cells = _Cells(sep)
    numbers = [f.strip() for f in fields if f.strip() not in MISSING]
    return bool(numbers) and all(
        cells.value(f, 0, track=False) is not None and re.search(r"[.,eE]", f) is not None
        for f in numbers)


def _read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot open it ({exc.strerror or exc}).") from None


def _not_a_number(path, line, j, cell, header_fields, width, sep, from_comment=None,
                  text_in_first=0):
    """The message for field j (0-based in the file's line) that is not a number.

    from_comment: the line number of the '#' line read as the header, if it was one.
    """
    name = ""
    if header_fields is not None:
        k = j if len(header_fields) == width else j - 1
        if 0 <= k < len(header_fields) and header_fields[k]:
            name = f" ({header_fields[k]!r})"
    where = f"{path}: line {line}, column {j + 1}{name}"
    hint = ""
    others = [s for s in (",", ";", "\t") if s != sep and s in cell]
    if j == 0 and text_in_first:
        hint = ("; if column 1 holds row labels, leave its header cell empty" if header_fields
                is not None else "; column 1 mixes numbers and text")
    elif sep != ";" and _DECIMAL_COMMA.fullmatch(cell.strip()):
        hint = " (a decimal comma is read only in ';'-separated files)"
    elif others and sep != " ":
        hint = (f" (fields are separated by {sep!r} here; pass --sep if the file uses "
                f"{others[0]!r})")
    if from_comment is not None:
        hint += (f" (the header is the '#' line {from_comment}; if that line is a comment, "
                 "not column names, remove it)")
    return f"{where}: {cell.strip()!r} is not a number{hint}."


def _check(X, path, allow_nan=False):
    """2-D, numeric, finite (NaN allowed in a dense X if allow_nan), nonnegative, not empty."""
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


# -- outputs ---------------------------------------------------------------------------------
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
    ext = _format(path, allowed + (".npy",))
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
