"""What DriftDetector accepts (arrays, lists, DataFrames, mixed columns; categorical
features by name, index or mask) and the errors it gives for everything else."""

import re

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.exceptions import NotFittedError

from keraslearn.monitoring import DriftDetector
from keraslearn.utils import InvalidParameterError
from versions import STRING_DTYPE

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 600
    return pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "visits": rng.integers(0, 20, n),
        "city": rng.choice(["Lyon", "Oslo", "Rome"], n),
        "plan": pd.Categorical(rng.choice(["free", "pro"], n)),
        "member": rng.random(n) < 0.3,
        "grade": rng.integers(1, 4, n),  # numbers that are codes: categorical when told
    })


def test_categorical_columns_from_dtypes(frame):
    detector = DriftDetector().fit(frame)
    np.testing.assert_array_equal(detector.categorical_, [False, False, True, True, True, False])
    assert list(detector.feature_names_in_) == list(frame.columns)
    assert detector.n_features_in_ == 6 and detector.n_samples_fit_ == 600
    assert set(detector.reference_sample_) == {"age", "visits", "grade"}
    assert set(detector.categories_) == {"city", "plan", "member"}
    assert sorted(detector.categories_["member"]) == [False, True]
    result = detector.test(frame.iloc[:200])
    assert result["test"].tolist() == ["ks", "ks", "chi2", "chi2", "chi2", "ks"]
    assert not result["drifted"].any()


def test_categorical_features_by_name_index_and_mask_agree(frame):
    mask = np.array([False, False, True, True, True, True])
    specs = [["city", "plan", "member", "grade"], [2, 3, 4, 5], mask, list(mask)]
    batch = frame.iloc[::3]
    results = []
    for spec in specs:
        detector = DriftDetector(categorical_features=spec, random_state=0).fit(frame)
        np.testing.assert_array_equal(detector.categorical_, mask)
        results.append(detector.test(batch))
    assert results[0].loc[5, "test"] == "chi2" and detector.categories_["grade"]
    for result in results[1:]:
        pd.testing.assert_frame_equal(result, results[0])


def test_arrays_lists_and_frames_give_the_same_result():
    rng = np.random.default_rng(1)
    numbers = rng.normal(size=(500, 2))
    codes = rng.choice(["a", "b", "c"], 500)
    mixed = np.column_stack([numbers, codes]).astype(object)
    mixed[:, :2] = numbers  # an object array holding floats and strings
    as_frame = pd.DataFrame({"x0": numbers[:, 0], "x1": numbers[:, 1], "x2": codes})
    detectors = [DriftDetector(random_state=0).fit(X)
                 for X in (mixed, mixed.tolist(), as_frame)]
    for detector in detectors:
        np.testing.assert_array_equal(detector.categorical_, [False, False, True])
    assert not hasattr(detectors[0], "feature_names_in_")
    batch = mixed[:150]
    expected = detectors[0].test(batch)
    assert expected["feature"].tolist() == ["x0", "x1", "x2"]
    pd.testing.assert_frame_equal(detectors[1].test(batch.tolist()), expected)
    pd.testing.assert_frame_equal(detectors[2].test(as_frame.iloc[:150]), expected)


def test_numbers_held_as_objects_in_a_frame_are_numbers_as_in_an_array():
    # A frame built from a mixed object array keeps object columns: its numbers
    # were categories, each value seen once, so that a shift of 40 standard
    # deviations was no drift (chi2, p=1) while the same array said drift.
    rng = np.random.default_rng(0)
    age, city = rng.normal(40, 10, 1000), rng.choice(["Lyon", "Oslo"], 1000)
    mixed = np.column_stack([age, city]).astype(object)
    mixed[:, 0] = age
    frame = pd.DataFrame(mixed, columns=["age", "city"])
    assert frame["age"].dtype == object
    shifted = frame.assign(age=(age + 400).astype(object))
    for X, batch in ((frame, shifted), (mixed, shifted.to_numpy())):
        detector = DriftDetector(random_state=0).fit(X)
        np.testing.assert_array_equal(detector.categorical_, [False, True])
        result = detector.test(batch)
        assert result["test"].tolist() == ["ks", "chi2"]
        assert result["drifted"].tolist() == [True, False]
    assert frame["age"].dtype == object  # the user's frame as it was


