"""A text table's lines: from the file's bytes to records of fields.

The rules of read_text that work on lines, before any field is read as a number: the encoding,
the '#' comments before and after the table, the separator, and the splitting of lines into
fields (the standard library's csv module, or runs of whitespace).
"""

import csv
import io
import re

from .errors import InputError, exception_text

__all__ = ["SEPARATORS", "decode_text", "leading_comments", "strip_footer", "detect_separator",
           "records"]

# The separators read_text knows, with the name its description of a file gives them.
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", " ": "whitespace"}

_QUOTED = re.compile(r'"(?:[^"\\]|\\.|"")*"?')
# Whitespace mode (R's read.table default sep = ""): a field is a double-quoted string ("" or
# \" inside it stand for a quote, as R's write.table writes one) or a run of other characters.
_WS_FIELD = re.compile(r'"((?:[^"\\]|\\.|"")*)"|([^\s"]\S*)')
_BLANK_LINE = {"\t": re.compile(r"^ +$", re.MULTILINE)}  # tabs alone: a row of empty fields
_ANY_BLANK_LINE = re.compile(r"^[ \t]+$", re.MULTILINE)


def _read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot open it ({exc.strerror or exc}).") from None


def decode_text(path):
    """The text of the file at path, with \\n line ends.

    Rule (encoding): UTF-8, with or without a byte-order mark; line ends \\n, \\r\\n or \\r.
    A file with NUL bytes in its first 64 KiB is binary (or UTF-16) and refused.
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
    return text.replace("\r\n", "\n").replace("\r", "\n")


def leading_comments(text):
    """(comment, body, first_no): text split where the table starts.

    Rule (comments before the table): the table starts at the first line that is neither
    blank nor a '#' comment. body is the text from that line on ("" when there is none),
    first_no its line number (None when there is none); comment is (line number, text
    without the '#' and one space) of the last comment line that says something, or None:
    it may be the header (np.savetxt(header=...) writes "# " before the column names).
    """
    comment = None
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
    return comment, body, first_no


def strip_footer(body):
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


def _outside_quotes(line):
    """line with its double-quoted parts removed (for counting separators)."""
    return _QUOTED.sub("", line)


def _n_fields(line, sep):
    """How many fields sep splits line into."""
    if sep == " ":
        return len(_WS_FIELD.findall(line.strip()))
    return len(next(csv.reader([line], delimiter=sep, skipinitialspace=True), []))


def detect_separator(path, first, second, first_no, header):
    """The separator of a .csv/.txt table from its first two lines (second may be None).

    Rule (separator): the one of tab, ';' and ',' that the first line holds outside quoted
    fields; if it holds several, the one that splits the first two lines into equally many
    fields (or, when the first line may be a header, one more on the second line); if none,
    runs of spaces when the second line has several such fields, else ',' (one column).
    first_no is the first line's number, for the message when the two lines do not settle it.
    """
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


def records(path, text, sep, first_no):
    """(line number, fields) of the non-blank records of text, whose first line is first_no.

    Rule (fields): text has \\n line ends. Whitespace mode (sep ' ') splits each line by
    _WS_FIELD; the other separators go through the csv module (double quotes quote a field,
    "" or R's \\" inside it is a quote, quoted fields may span lines). A line of spaces is
    blank, not a field of spaces; blank lines are skipped.
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
                         f"table ({exception_text(exc)}).") from None
