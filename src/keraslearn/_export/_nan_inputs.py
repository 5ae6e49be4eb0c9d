"""Which inputs of an exported graph take a missing value (NaN): those whose
NaN the graph's preprocessing makes finite, found by running it, where the
pipeline takes it too."""

import collections

import numpy as np
import pandas as pd

from .._tf import tf


def imputed_features(pipeline, features, n_features, inputs_meta, model, probe, network_width):
    """The graph's input features (names, or indices without names) whose NaN
    the graph takes: a number column whose NaN its preprocessing makes finite
    (an imputer, wherever it is, an encoder that learnt NaN), tried on the
    probe's first row, where the pipeline's own steps take that row too (see
    :func:`_taken_by_pipeline`: a Normalizer or a validating FunctionTransformer
    refuses NaN before the imputer, an encoder refusing unknown values refuses
    it); a text column the pipeline's first step reading it imputes.
    ``network_width``: the cells of one row the preprocessing gives the network."""
    from ..utils._first_steps import imputed_keys

    if features is None:
        if len(inputs_meta[0]["shape"]) != 2:
            return []  # images
        keys = list(range(n_features))
        if inputs_meta[0]["dtype"] == "string":
            return list(imputed_keys(pipeline, keys, first_imputer=True))

        def rows(start, stop):  # row j: NaN in column start + j
            feed = np.repeat(probe["inputs"][:1], stop - start, axis=0)
            feed[np.arange(stop - start), np.arange(start, stop)] = np.nan
            return {"inputs": feed}

        taken = _finite_with_nan(model, rows, n_features, max(n_features, network_width))
        first = np.asarray(probe["inputs"][:1], dtype=np.float64)
        for j, value in _known_numbers(pipeline, keys).items():
            first[0, j] = value

        def raw(columns):  # the pipeline's input: row j, NaN in columns[j]
            table = np.repeat(first, max(len(columns), 1), axis=0)
            table[np.arange(len(columns)), columns] = np.nan
            return table

        kept = _taken_by_pipeline(pipeline, raw, [j for j in keys if taken[j]], keys)
        return [j for j in keys if j in kept]
    imputed = set(imputed_keys(pipeline, [str(f) for f in features], first_imputer=True))
    numbers = [entry for entry in inputs_meta if entry["dtype"] != "string"]

    def feed(start, stop):  # one row per number column, NaN in that column
        rows = {key: np.repeat(values[:1], stop - start) for key, values in probe.items()}
        for row, entry in enumerate(numbers[start:stop]):
            rows[entry["name"]][row] = np.nan
        return rows

    taken = _finite_with_nan(model, feed, len(numbers), max(len(probe), network_width))
    values = {entry["feature"]: probe[entry["name"]][0] for entry in inputs_meta}
    names = [str(f) for f in features]
    values.update((name, value) for name, value in _known_numbers(pipeline, names).items()
                  if name in values and not isinstance(values[name], str))

    # the pipeline's input row (its columns dropped from the graph: 0)
    first = pd.DataFrame({f: pd.Series([values.get(f, 0.0)], dtype=object if isinstance(
        values.get(f), str) else np.float64) for f in names})
    positions = {f: j for j, f in enumerate(names)}

    def frame(columns):  # row j: NaN in columns[j]
        table = first.iloc[np.zeros(max(len(columns), 1), dtype=int)].reset_index(drop=True)
        for row, feature in enumerate(columns):
            table.iat[row, positions[feature]] = np.nan
        return table

    numbers_taken = _taken_by_pipeline(
        pipeline, frame, [entry["feature"] for entry, ok in zip(numbers, taken) if ok], names)
    return [entry["feature"] for entry in inputs_meta if entry["feature"] in numbers_taken
            or (entry["dtype"] == "string" and entry["feature"] in imputed)]


