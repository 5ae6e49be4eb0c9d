"""Every endpoint and input format, over HTTP against a real server.

Requests here are sent one at a time, so each is one model call on exactly its
own rows: the answers must equal the model's own output bit for bit.
"""

import json
import time

import numpy as np
import pandas as pd
import pytest
from _servers import (
    CITIES,
    classifier,
    frame,
    mixed,
    mixed_frame,
    records,
    regressor,
    scaled_rows,
    serving,
)
from sklearn.compose import make_column_transformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from keraslearn.serving import make_app

ROWS = [3, 17, 42, 101, 7]


@pytest.fixture(scope="module")
def clf_client():
    with serving(classifier()) as client:
        yield client


@pytest.fixture(scope="module")
def reg_client():
    with serving(regressor()) as client:
        yield client


def _named_bodies():
    X = frame()[0].iloc[ROWS]
    rec = records(X)
    cols = {c: X[c].tolist() for c in X.columns}
    rows = X.to_numpy().tolist()
    split = {"columns": list(X.columns), "data": rows}
    shuffled = {"columns": list(X.columns[::-1]), "data": X[X.columns[::-1]].to_numpy().tolist()}
    return {
        "records": ("/predict", rec),
        "columns": ("/predict", cols),
        "rows in feature order": ("/predict", rows),
        "instances of records": ("/predict", {"instances": rec}),
        "invocations dataframe_split": ("/invocations", {"dataframe_split": split}),
        "invocations dataframe_split, columns reordered, with index":
            ("/invocations", {"dataframe_split": {**shuffled, "index": ROWS}}),
        "invocations dataframe_records": ("/invocations", {"dataframe_records": rec}),
        "invocations instances": ("/invocations", {"instances": rec}),
        "invocations inputs as columns": ("/invocations", {"inputs": cols}),
        "invocations inputs as rows": ("/invocations", {"inputs": rows}),
        "invocations with empty params": ("/invocations", {"dataframe_records": rec, "params": {}}),
    }


@pytest.mark.parametrize("name", list(_named_bodies()))
def test_every_format_predicts_what_the_model_does(clf_client, name):
    path, body = _named_bodies()[name]
    response = clf_client.post(path, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    expected = classifier().predict(frame()[0].iloc[ROWS])
    assert response.json() == {"predictions": expected.tolist()}


def test_one_record_alone(clf_client):
    X = frame()[0].iloc[[5]]
    response = clf_client.post("/predict", json=records(X)[0])
    assert response.json() == {"predictions": classifier().predict(X).tolist()}


def test_csv_body_on_invocations(clf_client):
    X = frame()[0].iloc[ROWS]
    response = clf_client.post("/invocations", content=X.to_csv(index=False),
                               headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == classifier().predict(X).tolist()


def test_predict_proba_gives_probabilities_and_classes(clf_client):
    X = frame()[0].iloc[ROWS]
    response = clf_client.post("/predict_proba", json=records(X))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["classes"] == classifier().classes_.tolist() == ["high", "low", "mid"]
    np.testing.assert_array_equal(body["probabilities"], classifier().predict_proba(X))


def test_regressor_without_feature_names_takes_rows(reg_client):
    Xa = scaled_rows()[ROWS]
    expected = regressor().predict(Xa)
    rows = Xa.tolist()
    for path, body in [("/predict", rows), ("/predict", {"instances": rows}),
                       ("/invocations", {"inputs": rows}), ("/invocations", {"instances": rows}),
                       ("/invocations", {"dataframe_split": {"data": rows}}),
                       ("/invocations", {"dataframe_split": {"columns": list("wxyz"),
                                                             "data": rows}}),
                       # a frame labelled 0..3, as pandas' to_json(orient="split") writes it
                       ("/invocations", {"dataframe_split": json.loads(pd.DataFrame(Xa).to_json(
                           orient="split", index=False))})]:
        response = reg_client.post(path, json=body)
        assert response.status_code == 200, (path, body, response.text)
        predictions = response.json()["predictions"]
        assert all(type(p) is float for p in predictions)
        np.testing.assert_array_equal(predictions, expected)
    for labels in ([0, 2, 1, 3], [0, 1, 2, "x"]):  # not in order, or not all numbers
        response = reg_client.post("/invocations", json={"dataframe_split": {
            "columns": labels, "data": rows}})
        assert response.status_code == 400
        assert response.json()["error"] == (
            "'dataframe_split': 'columns' must be a list of column names (strings), or of "
            "increasing column numbers (the model was fitted without names: columns are "
            "taken in order)")


def test_invocations_reads_an_envelope_where_a_column_has_its_name():
    # A column named "inputs" made /invocations read {"inputs": ...} as columns, and
    # refuse it as not an envelope; /predict, which takes columns, still reads them.
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"inputs": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 2.0, 5.0]})
    model = LinearRegression().fit(X, X["inputs"] * 2 - X["b"])
    expected = model.predict(X.iloc[:2]).tolist()
    with serving(model, warmup=False) as client:
        answers = [client.post("/invocations", json={"inputs": body}) for body in (
            [[0.0, 1.0], [1.0, 0.0]], records(X.iloc[:2]), X.iloc[:2].to_dict(orient="list"))]
        columns = client.post("/predict", json=X.iloc[:2].to_dict(orient="list"))
    for answer in [*answers, columns]:
        assert answer.status_code == 200, answer.text
        np.testing.assert_allclose(answer.json()["predictions"], expected)


