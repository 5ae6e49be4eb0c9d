"""Serving a SavedModel written by keraslearn.export: ExportedModel predicts as the
pipeline did, make_app serves it with the dtypes the export recorded, and a
directory that is not such an export is refused with the reason."""

import json
import re
import shutil
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from _servers import dropping, mixed, mixed_frame, records, regressor, scaled_rows, serving

import keraslearn
from keraslearn.serving import ExportedModel, make_app


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exported")
    return (keraslearn.export(mixed(), folder / "classifier"),
            keraslearn.export(regressor(), folder / "regressor"))


def test_exported_model_predicts_as_the_pipeline(exported):
    model = ExportedModel(exported[0])
    pipeline = mixed()
    X, _ = mixed_frame(seed=7)
    assert model.feature_names_in_.tolist() == X.columns.tolist()
    assert model.input_dtypes_ == {"age": "float32", "city": "str", "rooms": "float32",
                                   "income": "float32"}
    assert model.classes_.tolist() == pipeline.classes_.tolist()
    np.testing.assert_array_equal(model.predict(X), pipeline.predict(X))
    np.testing.assert_allclose(model.predict_proba(X), pipeline.predict_proba(X),
                               rtol=1e-5, atol=1e-6)


def test_exported_regressor_has_no_predict_proba(exported):
    model = ExportedModel(exported[1])
    assert not hasattr(model, "predict_proba")
    assert not hasattr(model, "feature_names_in_") and model.n_features_in_ == 4
    X = scaled_rows()[:50]
    np.testing.assert_allclose(model.predict(X), regressor().predict(X), rtol=1e-5, atol=1e-5)
    # sparse rows, as the estimator takes them (np.asarray made them "shape ()")
    from scipy import sparse

    X = np.where(np.abs(X) < 1, 0.0, X)
    for rows in (sparse.csr_matrix(X), sparse.csc_array(X)):
        np.testing.assert_allclose(model.predict(rows), regressor().predict(rows),
                                   rtol=1e-5, atol=1e-5)


def test_make_app_serves_an_exported_model_with_its_own_dtypes(exported):
    pipeline = mixed()
    X, _ = mixed_frame(n=30, seed=3)
    with serving(ExportedModel(exported[0])) as client:
        response = client.post("/predict", json=records(X))
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == pipeline.predict(X).tolist()
        response = client.post("/predict_proba", json=records(X))
        assert response.status_code == 200, response.text
        np.testing.assert_allclose(response.json()["probabilities"], pipeline.predict_proba(X),
                                   rtol=1e-5, atol=1e-6)
        features = client.get("/metadata").json()["features"]
        assert {f["name"]: f["kind"] for f in features}["city"] == "string"
        bad = records(X.iloc[:2])
        bad[0]["city"] = 3
        response = client.post("/predict", json=bad)
        assert response.status_code == 400 and "city" in response.json()["error"]
        assert client.post("/predict", json=records(X.iloc[:1])).status_code == 200
    with serving(ExportedModel(exported[1])) as client:
        response = client.post("/predict", json=scaled_rows()[:5].tolist())
        assert response.status_code == 200, response.text
        np.testing.assert_allclose(response.json()["predictions"],
                                   regressor().predict(scaled_rows()[:5]), rtol=1e-5, atol=1e-5)
        assert client.post("/predict_proba", json=scaled_rows()[:5].tolist()).status_code == 404


def test_dtypes_given_override_an_exported_models_own_column_by_column(exported):
    # They replaced them all: a dtype given for one column made the string
    # column a number (every request refused), and float32 columns float64
    # (values overflowing float32 were no longer refused).
    X, _ = mixed_frame(n=5, seed=3)
    with serving(ExportedModel(exported[0]), dtypes={"rooms": "float64"}) as client:
        kinds = {f["name"]: (f["kind"], f["dtype"]) for f in client.get("/metadata").json()[
            "features"]}
        assert kinds["city"][0] == "string" and kinds["age"][1] == "float32"
        assert kinds["rooms"][1] == "float64"
        assert client.post("/predict", json=records(X)).json()["predictions"] == (
            mixed().predict(X).tolist())
        huge = records(X.iloc[:1])
        huge[0]["age"] = 1e300
        response = client.post("/predict", json=huge)
        assert response.status_code == 400 and "overflows float32" in response.json()["error"]


