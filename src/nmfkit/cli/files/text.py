"""read_text: a delimited text table (.csv, .tsv, .txt) as a DataFile.

The text reader is the standard library's csv module plus explicit rules, so the command line
reads the same file the same way whether or not pandas is installed. The rules follow the files
that R (write.csv, write.table), pandas (to_csv) and NumPy (savetxt) write; read_text's
docstring lists them all. lines.py holds those that work on lines (encoding, comments,
separator, fields), cells.py those for one field (numbers, missing values, decimal commas);
this module those for the whole table: the header, a trailing separator, the row labels, and
the notes and description for the user.
"""

import itertools
from dataclasses import dataclass, field

import numpy as np

from .cells import DECIMAL_COMMA, MISSING, Cells, all_decimal, not_a_number
from .errors import InputError
from .formats import TEXT_FORMATS, DataFile, file_format
from .lines import (
    SEPARATORS,
    decode_text,
    detect_separator,
    leading_comments,
    records,
    strip_footer,
)

__all__ = ["read_text"]

_EMPTY = "the file is empty; it needs at least one row of numbers."


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
    text = decode_text(path)
    ext = file_format(path, TEXT_FORMATS)
    if sep is not None and sep not in SEPARATORS:
        raise InputError(f"{path}: unknown separator {sep!r}; use ',', ';', '\\t' or ' '.")
    comment, body, first_no = leading_comments(text)
    del text
    body, footer = strip_footer(body)
    head = comment if header is not False and comment is not None else None
    sep = _separator(path, sep, ext, head, body, first_no, header)

    notes = []
    table_records = records(path, body, sep, first_no)
    table_records, header, head = _decide_header(path, table_records, head, header, sep,
                                                 notes)
    header_no, header_fields = None, None
    if header:
        header_no, header_fields = _take_header(path, table_records, head, sep)
    from_comment = head[0] if header_fields is not None and head is not None else None

    cells = Cells(sep)
    table = _read_rows(path, table_records, cells, header_fields, sep, from_comment)
    header_fields, trailing = _drop_trailing_separator(path, table, header_fields, header_no)
    width = table.width
    h = len(header_fields) if header_fields is not None else None
    if h is not None and h not in (width, width - 1):
        raise InputError(f"{path}: the header (line {header_no}) has {h} field"
                         f"{'s' if h != 1 else ''} but the rows have {width}; give one name "
                         "per column (an empty first name over a column of row labels), or "
                         "pass --no-header if the first line is data.")
    labelled, why = _row_labels_rule(header_fields, table)
    if labelled and width == 1:
        raise InputError(f"{path}: its one column holds labels ({why}); there is no column of "
                         "numbers.")
    X = np.array(table.values, dtype=np.float64).reshape(len(table.values), width - 1)
    table.values = None
    row_labels = None
    if labelled:
        row_labels = np.array(table.firsts, dtype=str)
    else:
        column = _first_column(path, table, cells, header_fields, sep, from_comment)
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
    notes.extend(_repeated_label_notes(row_labels, column_labels))
    how = [f"{SEPARATORS[sep]}-separated" if width > 1 else "one column",
           f"header line {header_no}" if header_fields is not None else "no header"]
    if trailing:
        how.append("a trailing separator ends each line")
    if labelled:
        how.append(f"row labels in column 1 since {why}")
    if cells.comma_line:
        how.append("decimal comma")
    return DataFile(X, row_labels, column_labels, ", ".join(how), tuple(notes))


def _separator(path, sep, ext, head, body, first_no, header):
    """The separator: sep when given, a tab for .tsv, else read off the table's first two
    lines (lines.detect_separator), the '#' line head first when it may be the header.

    A table without any line (only comments and blank lines) is an error.
    """
    probe = ([head[1]] if head else []) + [line for line in body.split("\n", 4)[:4]
                                           if line.strip()]
    if not probe:
        raise InputError(f"{path}: {_EMPTY}")
    if sep is not None:
        return sep
    return "\t" if ext == ".tsv" else detect_separator(
        path, probe[0], probe[1] if len(probe) > 1 else None,
        head[0] if head else first_no, header is not False)


def _decide_header(path, table_records, head, header, sep, notes):
    """(table_records, header, head): whether the table has a header line, and whether the '#' line
    head (line number, text) is it.

    Rule (header): with header=False there is none. A '#' line just before the table is the
    header only when it has as many fields as the first line of the table, else it is a
    comment (a note says so) and head becomes None. With header=None the first line is a
    header unless it holds only numbers each written with a decimal point or an exponent (as
    np.savetxt writes data; a note says so). table_records yields (line number, fields) of
    each record; the one returned still starts with the first.
    """
    if header is False:
        return table_records, header, head
    first = next(table_records, None)
    if first is not None:
        table_records = itertools.chain([first], table_records)
    if head is not None and first is not None:
        # np.savetxt(header=...) writes the column names on a '#' line; free text there
        # (a note on how the file was made) is a comment: it does not name every column.
        named = next(records(path, head[1], sep, head[0]), (head[0], []))[1]
        if len(named) != len(first[1]):
            notes.append(f"line {head[0]} (a '#' line with {len(named)} field"
                         f"{'s' if len(named) != 1 else ''}, the rows have "
                         f"{len(first[1])}) is read as a comment, not as the header.")
            head = None
    if header is None:
        header = head is not None or first is None or not all_decimal(first[1], sep)
        if not header:
            notes.append(f"line {first[0]} holds only numbers written with a decimal point "
                         "or an exponent, so it is read as data, not as a header (as "
                         "np.savetxt writes); pass --header if it names the columns.")
    return table_records, header, head


