"""Fitted scikit-learn transformers -> plan nodes of Keras layers.

One function per transformer class, registered in ``CONVERTERS``; a class is
matched exactly (a subclass may transform differently). A step that cannot be
folded into a graph gets an error naming it and listing what can.
"""

from numbers import Integral

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted

from ..utils._columns import column_positions
from ..utils._readers import is_sampler
from ..utils._text import listed, not_utf8, printable
from . import _layers
from ._steps import ColumnSplit, Identity, LayerStep, Need, Sequence

CONVERTERS = {}


def converts(cls):
    """Register the decorated function as the converter of ``cls``."""

    def register(fn):
        CONVERTERS[cls] = fn
        return fn

    return register


def supported_steps():
    """The names of the steps that can be exported, for error messages."""
    names = sorted(cls.__name__ for cls in CONVERTERS)
    return (
        ", ".join(names) + " (FunctionTransformer only without func), nested Pipelines, "
        "'passthrough', and imbalanced-learn samplers (dropped: they act only in fit)"
    )


def convert(name, step):
    """The plan node computing ``step.transform``; ``name`` is the step's name."""
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return Identity()
    converter = CONVERTERS.get(type(step))
    if converter is None:
        raise ValueError(
            f"Step {name!r} ({type(step).__name__}) cannot be exported: keraslearn.export "
            f"folds only these steps into the graph: {supported_steps()}."
        )
    check_is_fitted(step)
    return converter(name, step)


# The way past a text column's missing values, which an exported graph cannot take.
_FILL_TEXT = (" To export a pipeline reading a text column with missing values, fill them "
              "before fitting (X[column].fillna('missing')): requests then send that word.")


# An imputer of text is refused whether or not the column held missing values.
_NO_TEXT_IMPUTER = (" An exported graph takes no missing text: fill them before fitting "
                    "(X[column].fillna('missing')) and leave the text columns out of this "
                    "SimpleImputer (one imputing numbers only exports); requests then send "
                    "that word.")


def _numeric(name, step, values, what):
    values = np.asarray(values)
    # e.g. SimpleImputer(strategy="constant").statistics_; text, even of digits
    # (a zip code "75001"), stays text: the column's requests send strings.
    if values.dtype.kind == "O" and not any(isinstance(v, (str, bytes)) for v in values.flat):
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError):
            pass
    if values.dtype.kind not in "biuf":
        raise ValueError(
            f"Step {name!r} ({type(step).__name__}) has non-numeric {what} "
            f"({values.dtype}); only numeric columns can be exported for it."
            + (_NO_TEXT_IMPUTER if isinstance(step, SimpleImputer) else "")
        )
    return values.astype(np.float64)


@converts(Pipeline)
def _pipeline(name, pipe):
    nodes = [
        convert(f"{name}/{sub}", step)
        for sub, step in pipe.steps
        if not is_sampler(step)
    ]
    return Sequence(nodes)


@converts(StandardScaler)
def _standard_scaler(name, scaler):
    return LayerStep(_layers.Standardize(scaler.mean_ if scaler.with_mean else None,
                                         scaler.scale_ if scaler.with_std else None))


@converts(RobustScaler)
def _robust_scaler(name, scaler):
    return LayerStep(_layers.Standardize(scaler.center_, scaler.scale_))


@converts(MaxAbsScaler)
def _max_abs_scaler(name, scaler):
    return LayerStep(_layers.Standardize(None, scaler.scale_))


@converts(MinMaxScaler)
def _min_max_scaler(name, scaler):
    clip = scaler.feature_range if scaler.clip else None
    return LayerStep(_layers.MinMax(scaler.scale_, scaler.min_, clip))


@converts(Normalizer)
def _normalizer(name, normalizer):
    return LayerStep(_layers.Normalize(normalizer.norm))


@converts(SimpleImputer)
def _simple_imputer(name, imputer):
    missing = imputer.missing_values
    number = isinstance(missing, (Integral, float, np.number))
    if isinstance(missing, (bool, np.bool_)) or not number:
        raise ValueError(
            f"Step {name!r} (SimpleImputer) has missing_values={missing!r}; only a number "
            "or NaN can mark missing values in an exported graph."
        )
    stats = _numeric(name, imputer, imputer.statistics_, "statistics_ (fitted on strings?)")
    keep = None
    if not imputer.keep_empty_features and np.isnan(stats).any():
        keep = np.flatnonzero(~np.isnan(stats))
    indicator = imputer.indicator_.features_ if imputer.add_indicator else None
    return LayerStep(_layers.Impute(missing, stats, keep, indicator))