def test_a_number_dtype_for_an_exported_string_column_is_refused(exported):
    # The graph one-hot encodes the strings it was exported with: the server
    # started, then answered every request with a graph error.
    with pytest.raises(ValueError, match=r"dtypes gives \['city'\] a number dtype"):
        make_app(ExportedModel(exported[0]), dtypes={"city": "int64"})
    make_app(ExportedModel(exported[0]), dtypes={"city": "string"})


def test_what_is_not_a_keraslearn_export_is_refused(exported, tmp_path):
    with pytest.raises(ValueError, match="not a SavedModel directory"):
        ExportedModel(tmp_path)
    bare = shutil.copytree(exported[1], tmp_path / "bare")
    (bare / "assets.extra" / "keraslearn.json").unlink()
    with pytest.raises(ValueError, match="that keraslearn.export did not write"):
        ExportedModel(bare)
    newer = shutil.copytree(exported[1], tmp_path / "newer")
    file = newer / "assets.extra" / "keraslearn.json"
    file.write_text(json.dumps({**json.loads(file.read_text()), "export_format_version": 99}))
    with pytest.raises(ValueError, match="format version 99, newer"):
        ExportedModel(newer)
    file.write_text("{not json")
    with pytest.raises(ValueError, match="is damaged"):
        ExportedModel(newer)
    # Records of another form came out as KeyError, TypeError or OverflowError tracebacks.
    record = json.loads((exported[1] / "assets.extra" / "keraslearn.json").read_text())
    for changed in ({"task": "classification", "classes": None}, {"inputs": "x"},
                    {"inputs": [{"name": "a"}]}, {"imputed_features": 5},
                    {"export_format_version": 1e400}, {"task": "rm -rf"}, {"inputs": []}):
        spoilt = {key: value for key, value in {**record, **changed}.items()
                  if value is not None}
        file.write_text(json.dumps(spoilt))
        with pytest.raises(ValueError, match="damaged"):
            ExportedModel(newer)
    # A damaged SavedModel itself: TensorFlow's OSError and FileNotFoundError
    # had reached keraslearn serve's user as tracebacks.
    truncated = shutil.copytree(exported[1], tmp_path / "truncated")
    graph = truncated / "saved_model.pb"
    graph.write_bytes(graph.read_bytes()[:2000])
    without_variables = shutil.copytree(exported[1], tmp_path / "without_variables")
    shutil.rmtree(without_variables / "variables")
    for damaged in (truncated, without_variables):
        with pytest.raises(ValueError, match="TensorFlow cannot load its SavedModel"):
            ExportedModel(damaged)
    # A sequence model's export was said to take "images".
    file.write_text(json.dumps({**record, "inputs": [
        {"name": "inputs", "feature": None, "dtype": "float32", "shape": [None, 6, 2]}]}))
    with pytest.raises(ValueError, match=r"takes inputs of shape \[None, 6, 2\] \(images, or "
                                         r"sequences: samples of several dimensions\); the "
                                         "server takes tables of rows"):
        ExportedModel(newer)
    file.write_text(json.dumps({**record, "inputs": [
        {"name": "inputs", "feature": None, "dtype": "float32", "shape": [None, "x"]}]}))
    with pytest.raises(ValueError, match=r"is damaged \(TypeError: the input's shape is"):
        ExportedModel(newer)  # (int()'s ValueError, not naming the file: found in an audit)


