"""Request bodies to validated model input, refusing bad requests by name.

Every format ends as one list of per-feature columns (Python lists), which are
then checked value by value against the feature kinds of
:class:`~keraslearn.serving._schema.FeatureSchema` and converted to NumPy
arrays. All of this happens before a request reaches the batcher, so a bad
request is answered with a 4xx naming the field (and row) and never shares a
model call with good ones. Rows are numbered from 0 within the request.

Formats (``/invocations`` takes only MLflow's envelopes, as MLflow does):

- records: ``[{"a": 1, "b": 2}, ...]`` (one record alone: ``{"a": 1, "b": 2}``),
- columns: ``{"a": [1, 2], "b": [3, 4]}``,
- rows in the model's feature order: ``[[1, 2], [3, 4]]``,
- MLflow's envelopes: ``{"dataframe_split": {"columns": [...], "data": [[...]]}}``,
  ``{"dataframe_records": [...]}``, ``{"instances": [...]}`` (records or rows),
  ``{"inputs": ...}`` (columns, records or rows), with an optional empty
  ``"params"``; and a CSV body with a header row (``text/csv``).
"""

import collections
import itertools
import json

import numpy as np

from ._csv import Table, read_table
from ._schema import shown
from ._values import CONVERTERS, NUMBER_TYPES, RequestError, describe

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_NEED_ENVELOPE = ("MLflow's scoring protocol takes a JSON object with exactly one of the fields "
                  + ", ".join(MLFLOW_KEYS))


def decode(body, content_type, schema):
    """The payload of a request body: parsed JSON, or a table for ``text/csv``.

    Parameters
    ----------
    body : bytes
        The request body.

    content_type : str or None
        The ``Content-Type`` header.

    schema : FeatureSchema
        The model's features (a CSV body's string columns are read as text).

    Returns
    -------
    payload : object
    """
    if not body.strip():
        raise RequestError("the request body is empty: send JSON records, columns or rows")
    if _mime(content_type) == "text/csv":
        try:
            return read_table(_in_utf8(body, content_type), schema)
        except ValueError as exc:
            raise RequestError(f"the CSV body could not be read as a table: {exc}") from None
    try:
        return json.loads(body, object_pairs_hook=_once_each)
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError and UnicodeDecodeError are ValueErrors; so is an
        # integer of more digits than Python converts, and arrays nested too
        # deep for the parser raise RecursionError.
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise RequestError(f"the request body is not valid JSON: {reason}") from None


def _in_utf8(body, content_type):
    """A CSV body in UTF-8, from the charset its Content-Type names (UTF-8 if none)."""
    params = {key.strip().lower(): value for key, _, value in (
        part.partition("=") for part in content_type.split(";")[1:])}
    charset = params.get("charset", "utf-8").strip().strip('"').lower()
    if charset in ("utf-8", "utf8"):
        return body
    try:
        return body.decode(charset).encode("utf-8")
    except LookupError:
        raise RequestError(f"the Content-Type names charset={charset!r}, which Python does "
                           "not know: send UTF-8, or name its charset") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"it is not valid {charset}: {exc}") from None


