"""Which fitted step first reads each input column of a served model, and what it takes.

A served model is read through: a search to its ``best_estimator_``, an ensemble
or wrapper (voting, stacking, bagging, calibrated, one-vs-rest, multi-output,
threshold, self-training, frozen, a TransformedTargetRegressor) to each estimator
it hands X to, a pipeline
to the first of its steps that reads at prediction (samplers act in fit only,
``"passthrough"`` reads nothing), a ``ColumnTransformer`` to the transformer of
each column, nested ones included, a ``FeatureUnion`` to each of its
transformers (a column takes what all of them take). Three things are read there:

- the columns from which that step learnt strings (an encoder's categories, an
  imputer's fill value, a text vectorizer's vocabulary) or which it reads as
  file paths (keraslearn's ``ImageLoader``), which the server takes as text
  (:func:`string_columns`);
- the columns it imputes (a scikit-learn imputer whose ``missing_values`` is
  NaN, None or ``pd.NA``, after scalers that keep NaN too), whose missing values
  it encodes as numbers (:func:`_encoder_markers`) or which it drops, where a
  request's missing value is taken and stored as that step's marker
  (:func:`missing_markers`);
- the categories an encoder refuses any other string than
  (:func:`known_categories`), so that the server names the column of an
  unknown one before the model runs.

A column selection that cannot be read (a callable left after fit) makes no
promise for any column of its transformer.

The server reads both (``keraslearn.serving``), the export which of its graph's
inputs it imputes, and the MLflow model which columns take NaN.
"""

import functools

import numpy as np

from ._columns import column_positions
from ._readers import readers_of, reading_steps
from ._validation import is_missing


class _Refused:
    def __repr__(self):
        return "REFUSED"


REFUSED = _Refused()  # a feature whose missing values are refused


def is_nan(value):
    return isinstance(value, float) and value != value


def missing_markers(model, keys):
    """Per input column of ``model`` (names, or indices for a model fitted
    without names), the value a missing value is stored as for the first step
    that reads it, or REFUSED: only a scikit-learn imputer (``SimpleImputer``,
    ``KNNImputer``, ``IterativeImputer``, ``MissingIndicator`` where it takes
    them) whose ``missing_values`` is NaN, None or pd.NA takes missing values,
    as does a column a ``ColumnTransformer`` drops; a network alone refuses them."""
    return _per_column(model, list(keys), _markers, _same_marker, REFUSED)


def imputed_keys(model, keys, first_imputer=False):
    """The keys of the columns whose NaN ``model`` imputes (see :func:`missing_markers`);
    ``first_imputer``: only those an imputer reads first (or a dropped column),
    what an exported graph's text column takes."""
    keys = list(keys)
    markers = _per_column(model, keys, _first_imputer if first_imputer else _markers,
                          _same_marker, REFUSED)
    return [k for k, marker in zip(keys, markers) if is_nan(marker)]


def reader_ids(model, keys):
    """Per input column, the id of the step reading it first (a ColumnTransformer's
    transformer; its "passthrough" or "drop" by name): columns alike share one."""
    return _per_column(model, list(keys), lambda steps, keys: [
        steps[0] if isinstance(steps[0], str) else id(steps[0])] * len(keys),
        lambda a, b: a, None)


def known_values(model, keys):
    """Per input column, a category the encoder reading it first (past scalers)
    learnt, or None: a value every step takes there (an exported graph's probe
    row of random numbers was an unknown category to a one-hot encoder of numbers)."""
    return _per_column(model, list(keys), _known_values, lambda a, b: a if b is None else b,
                       None)


def _known_values(steps, keys):
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    step = None if isinstance(steps[0], str) else _past_scalers(steps)
    categories = _fitted_categories(step, len(keys), (OneHotEncoder, OrdinalEncoder))
    if categories is None:
        return [None] * len(keys)
    return [next((v for v in c if not is_missing(v)), None) for c in categories]


def string_columns(model, keys):
    """The input columns (names, or indices for a model fitted without names)
    from which the first step reading them learnt strings."""
    keys = list(keys)
    flags = _per_column(model, keys, _learnt_strings, lambda a, b: a or b, False)
    return [k for k, strings in zip(keys, flags) if strings]