def test_decimal_columns_are_numbers_in_pandas_and_polars():
    # (money, as databases give it) pandas leaves Decimal objects as objects, and
    # polars' Decimal columns were read as them: categories, so that a shift of
    # the amounts by 2000 was no drift (chi2, p=1).
    from decimal import Decimal

    import polars as pl

    rng = np.random.default_rng(0)
    amounts = [Decimal(f"{v:.2f}") for v in rng.normal(100, 10, 600)]
    cities = rng.choice(["Lyon", "Oslo"], 600)
    frame = pd.DataFrame({"amount": amounts, "city": cities})
    shifted = frame.assign(amount=[a * 3 + 2000 for a in amounts])
    def polars(pandas):
        return pl.DataFrame({"amount": pl.Series(pandas["amount"].tolist(),
                                                 dtype=pl.Decimal(scale=2)),
                             "city": pandas["city"].tolist()})

    for X, batch in ((frame, shifted), (polars(frame), polars(shifted))):
        detector = DriftDetector(random_state=0).fit(X)
        np.testing.assert_array_equal(detector.categorical_, [False, True])
        assert detector.test(X[:200])["drifted"].tolist() == [False, False]
        assert detector.test(batch)["drifted"].tolist() == [True, False]
    assert frame["amount"].dtype == object  # the user's frame as it was
    # Listed as categories, they are categories of the numbers they are: Decimal
    # batches and float ones (JSON's, a server's) alike find them (found in review:
    # 9.99 is no Decimal('9.99'), so float rows were unseen, or Decimal ones).
    prices = rng.choice([4.5, 19.99, 9.99], 600)
    frame = frame.assign(amount=[Decimal(f"{p:.2f}") for p in prices])
    categories = DriftDetector(categorical_features=["amount", "city"], random_state=0).fit(
        frame)
    as_floats = frame.assign(amount=prices)
    for batch in (frame, as_floats):
        assert categories.test(batch)["n_unseen"].tolist() == [0, 0]
    floats = DriftDetector(categorical_features=["amount", "city"], random_state=0).fit(
        as_floats)
    assert floats.test(frame)["n_unseen"].tolist() == [0, 0]
    old = categories.__dict__.copy()  # categories kept as Decimals, as a detector saved so
    categories.categories_ = {**old["categories_"], "amount": [Decimal(str(v)) for v in
                                                               old["categories_"]["amount"]]}
    assert categories.test(as_floats)["n_unseen"].tolist() == [0, 0]


def test_column_names_mixing_strings_and_numbers_are_refused():
    # They were matched by position in silence: a batch with its columns swapped
    # drifted on every feature.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"income": rng.normal(size=100), 7: rng.normal(5, 1, 100)})
    message = "Column names must all be strings, or none be: these mix ['int', 'str']."
    with pytest.raises(TypeError, match=re.escape(message)):
        DriftDetector().fit(frame)
    detector = DriftDetector().fit(frame.to_numpy())
    with pytest.raises(TypeError, match=re.escape(message)):
        detector.test(frame[[7, "income"]])