def _once_each(pairs):
    """A JSON object whose keys are each given once: Python's json keeps the
    last value of a repeated key, so a record naming a column twice was
    answered for one of its values without a word."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        counts = collections.Counter(key for key, _ in pairs)
        raise RequestError("the request body gives a key twice in one object: "
                           f"{shown(sorted(k for k, n in counts.items() if n > 1))}")
    return obj


def read_payload(payload, schema, *, mlflow):
    """Validated model input from a decoded payload.

    Parameters
    ----------
    payload : object
        What :func:`decode` returned.

    schema : FeatureSchema
        The model's features.

    mlflow : bool
        Whether only MLflow's scoring envelopes are taken (``/invocations``).

    Returns
    -------
    columns : list of numpy.ndarray or numpy.ndarray
        One array per feature, in the model's order, all of the same length
        (for a model whose features are all numbers of one dtype, one 2-D
        array of shape (n_features, n_rows), indexed the same way).
    """
    if isinstance(payload, Table):
        return _split(payload.labels, payload.columns, schema, "the CSV body")
    if isinstance(payload, dict):
        keys = list(payload)
        envelope = [k for k in keys if k in MLFLOW_KEYS]
        by_name = schema.names is not None and all(
            k in schema.index or k in schema.ignored for k in keys)
        if envelope and (mlflow or not by_name):  # /invocations takes envelopes only
            return _envelope(payload, envelope, schema)
        if mlflow:
            raise RequestError(f"{_NEED_ENVELOPE}; got an object with the fields {shown(keys)}")
        if schema.names is not None:  # (without names: rows, as the answer says)
            _refuse_pandas_forms(payload, by_name)
        if keys and not any(isinstance(v, list) for v in payload.values()):
            return _records([payload], schema, "the body")
        return _columns(payload, schema, "the body")
    if mlflow:
        raise RequestError(f"{_NEED_ENVELOPE}; got {describe(payload)}")
    if isinstance(payload, list):
        return _listed(payload, schema, "the body")
    raise RequestError(f"expected JSON records, columns or rows; got {describe(payload)}")


def _refuse_pandas_forms(payload, by_name):
    """Refuse pandas' to_json forms the body is not read in (its default, an
    object of objects by index, was read as one record and blamed on row 0)."""
    if not payload:
        return
    form = ("an object of objects (pandas' to_json() default, orient='columns')"
            if all(isinstance(v, dict) for v in payload.values()) else
            "pandas' orient='split' form" if not by_name and set(payload) in (
                {"columns", "data"}, {"columns", "data", "index"}) else None)
    if form is not None:
        raise RequestError(
            f"the body is {form}: send records (df.to_json(orient='records')), columns of "
            "values ({\"age\": [31, 47]}), or it whole as {\"dataframe_split\": "
            "json.loads(df.to_json(orient='split'))}")


def _envelope(payload, envelope, schema):
    others = [k for k in payload if k not in MLFLOW_KEYS and k != "params"]
    if len(envelope) > 1 or others:
        raise RequestError(f"{_NEED_ENVELOPE} (and optionally 'params'); got the fields "
                           f"{shown(list(payload))}")
    if payload.get("params"):
        raise RequestError("'params': this model's predict takes no parameters")
    key = envelope[0]
    value = payload[key]
    if key == "dataframe_split":
        return _dataframe_split(value, schema)
    if key == "dataframe_records":
        if not isinstance(value, list):
            raise RequestError(f"'dataframe_records' must be a list of records; got "
                               f"{describe(value)}")
        return _records(value, schema, "'dataframe_records'")
    if key == "inputs" and isinstance(value, dict):
        return _columns(value, schema, "'inputs'")
    if not isinstance(value, list):
        raise RequestError(f"'{key}' must be a list of records or rows; got {describe(value)}")
    return _listed(value, schema, f"'{key}'")


def _dataframe_split(value, schema):
    where = "'dataframe_split'"
    if not isinstance(value, dict):
        raise RequestError(f"{where} must be an object with 'columns' and 'data'; got "
                           f"{describe(value)}")
    unknown = [k for k in value if k not in ("columns", "data", "index")]
    if unknown:
        raise RequestError(f"{where} takes 'columns', 'data' and 'index'; got {shown(unknown)}")
    data = value.get("data")
    if not isinstance(data, list):
        raise RequestError(f"{where}: 'data' must be a list of rows; got {describe(data)}")
    index = value.get("index")
    if index is not None and (not isinstance(index, list) or len(index) != len(data)):
        raise RequestError(f"{where}: 'index' must be a list as long as 'data' ({len(data)})")
    labels = value.get("columns")
    if labels is None:
        return _rows(data, schema, f"{where} 'data'")
    labels = _split_labels(labels, schema, where)
    _check_rows(data, len(labels), f"{where} 'data'", f"the {len(labels)} columns named")
    return _split(labels, [list(c) for c in zip(*data)], schema, where)


def _split_labels(labels, schema, where):
    """``dataframe_split``'s column labels: names, or, for a model fitted without
    names, a frame's increasing column numbers (``df.to_json(orient="split")``
    of a frame labelled 0, 1, 2), as a CSV header of them is taken."""
    numbered = isinstance(labels, list) and all(type(c) is int for c in labels)
    if numbered and schema.names is None and all(a < b for a, b in zip(labels, labels[1:])):
        return [str(c) for c in labels]
    if not isinstance(labels, list) or not all(isinstance(c, str) for c in labels):
        raise RequestError(f"{where}: 'columns' must be a list of column names" + (
            " (strings), or of increasing column numbers (the model was fitted without "
            "names: columns are taken in order)" if schema.names is None else
            f" (strings: the model takes {shown(schema.names)})"))
    return labels


def _split(labels, columns, schema, where):
    """Columns given with labels (dataframe_split, CSV)."""
    if not columns or not columns[0]:
        raise RequestError(f"{where} has no rows")
    if schema.names is None:
        if len(labels) != schema.n_features:
            raise RequestError(f"{where} has {len(labels)} columns; the model takes "
                               f"{schema.n_features} features (it was fitted without names: "
                               f"columns are taken in order)")
        return _typed(columns, schema)
    if len(set(labels)) != len(labels):  # (counted once each: a long header is one request)
        counts = collections.Counter(labels)
        raise RequestError(f"{where} names a column twice: "
                           f"{shown(sorted(c for c, n in counts.items() if n > 1))}")
    _check_names(labels, schema, where)
    return _typed(_in_schema_order(dict(zip(labels, columns)), len(columns[0]), schema), schema)


def _listed(items, schema, where):
    if not items:
        raise RequestError(f"{where} is an empty list: send at least one row")
    if isinstance(items[0], dict):
        return _records(items, schema, where)
    return _rows(items, schema, where)


def _records(records, schema, where):
    if not records:
        raise RequestError(f"{where} is an empty list: send at least one record")
    if schema.names is None:
        raise RequestError(f"the model was fitted without feature names: send rows of "
                           f"{schema.n_features} values (e.g. [[...], ...]), not records")
    expected = schema.index.keys()
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise RequestError(f"{where}, row {i}: expected a record (a JSON object); got "
                               f"{describe(record)}")
        if record.keys() != expected:
            _check_names(list(record), schema, f"{where}, row {i}")
    return _typed([[record.get(name) for record in records] for name in schema.names], schema)


def _columns(mapping, schema, where):
    if schema.names is None:
        raise RequestError(f"the model was fitted without feature names: send rows of "
                           f"{schema.n_features} values (e.g. [[...], ...]), not columns")
    _check_names(list(mapping), schema, where)
    given = [name for name in schema.names if name in mapping]  # (not every column read)
    lengths = set()
    for name in given:
        values = mapping[name]
        if not isinstance(values, list):
            raise RequestError(f"{where}: column {name!r} must be a list of values; got "
                               f"{describe(values)}")
        lengths.add(len(values))
    if len(lengths) > 1:
        sizes = ", ".join(f"{n!r}: {len(mapping[n])}" for n in given)
        raise RequestError(f"{where}: the columns have different lengths ({sizes})")
    n_rows = lengths.pop() if lengths else 0
    if not n_rows:
        raise RequestError(f"{where} has no rows: the columns are empty")
    return _typed(_in_schema_order(mapping, n_rows, schema), schema)


def _in_schema_order(by_name, n_rows, schema):
    """The columns of ``by_name`` in the model's order; one left out (a column
    the model does not read) as ``n_rows`` missing values."""
    return [by_name[name] if name in by_name else [None] * n_rows for name in schema.names]


def _rows(rows, schema, where):
    if not rows:
        raise RequestError(f"{where} is an empty list: send at least one row")
    n = schema.n_features
    _check_rows(rows, n, where, f"the model's {n} features")
    return _typed([list(c) for c in zip(*rows)], schema)


def _check_rows(rows, n, where, what):
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise RequestError(f"{where}, row {i}: expected a row (a JSON array of {n} values); "
                               f"got {describe(row)}")
        if len(row) != n:
            raise RequestError(f"{where}, row {i} has {len(row)} values; expected one for each "
                               f"of {what}")


def _check_names(given, schema, where):
    present = set(given)  # (a list: searched once per feature, 20,000 features took 1.4 s)
    missing = [name for name in schema.names if name not in present
               and name not in schema.optional]
    extra = [name for name in given if name not in schema.index and name not in schema.ignored]
    problems = []
    if missing:
        problems.append(f"missing column(s) {shown(missing)}")
    if extra:
        problems.append(f"unknown column(s) {shown(extra)}")
    if problems:
        raise RequestError(f"{where}: {'; '.join(problems)} (the model takes "
                           f"{shown(schema.names)})")


def _typed(columns, schema):
    if schema.uniform:  # every feature a number of one dtype: checked and built at once
        flat = list(itertools.chain.from_iterable(columns))
        if set(map(type, flat)) <= NUMBER_TYPES:
            try:
                with np.errstate(over="ignore"):
                    block = np.array(flat, dtype=np.float64).astype(schema.dtypes[0], copy=False)
            except OverflowError:
                block = None
            if block is not None and np.isfinite(block).all():
                return block.reshape(len(columns), -1)
    return [CONVERTERS[kind](values, dtype, schema.field(j), marker) for j, (values, dtype, kind,
            marker) in enumerate(zip(columns, schema.dtypes, schema.kinds, schema.missing))]


def _mime(content_type):
    return (content_type or "").split(";")[0].strip().lower()
