"""A text table's cells: from a field to a number.

The rules of read_text for single fields: the spellings of a missing value, the decimal comma
of ';'-separated files, what is a number and what is text, and the message for a field that
should be a number and is not.
"""

import re

import numpy as np

__all__ = ["MISSING", "DECIMAL_COMMA", "Cells", "all_decimal", "not_a_number"]

# The spellings of a missing value: those pandas' read_csv treats as missing by default. They
# include R's NA (and NaN), the empty field pandas writes for NaN and NumPy's nan.
MISSING = frozenset(["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                     "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
                     "nan", "null"])

# A number with a decimal comma (1,5): read only in ';'-separated files, an error elsewhere.
DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


class Cells:
    """Turns text fields into numbers by the file's rules, remembering the decimal marks seen.

    Rules: a field in MISSING is NaN; a number is what float() reads, except with an
    underscore (1_000, which R and pandas read as text); in a ';'-separated file a number may
    have a decimal comma (1,5), and the lines of the first decimal comma and the first
    decimal point are remembered (comma_line, dot_line) since a file must use one of them
    throughout.
    """

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


def all_decimal(fields, sep):
    """True when every field of a first line is a number (or missing) and each number is
    written with a decimal point or an exponent, as np.savetxt writes data ('%.18e'), and
    never as names are (years, sample ids, pandas' default column names 0, 1, ...)."""
    cells = Cells(sep)
    numbers = [f.strip() for f in fields if f.strip() not in MISSING]
    return bool(numbers) and all(
        cells.value(f, 0, track=False) is not None and re.search(r"[.,eE]", f) is not None
        for f in numbers)


def not_a_number(path, line, j, cell, header_fields, width, sep, from_comment=None,
                 text_in_first=0):
    """The message for field j (0-based in the file's line) that is not a number.

    It names the column by its header when there is one, and adds the likely cause: row labels
    under a non-empty header cell, a decimal comma outside a ';'-separated file, another
    separator than the one read. from_comment: the line number of the '#' line read as the
    header, if it was one. text_in_first: how many cells of column 1 are text.
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
    elif sep != ";" and DECIMAL_COMMA.fullmatch(cell.strip()):
        hint = " (a decimal comma is read only in ';'-separated files)"
    elif others and sep != " ":
        hint = (f" (fields are separated by {sep!r} here; pass --sep if the file uses "
                f"{others[0]!r})")
    if from_comment is not None:
        hint += (f" (the header is the '#' line {from_comment}; if that line is a comment, "
                 "not column names, remove it)")
    return f"{where}: {cell.strip()!r} is not a number{hint}."
