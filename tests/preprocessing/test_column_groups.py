"""Tests for keraslearn.preprocessing.ColumnGroups: columns taken as
scikit-learn's ColumnTransformer takes them, inputs checked as its
transformers check them."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.compose import ColumnTransformer, make_column_selector

from keraslearn.preprocessing import ColumnGroups


@pytest.fixture
def frame():
    return pd.DataFrame({"age": [30.0, 40.0, 50.0], "income": [1e5, 2e5, 3e5],
                         "p0": [0.0, 1.0, 2.0], "p1": [3.0, 4.0, 5.0]})


def _selected(frame, fitted_on, columns):
    """What ColumnTransformer passes through for ``columns`` of ``frame``."""
    selector = ColumnTransformer([("g", "passthrough", columns)]).fit(fitted_on)
    return selector.transform(frame).astype(np.float32)


def test_a_frame_s_columns_are_taken_by_name_in_any_order(frame):
    groups = ColumnGroups({"meta": ["age", "income"], "image": ["p0", "p1"]}).fit(frame)
    reordered = frame[["p1", "income", "p0", "age"]]
    out = groups.transform(reordered)
    np.testing.assert_array_equal(out["meta"], frame[["age", "income"]].to_numpy(np.float32))
    np.testing.assert_array_equal(out["meta"],
                                  _selected(reordered, frame, ["age", "income"]))
    np.testing.assert_array_equal(out["image"], frame[["p0", "p1"]].to_numpy(np.float32))
    # Columns no group names are left out, as ColumnTransformer leaves them.
    wider = frame.assign(extra=[7.0, 8.0, 9.0])[["extra", "income", "age", "p0", "p1"]]
    np.testing.assert_array_equal(groups.transform(wider)["meta"], out["meta"])


def test_index_groups_of_a_frame_mean_fit_s_positions(frame):
    groups = ColumnGroups({"meta": [1, 0]}).fit(frame)
    out = groups.transform(frame[["p1", "p0", "income", "age"]])
    np.testing.assert_array_equal(out["meta"], frame[["income", "age"]].to_numpy(np.float32))


def test_a_missing_column_is_named(frame):
    groups = ColumnGroups({"meta": ["age", "income"]}).fit(frame)
    with pytest.raises(ValueError, match=r"X lacks the columns \['income'\]"):
        groups.transform(frame.drop(columns="income"))


def test_a_failed_refit_keeps_the_fitted_groups(frame):
    # The refit had recorded the new frame's columns before refusing it, so the
    # old positions then took other columns, without an error.
    groups = ColumnGroups({"meta": ["age", "income"], "image": [2, 3]}).fit(frame)
    expected = groups.transform(frame)
    other = frame[["p1", "p0", "age"]].rename(columns={"p1": "x", "p0": "y"})
    with pytest.raises(ValueError, match="income"):
        groups.fit(other)
    assert list(groups.feature_names_in_) == list(frame)
    for name, array in groups.transform(frame).items():
        np.testing.assert_array_equal(array, expected[name])


def test_one_name_or_index_is_a_group_of_one_column():
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0], "xy": [5.0, 6.0]})
    out = ColumnGroups({"g": "xy", "h": 0}).fit_transform(frame)
    np.testing.assert_array_equal(out["g"], _selected(frame, frame, ["xy"]))
    np.testing.assert_array_equal(out["h"], [[1.0], [2.0]])


@pytest.mark.parametrize("cols, message", [
    ({"x"}, "must be a column name or index, a list of them, a slice, a boolean mask or a "
            "callable; got set"),
    (1.5, "must be a column name or index, a list of them, a slice, a boolean mask or a "
          "callable; got float"),
    ([-5], r"has column -5, which X lacks \(X has 1 columns\)"),
    (slice("x", "x", -1), r"is a slice of column names with a step \(-1\); slices of names"),
    ([], "Group 'g' has no columns"),
])
def test_bad_groups_are_refused_in_fit(cols, message):
    with pytest.raises(ValueError, match=message):
        ColumnGroups({"g": cols}).fit(pd.DataFrame({"x": [1.0]}))


@pytest.mark.parametrize("params, message", [
    # numbers became nanosecond dates (1.5 -> 1970-01-01T00:00:00.000000001)
    ({"dtype": "datetime64[ns]"}, r"dtype must be None, or a number, bool or text dtype .*"
                                  r"got 'datetime64\[ns\]'"),
    ({"dtype": "int8x"}, "dtype='int8x' is not a NumPy dtype"),  # (NumPy's words alone)
    # ("'list' object has no attribute 'items'")
    ({"shapes": [(2,)]}, r"shapes must be None or a dict of input name -> the shape"),
])
def test_bad_shapes_or_dtype_are_refused_naming_the_parameter(params, message):
    frame = pd.DataFrame({"x": [1.5, 2.0], "y": [0.0, 1.0]})
    with pytest.raises(ValueError, match=message):
        ColumnGroups({"g": ["x", "y"]}, **params).fit(frame)
    text = ColumnGroups({"g": ["x"]}, dtype=str).fit_transform(frame)["g"]
    assert text.dtype.kind == "U"  # (text inputs: a string input takes them)


def test_a_group_name_that_is_not_a_string_is_refused_in_fit():
    # It passed fit and failed in transform, where MultiInput refuses it.
    with pytest.raises(ValueError, match=r"groups' names must be strings .*, got 0"):
        ColumnGroups({0: ["x"]}).fit(pd.DataFrame({"x": [1.0]}))


def test_a_refit_on_an_array_forgets_fit_s_column_names(frame):
    groups = ColumnGroups({"g": ["age"]}).fit(frame)
    assert list(groups.feature_names_in_) == list(frame.columns)
    with pytest.raises(ValueError, match="Group 'g' has column 'age', which X lacks"):
        groups.fit(frame.to_numpy())
    groups = ColumnGroups({"g": [3]}).fit(frame)
    groups.fit(frame.to_numpy())
    assert not hasattr(groups, "feature_names_in_")
    np.testing.assert_array_equal(groups.transform(frame.to_numpy())["g"], [[3.0], [4.0], [5.0]])


def test_an_array_after_a_frame_fit_is_taken_by_position_with_sklearn_s_warning(frame):
    groups = ColumnGroups({"g": ["income"]}).fit(frame)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        out = groups.transform(frame.to_numpy())
    np.testing.assert_array_equal(out["g"], frame[["income"]].to_numpy(np.float32))
    with pytest.warns(UserWarning, match="does not have valid feature names"), pytest.raises(
            ValueError, match="X has 2 features, but ColumnGroups is expecting 4"):
        groups.transform(frame.to_numpy()[:, :2])


def test_nullable_pandas_columns_give_nan_for_missing_values():
    frame = pd.DataFrame({"a": pd.array([1, None], dtype="Int64"),
                          "b": pd.array([0.5, 1.5], dtype="Float64")})
    out = ColumnGroups({"g": ["a", "b"]}).fit_transform(frame)["g"]
    np.testing.assert_array_equal(out, [[1.0, 0.5], [np.nan, 1.5]])
    assert out.dtype == np.float32


@pytest.mark.parametrize("X, error, message", [
    (np.arange(3.0), ValueError, "Expected 2D array, got 1D array"),
    (sp.csr_matrix(np.eye(2)), TypeError, "Sparse data was passed"),
    (np.array([[1 + 2j]]), ValueError, "Complex data not supported"),
    (np.empty((0, 2)), ValueError, "0 sample"),
])
def test_inputs_sklearn_refuses_are_refused_clearly(X, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing dropped silently (complex parts)
        with pytest.raises(error, match=message):
            ColumnGroups({"g": [0]}).fit(X)


def test_a_group_holding_text_is_named_with_the_way_out():
    # It was NumPy's bare "could not convert string to float: 'paris'".
    X = pd.DataFrame({"city": ["paris", "rome"] * 3, "a": np.arange(6.0)})
    with pytest.raises(ValueError, match=r"^ColumnGroups' group 'city' holds text \(could not "
                                         r"convert string to float: 'paris'\).*in a Pipeline"):
        ColumnGroups({"city": ["city"], "num": ["a"]}).fit(X)


@pytest.mark.parametrize("when", [
    pd.date_range("2024-01-01", periods=6, freq="min"),
    pd.date_range("2024-01-01", periods=6, freq="min", tz="Europe/Paris"),
    pd.timedelta_range("1min", periods=6, freq="min")])
def test_a_group_of_dates_or_times_is_refused_as_the_estimators_refuse_it(frame, when):
    # They became float32 counts of microseconds (forty minutes, eighteen values),
    # and the fit then diverged, blamed on unscaled inputs.
    X = pd.DataFrame({"a": np.arange(6.0), "when": when})
    with pytest.raises(ValueError, match=r"^ColumnGroups' group 'w' has date or time columns "
                                         r"\['when'\]: as numbers"):
        ColumnGroups({"num": ["a"], "w": ["when"]}).fit(X)
    fitted = ColumnGroups({"num": ["a"], "w": ["when"]}).fit(X.assign(when=np.arange(6.0)))
    with pytest.raises(ValueError, match=r"^ColumnGroups' group 'w' has date or time columns"):
        fitted.transform(X)
    values = when.to_numpy().reshape(-1, 1)  # (tz-aware: an object array of Timestamps)
    if values.dtype.kind in "mM":
        with pytest.raises(ValueError, match=r"^ColumnGroups' group 'w' has dtype (date|time)"):
            ColumnGroups({"w": [0]}).fit(values)


def test_a_shape_that_does_not_fit_its_group_is_refused_in_fit():
    groups = ColumnGroups({"g": [0, 1]}, shapes={"g": (3,)})
    with pytest.raises(ValueError, match=r"sample shape \(3,\) \(3 values\), but the group "
                                         r"has 2 columns"):
        groups.fit(np.ones((2, 2)))
    out = ColumnGroups({"g": [0, 1, 2, 3]}, shapes={"g": (2, 2, 1)}).fit_transform(
        np.arange(8.0).reshape(2, 4))
    np.testing.assert_array_equal(out["g"][1, :, :, 0], [[4.0, 5.0], [6.0, 7.0]])


def test_the_caller_s_frame_is_left_as_it_was(frame):
    before = frame.copy()
    out = ColumnGroups({"g": ["age"]}, dtype="float64").fit_transform(frame)
    out["g"][:] = -1.0
    pd.testing.assert_frame_equal(frame, before)


def test_clone_and_pickle_keep_the_groups(frame):
    groups = ColumnGroups({"g": ["income", "age"]}).fit(frame)
    again = pickle.loads(pickle.dumps(groups))
    np.testing.assert_array_equal(again.transform(frame)["g"], groups.transform(frame)["g"])
    assert clone(groups).get_params() == groups.get_params()


def test_columns_no_group_takes_may_hold_anything(frame):
    """Only the groups' columns are checked and converted, as ColumnTransformer
    converts only the columns it passes on."""
    wider = frame.assign(when=pd.to_datetime(["2026-01-01"] * 3), note=["a", "b", "c"])
    out = ColumnGroups({"g": ["age", "p0"]}).fit(wider).transform(wider)
    np.testing.assert_array_equal(out["g"], frame[["age", "p0"]].to_numpy(np.float32))
    with pytest.raises(ValueError, match="could not convert string to float"):
        ColumnGroups({"g": ["age", "note"]}).fit(wider)  # a group's own column: checked in fit


def test_a_frame_with_names_of_mixed_types_is_refused_as_scikit_learn_refuses_it():
    mixed = pd.DataFrame({"a": [1.0, 2.0], 0: [3.0, 4.0]})
    with pytest.raises(TypeError, match="Feature names are only supported if all input features "
                                        "have string names"):
        ColumnGroups({"g": ["a"]}).fit(mixed)


def test_a_pipeline_set_to_pandas_output_configures_the_steps_around_it(frame):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    groups = {"a": ["p0", "p1"], "b": ["age"]}
    pipe = make_pipeline(StandardScaler(), ColumnGroups(groups)).set_output(transform="pandas")
    out = pipe.fit_transform(frame)
    scaled = StandardScaler().fit_transform(frame)  # the frame's columns, in order
    columns = list(frame.columns)
    np.testing.assert_allclose(out["a"], scaled[:, [columns.index("p0"), columns.index("p1")]],
                               rtol=1e-6)
    assert isinstance(out["b"], np.ndarray)  # the groups stay arrays, for the network


def test_a_boolean_mask_takes_the_columns_column_transformer_takes():
    # True and False were taken for the positions 1 and 0.
    X = np.arange(12.0).reshape(2, 6)
    mask = [True, False, False, False, True, True]
    expected = ColumnTransformer([("g", "passthrough", mask)]).fit_transform(X)
    for given in (mask, np.array(mask)):
        for data in (X, pd.DataFrame(X, columns=list("abcdef"))):
            got = ColumnGroups({"g": given}).fit(data).transform(data)["g"]
            np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="'g' is a boolean mask of 2 values, but X has 6"):
        ColumnGroups({"g": [True, False]}).fit(X)


@pytest.mark.parametrize("columns", [
    [-1, 0], [-2], slice(1, 3), slice(-3, None), slice("income", "p0"),
    slice("p0", None), make_column_selector(pattern="^p"), lambda X: ["age", "p1"],
], ids=lambda c: repr(c) if not callable(c) else "callable")
def test_columns_are_taken_in_every_form_column_transformer_takes(frame, columns):
    # Negative positions, slices and callables were refused.
    if isinstance(columns, slice) and isinstance(columns.start, str):
        assert frame.loc[:, columns].shape[1] >= 1  # names' slices include both ends
    out = ColumnGroups({"g": columns}).fit(frame).transform(frame)["g"]
    np.testing.assert_array_equal(out, _selected(frame, frame, columns))
    if isinstance(columns, list) and len(columns) == 1:  # one index: a group of one column
        np.testing.assert_array_equal(ColumnGroups({"g": columns[0]}).fit_transform(frame)["g"],
                                      out)
    shuffled = frame[["p1", "age", "p0", "income"]]  # taken by fit's names again
    np.testing.assert_array_equal(ColumnGroups({"g": columns}).fit(frame).transform(shuffled)["g"],
                                  _selected(shuffled, frame, columns))
    if not (callable(columns) or isinstance(columns, slice) and isinstance(columns.stop, str)
            or isinstance(columns, slice) and isinstance(columns.start, str)):
        array = frame.to_numpy()
        np.testing.assert_array_equal(ColumnGroups({"g": columns}).fit_transform(array)["g"],
                                      _selected(array, array, columns))


def test_dtype_none_keeps_each_group_s_own():
    frame = pd.DataFrame({"id": np.array([2**24 + 1, 3]), "x": [0.5, 1.5]})
    out = ColumnGroups({"ids": ["id"], "x": ["x"]}, dtype=None).fit_transform(frame)
    assert out["ids"].dtype == np.int64 and out["ids"][0, 0] == 2**24 + 1
    assert out["x"].dtype == np.float64
    assert ColumnGroups({"ids": ["id"]}).fit_transform(frame)["ids"].dtype == np.float32


def test_importing_preprocessing_stays_light():
    # ColumnGroups' restore on a failed refit had imported the training engine.
    import subprocess
    import sys

    code = ("import sys, keraslearn.preprocessing; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_polars_frames_are_taken_by_name_as_column_transformer_takes_them(frame):
    # ColumnGroups indexed every frame with pandas' iloc: polars frames, and pipelines
    # set to polars output, failed with AttributeError.
    import polars as pl
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    groups = {"a": ["p1", "p0"], "b": ["age"]}
    polars_frame = pl.from_dict({c: frame[c].to_list() for c in frame.columns})
    out = ColumnGroups(groups).fit(polars_frame).transform(polars_frame[:, ::-1])
    expected = ColumnGroups(groups).fit_transform(frame)
    for name in groups:
        np.testing.assert_array_equal(out[name], expected[name])
    pipe = make_pipeline(StandardScaler(), ColumnGroups(groups)).set_output(transform="polars")
    np.testing.assert_allclose(pipe.fit_transform(frame)["a"],
                               StandardScaler().fit_transform(frame)[:, [3, 2]], rtol=1e-6)


def test_a_repeated_column_name_is_refused_at_transform_as_in_fit(frame):
    # The first column of the name was taken, silently: a stale column of the
    # same name (pd.concat) fed the network.
    groups = ColumnGroups({"meta": ["age", "income"]}).fit(frame)
    stale = pd.concat([pd.DataFrame({"age": [-1.0] * 3}), frame], axis=1)
    with pytest.raises(ValueError, match="more than one column named 'age'"):
        groups.transform(stale)


def test_text_and_bad_shapes_are_refused_in_fit_however_x_is_given():
    # Text in an array was taken by fit and refused only by transform; a shape
    # that is not a tuple failed in math.prod.
    text = np.array([["a", 1.0], ["b", 2.0]], dtype=object)
    for X in (text, pd.DataFrame(text, columns=["s", "v"])):
        with pytest.raises(ValueError, match="could not convert string to float"):
            ColumnGroups({"g": [0, 1]}).fit(X)
    ColumnGroups({"g": [1]}).fit(text)  # columns no group takes may hold anything
    with pytest.raises(ValueError, match=r"shapes gives group 'g' 2: the shape of one sample "
                                         r"is a tuple of positive ints"):
        ColumnGroups({"g": [0, 1]}, shapes={"g": 2}).fit(np.ones((2, 2)))
    shaped = ColumnGroups({"g": [0, 1]}, shapes={"g": np.array([2, 1])}).fit_transform(
        np.ones((2, 2)))  # a shape given as an array, as before
    assert shaped["g"].shape == (2, 2, 1)


def test_dtype_none_keeps_nullable_integer_and_boolean_groups_exact():
    # They were made float64, rounding ids above 2**53.
    frame = pd.DataFrame({"id": pd.array([2**53 + 1, 7], dtype="Int64"),
                          "flag": pd.array([True, False], dtype="boolean")})
    out = ColumnGroups({"ids": ["id"], "flags": ["flag"]}, dtype=None).fit_transform(frame)
    assert out["ids"].dtype == np.int64 and out["ids"][0, 0] == 2**53 + 1
    assert out["flags"].dtype == np.bool_
    with_na = frame.assign(id=pd.array([None, 7], dtype="Int64"))
    out = ColumnGroups({"ids": ["id"]}, dtype=None).fit_transform(with_na)["ids"]
    assert out.dtype == np.float64 and np.isnan(out[0, 0])  # NA as NaN, as before