def dropped_columns(model, names):
    """The named input columns that ``model``'s first reading step, a
    ``ColumnTransformer``, drops (every transformer selecting them is
    ``"drop"``, its remainder included): scikit-learn's ColumnTransformer
    takes a DataFrame without them, and a server need not ask for them."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.semi_supervised import SelfTrainingClassifier

    names = list(names)
    if isinstance(model, SelfTrainingClassifier):
        return set()  # it makes X numbers before its estimator drops any column
    readers = readers_of(model)
    if readers != [model]:  # a column every model reading X drops
        return set.intersection(*(dropped_columns(r, names) for r in readers))
    step = model
    if isinstance(step, Pipeline):
        steps = reading_steps(step)
        step = steps[0] if steps else None
        if step is not None and readers_of(step) != [step]:  # an ensemble, a search
            return dropped_columns(step, names)
    if not (isinstance(step, ColumnTransformer) and hasattr(step, "transformers_")):
        return getattr(step, "_unread_names", lambda names: set())(names)  # ColumnGroups'
    dropped, read = set(), set()
    for _, inner, columns in step.transformers_:
        try:
            selected = {names[i] for i in column_positions(columns, names, len(names))}
        except (ValueError, IndexError, TypeError):
            return set()  # a selection not read here: nothing promised
        (dropped if isinstance(inner, str) and inner == "drop" else read).update(selected)
    return dropped - read


def known_categories(model, keys):
    """Per input column (names, or indices for a model fitted without names),
    the strings its first step knows and refuses any other of (a
    ``OneHotEncoder`` or ``OrdinalEncoder`` with ``handle_unknown="error"``
    that learnt only strings there), as a frozenset; None where any value
    goes on to the model. A column two such encoders read takes what both know."""
    return _per_column(model, list(keys), _categories, _both_know, None)


def _categories(steps, keys):
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    step, n = steps[0], len(keys)
    filled = ()  # an imputer's own marker of missing strings ("?"), which it replaces
    if isinstance(step, SimpleImputer) and len(steps) > 1:  # strings go on as they are
        filled = (step.missing_values,) if isinstance(step.missing_values, str) else ()
        step = steps[1]
    categories = _fitted_categories(step, n, (OneHotEncoder, OrdinalEncoder))
    if categories is None or step.handle_unknown != "error":
        return [None] * n
    known = [[v for v in np.asarray(c, dtype=object) if not is_missing(v)]  # (learnt:
             for c in categories]  # the missing value is no category to refuse)
    return [frozenset(c).union(filled) if all(type(v) is str for v in c) else None
            for c in known]


def object_numbers(model, keys):
    """Per input column (names, or indices for a model fitted without names),
    ``"i"`` or ``"f"`` where the first step reading it is an encoder fitted on
    an object column of integers or of numbers (its categories are Python
    numbers in an object array: it takes only objects, NumPy's numbers fail its
    ``isnan``), else None."""
    return _per_column(model, list(keys), _object_numbers, lambda a, b: a or b, None)


def _object_numbers(steps, keys):
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

    step, n = steps[0], len(keys)
    categories = _fitted_categories(step, n, (OneHotEncoder, OrdinalEncoder, TargetEncoder))
    if categories is None:
        return [None] * n
    kinds = []
    for known in categories:
        values = [v for v in np.asarray(known).tolist() if not (v is None or is_nan(v))]
        numbers = np.asarray(known).dtype == object and values and all(
            isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
            for v in values)
        kinds.append(None if not numbers else "i" if all(
            float(v).is_integer() and not isinstance(v, (float, np.floating)) for v in values)
            else "f")
    return kinds


def _fitted_categories(step, n, encoders):
    """The categories a fitted encoder among ``encoders`` learnt, one array for
    each of its ``n`` columns; None for another step."""
    categories = getattr(step, "categories_", None)
    if isinstance(step, encoders) and isinstance(categories, list) and len(categories) == n:
        return categories
    return None


def _both_know(a, b):
    return b if a is None else a if b is None else a & b


def _per_column(step, keys, answer, combine, default):
    """``answer(steps, keys)`` per key for the reading steps of the first
    step that is not a ColumnTransformer, through those that are; a column two
    transformers read gets ``combine`` of their answers."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    readers = readers_of(step)
    if readers != [step]:  # each model reading X as it is: answers combined per column
        answers = [_per_column(r, keys, answer, combine, default) for r in readers]
        return [functools.reduce(combine, column) for column in zip(*answers)]
    steps = [step]
    if isinstance(step, Pipeline):
        steps = reading_steps(step)
        if not steps:
            return answer(["passthrough"], keys)
        if readers_of(steps[0]) != [steps[0]]:  # an ensemble, a search: its readers answer
            return _per_column(steps[0], keys, answer, combine, default)
    if isinstance(steps[0], FeatureUnion):  # each transformer reads every column
        answers = [_per_column(t, keys, answer, combine, default)
                   for _, t in steps[0].transformer_list if not (isinstance(t, str) and t == "drop")
                   ] if hasattr(steps[0], "n_features_in_") else []
        return [functools.reduce(combine, column) for column in zip(*answers)] or (
            [default] * len(keys))
    if not isinstance(steps[0], ColumnTransformer):
        return answer(steps, keys)
    head = steps[0]
    if not hasattr(head, "transformers_"):
        return [default] * len(keys)
    names = keys if all(isinstance(k, str) for k in keys) else None
    found = {}
    for _, inner, columns in head.transformers_:
        try:
            selected = [keys[i] for i in column_positions(columns, names, len(keys))]
        except (ValueError, IndexError, TypeError):
            return [default] * len(keys)  # a selection not read here: nothing promised
        for key, value in zip(selected, _per_column(inner, selected, answer, combine, default)):
            found[key] = combine(found[key], value) if key in found else value
    return [found.get(k, default) for k in keys]