def test_streams_are_refused_and_array_likes_read_as_arrays(tmp_path):
    # Found in an audit: a generator was told "got a scalar", an h5py dataset
    # failed in h5py ("no appropriate function for conversion path") and a dask
    # array was read value by value into Python floats.
    import itertools

    import h5py

    from keraslearn.evaluation import evaluate

    X = np.random.RandomState(0).normal(size=(40, 3))
    for stream, kind in (((r for r in X), "a generator"), (map(list, X), "an iterator"),
                         (itertools.chain(X), "an iterator")):
        with pytest.raises(TypeError, match=f"DriftDetector is {kind}: .* Give arrays"):
            DriftDetector().fit(stream)
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f["x"] = X
    with h5py.File(tmp_path / "x.h5") as f:
        detector = DriftDetector(random_state=0).fit(f["x"])
        from_file = detector.test(f["x"][10:])
    expected = DriftDetector(random_state=0).fit(X).test(X[10:])
    pd.testing.assert_frame_equal(from_file, expected)
    with pytest.raises(TypeError, match="X is a generator"):
        evaluate(_fitted_classifier(), (r for r in X), np.arange(40) % 2)


def _fitted_classifier():
    from sklearn.linear_model import LogisticRegression

    X = np.random.RandomState(0).normal(size=(40, 3))
    return LogisticRegression().fit(X, np.arange(40) % 2)


def test_numeric_array_is_all_numeric():
    X = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    detector = DriftDetector().fit(X)
    assert not detector.categorical_.any()
    assert detector.reference_sample_["x1"].dtype == np.float64


def test_columns_are_matched_by_name_in_any_order(frame):
    detector = DriftDetector(random_state=0).fit(frame)
    batch = frame.iloc[:300]
    shuffled = batch[list(reversed(frame.columns))]
    pd.testing.assert_frame_equal(detector.test(shuffled), detector.test(batch))