def test_regressor_has_no_predict_proba(reg_client):
    response = reg_client.post("/predict_proba", json=[[0.0, 0.0, 0.0, 0.0]])
    assert response.status_code == 404
    assert "no predict_proba" in response.json()["error"]


def test_string_features_and_integer_labels():
    X, _ = mixed_frame(n=20, seed=9)
    model = mixed()
    with serving(model, input_example=X) as client:
        response = client.post("/predict", json=records(X))
        assert response.status_code == 200, response.text
        predictions = response.json()["predictions"]
        assert all(type(p) is int for p in predictions)
        assert predictions == model.predict(X).tolist()
        metadata = client.get("/metadata").json()
    assert metadata["classes"] == [0, 1]
    kinds = {f["name"]: f["kind"] for f in metadata["features"]}
    assert kinds == {"age": "number", "city": "string", "rooms": "integer", "income": "number"}


@pytest.mark.parametrize("labels, written", [
    (np.array(["2021-01-01", "2022-06-30"], dtype="datetime64[D]"), ["2021-01-01", "2022-06-30"]),
    (np.array([1, 36], dtype="timedelta64[h]"), ["P0DT1H0M0S", "P1DT12H0M0S"]),
])
def test_date_and_duration_labels_are_answered_in_iso_8601(labels, written):
    # JSON has no such types: every answer was a 500 ("date cannot be written as JSON").
    from keraslearn import MLPClassifier

    X = np.random.RandomState(0).rand(20, 2)
    y = labels[np.arange(20) % 2]
    with pytest.warns(Warning):  # (two iterations: not converged)
        model = MLPClassifier(hidden_layer_sizes=(2,), max_iter=2, random_state=0).fit(X, y)
    with serving(model) as client:
        predicted = client.post("/predict", json=X[:4].tolist())
        proba = client.post("/predict_proba", json=X[:4].tolist())
        metadata = client.get("/metadata")
    assert predicted.status_code == proba.status_code == metadata.status_code == 200
    by_label = dict(zip(labels.tolist(), written))
    assert predicted.json()["predictions"] == [by_label[v] for v in model.predict(X[:4]).tolist()]
    assert proba.json()["classes"] == metadata.json()["classes"] == written


def test_dtypes_argument_is_input_example_without_data():
    X, _ = mixed_frame(n=6, seed=3)
    with serving(mixed(), dtypes={"city": "string", "rooms": "int64"}) as client:
        body = {c: X[c].tolist() for c in X.columns}
        response = client.post("/predict_proba", json=body)
        assert response.status_code == 200, response.text
        np.testing.assert_array_equal(response.json()["probabilities"], mixed().predict_proba(X))
        assert X["city"].isin(CITIES).all()


def test_metadata_describes_features_classes_and_versions(clf_client):
    import keras
    import sklearn
    import tensorflow as tf

    import keraslearn

    metadata = clf_client.get("/metadata").json()
    assert [f["name"] for f in metadata["features"]] == list(frame()[0].columns)
    assert {f["dtype"] for f in metadata["features"]} == {"float64"}
    assert metadata["n_features"] == 4
    assert metadata["classes"] == ["high", "low", "mid"]
    assert metadata["methods"] == ["predict", "predict_proba"]
    assert metadata["steps"] == ["sklearn.StandardScaler", "keraslearn.MLPClassifier"]
    versions = metadata["versions"]
    assert versions["keraslearn"] == keraslearn.__version__
    assert versions["keras"] == keras.__version__
    assert versions["tensorflow"] == tf.__version__
    assert versions["scikit-learn"] == sklearn.__version__
    assert metadata["options"]["max_batch_rows"] == 256


