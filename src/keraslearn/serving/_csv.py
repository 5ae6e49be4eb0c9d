"""CSV request bodies (``text/csv``, as MLflow's scoring server takes them) as tables."""

import re

# A cell of an integer column: a whole number, or another number as JSON and
# Python write them (digits 0-9 only: not 1_000, nor other scripts' digits).
_WHOLE = re.compile(r"\s*[+-]?[0-9]+\s*")
_NUMBER = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*|\s*[+-]?(nan|inf|"
                     r"infinity)\s*", re.IGNORECASE)


class Table:
    """A CSV body: column labels and one list of values per column."""

    def __init__(self, labels, columns):
        self.labels = labels
        self.columns = columns


def read_table(body, schema):
    """The :class:`Table` of a CSV body with a header row.

    Parameters
    ----------
    body : bytes
        The request body.

    schema : FeatureSchema
        The model's features. Every cell is read as JSON would give it, by its
        column's kind: a string column's as text, so that a code such as
        ``01`` stays one; an integer column's cell by cell, so that one cell
        written ``3.0`` does not make pandas read it as floats (rounding ids
        past 2**53); a number or boolean column pandas could not parse cell
        by cell too, so that one bad cell is refused by its own row, not by
        the column's first (pandas leaves the column as text).

    Returns
    -------
    table : Table

    Raises
    ------
    ValueError
        When pandas cannot read the body as a table, a row holds another
        number of values than the header names, or the header of a model
        fitted without names holds numbers (a body sent without its header).
    """
    import csv
    import io

    import pandas as pd

    # pandas reads a row of one value too many as the row's index, and fills
    # a row of too few: the values would reach other columns, or none. Read
    # without a header, the header row sets the width: a row of more values
    # is pandas' error; the csv module counts those of fewer (lines pandas
    # skips, empty or of white space, left out). Under a header of one column
    # every line is a row: one of white space holds that text (a document),
    # an empty one a missing value (as pandas writes one), neither skipped;
    # empty lines ending the body are none (a file's last newlines).
    body = body.rstrip(b"\r\n")
    try:
        pd.read_csv(io.BytesIO(body), header=None, dtype=str, na_filter=False)
    except pd.errors.ParserError as exc:
        raise ValueError(str(exc).strip()) from None
    lines = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    header, before = [], 0
    try:
        header = next((row for row in lines if row and (len(row) > 1 or row[0].strip())), [])
        before = lines.line_num - 1  # blank lines above the header
        one_column = len(header) == 1
        rows = (row or [""] if one_column else row for row in lines
                if one_column or row and not (len(row) == 1 and not row[0].strip()))
        for number, row in enumerate(rows):
            if len(row) < len(header):
                raise ValueError(f"row {number} has {len(row)} values, but the header names "
                                 f"{len(header)} columns")
    except csv.Error:
        pass  # a field past the csv module's size limit: fewer values go unchecked
    if schema.names is None:
        _check_header(header)
    keys = range(schema.n_features) if schema.names is None else schema.names  # (positions)
    kinds = dict(zip(keys, schema.kinds))
    text = {key: str for key, kind in kinds.items() if kind in ("string", "integer")}
    try:
        # An empty cell is a missing value (taken where the model imputes it);
        # any other is the value written: "NA" (Namibia) or "None" is a
        # category, not one of pandas' default missing-value words.
        frame = pd.read_csv(io.BytesIO(body), dtype=text or None, keep_default_na=False,
                            na_values=[""], skip_blank_lines=len(header) != 1,
                            skiprows=before if len(header) == 1 else None)
    except Exception as exc:  # pandas raises several types for a malformed table
        raise ValueError(str(exc)) from None
    labels = [str(c) for c in frame.columns]
    if len(set(header)) < len(header) == len(labels):
        labels = header  # pandas renames a repeated name (x.1): the parser names the repeat
    columns = [frame[c].tolist() for c in frame.columns]
    for j, c in enumerate(frame.columns):
        kind = kinds.get(j if schema.names is None else c)
        # pandas parses the columns it can; one it left as text (a cell it
        # cannot read as a number or a boolean) is read cell by cell.
        if kind == "integer" or kind in ("number", "boolean") and frame[c].dtype.kind not in "biuf":
            read = _boolean if kind == "boolean" else _number
            columns[j] = [read(cell) for cell in columns[j]]
    return Table(labels, columns)


def _check_header(header):
    """Refuse a header of numbers other than increasing whole numbers (a frame's
    column labels: ``0,1,2`` as pandas writes them, or ``1,2,5`` of a frame some
    columns were dropped from): a body sent without its header row would lose
    its first row."""
    if not header or not all(_NUMBER.fullmatch(cell) for cell in header):
        return
    labels = [int(cell) for cell in header if _WHOLE.fullmatch(cell)]
    if len(labels) < len(header) or any(a >= b for a, b in zip(labels, labels[1:])):
        raise ValueError(
            "its first row is read as the header (column names), and holds numbers "
            f"({','.join(header[:5])}{',...' if len(header) > 5 else ''}): send a header "
            "row first (any names, or 0,1,2,...), the rows after it")


def _boolean(cell):
    """A cell of a boolean column: true or false as pandas writes them, else the text."""
    if isinstance(cell, str):
        return {"true": True, "false": False}.get(cell.strip().lower(), cell)
    return cell


def _number(cell):
    """A cell of a number column as JSON gives it: an int where it is written
    as one, else a float where it is written as a number (checked as the JSON
    value would be), else true or false where so written, else the text (each
    refused as the JSON value is: true with the hint of boolean columns)."""
    if not isinstance(cell, str):
        return cell  # an empty cell: missing
    if _WHOLE.fullmatch(cell):
        try:
            return int(cell)
        except ValueError:
            return cell  # more digits than Python converts: refused, as text
    return float(cell) if _NUMBER.fullmatch(cell) else _boolean(cell)