def test_a_polars_frame_is_read_as_the_pandas_one_by_its_column_names(frame):
    # Its names were dropped (read as one array of objects): features x0, x1, ...
    # and a batch with its columns in another order drifted on every one.
    import polars as pl

    polars_frame = pl.DataFrame({name: frame[name].to_numpy() for name in frame.columns})
    detector = DriftDetector(random_state=0).fit(polars_frame)
    expected = DriftDetector(random_state=0).fit(frame)
    assert list(detector.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(detector.categorical_, expected.categorical_)
    batch = polars_frame[:300]
    result = detector.test(batch.select(list(reversed(frame.columns))))
    pd.testing.assert_frame_equal(result, expected.test(frame.iloc[:300]))
    assert not result["drifted"].any()


def test_matching_by_position_where_either_side_had_names_warns_as_scikit_learn(frame):
    # An array given to a detector fitted on names was matched by position in
    # silence: columns in another order read as drift (or hid it).
    numbers = frame[["age", "visits"]]
    named = DriftDetector(random_state=0).fit(numbers)
    with pytest.warns(UserWarning, match="X does not have valid feature names, but "
                                         "DriftDetector was fitted with feature names") as w:
        result = named.test(numbers[["visits", "age"]].to_numpy())
    assert w[0].filename == __file__  # at the user's line
    assert result["drifted"].all()  # what the warning is for
    unnamed = DriftDetector(random_state=0).fit(numbers.to_numpy())
    with pytest.warns(UserWarning, match="X has feature names, but DriftDetector was "
                                         "fitted without feature names"):
        unnamed.test(numbers)
    unnamed.test(numbers.set_axis([0, 1], axis=1))  # names that are not strings: none


def test_data_is_not_modified(frame):
    before = frame.copy()
    array = frame[["age", "visits"]].to_numpy()
    array_before = array.copy()
    detector = DriftDetector(max_samples=50, random_state=0).fit(frame)
    detector.test(frame)
    DriftDetector(max_samples=50).fit(array).test(array)
    pd.testing.assert_frame_equal(frame, before)
    np.testing.assert_array_equal(array, array_before)


def test_missing_and_unseen_columns_are_listed(frame):
    detector = DriftDetector().fit(frame)
    batch = frame.drop(columns=["city", "age"]).assign(zip_code="75001", score=1.0)
    with pytest.raises(ValueError) as error:
        detector.test(batch)
    message = str(error.value)
    assert "missing columns ['age', 'city']" in message
    assert "columns unseen at fit ['zip_code', 'score']" in message


def test_a_wide_batch_of_renamed_columns_is_told_in_a_few_names():
    # Every one of 1,000 names was listed twice: a 15,000-character message.
    wide = pd.DataFrame(np.arange(40.0).reshape(4, 10).repeat(100, axis=1),
                        columns=[f"x{i}" for i in range(1000)])
    detector = DriftDetector().fit(wide)
    with pytest.raises(ValueError) as error:
        detector.test(wide.add_prefix("new_"))
    message = str(error.value)
    assert "missing columns ['x0', 'x1', 'x2', 'x3', 'x4'] and 995 more" in message
    assert "columns unseen at fit ['new_x0', 'new_x1', 'new_x2', 'new_x3', 'new_x4'] and " \
           "995 more" in message
    assert len(message) < 400


def test_wrong_number_of_columns():
    detector = DriftDetector().fit(np.zeros((10, 3)) + np.arange(10)[:, None])
    with pytest.raises(ValueError, match="X has 2 columns, but DriftDetector was fitted on 3"):
        detector.test(np.zeros((5, 2)))


@pytest.mark.parametrize("when", ["fit", "test"])
def test_missing_values_are_rejected_naming_the_columns(frame, when):
    bad = frame.copy()
    bad["age"] = bad["age"].astype(float)
    bad.loc[[3, 5], "age"] = np.nan
    bad["city"] = bad["city"].astype(object)
    bad.loc[4, "city"] = None
    detector = DriftDetector() if when == "fit" else DriftDetector().fit(frame)
    call = detector.fit if when == "fit" else detector.test
    with pytest.raises(ValueError, match=re.escape(
            "missing values (NaN or None) in columns 'age' (2 rows), 'city' (1 row)")):
        call(bad)


def test_numbers_written_as_text_are_tested_as_categories_with_a_warning():
    # np.column_stack of numbers and text makes every column text: the numbers
    # were tested as categories in silence (a shift of 1 sd went unflagged).
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=500).round(2), rng.choice(["red", "blue"], 500),
                         rng.integers(10000, 10100, 500)])  # (whole numbers: codes, as zip codes)
    with pytest.warns(UserWarning, match=r"tests columns \['x0'\] as categories: they hold "
                                         "text, but each value is a number"):
        detector = DriftDetector().fit(X)
    assert detector.categorical_.tolist() == [True, True, True]
    DriftDetector(categorical_features=[0, 1, 2]).fit(X)  # (told: no warning)
    codes = pd.DataFrame({"version": rng.choice(["3.9", "3.10", "3.11"], 50),
                          "id": rng.choice(["003.7", "012.5"], 50)})
    assert DriftDetector().fit(codes).categorical_.all()  # (not floats as Python writes them)
    numbers = pd.DataFrame({"x0": X[:, 0].astype(float), "x1": X[:, 1]})
    assert DriftDetector().fit(numbers).categorical_.tolist() == [False, True]


def test_a_batch_of_other_types_than_the_references_is_told_so():
    # Booleans read back from a CSV log as "True"/"False", or text codes as
    # numbers: every row unseen and flagged, with nothing saying why.
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"member": rng.random(500) < 0.3,
                              "zip": rng.choice(["75001", "69002"], 500)})
    detector = DriftDetector().fit(reference)
    batch = pd.DataFrame({"member": (rng.random(100) < 0.3).astype(str),
                          "zip": rng.choice([75001, 69002], 100)})
    with pytest.warns(UserWarning) as told:
        result = detector.test(batch)
    assert result["drifted"].all()  # (as it is: the warning says why)
    messages = sorted(str(w.message) for w in told)
    assert len(messages) == 2
    assert messages[0].startswith("No value of 'member' in the batch is one of the reference's, "
                                  "and all are of other types (str, where the reference's are "
                                  "bool")
    assert "(int, where the reference's are str: " in messages[1]
    detector.test(reference.iloc[:100])  # (the reference's types: no warning)