def test_metadata_of_a_model_without_feature_names(reg_client):
    metadata = reg_client.get("/metadata").json()
    assert metadata["features"] == [{"name": None, "dtype": "float64", "kind": "number",
                                     "nullable": False}] * 4
    assert metadata["classes"] is None
    assert metadata["methods"] == ["predict"]


def test_health_and_ping_count_requests(clf_client):
    before = clf_client.get("/health").json()
    assert before["status"] == "ok"
    clf_client.post("/predict", json=records(frame()[0].iloc[:3]))
    after = clf_client.get("/ping").json()
    assert after["requests"] == before["requests"] + 1
    assert after["rows"] == before["rows"] + 3
    assert after["model_calls"] == before["model_calls"] + 1


def test_unknown_path_and_wrong_method_answer_json(clf_client):
    missing = clf_client.get("/nowhere")
    assert missing.status_code == 404 and missing.json()["error"] == "Not Found"
    wrong = clf_client.get("/predict")
    assert wrong.status_code == 405 and "error" in wrong.json()
    assert wrong.headers["allow"] == "POST"  # RFC 9110: a 405 names the methods allowed
    assert set(clf_client.post("/health").headers["allow"].split(", ")) == {"GET", "HEAD"}
    # found in an audit: a trailing slash got an empty 307 (curl -s printed nothing)
    slash = clf_client.post("/predict/", json=records(frame()[0].iloc[:1]))
    assert slash.status_code == 404 and slash.json()["error"] == "Not Found"


@pytest.mark.parametrize("path", ["/predict", "/invocations"])
def test_a_compressed_body_is_refused_naming_its_encoding(clf_client, path):
    # found in an audit: Content-Encoding was ignored, a gzip body told as JSON
    # it is not ("can't decode byte 0x8b"), a plain one labelled gzip answered
    import gzip
    import json

    rows = records(frame()[0].iloc[:2])
    body = json.dumps(rows if path == "/predict" else {"dataframe_records": rows}).encode()
    for content in (gzip.compress(body), body):
        answer = clf_client.post(path, content=content, headers={
            "content-type": "application/json", "content-encoding": "gzip"})
        assert answer.status_code == 415
        assert "unsupported Content-Encoding 'gzip': send the body uncompressed" in (
            answer.json()["error"])
    plain = clf_client.post(path, content=body, headers={
        "content-type": "application/json", "content-encoding": "identity"})
    assert plain.status_code == 200


class _ColumnMeans:
    """A stand-in drift detector: the mean of each column of the rows it is given."""

    def test(self, X):
        X = pd.DataFrame(X)  # (a model fitted without names is given arrays)
        return pd.DataFrame({"feature": X.columns, "mean": X.mean().to_numpy(),
                             "rows": len(X)})


def test_drift_endpoint_tests_the_last_window_of_rows():
    X, _ = frame()
    with serving(classifier(), drift_detector=_ColumnMeans(), drift_window=10) as client:
        assert client.get("/monitoring/drift").status_code == 409
        for start, stop in [(0, 4), (4, 11), (11, 16)]:
            assert client.post("/predict", json=records(X.iloc[start:stop])).status_code == 200
        response = client.get("/monitoring/drift")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows"] == 10
    expected = X.iloc[6:16].mean()
    for entry in body["report"]:
        assert entry["rows"] == 10
        assert entry["mean"] == pytest.approx(expected[entry["feature"]], rel=1e-12)


@pytest.mark.parametrize("named", [True, False])
def test_the_window_keeps_rows_as_sent_when_a_step_changes_them_in_place(named):
    # StandardScaler(copy=False) scales the array it is given: a request the
    # model took alone (no copy made to join it to others) was kept scaled.
    from sklearn.neural_network import MLPRegressor as SklearnMLP

    X, _ = frame()
    X = X if named else X.to_numpy()
    model = make_pipeline(StandardScaler(copy=False),
                          SklearnMLP(hidden_layer_sizes=(3,), max_iter=1)).fit(
        X.copy(), np.arange(len(X)) % 3)
    rows = X.iloc[:5] if named else X[:5]
    with serving(model, drift_detector=_ColumnMeans(), drift_window=10) as client:
        for i in range(5):  # one request at a time: none is joined to another
            sent = records(rows.iloc[[i]]) if named else rows[[i]].tolist()
            assert client.post("/predict", json=sent).status_code == 200
        response = client.get("/monitoring/drift")
    assert response.status_code == 200, response.text
    means = [entry["mean"] for entry in response.json()["report"]]
    np.testing.assert_allclose(means, np.asarray(rows).mean(axis=0), rtol=1e-12)


