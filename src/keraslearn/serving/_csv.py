"""CSV request bodies (``text/csv``, as MLflow's scoring server takes them) as tables."""


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
        The model's features: its string columns are read as text, so that a
        code such as ``01`` stays one.

    Returns
    -------
    table : Table

    Raises
    ------
    ValueError
        When pandas cannot read the body as a table, or a row holds another
        number of values than the header names.
    """
    import csv
    import io

    import pandas as pd

    # pandas reads a row of one value too many as the row's index, and fills
    # a row of too few: the values would reach other columns, or none. Read
    # without a header, the header row sets the width: a row of more values
    # is pandas' error; the csv module counts those of fewer (lines pandas
    # skips, empty or of white space, left out).
    try:
        pd.read_csv(io.BytesIO(body), header=None, dtype=str, na_filter=False)
    except pd.errors.ParserError as exc:
        raise ValueError(str(exc).strip()) from None
    rows = (row for row in csv.reader(io.StringIO(body.decode("utf-8"), newline=""))
            if row and not (len(row) == 1 and not row[0].strip()))
    try:
        header = next(rows, [])
        for number, row in enumerate(rows):
            if len(row) < len(header):
                raise ValueError(f"row {number} has {len(row)} values, but the header names "
                                 f"{len(header)} columns")
    except csv.Error:
        pass  # a field past the csv module's size limit: fewer values go unchecked
    text = {}
    if schema.names is not None:
        text = {n: str for n, kind in zip(schema.names, schema.kinds) if kind == "string"}
    try:
        # An empty cell is a missing value (taken where the model imputes it);
        # any other is the value written: "NA" (Namibia) or "None" is a
        # category, not one of pandas' default missing-value words.
        frame = pd.read_csv(io.BytesIO(body), dtype=text or None, keep_default_na=False,
                            na_values=[""])
    except Exception as exc:  # pandas raises several types for a malformed table
        raise ValueError(str(exc)) from None
    labels = [str(c) for c in frame.columns]
    return Table(labels, [frame[c].tolist() for c in frame.columns])