def test_the_advice_on_missing_values_is_what_the_served_window_tests():
    # The refusal advised imputing first: a reference imputed at the mean was
    # then tested against the complete rows a server's window keeps, which never
    # hold that pile of one value, and flagged every time though nothing moved.
    from sklearn.impute import SimpleImputer

    from keraslearn.monitoring import RecentRows

    rng = np.random.default_rng(0)

    def rows(n):
        income = rng.lognormal(10, 0.5, n)
        income[rng.random(n) < 0.2] = np.nan
        return pd.DataFrame({"income": income, "age": rng.normal(40, 10, n)})

    reference = rows(2000)
    with pytest.raises(ValueError, match="drop the rows holding one first"):
        DriftDetector().fit(reference)
    window = RecentRows(max_rows=1000)
    window.add(rows(1000))  # served rows of the same distribution, NaN and all
    advised = DriftDetector().fit(reference.dropna())
    imputed = DriftDetector().fit(pd.DataFrame(
        SimpleImputer().fit_transform(reference), columns=reference.columns))
    assert not window.test(advised)["drifted"].any()
    flagged = window.test(imputed)
    assert list(flagged.loc[flagged["drifted"], "feature"]) == ["income"]  # the advice avoids


@pytest.mark.parametrize("when", ["fit", "test"])
def test_missing_values_written_as_text_are_rejected(frame, when):
    # "nan" read from text is a missing value too: it had given p-values of NaN
    # (no drift) or SciPy's error under Benjamini-Hochberg.
    bad = frame.astype({"age": str})
    bad.loc[[2, 6], "age"] = "nan"
    detector = DriftDetector(categorical_features=["city", "plan", "member"])
    call = detector.fit if when == "fit" else detector.fit(frame).test
    with pytest.raises(ValueError, match=re.escape(
            "missing values (NaN or None) in columns 'age' (2 rows)")):
        call(bad)


@pytest.mark.parametrize("when", ["fit", "test"])
def test_infinite_values_are_rejected_naming_the_columns(frame, when):
    bad = frame.copy()
    bad.loc[0, "age"] = -np.inf
    detector = DriftDetector() if when == "fit" else DriftDetector().fit(frame)
    call = detector.fit if when == "fit" else detector.test
    with pytest.raises(ValueError, match=r"infinite values in columns 'age' \(1 row\)"):
        call(bad)


def test_text_in_a_numeric_column_is_rejected(frame):
    with pytest.raises(ValueError, match=r"not numbers in numeric columns 'city' \(e.g. '"):
        DriftDetector(categorical_features=["plan"]).fit(frame)
    detector = DriftDetector().fit(frame)
    with pytest.raises(ValueError, match="not numbers in numeric columns 'age'"):
        detector.test(frame.assign(age="old"))


def test_unsupported_column_types(frame):
    dated = frame.assign(when=pd.date_range("2024-01-01", periods=len(frame)))
    with pytest.raises(ValueError, match=r"neither: when \(datetime64"):
        DriftDetector().fit(dated)
    with pytest.raises(TypeError, match="'x0' holds values that are not scalars"):
        DriftDetector().fit(np.array([[{"a": 1}], [{"b": 2}]], dtype=object))


@STRING_DTYPE
def test_categorical_features_named_in_numpy_s_string_dtype(frame):
    # Found in an audit: "must hold column names (str) ..., got ['grade']".
    names = np.array(["city", "plan", "grade"], dtype=np.dtypes.StringDType())
    given = DriftDetector(categorical_features=names).fit(frame)
    expected = DriftDetector(categorical_features=["city", "plan", "grade"]).fit(frame)
    np.testing.assert_array_equal(given.categorical_, expected.categorical_)