def test_a_request_answered_with_an_error_is_not_kept_for_the_drift_test():
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LinearRegression().fit(X, 3 * X["a"] + X["b"])
    with serving(model, drift_detector=_ColumnMeans(), drift_window=10) as client:
        overflowing = client.post("/predict", json=[{"a": 1e308, "b": 0.0}])
        assert overflowing.status_code == 500 and "JSON cannot hold" in overflowing.text
        assert client.get("/monitoring/drift").status_code == 409  # nothing kept
        assert client.post("/predict", json=[{"a": 1.0, "b": 1.0}]).status_code == 200
        response = client.get("/monitoring/drift")
    assert response.status_code == 200 and response.json()["rows"] == 1


@pytest.mark.parametrize("model", ["named", "unnamed"])
def test_a_detector_named_otherwise_than_the_model_tests_by_position_without_warning(model):
    # make_app takes a detector fitted with names for a model fitted without (and
    # the reverse), matched by position: its warning of that came with every test.
    import warnings

    from keraslearn.monitoring import DriftDetector

    X = frame()[0] if model == "named" else pd.DataFrame(scaled_rows(), columns=list("abcd"))
    reference = X.to_numpy() if model == "named" else X
    detector = DriftDetector(random_state=0).fit(reference)
    fitted = classifier() if model == "named" else regressor()
    sent = records(X) if model == "named" else X.to_numpy().tolist()
    with serving(fitted, drift_detector=detector, drift_window=100) as client:
        assert client.post("/predict", json=sent).status_code == 200
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            response = client.get("/monitoring/drift")
    assert response.status_code == 200, response.text
    assert not [w for w in caught if "feature names" in str(w.message)]
    expected = detector.test(reference[-100:]).to_dict(orient="records")
    assert [e["statistic"] for e in response.json()["report"]] == pytest.approx(
        [e["statistic"] for e in expected])


def test_rows_cast_to_float32_are_not_a_drift_from_their_float64_reference():
    # dtypes says float32: the kept rows hold np.float32(0.1) where the detector's
    # reference (the training frame) held 0.1, in every row of a rounded column.
    from keraslearn.monitoring import DriftDetector

    X = frame(600, seed=1)[0].round(1)
    detector = DriftDetector(random_state=0).fit(X.iloc[:400])
    with serving(classifier(), drift_detector=detector, drift_window=200,
                 dtypes={c: "float32" for c in X.columns}) as client:
        assert client.post("/predict", json=records(X.iloc[400:])).status_code == 200
        response = client.get("/monitoring/drift")
    assert response.status_code == 200, response.text
    report = {entry["feature"]: entry for entry in response.json()["report"]}
    expected = detector.test(X.iloc[400:]).set_index("feature")
    for name in X.columns:
        assert not report[name]["drifted"]
        assert report[name]["statistic"] == pytest.approx(expected.loc[name, "statistic"])


class _SlowDetector:
    """A drift detector whose test waits for ``release`` (and counts its calls)."""

    def __init__(self):
        import threading

        self.started, self.release = threading.Event(), threading.Event()
        self.calls = 0

    def test(self, X):
        self.calls += 1
        self.started.set()
        assert self.release.wait(30)
        return pd.DataFrame({"feature": list(X.columns), "drifted": False})


def test_predictions_are_answered_while_a_drift_test_runs():
    # The drift test used to run in the model thread: a slow one (a Monte Carlo
    # p-value takes up to a second a feature) held every prediction back.
    import threading

    detector = _SlowDetector()
    X = frame()[0]
    with serving(classifier(), drift_detector=detector) as client:
        assert client.post("/predict", json=records(X.iloc[:3])).status_code == 200
        answers = {}
        testing = threading.Thread(
            target=lambda: answers.update(drift=client.get("/monitoring/drift")))
        testing.start()
        try:
            assert detector.started.wait(30)
            response = client.post("/predict", json=records(X.iloc[3:5]))  # meanwhile
            assert response.status_code == 200
            assert response.json()["predictions"] == classifier().predict(X.iloc[3:5]).tolist()
        finally:
            detector.release.set()
            testing.join(30)
    assert answers["drift"].status_code == 200 and answers["drift"].json()["rows"] == 3


def test_polls_arriving_while_a_drift_test_runs_share_its_answer():
    # A monitor polling faster than a test finishes queued one test per poll.
    import threading

    detector = _SlowDetector()
    X = frame()[0]
    with serving(classifier(), drift_detector=detector) as client:
        assert client.post("/predict", json=records(X.iloc[:3])).status_code == 200
        answers = []
        polls = [threading.Thread(target=lambda: answers.append(
            client.get("/monitoring/drift"))) for _ in range(3)]
        polls[0].start()
        try:
            assert detector.started.wait(30)
            for poll in polls[1:]:
                poll.start()
            time.sleep(0.3)  # the later polls are waiting on the running test
        finally:
            detector.release.set()
            for poll in polls:
                poll.join(30)
        again = client.get("/monitoring/drift")  # a new test once that one is done
    assert [a.status_code for a in answers] == [200] * 3
    assert {a.text for a in answers} == {again.text}
    assert detector.calls == 2