def test_a_record_contradicting_its_savedmodel_is_refused(exported, tmp_path):
    # Found in an audit: an edited record (or another export's) was trusted: a
    # third class was answered with two probabilities, a renamed input failed
    # every request inside TensorFlow, a dtype changed blamed every client.
    folder = shutil.copytree(exported[0], tmp_path / "edited")
    file = folder / "assets.extra" / "keraslearn.json"
    record = json.loads(file.read_text())
    inputs = record["inputs"]
    for changed, words in (
            ({"classes": [*record["classes"], 7]}, "3 classes, where the graph gives 2 "
                                                   "probabilities"),
            ({"inputs": [{**inputs[0], "name": "zzz"}, *inputs[1:]]}, "inputs ['"),
            ({"inputs": [{**inputs[0], "dtype": "int64"}, *inputs[1:]]},
             f"input {inputs[0]['name']!r} of int64, where the graph takes"),
            ({"task": "regression"}, "a regression model, whose graph answers ['label', "
                                     "'probabilities']")):
        file.write_text(json.dumps({**record, **changed}))
        with pytest.raises(ValueError, match="keraslearn.json' does not describe the SavedModel "
                                             "beside it: " + re.escape(words)):
            ExportedModel(folder)
    file.write_text(json.dumps(record))
    assert ExportedModel(folder).classes_.tolist() == record["classes"]


def test_a_column_the_pipeline_dropped_is_taken_and_not_read(tmp_path):
    # The same request serves the pipeline (which needs every column it was
    # fitted on) and its export (whose graph takes only the columns it uses).
    X, pipeline = mixed_frame(n=60)[0], dropping()
    model = ExportedModel(keraslearn.export(pipeline, tmp_path / "dropping"))
    assert model.unused_features_ == ["rooms", "income"]
    for served in (pipeline, model):
        with serving(served) as client:
            response = client.post("/predict", json=records(X.iloc[:5]))
            assert response.status_code == 200, response.text
            assert response.json()["predictions"] == pipeline.predict(X.iloc[:5]).tolist()
    with serving(model) as client:  # and a request without them
        response = client.post("/predict", json=records(X.iloc[:5][["age", "city"]]))
        assert response.status_code == 200, response.text


def test_missing_values_and_absent_columns_are_refused_by_name(exported):
    # The graph answered a row with NaN in a feature no imputer reads (the
    # pipeline refuses it) with probabilities that mean nothing (its ReLU took
    # NaN for 0), failed inside TensorFlow on None in a text column, answered
    # infinity, and raised pandas' bare KeyError for an absent column.
    model = ExportedModel(exported[0])
    X, _ = mixed_frame(seed=7)
    X = X.iloc[:5].copy()
    kept = X.copy()
    with_nan = X.copy()
    with_nan.loc[with_nan.index[3], "age"] = np.nan
    with pytest.raises(ValueError, match=r"missing value \(NaN or None\) in feature 'age', "
                                         r"row 3, which the exported pipeline does not take "
                                         r"\(it takes missing values in no feature\)"):
        model.predict_proba(with_nan)
    with pytest.raises(ValueError, match="infinity in feature 'income', row 0"):
        model.predict_proba(X.assign(income=np.inf))
    with pytest.raises(ValueError, match="in feature 'city', row 1"):
        model.predict(X.assign(city=[X["city"].iloc[0], None, *X["city"].iloc[2:]]))
    with pytest.raises(ValueError, match=r"X lacks the exported column\(s\) \['rooms'\]"):
        model.predict(X.drop(columns="rooms"))
    assert X.equals(kept)
    rows = ExportedModel(exported[1])
    values = scaled_rows()[:6].copy()
    values[2, 1] = np.nan
    with pytest.raises(ValueError, match="in feature 1, row 2"):
        rows.predict(values)
    with pytest.raises(ValueError, match=r"X has shape \(6, 3\), but this ExportedModel takes "
                                         r"rows of 4 features"):
        rows.predict(values[:, :3])
    # found in review: dates, times and complex numbers, which the estimator
    # refuses, were answered as counts of their unit or without their imaginary part
    pipeline = regressor()
    dates = np.arange(24).reshape(6, 4).astype("datetime64[D]")
    for sent in (dates, dates - dates.min(), scaled_rows()[:6] + 1j):
        with pytest.raises(ValueError) as told:
            pipeline.predict(sent)
        with pytest.raises(ValueError, match=re.escape(str(told.value).splitlines()[0])):
            rows.predict(sent)
    with pytest.raises(ValueError, match=r"X has date or time columns \['age'\]: as numbers "):
        model.predict(X.assign(age=pd.Timestamp("2020-01-01")))
    with pytest.raises(ValueError, match=r"X has date or time columns \['0'\]: as numbers "):
        frame = pd.DataFrame(scaled_rows()[:6])
        frame[0] = dates[:, 0]
        rows.predict(frame)  # (found in review: read as objects by an array-fitted export)