@pytest.mark.parametrize("kind", ["datetime64[s]", "timedelta64[s]"])
def test_dates_left_out_of_categorical_features_are_refused_not_read_as_ticks(frame, kind):
    # Found in an audit: listing other columns as categorical let a date column
    # through as its integer ticks, so the same instants stored in another unit
    # (pandas 3 parses text into microseconds) were flagged as drift (p ~ 1e-96).
    times = np.arange(len(frame)).astype(kind)
    with pytest.raises(ValueError, match=rf"neither: when \({re.escape(kind)}\)"):
        DriftDetector(categorical_features=["city", "plan"]).fit(frame.assign(when=times))
    detector = DriftDetector(categorical_features=["city", "plan"]).fit(frame.assign(when=1.0))
    with pytest.raises(ValueError, match=r"neither: when \(" + kind[:9]):
        detector.test(frame.assign(when=times))


@pytest.mark.parametrize("X, match", [
    (np.zeros((0, 3)), "0 rows"),
    (np.zeros((4, 0)), r"0 feature\(s\)"),
    (np.arange(5.0), r"got a 1D array .* X.reshape\(-1, 1\)"),
    (np.zeros((2, 3, 4)), "got a 3D array"),
    (3.0, "got a scalar"),
    (None, "got None"),
    (pd.Series([1.0, 2.0]), "to_frame"),
])
def test_bad_shapes(X, match):
    with pytest.raises(ValueError, match=match):
        DriftDetector().fit(X)
    fitted = DriftDetector().fit(np.ones((3, 1)))
    with pytest.raises(ValueError, match=match):
        fitted.test(X)


def test_a_lazy_frame_is_told_to_be_collected():
    # It was told "got a scalar" (NumPy reads a LazyFrame as one value).
    import polars as pl

    lazy = pl.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0)}).lazy()
    with pytest.raises(ValueError, match=r"got an object of type LazyFrame, which NumPy "
                                         r"reads as a single value\. Collect it first "
                                         r"\(X\.collect\(\)\)"):
        DriftDetector().fit(lazy)
    result = DriftDetector().fit(lazy.collect()).test(lazy.collect())
    assert list(result["feature"]) == ["a", "b"] and not result["drifted"].any()


def test_named_inputs_are_refused_saying_what_to_give():
    # found in an audit: a dict or MultiInput was told as "got a scalar"
    from keraslearn import MultiInput

    named = MultiInput(a=np.zeros((5, 2)), b=np.zeros((5, 1)))
    for X in (named, dict(named)):
        with pytest.raises(TypeError, match=r"monitors one table of columns; got a "
                                            rf"{type(X).__name__} of named inputs \['a', 'b'\]"):
            DriftDetector().fit(X)
    fitted = DriftDetector().fit(np.random.default_rng(0).normal(size=(50, 2)))
    with pytest.raises(TypeError, match="named inputs"):
        fitted.test(named)


def test_sparse_input_is_rejected():
    with pytest.raises(TypeError, match="dense data"):
        DriftDetector().fit(sparse.csr_matrix(np.eye(3)))


def test_unfitted_use_raises_not_fitted_error():
    with pytest.raises(NotFittedError, match="DriftDetector"):
        DriftDetector().test(np.zeros((3, 2)))


@pytest.mark.parametrize("params, name", [
    ({"alpha": 1.5}, "alpha"),
    ({"alpha": 0}, "alpha"),
    ({"correction": "holm"}, "correction"),
    ({"n_bins": 1}, "n_bins"),
    ({"max_samples": 0}, "max_samples"),
    ({"max_categories": 2.5}, "max_categories"),
    ({"psi_threshold": -0.1}, "psi_threshold"),
    ({"categorical_features": "city"}, "categorical_features"),
])
def test_bad_parameters_are_named(frame, params, name):
    with pytest.raises((InvalidParameterError, ValueError), match=f"'?{name}'?"):
        DriftDetector(**params).fit(frame)