def test_a_drift_detector_of_other_columns_is_refused_at_make_app():
    from sklearn.exceptions import NotFittedError

    from keraslearn.monitoring import DriftDetector

    X = frame()[0]
    with pytest.raises(ValueError, match=r"make_app: drift_detector was fitted on columns the "
                                         r"model does not take \(\['label'\]; the model "
                                         r"takes \['age',"):
        make_app(classifier(), drift_detector=DriftDetector().fit(X.assign(label=1)))
    make_app(classifier(), drift_detector=DriftDetector().fit(X[X.columns[::-1]]))  # order
    # An unfitted one was taken, and every /monitoring/drift answered 500.
    with pytest.raises(NotFittedError, match="make_app: drift_detector: This DriftDetector"):
        make_app(classifier(), drift_detector=DriftDetector())
    # Settings a test reads, set after fit: every /monitoring/drift answered 500.
    with pytest.raises(ValueError, match="^make_app: drift_detector: The 'alpha' "
                                         "parameter of DriftDetector must be"):
        make_app(classifier(), drift_detector=DriftDetector().fit(X).set_params(alpha=1.5))


def test_a_drift_detector_of_some_of_the_models_columns_tests_those():
    # One fitted without a column the model takes (an id it drops) was refused
    # (keraslearn serve would not start on a file keraslearn.save had written);
    # fitted on every column, the ids flagged drift at every test.
    from keraslearn.monitoring import DriftDetector

    X = frame()[0]
    some = X.drop(columns="age")
    detector = DriftDetector(random_state=0).fit(some)
    with serving(classifier(), drift_detector=detector, drift_window=100) as client:
        assert client.post("/predict", json=records(X)).status_code == 200
        response = client.get("/monitoring/drift")
    assert response.status_code == 200, response.text
    expected = detector.test(some.iloc[-100:].reset_index(drop=True))
    got = response.json()["report"]
    assert [e["feature"] for e in got] == list(some.columns)
    assert [e["statistic"] for e in got] == pytest.approx(list(expected["statistic"]))
    # Requests leaving out the column the model drops: their rows are tested too
    # (every row was held back as incomplete, and the endpoint answered 409).
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    y = (X["income"] > X["income"].median()).astype(int)
    dropping = make_pipeline(ColumnTransformer([("id", "drop", ["age"])],
                                               remainder="passthrough"), LogisticRegression())
    with serving(dropping.fit(X, y), drift_detector=detector, drift_window=100) as client:
        assert client.post("/predict", json=records(some)).status_code == 200
        response = client.get("/monitoring/drift")
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == 100


def test_drift_endpoint_without_detector_is_404(clf_client):
    response = clf_client.get("/monitoring/drift")
    assert response.status_code == 404
    # says what to do for the command line (a saved file) and for Python
    assert "keraslearn.save(..., drift_detector=...)" in response.json()["error"]
    assert "pass drift_detector= to run() or make_app()" in response.json()["error"]


def test_csv_cells_are_read_as_written_not_as_missing_values():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from keraslearn import MLPClassifier

    # "NA" is Namibia's code, "None" a category like any other: pandas reads
    # both as missing values by default.
    X = pd.DataFrame({"country": ["NA", "None", "FR", "DE"] * 10,
                      "size": np.linspace(0.0, 1.0, 40)})
    pipe = make_pipeline(OneHotEncoder(handle_unknown="ignore"),
                         MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0))
    with pytest.warns(ConvergenceWarning):
        pipe.fit(X[["country"]], X["size"] > 0.5)
    rows = X[["country"]].iloc[:4]
    with serving(pipe) as client:
        response = client.post("/invocations", content=rows.to_csv(index=False),
                               headers={"content-type": "text/csv"})
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == pipe.predict(rows).tolist()