def first_readers(model):
    """The fitted steps reading ``model``'s X first, as it is: through searches,
    ensembles and wrappers (:func:`._readers.readers_of`) and pipelines (their first step
    reading at prediction)."""
    from sklearn.pipeline import Pipeline

    readers = readers_of(model)
    if readers != [model]:
        return [first for reader in readers for first in first_readers(reader)]
    if isinstance(model, Pipeline):
        steps = reading_steps(model)
        return first_readers(steps[0]) if steps else []
    return [model]


def fitted_features(model):
    """``(feature_names_in_, n_features_in_)`` of a fitted model, each None
    where it says nothing; a model that says neither (a pipeline whose first
    step is ``"passthrough"`` or None) answers for the steps reading its X first
    when they agree."""
    names = getattr(model, "feature_names_in_", None)
    n = getattr(model, "n_features_in_", None)
    if names is None and n is None:
        readers = [r for r in first_readers(model) if r is not model]
        found = {(tuple(getattr(r, "feature_names_in_", ())),
                  repr(getattr(r, "n_features_in_", None))) for r in readers}
        if len(found) == 1:
            names = getattr(readers[0], "feature_names_in_", None)
            n = getattr(readers[0], "n_features_in_", None)
    return names, n


def _first_imputer(steps, keys):
    if isinstance(steps[0], str):
        return [np.nan if steps[0] == "drop" else REFUSED] * len(keys)
    return _imputer_markers(steps[0], len(keys))


def _markers(steps, keys):
    from sklearn.preprocessing import OrdinalEncoder

    if isinstance(steps[0], str):
        return _first_imputer(steps, keys)
    ahead = _past_scalers(steps)
    after = steps[steps.index(ahead) + 1:]  # (an imputer of an ordinal encoder's NaN codes)
    imputed = isinstance(ahead, OrdinalEncoder) and bool(after) and all(
        is_nan(m) for m in _per_column(_past_scalers(after), keys, _markers, _same_marker,
                                       REFUSED))
    return _encoder_markers(ahead, len(keys), imputed) or _imputer_markers(ahead, len(keys))


def _past_scalers(steps):
    """The first of ``steps`` past the scalers, which keep NaN column for column."""
    return next((s for s in steps if not _keeps_nan(s)), steps[-1])


def _keeps_nan(step):
    """Whether a fitted step passes NaN on in its column, as scikit-learn's scalers
    do, and an identity FunctionTransformer that does not validate."""
    from sklearn import preprocessing as pre

    if isinstance(step, pre.FunctionTransformer):
        return step.func is None and not step.validate
    return isinstance(step, (pre.StandardScaler, pre.MinMaxScaler, pre.MaxAbsScaler,
                             pre.RobustScaler, pre.PowerTransformer, pre.QuantileTransformer))