@pytest.mark.parametrize("spec, match", [
    (["town"], r"names columns that X does not have: \['town'\]"),
    ([9], r"indices \[9\] outside \[0, 6\)"),
    ([True, False], "boolean mask of length 2, but X has 6 columns"),
    ([1.5], "must hold column names"),
    # NumPy made the index a name: "names columns that X does not have: ['0']"
    ([0, "city"], r"mixes column names and indices \(\[0, 'city'\]\): give names only"),
])
def test_bad_categorical_features(frame, spec, match):
    with pytest.raises(ValueError, match=match):
        DriftDetector(categorical_features=spec).fit(frame)


def test_names_need_a_frame_with_names():
    with pytest.raises(ValueError, match="needs X to be a DataFrame"):
        DriftDetector(categorical_features=["a"]).fit(np.zeros((3, 2)))


def test_a_failed_fit_keeps_the_previous_fit(frame):
    detector = DriftDetector().fit(frame)
    before = detector.categories_
    with pytest.raises(ValueError):
        detector.fit(frame.assign(age=np.nan))
    assert detector.categories_ is before and list(detector.feature_names_in_) == list(frame)


@pytest.mark.parametrize("reference_dtype, batch_dtype",
                         [("float64", "float32"), ("float32", "float64")])
def test_float32_and_float64_of_the_same_values_are_no_drift(reference_dtype, batch_dtype):
    # A server casts requests to its model's float32; a reference may be fitted
    # on float32 arrays: 0.1 is not the same number in both, and a discrete
    # column of decimals must not differ in every value.
    rng = np.random.default_rng(0)
    levels = [0.1, 0.2, 0.3]

    def frame(n, p):
        return pd.DataFrame({"rate": rng.choice(levels, n, p=p), "x": rng.normal(size=n)})

    reference = frame(3000, [0.3, 0.3, 0.4]).astype(reference_dtype)
    detector = DriftDetector(random_state=0).fit(reference)
    same = frame(500, [0.3, 0.3, 0.4])
    result = detector.test(same.astype(batch_dtype)).set_index("feature")
    np.testing.assert_allclose(result.to_numpy()[:, 1:4].astype(float),
                               detector.test(same.astype(reference_dtype)).set_index(
                                   "feature").to_numpy()[:, 1:4].astype(float), atol=1e-6)
    assert not result["drifted"].any()
    assert result.loc["rate", "psi"] < 0.1  # 16 when 0.1 and 0.1f were different values
    # A real change of the same column is still seen.
    moved = detector.test(frame(500, [0.1, 0.3, 0.6]).astype(batch_dtype)).set_index("feature")
    assert moved.loc["rate", "drifted"] and not moved.loc["x", "drifted"]


@pytest.mark.parametrize("reference_dtype, batch_dtype",
                         [("float64", "float32"), ("float32", "float64")])
def test_float32_of_values_with_many_digits_are_no_drift(reference_dtype, batch_dtype):
    # Prices with cents past float32's 7 digits: the float32 batch's values are the
    # reference's rounded, not the shortest decimals they print as (1234567.9).
    rng = np.random.default_rng(0)

    def frame(n, p=(0.3, 0.3, 0.4)):
        return pd.DataFrame({"price": rng.choice([1234567.89, 2345678.91, 3456789.12], n, p=p),
                             "x": rng.normal(size=n)})

    detector = DriftDetector(random_state=0).fit(frame(3000).astype(reference_dtype))
    same = frame(500)
    result = detector.test(same.astype(batch_dtype)).set_index("feature")
    expected = detector.test(same.astype(reference_dtype)).set_index("feature")
    np.testing.assert_allclose(result[["statistic", "p_value", "psi"]].to_numpy(float),
                               expected[["statistic", "p_value", "psi"]].to_numpy(float),
                               atol=1e-6)
    assert not result["drifted"].any()
    assert detector.test(frame(500, (0.1, 0.3, 0.6)).astype(batch_dtype)).loc[0, "drifted"]