def test_a_wrapper_fitted_on_integers_is_served_integer_features():
    # They were described and parsed as float64: 3.7 was answered as id 3.
    import keras

    from keraslearn import KerasClassifier

    def build(meta):
        ids = keras.Input((2,), dtype=meta["X_dtype_"])
        vectors = keras.layers.Flatten()(keras.layers.Embedding(200, 2)(ids))
        return keras.Model(ids, keras.layers.Dense(2, activation="softmax")(vectors))

    X = np.arange(40, dtype=np.int16).reshape(20, 2)
    clf = KerasClassifier(build, loss="sparse_categorical_crossentropy", epochs=1,
                          random_state=0).fit(X, np.arange(20) % 2)
    with serving(clf) as client:
        features = client.get("/metadata").json()["features"]
        answer = client.post("/predict_proba", json={"instances": X[:3].tolist()})
        refused = client.post("/predict", json={"instances": [[3.7, 1]]})
    assert [f["dtype"] for f in features] == ["int16", "int16"]
    assert answer.status_code == 200, answer.text
    np.testing.assert_array_equal(answer.json()["probabilities"], clf.predict_proba(X[:3]))
    assert refused.status_code == 400 and "an integer" in refused.json()["error"]
    # found in an audit: led by a pipeline or a search (the wrapper reading X
    # first), they were described as float64 and 3.7 refused in the model's words
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    led = [make_pipeline(clone(clf)), GridSearchCV(clone(clf), {"epochs": [1]}, cv=2)]
    for model in led:
        model.fit(X, np.arange(20) % 2)
        with serving(model) as client:
            features = client.get("/metadata").json()["features"]
            refused = client.post("/predict", json={"instances": [[3.7, 1]]})
        assert [f["dtype"] for f in features] == ["int16", "int16"]
        assert refused.status_code == 400 and refused.json()["error"].startswith(
            "feature 0, row 0: expected an integer")
    # In a pipeline the server reads float64 columns, whose whole numbers the
    # wrapper takes as its integers (they were refused: a float after an int fit).
    from sklearn.preprocessing import FunctionTransformer

    pipe = make_pipeline(FunctionTransformer(), clf).fit(X, np.arange(20) % 2)
    with serving(pipe) as client:
        answer = client.post("/predict_proba", json={"instances": X[:3].tolist()})
        refused = client.post("/predict", json={"instances": [[3.7, 1]]})
    assert answer.status_code == 200, answer.text
    np.testing.assert_array_equal(answer.json()["probabilities"], pipe.predict_proba(X[:3]))
    assert refused.status_code == 400 and "cannot hold exactly" in refused.json()["error"]


def test_a_classifier_fitted_on_sparse_label_rows_is_served_its_rows():
    # Its predictions are sparse, as scikit-learn's MLP gives them: the server
    # answered 500 ("predict returned a scalar rows").
    import warnings

    from scipy.sparse import csr_matrix
    from sklearn.datasets import make_multilabel_classification
    from sklearn.exceptions import ConvergenceWarning

    from keraslearn import MLPClassifier

    X, Y = make_multilabel_classification(n_samples=40, n_features=4, n_classes=3,
                                          random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(
            X, csr_matrix(Y))
    with serving(model) as client:
        response = client.post("/predict", json=X[:5].tolist())
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == model.predict(X[:5]).toarray().tolist()


def test_a_number_dtype_for_a_column_learnt_as_strings_is_refused():
    # make_app (and keraslearn serve --dtype city=int64) served, then answered
    # every request 500: the encoder compares strings.
    with pytest.raises(ValueError, match=r"make_app: dtypes gives \['city'\] a number dtype, "
                                         r"but the model's first step learnt them as strings"):
        make_app(mixed(), dtypes={"city": "int64"})
    make_app(mixed(), dtypes={"city": "string"})  # as learnt


def test_a_large_body_is_read_off_the_event_loop(monkeypatch):
    # found in an audit: a 4 MiB body was parsed on the event loop, and /health and
    # every other client waited seconds for it
    import asyncio

    from keraslearn.serving import _app

    on_loop, read = [], _app.read_payload

    def recording(*args, **kwargs):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # (a worker thread runs no event loop)
            on_loop.append(False)
        return read(*args, **kwargs)

    monkeypatch.setattr(_app, "read_payload", recording)
    X = frame()[0]
    small = records(X.iloc[:2])
    large = records(X.iloc[np.arange(6000) % len(X)])  # (past 64 KiB of JSON)
    model = classifier()
    with serving(model) as client:
        answers = [client.post("/predict", json=body) for body in (small, large)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].json()["predictions"] == model.predict(
        X.iloc[np.arange(6000) % len(X)]).tolist()
    assert on_loop == [True, False]


def test_an_example_s_object_column_of_integers_is_served_as_integers():
    # found in review: it was served as text (numbers refused, "1" taken), where the
    # model read it as integers, as it reads NumPy's
    from keraslearn import MLPRegressor

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"store": rng.integers(0, 5, 60).astype(object), "x": rng.normal(size=60)})
    model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(
        X, rng.normal(size=60))
    rows = [{"store": 3, "x": 0.5}, {"store": 1, "x": -1.0}]
    with serving(model, input_example=X) as client:
        kinds = {f["name"]: f["kind"] for f in client.get("/metadata").json()["features"]}
        answer = client.post("/predict", json=rows)
        text = client.post("/predict", json=[{"store": "3", "x": 0.5}])
    assert kinds == {"store": "integer", "x": "number"}
    assert answer.status_code == 200, answer.text
    np.testing.assert_allclose(answer.json()["predictions"],
                               model.predict(pd.DataFrame(rows)), rtol=1e-5)
    assert text.status_code == 400 and "expected an integer" in text.json()["error"]