def _take_header(path, table_records, head, sep):
    """(header_no, header_fields): the header line's number and its fields stripped of
    spaces: the '#' line head if there is one, else the first record, which this takes out
    of table_records."""
    if head is not None:
        header_no, header_fields = next(records(path, head[1], sep, head[0]), (head[0], [""]))
    else:
        header_no, header_fields = next(table_records, (None, None))
    if header_fields is None:
        raise InputError(f"{path}: {_EMPTY}")
    return header_no, [cell.strip() for cell in header_fields]


@dataclass
class _Rows:
    """The rows of a table as read: the text of each row's first field (firsts), the numbers
    of its other fields (values), its line number (line_numbers); the number of fields per row
    (width); how many first fields are numbers and how many text (missing ones are neither);
    whether every row ends with an empty field."""
    firsts: list = field(default_factory=list)
    values: list = field(default_factory=list)
    line_numbers: list = field(default_factory=list)
    width: int = None
    n_number: int = 0
    n_text: int = 0
    all_last_empty: bool = True


def _read_rows(path, table_records, cells, header_fields, sep, from_comment):
    """The rows of the table, as a _Rows.

    Rules: every row has the same number of fields; every field but the first is a number or
    missing (the first may be a row label: _row_labels_rule decides once all are read).
    """
    table = _Rows()
    width_no = None
    for number, fields in table_records:
        if table.width is None:
            table.width, width_no = len(fields), number
        elif len(fields) != table.width:
            raise InputError(f"{path}: line {number} has {len(fields)} field"
                             f"{'s' if len(fields) != 1 else ''} but line {width_no} has "
                             f"{table.width}; every row needs the same number.")
        table.all_last_empty &= not fields[-1].strip()
        first = fields[0].strip()
        table.firsts.append(first)
        table.line_numbers.append(number)
        if first not in MISSING:
            if cells.value(first, number, track=False) is None and not \
                    DECIMAL_COMMA.fullmatch(first):
                table.n_text += 1
            else:
                table.n_number += 1
        values = cells.row(fields[1:], number)
        if isinstance(values, int):
            raise InputError(not_a_number(path, number, values + 1, fields[values + 1],
                                          header_fields, table.width, sep, from_comment))
        table.values.append(values)
    if table.width is None:
        raise InputError(f"{path}: only a header line; no rows of numbers follow it."
                         if header_fields is not None else f"{path}: {_EMPTY}")
    return table


def _drop_trailing_separator(path, table, header_fields, header_no):
    """(header_fields, dropped): the table without the empty last column a trailing
    separator makes, and whether there was one.

    Rule (trailing separator): when every row of several fields ends with an empty field,
    and the header (if any) has as many fields and ends with an empty one too, that last
    field is not a column. Rows with one field more than the header whose last field is
    always empty are ambiguous (row labels and an empty column, or trailing separators on the
    rows only) and refused.
    """
    h = len(header_fields) if header_fields is not None else None
    width = table.width
    if width > 1 and table.all_last_empty and (h is None or (h == width and
                                                             not header_fields[-1])):
        table.width -= 1
        table.values = [r[:-1] for r in table.values]
        if header_fields is not None:
            header_fields = header_fields[:-1]
        return header_fields, True
    if h is not None and h == width - 1 and width > 1 and table.all_last_empty:
        raise InputError(f"{path}: every row ends with an empty field and has one field more "
                         f"than the header (line {header_no}): a trailing separator, or row "
                         "labels and an empty last column? Remove the trailing separators.")
    return header_fields, False


def _row_labels_rule(header_fields, table):
    """(labelled, why): whether the first column holds row labels, and the reason, for the
    description of the file.

    Rule (row labels): yes when the header has one field fewer than the rows (R's
    write.table), when its first cell is empty (R's write.csv, pandas' to_csv), or when no
    cell of the first column is a number and some are text; otherwise the first column is
    data.
    """
    h = len(header_fields) if header_fields is not None else None
    if h is not None and h == table.width - 1:
        return True, "the header has one field fewer than the rows (R's write.table)"
    if h is not None and header_fields[0] == "" and table.width > 1:
        return True, "its header cell is empty"
    if table.n_number == 0 and table.n_text > 0:
        return True, "its cells are not numbers"
    return False, ""


def _first_column(path, table, cells, header_fields, sep, from_comment):
    """The first column as numbers, when it is data (not row labels); a cell that is not a
    number is an error."""
    column = np.empty(len(table.firsts))
    for i, cell in enumerate(table.firsts):
        value = cells.value(cell, table.line_numbers[i])
        if value is None:
            raise InputError(not_a_number(path, table.line_numbers[i], 0, cell, header_fields,
                                          table.width, sep, from_comment, table.n_text))
        column[i] = value
    return column


def _repeated_label_notes(row_labels, column_labels):
    """A note for the row labels and one for the column labels that occur more than once."""
    notes = []
    for what, labels in (("row", row_labels), ("column", column_labels)):
        if labels is not None:
            unique, counts = np.unique(labels, return_counts=True)
            if (counts > 1).any():
                notes.append(f"{int((counts > 1).sum())} {what} label(s) occur more than once "
                             f"(e.g. {str(unique[counts > 1][0])!r}); they are kept as they "
                             "are.")
    return notes