@pytest.mark.parametrize("batch_dtype", ["float64", "float32"])
def test_whole_numbers_are_not_moved_onto_a_reference_value_just_below(batch_dtype):
    # A float32 value that several reference values round to is the nearest of
    # them, not the lowest (a float64 batch is not taken for float32 at all).
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 10, 3000).astype(float)
    reference[0] = np.nextafter(3.0, 0.0)
    detector = DriftDetector(random_state=0).fit(reference[:, None])
    batch = rng.integers(0, 10, 500).astype(batch_dtype)[:, None]
    assert not detector.test(batch).loc[0, "drifted"]


def test_float32_batches_of_a_column_narrower_than_float32s_step_and_exact_big_values():
    # Only the batch had been taken to float32's precision (a column of N(1e6, 0.2),
    # float32's step 0.0625 there, was flagged in every batch), and a float64 batch
    # of exact 4 GiB values was read as the decimal 4294967300.
    rng = np.random.default_rng(0)
    narrow = DriftDetector(random_state=0).fit(rng.normal(1e6, 0.2, 3000)[:, None])
    flagged = [narrow.test(rng.normal(1e6, 0.2, 300).astype(np.float32)[:, None])
               .loc[0, "drifted"] for _ in range(10)]
    assert sum(flagged) <= 2
    assert narrow.test(rng.normal(1e6 + 0.2, 0.2, 300).astype(np.float32)[:, None]).loc[
        0, "drifted"]
    sizes = np.array([4, 8, 16]) * 2.0**30
    reference = rng.choice(sizes, 2000)
    reference[0] += 1  # a value float32 does not hold
    big = DriftDetector(random_state=0).fit(reference[:, None])
    assert big.test(rng.choice(sizes, 300)[:, None]).loc[0, "p_value"] > 0.5


def test_dates_and_durations_as_categories_save_load_and_test_alike(tmp_path):
    # pandas' Timestamp and Timedelta were kept as categories: keraslearn.save
    # wrote them, and skops could not rebuild them, trusted or not, so the file
    # (model and all) could not be loaded.
    from sklearn.dummy import DummyClassifier

    import keraslearn

    days = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"] * 20)
    reference = pd.DataFrame({"day": days, "wait": days - days.min(), "x": np.arange(60.0)})
    detector = DriftDetector(categorical_features=["day", "wait"]).fit(reference)
    model = DummyClassifier().fit(reference[["x"]], np.arange(60) % 2)
    with pytest.warns(UserWarning, match="Saved all the same"):  # (other columns than x)
        path = keraslearn.save(model, tmp_path / "m.keraslearn", drift_detector=detector)
    assert keraslearn.get_untrusted_types(path) == []
    _, loaded = keraslearn.load(path, return_drift_detector=True)
    later = reference.assign(day=reference["day"] + pd.Timedelta(days=1),
                             wait=reference["wait"] * 2)  # a new day, new durations
    for batch in (reference.iloc[::2], later):
        expected = detector.test(batch)
        pd.testing.assert_frame_equal(loaded.test(batch), expected)
    assert not detector.test(reference.iloc[::2])["drifted"].any()
    assert detector.test(later).set_index("feature")["n_unseen"].to_dict() == {
        "day": 20, "wait": 20, "x": 0}  # (4 days: 0 and 2 were seen)


@pytest.mark.parametrize("half_made", ["tensorflow", "keras"])
def test_drift_checks_run_while_another_thread_imports_tensorflow(half_made, monkeypatch):
    # A module another thread is importing is in sys.modules before it has its
    # attributes: every DriftDetector.fit/test and evaluate call made meanwhile
    # failed with "partially initialized module 'tensorflow' has no attribute 'data'".
    import sys
    import types

    from sklearn.linear_model import LogisticRegression

    from keraslearn.evaluation import evaluate

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), np.arange(60) % 2
    clf = LogisticRegression().fit(X, y)
    monkeypatch.setitem(sys.modules, half_made, types.ModuleType(half_made))
    detector = DriftDetector().fit(X)
    assert not detector.test(X[:30])["drifted"].any()
    assert evaluate(clf, X, y).metrics["accuracy"] > 0