def test_values_that_are_no_numbers_are_refused_by_feature_and_row(exported):
    # found in an audit: a Python date among objects raised NumPy's TypeError
    # (float() takes no date), and text its ValueError, naming neither feature nor row
    import datetime

    model = ExportedModel(exported[0])
    X = mixed_frame(seed=7)[0].iloc[:4].astype({"age": object})
    for odd in (datetime.date(2020, 1, 1), pd.Period("2020-01", "M"), "old", 1j):
        sent = X.copy()
        sent.loc[sent.index[2], "age"] = odd
        for huge in (False, True):  # (found in review: NumPy's OverflowError on 10**400 first)
            if huge:
                sent.loc[sent.index[0], "age"] = 10**400
            with pytest.raises(ValueError, match=re.escape(
                    f"Input X holds {odd!r} in feature 'age', row 2, which is not a number: the "
                    "exported graph takes numbers there")):
                model.predict(sent)
    rows, values = ExportedModel(exported[1]), scaled_rows()[:4].astype(object)
    pipeline = regressor()
    values[3, 1] = str(values[3, 1])  # (numbers as text, taken as the pipeline takes them)
    np.testing.assert_allclose(rows.predict(values), pipeline.predict(values), rtol=1e-5)
    values[1, 2] = datetime.datetime(2020, 1, 1)
    values[0, 3] = 10**400  # (found in review: float()'s OverflowError, in place of the date)
    # (NumPy fails on the date first, then on 10**400: found in review, its OverflowError)
    for sent in (np.asfortranarray(values), np.ascontiguousarray(values)):
        with pytest.raises(ValueError, match=r"^Input X holds datetime.datetime\(2020, 1, "
                           r"1, 0, 0\) in feature 2, row 1, which is not a number"):
            rows.predict(sent)
    # pandas' NA of a nullable column, sent to an array-fitted export, is a
    # missing value (found in review: NumPy's TypeError)
    nullable = pd.DataFrame(scaled_rows()[:4]).astype("Float64")
    nullable.iloc[2, 1] = pd.NA
    with pytest.raises(ValueError, match=r"^Input X contains a missing value \(NaN or None\) "
                                         r"in feature 1, row 2"):
        rows.predict(nullable)


def test_a_null_in_a_served_exports_text_column_is_told_where_exports_take_them(exported):
    # Found in an audit: the answer said missing values are taken in columns an
    # encoder taking unknown values reads (the pipeline's rule), where an exported
    # graph takes them in no text column.
    X, _ = mixed_frame(seed=7)
    rows = records(X.iloc[:2])
    rows[1]["city"] = None
    with serving(ExportedModel(exported[0])) as client:
        response = client.post("/predict", json=rows)
        assert response.status_code == 400
        assert response.json()["error"].startswith("column 'city', row 1: expected a string")
        assert response.json()["error"].endswith(
            "an exported model's only in the number columns its graph imputes (those "
            "/metadata marks nullable)")


