"""Each converted transformer computes what its ``transform`` computes (float32)."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    RobustScaler,
    StandardScaler,
)

from keraslearn._export._converters import convert
from keraslearn._export._steps import Frame

RTOL, ATOL = 1e-5, 1e-5


def numbers(seed, n=60, d=4, nan_every=0):
    """Columns of different scales; none whose mean is far beyond its spread (float32
    inputs cannot resolve such a column, whatever computes on them)."""
    rng = np.random.default_rng(seed)
    scale, offset = np.array([1, 50, 0.01, 1000]), np.array([0, 10, -0.02, 2e3])
    X = rng.normal(0, 1, (n, d)) * scale[:d] + offset[:d]
    X[::7, 0] = 0.0  # repeated values, for most_frequent
    if nan_every:
        X[::nan_every, 1] = np.nan
        X[1::nan_every + 1, 3] = np.nan
    return X


def as_float32(X):
    """X as the exported graph receives it: numbers in float32 (strings unchanged)."""
    if isinstance(X, pd.DataFrame):
        return X.apply(lambda c: c.astype(np.float32).astype(np.float64)
                       if pd.api.types.is_numeric_dtype(c) else c)
    return np.asarray(X, dtype=np.float32).astype(np.float64)


def run(node, X):
    """The node on X, given as float32 columns (strings as strings)."""
    if isinstance(X, pd.DataFrame):
        frame = Frame(columns=[
            tf.constant(X[c].to_numpy(np.float32) if pd.api.types.is_numeric_dtype(X[c])
                        else X[c].to_numpy(object))
            for c in X.columns
        ])
    else:
        frame = Frame(matrix=tf.constant(np.asarray(X, dtype=np.float32)))
    return np.asarray(node(frame).as_matrix())


def transformed(fitted, X):
    """What scikit-learn computes on the same (float32) input, densified."""
    out = fitted.transform(as_float32(X))
    return out.toarray() if hasattr(out, "toarray") else np.asarray(out, dtype=np.float64)


def check(transformer, X_fit, X_new):
    fitted = transformer.fit(X_fit)
    got = run(convert("step", fitted), X_new)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, transformed(fitted, X_new), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("transformer", [
    StandardScaler(), StandardScaler(with_mean=False), StandardScaler(with_std=False),
    MinMaxScaler(), MinMaxScaler(feature_range=(-1, 2), clip=True),
    MaxAbsScaler(),
    RobustScaler(), RobustScaler(with_centering=False, quantile_range=(10, 90)),
    RobustScaler(with_scaling=False, unit_variance=True),
    Normalizer("l1"), Normalizer("l2"), Normalizer("max"),
    FunctionTransformer(),
], ids=repr)
def test_numeric_transformer(transformer):
    X_new = numbers(1) * 1.5  # beyond the fitted range: MinMaxScaler's clip matters
    X_new[3] = 0.0  # a zero row: Normalizer leaves it as it is
    check(transformer, numbers(0), X_new)


@pytest.mark.parametrize("imputer", [
    SimpleImputer(), SimpleImputer(strategy="median"), SimpleImputer(strategy="most_frequent"),
    SimpleImputer(strategy="constant", fill_value=7.5), SimpleImputer(add_indicator=True),
], ids=repr)
def test_simple_imputer_replaces_nan(imputer):
    check(imputer, numbers(0, nan_every=5), numbers(1, nan_every=3))


def test_simple_imputer_with_a_number_for_missing():
    X_fit, X_new = np.round(numbers(0)), np.round(numbers(1))
    X_fit[::4, 2] = X_new[::3, 2] = -1
    check(SimpleImputer(missing_values=-1, strategy="median"), X_fit, X_new)


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize("keep_empty", [False, True])
def test_simple_imputer_drops_or_keeps_columns_empty_at_fit(keep_empty):
    X_fit = numbers(0)
    X_fit[:, 2] = np.nan
    check(SimpleImputer(keep_empty_features=keep_empty, add_indicator=True), X_fit,
          numbers(1, nan_every=4))


@pytest.mark.parametrize("encoder", [
    OneHotEncoder(), OneHotEncoder(drop="first"), OneHotEncoder(drop="if_binary"),
    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
], ids=repr)
def test_one_hot_encoder_on_integers(encoder):
    rng = np.random.default_rng(0)
    X_fit = np.column_stack([rng.integers(0, 4, 50), rng.integers(0, 2, 50),
                             rng.integers(-9, -6, 50)])
    X_new = X_fit[::-1][:20] if encoder.handle_unknown == "error" else X_fit[:20] + 1
    check(encoder, X_fit, X_new)


def test_one_hot_encoder_unknown_values_are_zeros():
    X_fit = np.array([[1.0], [2.0], [np.nan]])
    fitted = OneHotEncoder(handle_unknown="ignore").fit(X_fit)
    X_new = np.array([[2.0], [5.0], [np.nan], [1.0]])  # 5 is unknown; NaN is a category
    np.testing.assert_array_equal(run(convert("ohe", fitted), X_new),
                                  fitted.transform(X_new).toarray())
    assert run(convert("ohe", fitted), X_new)[1].sum() == 0


@pytest.mark.filterwarnings("ignore:Found unknown categories")
@pytest.mark.parametrize("drop", [None, "first"])
def test_one_hot_encoder_on_strings(drop):
    fit = pd.DataFrame({"city": ["oslo", "rome", "paris", "rome"], "size": ["S", "L", "L", "M"]})
    new = pd.DataFrame({"city": ["rome", "lima", "oslo"], "size": ["M", "S", "XL"]})
    fitted = OneHotEncoder(drop=drop, handle_unknown="ignore").fit(fit)
    np.testing.assert_array_equal(run(convert("ohe", fitted), new), fitted.transform(new).toarray())


def test_one_hot_encoder_on_bytes_reads_them_as_their_text():
    # Bytes categories (np.genfromtxt's) were keyed as "b'red'": every value, fed
    # as bytes or text, was encoded as zeros, and the export's own check agreed.
    X_fit = np.array([[b"red"], [b"green"], [b"blue"], [b"red"]])
    fitted = OneHotEncoder().fit(X_fit)
    frame = pd.DataFrame({"c": X_fit[:, 0].astype(object)})
    expected = fitted.transform(X_fit).toarray()
    for column in (frame, frame.assign(c=frame["c"].str.decode("utf-8"))):
        np.testing.assert_array_equal(run(convert("ohe", fitted), column), expected)
    latin = OneHotEncoder().fit(np.array([[b"caf\xe9"], [b"tea"]]))
    with pytest.raises(ValueError, match="byte-string categories in column 0 that are not "
                                         "UTF-8 text"):
        convert("ohe", latin)


@pytest.mark.parametrize("values", [[101, 202, 303, 101], [True, False, True, True]],
                         ids=["ints", "bools"])
def test_one_hot_encoder_on_an_object_column_of_numbers(values):
    # Refused as categories that "mix strings with other values": there were none.
    X_fit = np.array(values, dtype=object)[:, None]
    fitted = OneHotEncoder(handle_unknown="ignore").fit(X_fit)
    X_new = np.array([[values[1]], [values[0]], [7]], dtype=float)
    np.testing.assert_array_equal(run(convert("ohe", fitted), X_new),
                                  fitted.transform(X_new.astype(object)).toarray())


@pytest.mark.parametrize("remainder", ["drop", "passthrough"])
def test_column_transformer_on_a_dataframe(remainder):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(5, 2, 30),
                       "city": rng.choice(["x", "y", "z"], 30), "c": rng.normal(size=30),
                       "d": rng.normal(size=30)})
    df.loc[::4, "b"] = np.nan
    ct = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["a", "b"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
        ("slice", MinMaxScaler(), slice("c", "c")),  # a label slice includes its end
        ("again", "passthrough", ["a"]),
    ], remainder=remainder).fit(df)
    new = df.iloc[:12].copy()
    new.loc[new.index[0], "city"] = "unseen"
    np.testing.assert_allclose(run(convert("ct", ct), new), transformed(ct, new),
                               rtol=RTOL, atol=ATOL)


def test_column_transformer_weights_multiply_their_parts():
    # transformer_weights were left out: the export computed another model.
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=30), "city": rng.choice(["x", "y"], 30),
                       "c": rng.normal(size=30), "d": rng.normal(size=30)})
    ct = ColumnTransformer([
        ("num", StandardScaler(), ["a"]), ("cat", OneHotEncoder(), ["city"]),
        ("again", "passthrough", ["c"]),
    ], remainder="passthrough",
        transformer_weights={"num": 10.0, "cat": 0.5, "again": None, "remainder": -2.0}).fit(df)
    got = run(convert("ct", ct), df)
    np.testing.assert_allclose(got, transformed(ct, df), rtol=RTOL, atol=ATOL)
    unweighted = ct.set_params(transformer_weights=None).fit(df)
    assert not np.allclose(got, transformed(unweighted, df))


def test_column_transformer_on_an_array_with_positions_and_masks():
    X = numbers(0)
    ct = ColumnTransformer([
        ("first", StandardScaler(), [0, 2]),
        ("mask", Normalizer(), np.array([False, True, False, False])),
        ("range", MaxAbsScaler(), slice(2, 4)),
    ], remainder=RobustScaler()).fit(X)
    X_new = numbers(1)
    np.testing.assert_allclose(run(convert("ct", ct), X_new), transformed(ct, X_new),
                               rtol=RTOL, atol=ATOL)


def test_negative_positions_count_from_the_last_column():
    X = numbers(0)
    ct = ColumnTransformer([("last", StandardScaler(), [-1]), ("pair", MaxAbsScaler(), [0, -3])],
                           remainder="passthrough").fit(X)
    X_new = numbers(1)
    np.testing.assert_allclose(run(convert("ct", ct), X_new), transformed(ct, X_new),
                               rtol=RTOL, atol=ATOL)


def test_nested_pipeline_of_transformers():
    pipe = make_pipeline(SimpleImputer(), make_pipeline(StandardScaler(), Normalizer()))
    check(pipe, numbers(0, nan_every=6), numbers(1, nan_every=4))