@converts(OneHotEncoder)
def _one_hot_encoder(name, encoder):
    infrequent = getattr(encoder, "infrequent_categories_", None) or []
    if any(c is not None for c in infrequent):
        raise ValueError(
            f"Step {name!r} (OneHotEncoder) groups infrequent categories "
            "(min_frequency/max_categories); it cannot be exported."
        )
    drop = encoder.drop_idx_
    encoders, needs = [], []
    for i, categories in enumerate(encoder.categories_):
        if drop is not None and drop[i] is not None:
            categories = np.delete(categories, int(drop[i]))
        if _are_strings(categories, name, i):
            texts = _texts(name, categories, i)
            encoders.append(_layers.StringCategories(texts))
            needs.append(Need("string", tuple(texts)))
        else:
            values = _numeric(name, encoder, categories, f"categories in column {i}")
            as_float32 = values.astype(np.float32)
            exact = np.isnan(values) | (as_float32.astype(np.float64) == values)
            if not exact.all():
                raise ValueError(
                    f"Step {name!r} (OneHotEncoder) has categories in column {i} that "
                    "float32 cannot hold exactly "
                    f"({values[~exact][:3].tolist()}); they cannot be exported."
                )
            encoders.append(_layers.NumberCategories(values))
            needs.append(Need("float32"))
    return LayerStep(_layers.OneHotColumns(encoders), per_column=True, column_needs=needs)


def _are_strings(categories, name, i):
    """Whether one-hot categories are text (str, or bytes as np.genfromtxt
    reads them); an object column of numbers or booleans is numeric."""
    if categories.dtype.kind in "US":
        return True
    if categories.dtype.kind != "O":
        return False
    if all(isinstance(c, (str, bytes)) for c in categories):
        return True
    if not any(isinstance(c, (str, bytes)) for c in categories):
        return False
    raise ValueError(
        f"Step {name!r} (OneHotEncoder) has categories in column {i} "
        f"{categories.tolist()[:5]!r} that mix strings with other values "
        "(missing values in a string column?); only all-string or all-numeric "
        "columns can be exported." + _FILL_TEXT
    )


def _texts(name, categories, i):
    """Text categories as the graph's strings hold them: bytes (b"red") by their
    UTF-8 text ("red"; str() gave "b'red'", which no request held)."""
    try:
        texts = [c.decode("utf-8") if isinstance(c, bytes) else str(c) for c in categories]
    except UnicodeDecodeError:
        raise ValueError(
            f"Step {name!r} (OneHotEncoder) has byte-string categories in column {i} that "
            "are not UTF-8 text; they cannot be exported (decode them before fitting)."
        ) from None
    if bad := not_utf8(texts):  # (lone surrogates: names read from files that are not UTF-8)
        raise ValueError(
            f"Step {name!r} (OneHotEncoder) has categories in column {i} that are not UTF-8 "
            f"text ({listed(bad, as_text=printable)}, escaped as \\xNN); they cannot be "
            "exported (decode them from their encoding before fitting).")
    return texts


@converts(FunctionTransformer)
def _function_transformer(name, transformer):
    if transformer.func is not None:
        func = getattr(transformer.func, "__name__", repr(transformer.func))
        raise ValueError(
            f"Step {name!r} (FunctionTransformer) applies {func}; only a FunctionTransformer "
            "without func (the identity) can be exported, as arbitrary Python code "
            "cannot be folded into a graph."
        )
    return Identity()


@converts(ColumnTransformer)
def _column_transformer(name, ct):
    names = getattr(ct, "feature_names_in_", None)
    names = None if names is None else [str(n) for n in names]
    parts = []
    for sub, transformer, columns in ct.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        indices = column_positions(columns, names, ct.n_features_in_)
        if len(indices) == 0:
            continue
        node = convert(f"{name}/{sub}", transformer)
        weight = (ct.transformer_weights or {}).get(sub)
        if weight is not None and weight != 1:  # scikit-learn multiplies the part's output
            node = Sequence([node, LayerStep(_layers.Weigh(weight))])
        parts.append((indices, node))
    return ColumnSplit(parts, names)