def test_nan_the_graph_imputes_after_other_steps_is_answered_as_the_pipeline_does(tmp_path):
    # (found in review) Only a first step imputing a column counted: NaN going
    # through a scaler to an imputer, or to an encoder that learnt NaN as a
    # category, was refused, though the pipeline and its graph answer it.
    from sklearn.compose import make_column_transformer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from keraslearn import MLPClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60),
                      "k": rng.integers(0, 3, 60).astype(float)})
    X.loc[::5, "a"] = np.nan
    X.loc[::7, "k"] = np.nan
    y = (rng.normal(size=60) > 0).astype(int)
    pipelines = {
        "scaled-then-imputed": (make_pipeline(StandardScaler(), SimpleImputer(), MLPClassifier(
            hidden_layer_sizes=(3,), max_iter=2, random_state=0)), ["a", "b", "k"]),
        "nan-category": (make_pipeline(make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["k"]), remainder=StandardScaler()),
            MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0)), ["k"]),
    }
    for name, (pipeline, imputed) in pipelines.items():
        with pytest.warns(ConvergenceWarning):
            pipeline.fit(X.fillna({"a": 0.0}) if name == "nan-category" else X, y)
        model = ExportedModel(keraslearn.export(pipeline, tmp_path / name))
        assert model.imputed_features_ == imputed
        rows = X.iloc[:15] if name != "nan-category" else X.iloc[:15].fillna({"a": 0.0})
        np.testing.assert_allclose(model.predict_proba(rows), pipeline.predict_proba(rows),
                                   rtol=1e-5, atol=1e-6)
        if name == "nan-category":  # its scaled columns refuse NaN, as the pipeline does
            with pytest.raises(ValueError, match="feature 'a', row 0"):
                model.predict_proba(X.iloc[:15])