def test_an_example_s_object_columns_of_numbers_and_booleans_are_served_as_the_model_reads():
    # Found in an audit: an object column of Decimals, floats or booleans (read
    # as numbers by the model) was typed "string" from input_example: 6.1 and
    # the training frame's own true refused, "oops" let through to the model.
    # An object array of text beside numbers typed every column "string".
    from decimal import Decimal

    from keraslearn import MLPRegressor

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"price": [Decimal(str(round(v, 2))) for v in rng.normal(5, 1, 60)],
                      "ratio": rng.normal(size=60).astype(object),
                      "member": rng.integers(0, 2, 60).astype(bool).astype(object)})
    model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(
        X, rng.normal(size=60))
    rows = [{"price": 6.1, "ratio": -1.25, "member": True},
            {"price": 4, "ratio": 0.5, "member": False}]
    with serving(model, input_example=X) as client:
        kinds = {f["name"]: f["kind"] for f in client.get("/metadata").json()["features"]}
        answer = client.post("/predict", json=rows)
        text = client.post("/predict", json=[{**rows[0], "price": "oops"}])
    assert kinds == {"price": "number", "ratio": "number", "member": "boolean"}
    assert answer.status_code == 200, answer.text
    np.testing.assert_allclose(answer.json()["predictions"],
                               model.predict(pd.DataFrame(rows).astype(float)), rtol=1e-5)
    assert text.status_code == 400 and "column 'price', row 0: expected a number" in text.text

    from keraslearn import MLPClassifier

    Xs, ys = mixed_frame(n=60)
    encode = make_column_transformer((OneHotEncoder(), [0]), remainder=StandardScaler())
    pipeline = make_pipeline(encode, MLPClassifier(hidden_layer_sizes=(3,), max_iter=2,
                                                   random_state=0))
    array = Xs[["city", "age"]].to_numpy()  # object: strings beside numbers
    pipeline.fit(array, ys)
    with serving(pipeline, input_example=array) as client:
        kinds = [f["kind"] for f in client.get("/metadata").json()["features"]]
        answer = client.post("/predict", json=array[:3].tolist())
    assert kinds == ["string", "number"]
    assert answer.status_code == 200 and answer.json()["predictions"] == (
        pipeline.predict(array[:3]).tolist())


def test_an_example_s_date_column_the_model_drops_is_taken_as_any_value():
    # Found in an audit: input_example with a dropped datetime column failed
    # ("the server cannot take features of dtype datetime64[us]", no column).
    X, y = mixed_frame(n=60)
    X = X.assign(created=pd.date_range("2024-01-01", periods=60, freq="h"))
    encode = make_column_transformer((OneHotEncoder(), ["city"]), (StandardScaler(), ["age"]),
                                     remainder="drop")
    from keraslearn import MLPClassifier

    pipeline = make_pipeline(encode, MLPClassifier(hidden_layer_sizes=(3,), max_iter=2,
                                                   random_state=0)).fit(X, y)
    rows = X.iloc[:2].drop(columns="created")
    with serving(pipeline, input_example=X) as client:
        kinds = {f["name"]: f["kind"] for f in client.get("/metadata").json()["features"]}
        answer = client.post("/predict", json=rows.to_dict(orient="records"))
    assert kinds["created"] == "any" and kinds["age"] == "number"
    assert answer.json()["predictions"] == pipeline.predict(X.iloc[:2]).tolist()
    # One the model reads is refused at start, naming it.
    with pytest.raises(ValueError, match=r"make_app: feature 'age' has dtype datetime64\[ns\], "
                                         "which the server cannot take"):
        make_app(pipeline, dtypes={"age": "datetime64[ns]"})