def _encoder_markers(step, n, nan_imputed=False):
    """Per column of an encoder making a missing value finite numbers: the missing
    value it learnt (None, NaN or pd.NA, as the column held it), else NaN where it
    encodes unknown values (a ``TargetEncoder``; a ``OneHotEncoder`` whose
    ``handle_unknown`` is not "error"), else REFUSED; None for another step. An
    ``OrdinalEncoder`` takes them where it codes them with a number, or where a
    step after it imputes its NaN code (``nan_imputed``)."""
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, TargetEncoder

    categories = _fitted_categories(step, n, (OneHotEncoder, OrdinalEncoder, TargetEncoder))
    if categories is None:
        return None
    if isinstance(step, OrdinalEncoder):  # (a NaN code would reach the network)
        learnt_taken = nan_imputed or not is_nan(step.encoded_missing_value)
        unknown_taken = step.handle_unknown == "use_encoded_value" and (
            nan_imputed or not is_nan(step.unknown_value))
    else:
        learnt_taken = True
        unknown_taken = isinstance(step, TargetEncoder) or step.handle_unknown != "error"
    markers = []
    for known in categories:
        learnt = [v for v in np.asarray(known, dtype=object).tolist()
                  if v is None or is_nan(v) or type(v).__name__ == "NAType"]
        markers.append((learnt[0] if learnt_taken else REFUSED) if learnt
                       else np.nan if unknown_taken else REFUSED)
    return markers


def _same_marker(a, b):
    # A column read by two transformers takes a missing value if both impute it.
    return a if a is b or (is_nan(a) and is_nan(b)) else REFUSED


def _imputer_markers(step, n):
    """Per column of a fitted step: the missing-value marker of a scikit-learn
    imputer that replaces every missing value it reads there (NaN, None or
    pd.NA), else REFUSED."""
    from sklearn.impute import KNNImputer, MissingIndicator, SimpleImputer

    # IterativeImputer by name: scikit-learn offers it only once enabled, which
    # a process that loaded a fitted one (keraslearn serve) never did.
    iterative = type(step).__name__ == "IterativeImputer" and type(step).__module__.startswith(
        "sklearn.impute")
    if not (iterative or isinstance(step, (SimpleImputer, KNNImputer, MissingIndicator))):
        return [REFUSED] * n
    marker = step.missing_values
    if not (marker is None or is_nan(marker) or type(marker).__name__ == "NAType"):
        return [REFUSED] * n  # a number or string marks missing values: null is not one
    marker = np.nan if is_nan(marker) else marker
    if isinstance(step, MissingIndicator) and step.features == "missing-only" and (
            step.error_on_new):  # it refuses missing values in columns that had none in fit
        taken = set(step.features_)
        return [marker if j in taken else REFUSED for j in range(n)]
    return [marker] * n


def _learnt_strings(steps, keys):
    n = len(keys)
    if isinstance(steps[0], str):  # dropped or passed through
        return [False] * n
    answers = [_strings_of(s) for s in steps]
    per_column = [a for a in answers if isinstance(a, list)]  # the first step that says
    if per_column:
        return per_column[0] if len(per_column[0]) == n else [False] * n
    return [any(answers)] * n


def _strings_of(step):
    """Per input column of a fitted transformer, whether it learnt strings from
    it (a list), or one answer for all its columns (a bool)."""
    from ..preprocessing import ImageLoader

    if isinstance(step, ImageLoader):  # its column holds paths to image files
        return True
    categories = getattr(step, "categories_", None)
    if isinstance(categories, list):  # OneHotEncoder, OrdinalEncoder: one array per column
        return [any(isinstance(v, str) for v in np.asarray(c, dtype=object)) for c in categories]
    statistics = getattr(step, "statistics_", None)  # SimpleImputer: one value per column
    if statistics is not None and np.asarray(statistics).dtype.kind in "OUS":
        return [isinstance(v, str) for v in np.asarray(statistics, dtype=object)]
    # A text vectorizer (a HashingVectorizer learns no vocabulary): its column holds text.
    return hasattr(step, "vocabulary_") or callable(getattr(step, "build_analyzer", None))