def test_a_float16_network_s_nan_outputs_are_refused_not_served_as_the_first_class(tmp_path):
    # Found in an audit: under mixed_float16 the network's first layer casts to
    # float16, so a value past 65,504 gave NaN probabilities, which the label
    # layer read as the first class (HTTP 200); the estimator refuses it.
    import keras

    from keraslearn import KerasClassifier

    def build(meta):
        return keras.Sequential([
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(8, activation="relu", dtype="mixed_float16"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax", dtype="float32")])

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype("float32")
    y = np.array(["a", "b", "c"] * 20)
    clf = KerasClassifier(build, loss="sparse_categorical_crossentropy", epochs=1,
                          random_state=0).fit(X, y)
    model = ExportedModel(keraslearn.export(clf, tmp_path / "model"))
    np.testing.assert_array_equal(model.predict(X[:5]), clf.predict(X[:5]))
    rows = X[:3].copy()
    rows[1, 2] = 1e5
    told = re.escape("outputs are NaN for 1 of 3 rows (row 1 first): its weights, or those "
                     "rows' inputs, are not finite, or beyond 65,504 after the pipeline's "
                     "preprocessing: its network reads float16")
    for method in (model.predict, model.predict_proba):
        with pytest.raises(ValueError, match=told):
            method(rows)
    with serving(model) as client:
        response = client.post("/predict", json={"inputs": rows.tolist()})
        assert response.status_code == 400
        assert "outputs are NaN for 1 of 3 rows" in response.json()["error"]


def test_ids_an_exported_network_cannot_take_are_refused_by_column(tmp_path):
    # found in an audit: the graph casts its float input to the network's
    # integer ids, so 1.5 was answered as id 1 and -1 answered at all, where the
    # estimator refuses both; the export records the ids its network takes
    import keras

    from keraslearn import KerasClassifier

    def build(meta):
        ids = keras.Input((2,), dtype="int32")
        vectors = keras.layers.Flatten()(keras.layers.Embedding(3, 2)(ids))
        return keras.Model(ids, keras.layers.Dense(1, activation="sigmoid")(vectors))

    X = pd.DataFrame({"a": [0, 1, 2] * 10, "b": [2, 0, 1] * 10})
    clf = KerasClassifier(build, loss="binary_crossentropy", epochs=1, random_state=0).fit(
        X, np.arange(30) % 2)
    model = ExportedModel(keraslearn.export(clf, tmp_path / "model"))
    np.testing.assert_allclose(model.predict_proba(X[:3]), clf.predict_proba(X[:3]),
                               rtol=1e-5, atol=1e-6)
    assert model.input_dtypes_ == {"a": "int32", "b": "int32"}  # (served as whole numbers)
    with serving(model) as client:
        for value in (1.5, -1, 3):
            rows = pd.DataFrame({"a": [0, 1], "b": [1, value]})
            with pytest.raises(ValueError, match=r"outside the 3 rows|cannot hold exactly"):
                clf.predict(rows)  # (as the estimator refuses them)
            told = (f"Input X holds {value} in feature 'b', row 1, but the exported "
                    "network takes ids of the 3 rows of the Embedding reading them")
            with pytest.raises(ValueError, match=re.escape(told)):
                model.predict(rows)
            response = client.post("/predict", json=records(rows))
            assert response.status_code == 400
            assert ("an integer" if value == 1.5 else told) in response.json()["error"]
    # found in review: the ids are read as the numbers sent before the graph's
    # cast, not NumPy's errors: number strings, an infinity or None among objects
    texts = pd.DataFrame({"a": ["0", "1"], "b": ["2.0", "0"]})
    np.testing.assert_allclose(model.predict_proba(texts), clf.predict_proba(texts.astype(float)),
                               rtol=1e-5, atol=1e-6)
    for odd, told in ((np.inf, "contains infinity"), (None, "contains a missing value"),
                      ("nan", "contains a missing value"), ("abc", "holds 'abc'"),
                      (Decimal("2.5"), "holds 2.5"), (1 + 2j, r"holds \(1\+2j\)"),
                      # (read through float64, -2**63 - 1 was -2**63, an int64 id)
                      (str(-2**63 - 1), f"holds {-2**63 - 1}"), (str(2**63), f"holds {2**63}"),
                      (10**5000, "contains infinity")):  # (past Python's digits to print)
        with pytest.raises(ValueError, match=rf"^Input X {told}.* in feature 'b', row 1"):
            model.predict(pd.DataFrame({"a": [0, 1], "b": np.array([1, odd], dtype=object)}))
    with pytest.raises(TypeError, match="takes named columns: give a DataFrame with 'a'"):
        model.predict(X.to_numpy())  # (its columns' names unknown)
    # values told short (a fraction of 1,000 digits; 1e300, not its 301 digits)
    for odd, told in (("0." + "0" * 1000 + "1", r"'0\.0{54}\.\.\. in feature 'b', row 1, which is "
                       "not a whole number"), (1e300, r"1e\+300 in feature 'b', row 1, but")):
        with pytest.raises(ValueError, match=rf"^Input X holds {told}"):
            model.predict(pd.DataFrame({"a": [0, 1], "b": np.array([1, odd], dtype=object)}))
    with pytest.raises(ValueError, match=r"holds np.timedelta64\(5,'D'\) in feature 'b', row 1, "
                                         "which is not a number"):  # (an np.integer subclass)
        model.predict(pd.DataFrame({"a": [0, 1], "b": np.array([1, np.timedelta64(5, "D")],
                                                               dtype=object)}))


def test_a_huge_number_sent_as_text_for_ids_is_read_at_once():
    # found in review: int() of Decimal('1e800000') took 20 s of a server's
    # request (time grows with the square of the exponent); read in a child
    # process, so that a regression fails on its timeout instead of hanging;
    # a zero so written stays 0, its column exact (found in review: read as floats)
    code = ("import numpy as np; from keraslearn.serving._sent import numbers; "
            "print(numbers(np.array(['1e999999999', '5']), 'b').tolist()); "
            f"print(numbers(np.array(['0e999999999', '{2**53 + 1}']), 'b').tolist())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.split() == ["[inf,", "5.0]", "[0,", f"{2**53 + 1}]"]
