"""Which inputs of an exported graph take a missing value (NaN): those whose
NaN the graph's preprocessing makes finite, found by running it, where the
pipeline takes it too."""

import numpy as np

from .._tf import tf


def imputed_features(pipeline, features, n_features, inputs_meta, model, probe, network_width):
    """The graph's input features (names, or indices without names) whose NaN
    the graph takes: a number column whose NaN its preprocessing makes finite
    (an imputer, wherever it is, an encoder that learnt NaN), tried on the
    probe's first row, unless the pipeline refuses it (see
    :func:`~keraslearn.utils._first_steps.missing_markers`): the step reading it
    first is no imputer past scalers (a Normalizer, a validating
    FunctionTransformer), or an encoder that refuses NaN (the graph encodes it
    as an unknown category); a text column the pipeline's first step reading
    it imputes.
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
        refused = _refused(pipeline, keys)
        return [j for j in keys if taken[j] and j not in refused]
    imputed = set(imputed_keys(pipeline, [str(f) for f in features], first_imputer=True))
    numbers = [entry for entry in inputs_meta if entry["dtype"] != "string"]

    def feed(start, stop):  # one row per number column, NaN in that column
        rows = {key: np.repeat(values[:1], stop - start) for key, values in probe.items()}
        for row, entry in enumerate(numbers[start:stop]):
            rows[entry["name"]][row] = np.nan
        return rows

    taken = _finite_with_nan(model, feed, len(numbers), max(len(probe), network_width))
    refused = _refused(pipeline, [str(f) for f in features])
    numbers_taken = {entry["feature"] for entry, ok in zip(numbers, taken)
                     if ok and entry["feature"] not in refused}
    return [entry["feature"] for entry in inputs_meta if entry["feature"] in numbers_taken
            or (entry["dtype"] == "string" and entry["feature"] in imputed)]


def _refused(pipeline, keys):
    """The keys of the columns whose missing value the pipeline refuses."""
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