def _known_numbers(pipeline, keys):
    """``{key: float}``: a number category the encoder reading that column first
    learnt, for the probe row (its random numbers are unknown to such an encoder)."""
    from ..utils._first_steps import known_values
    from ..utils._validation import is_number

    return {key: float(value) for key, value in zip(keys, known_values(pipeline, keys))
            if is_number(value) and not isinstance(value, (str, bytes))}


def _taken_by_pipeline(pipeline, raw, candidates, keys):
    """The ``candidates`` (keys of columns whose NaN the graph takes) whose NaN
    the pipeline's steps take: ``raw(columns)`` (row j, the probe's first row
    with NaN in ``columns[j]``) transformed by them without an error, tried in
    halves down to single columns, in ``_MAX_WORK / width`` calls at most (64
    at least). Where they refuse the probe row itself (a category it does not
    hold), and for the columns the calls left undecided, serving's rule stands
    (:func:`_refused`)."""
    import warnings

    from ._graph import split_pipeline

    steps = [step for _, step in split_pipeline(pipeline)[0]
             if step is not None and not (isinstance(step, str) and step == "passthrough")]

    def runs(columns):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                X = raw(columns)
                for step in steps:
                    X = step.transform(X)
        except Exception:  # (a step refusing NaN: scikit-learn's ValueError, or another's)
            return False
        return True

    if not candidates:
        return set()
    refused = _refused(pipeline, keys)
    if not runs([]):
        return set(candidates) - refused
    # Columns read by one step kept together, so that halves split between steps
    # (a ColumnTransformer's Normalizer refusing NaN, its passthrough taking it).
    from ..utils._first_steps import reader_ids

    reader = dict(zip(keys, map(str, reader_ids(pipeline, keys))))
    candidates = sorted(candidates, key=lambda k: (k in refused, reader[k]))
    size = max(1, _CELLS // max(1, len(keys)))
    # (halves breadth first: a budget spent on one step's refusals leaves the others tried)
    groups = collections.deque(candidates[i:i + size] for i in range(0, len(candidates), size))
    taken, undecided, left = set(), [], max(64, _MAX_WORK // max(1, len(keys)))
    while groups:
        group = groups.popleft()
        if not left:
            undecided += group
            continue
        left -= 1
        if runs(group):
            taken.update(group)
        elif len(group) > 1:
            groups += [group[:len(group) // 2], group[len(group) // 2:]]
    return taken | (set(undecided) - refused)


# Transform calls of the search: about 2 per column refused, each the longer the
# wider the table (one-hot encoders of 600 columns: 0.14 s), so bounded by width.
_MAX_WORK = 20_000


def _refused(pipeline, keys):
    """The keys of the columns whose missing value serving refuses (see
    :func:`~keraslearn.utils._first_steps.missing_markers`: the step reading
    them first is no imputer past scalers, or an encoder that refuses NaN);
    it refuses some the pipeline takes (an imputer after a ColumnTransformer)."""
    from ..utils._first_steps import REFUSED, missing_markers

    return {k for k, marker in zip(keys, missing_markers(pipeline, keys)) if marker is REFUSED}


def _finite_with_nan(model, rows, n_rows, width):
    """Per row of ``rows(0, n_rows)`` (the probe's first row, NaN in one column):
    whether the preprocessing gives the network finite values; in calls of a
    bounded number of cells (``width``: of one row, given or given to the
    network), whatever the number of columns."""
    if not n_rows:
        return []
    step = max(1, _CELLS // width)
    return [ok for start in range(0, n_rows, step)
            for ok in _finite(model, rows(start, min(start + step, n_rows)))]


_CELLS = 1 << 20  # (of one call's input or output matrix)


def _finite(model, feed):
    """Per row of ``feed``: whether the preprocessing gives the network finite values."""
    x = model.preprocess(as_tensors(feed))
    return np.isfinite(np.asarray(x)).reshape(len(x), -1).all(axis=1)


def as_tensors(feed):
    if list(feed) == ["inputs"]:
        return tf.constant(feed["inputs"])
    return {k: tf.constant(v) for k, v in feed.items()}