@pytest.mark.parametrize("encoder", ["onehot", "ordinal"])
def test_an_encoder_fitted_on_an_object_column_of_integers_is_served(encoder):
    # Found in an audit: ids made objects so that the encoder reads them as
    # categories (make_column_selector(dtype_include=object)) could not be
    # served at all: the server handed the encoder NumPy integers, which it
    # fails on ("ufunc 'isnan' not supported"), at every request, 500.
    from sklearn.preprocessing import OrdinalEncoder

    from keraslearn import MLPClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"zip": rng.choice([10115, 20095, 80331], 60).astype(object),
                      "x": rng.normal(size=60)})
    y = np.where(rng.normal(size=60) > 0, "p", "q")
    encode = OneHotEncoder() if encoder == "onehot" else OrdinalEncoder()
    pipeline = make_pipeline(make_column_transformer((encode, ["zip"]), remainder="passthrough"),
                             MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0))
    with pytest.warns(Warning):
        pipeline.fit(X, y)
    rows = X.iloc[:5]
    for options in ({}, {"input_example": X}):
        with serving(pipeline, **options) as client:
            kinds = {f["name"]: f["kind"] for f in client.get("/metadata").json()["features"]}
            answer = client.post("/predict", json=rows.to_dict(orient="records"))
            csv = client.post("/predict", content=rows.to_csv(index=False),
                              headers={"content-type": "text/csv"})
        assert kinds == {"zip": "integer", "x": "number"}, options
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == csv.json()["predictions"] == (
            pipeline.predict(rows).tolist())


def test_an_example_s_category_columns_reach_the_model_with_their_categories():
    # Found in an audit: a step reading the pandas categories (a FunctionTransformer
    # making dummies, or reading .cat.codes) got an object column: its dummies
    # came from the values a request held, in another order (silently wrong
    # probabilities), or .cat failed (500).
    from sklearn.preprocessing import FunctionTransformer

    from keraslearn import MLPClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"size": pd.Categorical(rng.choice(["S", "M", "L"], 60),
                                             categories=["S", "M", "L", "XL"]),
                      "f": rng.normal(size=60)})
    y = np.where(rng.normal(size=60) > 0, "p", "q")
    dummies = FunctionTransformer(lambda d: pd.get_dummies(d, dtype="float32").to_numpy())
    codes = FunctionTransformer(lambda d: d.assign(size=d["size"].cat.codes).to_numpy())
    rows = X.iloc[[0, 1, 2, 5]]
    for reads in (dummies, codes):
        model = make_pipeline(reads, MLPClassifier(hidden_layer_sizes=(3,), max_iter=2,
                                                   random_state=0))
        with pytest.warns(Warning):
            model.fit(X, y)
        for options in ({"input_example": X}, {"dtypes": {"size": X["size"].dtype}}):
            with serving(model, **options) as client:
                answer = client.post("/predict_proba", json=rows.to_dict(orient="records"))
                one = client.post("/predict_proba", json=rows.iloc[:1].to_dict(orient="records"))
                unknown = client.post("/predict", json=[{"size": "XXL", "f": 0.0}])
            assert answer.status_code == 200, answer.text
            np.testing.assert_allclose(answer.json()["probabilities"],
                                       model.predict_proba(rows), rtol=1e-5)
            np.testing.assert_allclose(one.json()["probabilities"],
                                       model.predict_proba(rows.iloc[:1]), rtol=1e-5)
            assert unknown.status_code == 400 and "'XXL' (row 0), which is not one of the 4 " \
                "categories" in unknown.text


def test_category_columns_of_booleans_and_integers_are_served_as_before():
    # Found in review: categories of booleans or integers were cast on the floats
    # the server stores them as: every value NaN, predictions silently wrong.
    from sklearn.impute import SimpleImputer

    from keraslearn import MLPRegressor

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": pd.Categorical(rng.integers(0, 2, 60).astype(bool)),
                      "b": pd.Categorical(rng.choice([1, 2, 5, 9], 60)),
                      "f": rng.normal(size=60)})
    encode = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="most_frequent"),
                       OneHotEncoder(handle_unknown="ignore")), ["a", "b"]),
        remainder="passthrough")
    model = make_pipeline(encode, MLPRegressor(hidden_layer_sizes=(3,), max_iter=2,
                                               random_state=0))
    with pytest.warns(Warning):
        model.fit(X, rng.normal(size=60))
    rows = X.iloc[:6]
    for options in ({"input_example": X}, {"dtypes": {c: X[c].dtype for c in ("a", "b")}}):
        with serving(model, **options) as client:
            answer = client.post("/predict", json=rows.astype(object).to_dict(orient="records"))
        assert answer.status_code == 200, answer.text
        np.testing.assert_allclose(answer.json()["predictions"], model.predict(rows), rtol=1e-5)

