"""Bad requests get a 4xx naming the problem, and the server keeps serving."""

import json

import numpy as np
import pytest
from _servers import classifier, frame, mixed, mixed_frame, records, regressor, serving
from sklearn.base import BaseEstimator, ClassifierMixin

from versions import PANDAS_3

LIMIT = 4096


@pytest.fixture(scope="module")
def clf_client():
    with serving(classifier(), max_body_bytes=LIMIT) as client:
        yield client


@pytest.fixture(scope="module")
def reg_client():
    with serving(regressor()) as client:
        yield client


def _good(client):
    """A good request right after a bad one is answered as usual."""
    X = frame()[0].iloc[:2]
    response = client.post("/predict", json=records(X))
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == classifier().predict(X).tolist()


def _record(**changes):
    return {**records(frame()[0].iloc[:1])[0], **changes}


# (path, body: bytes sent as is, or anything else sent as JSON, status, words the error names)
CASES = {
    "empty body": ("/predict", b"", 400, ["empty"]),
    "blank body": ("/predict", b"  \n ", 400, ["empty"]),
    "malformed JSON": ("/predict", b'{"age": [1,', 400, ["not valid JSON"]),
    "not UTF-8": ("/predict", b"\xff\xfe\xfa", 400, ["not valid JSON"]),
    "JSON nested too deeply": ("/predict", b"[" * 2000 + b"]" * 2000, 400,
                               ["not valid JSON", "nested too deeply"]),
    "empty list": ("/predict", [], 400, ["empty list"]),
    "a bare number": ("/predict", 5, 400, ["the number 5"]),
    "empty object": ("/predict", {}, 400, ["missing column", "'age'", "'ratio'"]),
    "missing column": ("/predict", [_record(), {k: v for k, v in _record().items()
                                                 if k != "score"}],
                       400, ["row 1", "missing column", "'score'"]),
    "extra column": ("/predict", [_record(zip=75001)], 400, ["row 0", "unknown column", "'zip'"]),
    "missing and extra": ("/predict", {"age": [1], "income": [2], "score": [3], "ratoi": [4]},
                          400, ["missing column(s) 'ratio'", "unknown column(s) 'ratoi'"]),
    "string for a number": ("/predict", [_record(), _record(income="3 000")], 400,
                            ["column 'income', row 1", "expected a number", "'3 000'"]),
    "boolean for a number": ("/predict", [_record(age=True)], 400,
                             ["column 'age', row 0", "expected a number", "true",
                              "dtypes={name: 'boolean'}"]),
    "null": ("/predict", {"age": [1, None], "income": [1, 2], "score": [1, 2],
                          "ratio": [1, 2]}, 400, ["column 'age', row 1", "null"]),
    "NaN": ("/predict", b'[{"age": 1, "income": 2, "score": NaN, "ratio": 4}]', 400,
            ["column 'score', row 0", "NaN is not allowed"]),
    "Infinity": ("/predict", b'{"age": [1], "income": [2], "score": [3], "ratio": [-Infinity]}',
                 400, ["column 'ratio', row 0", "-Infinity is not allowed"]),
    "number too large": ("/predict", b'[{"age": 1e400, "income": 2, "score": 3, "ratio": 4}]',
                         400, ["column 'age', row 0", "Infinity is not allowed"]),
    "integer too large": ("/predict", [_record(income=10**400)], 400,
                          ["column 'income', row 0", "float64's range",
                           "the number 10000000000000000000... (401 digits)"]),
    # 10**308 is within float64's range: the row beyond it is named.
    "integer too large after a large one": (
        "/predict", [_record(income=10**308), _record(income=2**1024)], 400,
        ["column 'income', row 1", "float64's range", "(309 digits)"]),
    "columns of different lengths": ("/predict", {"age": [1, 2], "income": [1], "score": [1, 2],
                                                  "ratio": [1, 2]},
                                     400, ["different lengths", "'income': 1"]),
    "column not a list": ("/predict", {"age": [1], "income": 5, "score": [1], "ratio": [1]},
                          400, ["column 'income' must be a list"]),
    "row too short": ("/predict", [[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]], 400,
                      ["row 1 has 2 values", "4 features"]),
    "rows mixing records": ("/predict", [_record(), [1, 2, 3, 4]], 400,
                            ["row 1", "expected a record"]),
    "invocations without envelope": ("/invocations", [_record()], 400,
                                     ["dataframe_split", "dataframe_records", "got an array"]),
    "invocations with bare columns": ("/invocations", {"age": [1]}, 400,
                                      ["exactly one of the fields", "'age'"]),
    "invocations with two envelopes": ("/invocations", {"instances": [_record()],
                                                        "inputs": [_record()]},
                                       400, ["exactly one", "'instances', 'inputs'"]),
    "invocations with params": ("/invocations", {"instances": [_record()],
                                                 "params": {"threshold": 0.3}},
                                400, ["'params'"]),
    "dataframe_split without data": ("/invocations", {"dataframe_split": {"columns": ["age"]}},
                                     400, ["'data' must be a list of rows"]),
    # Python's json kept the last value: the record was answered for age 45.
    "record naming a column twice": (
        "/predict", b'[{"age": 1, "income": 2, "score": 3, "ratio": 4, "age": 45}]', 400,
        ["gives a key twice in one object: 'age'"]),
    "dataframe_split column twice": (
        "/invocations", {"dataframe_split": {"columns": ["age", "age", "score", "ratio"],
                                             "data": [[1, 2, 3, 4]]}},
        400, ["names a column twice", "'age'"]),
    "dataframe_split numbered columns": (
        "/invocations", {"dataframe_split": {"columns": [0, 1, 2, 3], "data": [[1, 2, 3, 4]]}},
        400, ["'columns' must be a list of column names (strings: the model takes 'age', "]),
    "dataframe_split index of wrong length": (
        "/invocations", {"dataframe_split": {"columns": ["age", "income", "score", "ratio"],
                                             "data": [[1, 2, 3, 4]], "index": [0, 1]}},
        400, ["'index'"]),
    "dataframe_records not a list": ("/invocations", {"dataframe_records": _record()}, 400,
                                     ["'dataframe_records' must be a list"]),
    # pandas' to_json forms (found in an audit: its default was read as one record
    # and told "column 'age', row 0: expected a number; got an object")
    "pandas to_json default": ("/predict", json.loads(frame()[0].iloc[:2].to_json()), 400,
                               ["an object of objects (pandas' to_json() default",
                                "orient='records'", "dataframe_split"]),
    "pandas split form": ("/predict", json.loads(frame()[0].iloc[:2].to_json(orient="split")),
                          400, ["pandas' orient='split' form", "dataframe_split"]),
    "body over the limit": ("/predict", b"[" + b" " * LIMIT + b"]", 413,
                            ["max_body_bytes", str(LIMIT)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_request_is_named_and_the_server_keeps_serving(clf_client, name):
    path, body, status, words = CASES[name]
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = clf_client.post(path, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    for word in words:
        assert word in error, (word, error)
    _good(clf_client)


def test_invocations_errors_carry_mlflow_fields(clf_client):
    response = clf_client.post("/invocations", json={"inputs": {"age": [1]}})
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "BAD_REQUEST"
    assert body["message"] == body["error"] and "'income'" in body["message"]
    wrong_method = clf_client.get("/invocations").json()  # (a 405 of the router's)
    assert wrong_method["message"] == wrong_method["error"]


def test_body_over_the_limit_without_content_length(clf_client):
    def chunks():  # sent chunked: the server finds out while reading
        for _ in range(LIMIT // 512 + 2):
            yield b" " * 512

    response = clf_client.post("/predict", content=chunks())
    assert response.status_code == 413
    assert "max_body_bytes" in response.json()["error"]
    _good(clf_client)


def test_unsupported_content_type_on_invocations(clf_client):
    response = clf_client.post("/invocations", content=json.dumps({"instances": [_record()]}),
                               headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert "text/plain" in response.json()["error"]
    _good(clf_client)


def test_malformed_csv(clf_client):
    response = clf_client.post("/invocations", content=b'age,income\n"1,2\n',
                               headers={"content-type": "text/csv"})
    assert response.status_code == 400 and "CSV" in response.json()["error"]
    missing = clf_client.post("/invocations", content=b"age,income,score,ratio\n1,2,,4\n",
                              headers={"content-type": "text/csv"})
    assert missing.status_code == 400
    assert "column 'score', row 0: NaN" in missing.json()["error"]
    # A value too many had been read as the row's index (the others shifted),
    # one too few as a missing value: both answered 200.
    for body, message in [(b"age,income,score,ratio\n5,6,7,8,9\n1,2,3,4\n",
                           "Expected 4 fields in line 2, saw 5"),
                          (b"age,income,score,ratio\r5,6,7,8,9\r", "Expected 4 fields"),
                          (b"age,income,score,ratio\r1,2,3\r", "row 0 has 3 values"),
                          (b"age,income,score,ratio\n\n1,2,3\n", "row 0 has 3 values")]:
        response = clf_client.post("/invocations", content=body,
                                   headers={"content-type": "text/csv"})
        assert response.status_code == 400 and message in response.json()["error"]
    _good(clf_client)


def test_a_bad_csv_cell_is_refused_by_its_own_row(clf_client, reg_client):
    # One text cell made pandas read the whole column as text: the error named row
    # 0's good number. JSON names the bad cell; CSV now reads cells as JSON would.
    def post(client, body):
        return client.post("/invocations", content=body, headers={"content-type": "text/csv"})

    named = post(clf_client, b"age,income,score,ratio\n51,3200.5,1,2\n40,abc,1,2\n")
    assert named.status_code == 400
    assert named.json()["error"] == ("column 'income', row 1: expected a number; "
                                     "got the string 'abc'")
    flags = post(clf_client, b"age,income,score,ratio\ntrue,1,2,3\nfalse,1,2,3\n")
    assert flags.json()["error"].startswith(  # as JSON's true is told (the hint kept)
        "column 'age', row 0: expected a number; got true; a column of true and false is "
        "served as one where make_app is given dtypes={name: 'boolean'}")
    # A column pandas leaves as text (true beside a number) is told the same.
    mixed = post(clf_client, b"age,income,score,ratio\n2,1,2,3\nTrue,1,2,3\n")
    assert mixed.json()["error"].startswith(
        "column 'age', row 1: expected a number; got true; a column of true and false is ")
    unnamed = post(reg_client, b"a,b,c,d\n1,2,3,4\n4,5,6,7\n7,n/a,9,1\n")
    assert unnamed.json()["error"] == "feature 1, row 2: expected a number; got the string 'n/a'"
    # Numbers as JSON writes them, NaN included (refused here: not imputed, by name).
    nan = post(reg_client, b"a,b,c,d\n1,2,3,4\n1, 2.5e0 ,NaN,4\n")
    assert nan.json()["error"].startswith("feature 2, row 1: NaN is not allowed")
    with serving(regressor(), dtypes={0: "bool"}, warmup=False) as client:
        flags = post(client, b"a,b,c,d\ntrue,2,3,4\nFalse,5,6,7\n")
        bad = post(client, b"a,b,c,d\ntrue,2,3,4\nyes,5,6,7\n")
    assert flags.status_code == 200, flags.text
    expected = regressor().predict(np.array([[1, 2, 3, 4], [0, 5, 6, 7]], dtype=float))
    np.testing.assert_allclose(flags.json()["predictions"], expected, rtol=1e-6)
    assert bad.json()["error"] == "feature 0, row 1: expected true or false; got the string 'yes'"


def test_a_csv_body_without_its_header_is_refused_not_a_row_lost(reg_client):
    # A model fitted without names reads no names from the header: the first data
    # row was taken as the header, and the answer held a row fewer.
    def post(body):
        return reg_client.post("/predict", content=body, headers={"content-type": "text/csv"})

    for first in (b"0.5,1,2,3", b"3,0,1,5", b"2,2,2,2"):
        headless = post(first + b"\n-1,0,0,0\n2,2,2,2\n")
        assert headless.status_code == 400
        assert "its first row is read as the header (column names), and holds numbers " \
               f"({first.decode()})" in headless.json()["error"]
    rows = np.array([[-1.0, 0, 0, 0], [2, 2, 2, 2]])
    # as pandas writes an unnamed frame, or columns labelled by other integers, or any names
    for header in (b"0,1,2,3", b"1,2,5,7", b"a,b,c,d"):
        answer = post(header + b"\n-1,0,0,0\n2,2,2,2\n")
        assert answer.status_code == 200, answer.text
        np.testing.assert_allclose(answer.json()["predictions"], regressor().predict(rows),
                                   rtol=1e-6)


def test_csv_lines_pandas_skips_are_skipped_by_the_row_check(clf_client):
    # Blank lines, or lines of white space, before the header or between rows.
    for body in (b"\nage,income,score,ratio\n1,2,3,4\n", b"age,income,score,ratio\n1,2,3,4\n \n",
                 b"age,income,score,ratio\r\n\r\n1,2,3,4\r\n"):
        response = clf_client.post("/invocations", content=body,
                                   headers={"content-type": "text/csv"})
        assert response.status_code == 200, (body, response.text)


def test_a_pandas_to_json_body_for_a_model_without_names_is_told_to_send_rows(reg_client):
    # (found in review: told to send records, which such a model refuses)
    body = json.loads(frame()[0].iloc[:2].to_json())
    response = reg_client.post("/predict", json=body)
    assert response.status_code == 400
    assert "without feature names" in response.json()["error"]


def test_records_for_a_model_without_feature_names(reg_client):
    response = reg_client.post("/predict", json=[{"a": 1, "b": 2, "c": 3, "d": 4}])
    assert response.status_code == 400
    assert "without feature names" in response.json()["error"]
    response = reg_client.post("/predict", json=[[1, 2, 3, 4], [1, 2, "x", 4]])
    assert response.status_code == 400
    assert "feature 2, row 1" in response.json()["error"]
    ok = reg_client.post("/predict", json=[[1, 2, 3, 4]])
    assert ok.status_code == 200
    assert ok.json()["predictions"] == regressor().predict(np.array([[1.0, 2, 3, 4]])).tolist()


def test_typed_features_are_checked_by_kind():
    X, _ = mixed_frame(n=4, seed=5)
    with serving(mixed(), input_example=X) as client:
        good = records(X)
        cases = [({**good[0], "city": 7}, "column 'city', row 0: expected a string"),
                 ({**good[0], "rooms": 2.5}, "column 'rooms', row 0: expected an integer"),
                 ({**good[0], "rooms": 2**70}, "int64 can hold")]
        for record, words in cases:
            response = client.post("/predict", json=[good[1], record][::-1])
            assert response.status_code == 400, response.text
            assert words in response.json()["error"]
        whole = client.post("/predict", json=[{**good[0], "rooms": 3.0}])
        assert whole.status_code == 200, whole.text


def test_a_category_the_encoder_never_saw_is_a_400_naming_its_column_before_the_model():
    # scikit-learn's encoder would refuse it naming the column's index in its
    # ColumnTransformer; the server names the request's column, without a model call.
    X, _ = mixed_frame(n=3, seed=6)
    with serving(mixed(), input_example=X) as client:
        before = client.get("/health").json()["model_calls"]
        rows = records(X)
        rows[1] = {**rows[1], "city": "Paris"}
        response = client.post("/predict", json=rows)
        assert response.status_code == 400
        body = response.json()
        assert body["error_code"] == "BAD_REQUEST"
        known = sorted(mixed()[0].named_transformers_["onehotencoder"].categories_[0])
        assert body["error"].startswith(
            f"column 'city' holds 'Paris' (row 1), which is not one of the {len(known)} "
            f"categories the model was fitted on: {repr(known[0])}")
        csv = X.assign(city=["Oslo", "Paris", "Oslo"]).to_csv(index=False)
        answer = client.post("/invocations", content=csv, headers={"content-type": "text/csv"})
        assert answer.status_code == 400 and "'Paris' (row 1)" in answer.json()["message"]
        assert client.get("/health").json()["model_calls"] == before
        again = client.post("/predict", json=records(X))
        assert again.status_code == 200
        assert again.json()["predictions"] == mixed().predict(X).tolist()
        rows[1] = {**rows[1], "city": "P" * 100_000}  # echoed whole: an answer as big
        long = client.post("/invocations", json={"dataframe_records": rows}).json()
        assert "holds 'PPPP" in long["error"] and len(long["error"]) < 1000
        rows[1] = {**records(X)[1], "Q" * 100_000: 1}  # an unknown column's name, too
        long = client.post("/invocations", json={"dataframe_records": rows}).json()
        assert "'QQQQ" in long["error"] and len(long["error"]) < 1000


@PANDAS_3
def test_an_unknown_category_is_named_where_the_encoder_learnt_missing_values():
    # Found in an audit: an encoder whose column held NaN in training was given
    # no set of known strings, so an unknown one reached the model and came back
    # in scikit-learn's words ("Found unknown categories ['Paris'] in column 0").
    import warnings

    from sklearn.compose import make_column_transformer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from keraslearn import MLPClassifier

    X, y = mixed_frame(n=60, seed=7)
    X["city"] = X["city"].astype(object)
    X.loc[::6, "city"] = np.nan
    encode = make_column_transformer((OneHotEncoder(handle_unknown="error"), ["city"]),
                                     remainder=StandardScaler())
    model = make_pipeline(encode, MLPClassifier(hidden_layer_sizes=(4,), max_iter=2,
                                                random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    with serving(model, input_example=X) as client:
        rows = records(X.iloc[1:4])
        rows[1] = {**rows[1], "city": "Paris"}
        response = client.post("/predict", json=rows)
        assert response.status_code == 400
        assert response.json()["error"].startswith(
            "column 'city' holds 'Paris' (row 1), which is not one of the 3 categories")
        rows[1]["city"] = None  # a missing city, learnt: taken as the pipeline takes it
        taken = client.post("/predict", json=rows)
        assert taken.status_code == 200, taken.text
        given = X.iloc[1:4].assign(city=[row["city"] for row in rows])
        assert taken.json()["predictions"] == model.predict(given).tolist()


class _RefusesNegatives(ClassifierMixin, BaseEstimator):
    """A fitted model refusing some values with scikit-learn's ValueError."""

    def fit(self, X, y):
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        if (np.asarray(X) < 0).any():
            raise ValueError("negative values are not taken")
        return np.full(len(X), self.classes_[0])


def test_values_the_model_refuses_are_a_400_and_the_server_keeps_serving():
    model = _RefusesNegatives().fit(np.zeros((4, 2)), [0, 1, 0, 1])
    with serving(model, warmup=False) as client:
        response = client.post("/predict", json=[[1.0, -2.0]])
        assert response.status_code == 400
        body = response.json()
        assert body["error_code"] == "BAD_REQUEST"
        assert body["error"] == ("the model refused the request's values: negative values are "
                                 "not taken")
        again = client.post("/predict", json=[[1.0, 2.0]])
        assert again.status_code == 200 and again.json()["predictions"] == [0]


class _Broken(ClassifierMixin, BaseEstimator):
    """A fitted model whose predict fails on every input: its own error."""

    def fit(self, X, y):
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        raise RuntimeError("the model is broken")


def test_the_models_own_error_is_a_500_and_the_server_keeps_serving():
    model = _Broken().fit(np.zeros((4, 2)), [0, 1, 0, 1])
    with serving(model, warmup=False) as client:
        response = client.post("/predict", json=[[1.0, 2.0]])
        assert response.status_code == 500
        body = response.json()
        assert body["error_code"] == "INTERNAL_ERROR"
        assert "predict failed: RuntimeError: the model is broken" in body["error"]
        assert client.get("/health").status_code == 200


def test_an_integer_too_long_for_python_is_a_bad_request():
    # Python's JSON parser refuses integers of more than 4300 digits with a
    # ValueError of its own (not a JSONDecodeError): a bad request all the same.
    from keraslearn.serving._parse import RequestError, decode

    with pytest.raises(RequestError, match="not valid JSON.*digits"):
        decode(b'[{"age": 1' + b"0" * 5000 + b"}]", "application/json", None)


class _Parity(ClassifierMixin, BaseEstimator):
    """Predicts whether an id is odd: an id rounded on the way answers wrongly."""

    def fit(self, X, y):
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X):
        return np.asarray(X["id"]) % 2


def test_a_csv_body_is_read_in_the_charset_its_content_type_names():
    # Read as UTF-8 whatever the header said: "'utf-8' codec can't decode".
    import pandas as pd

    X = pd.DataFrame({"id": [1, 2], "prix é": [0.5, 1.5]})
    model = _Parity().fit(X, [0, 1])
    body = "id,prix é\n3,1\n".encode("latin-1")
    with serving(model, input_example=X, warmup=False) as client:
        def post(charset):
            return client.post("/invocations", content=body,
                               headers={"content-type": f"text/csv; charset={charset}"})

        latin, unknown, wrong = post("ISO-8859-1"), post("klingon"), post("utf-8")
    assert latin.status_code == 200 and latin.json()["predictions"] == [1]
    assert unknown.status_code == 400 and "charset='klingon'" in unknown.json()["error"]
    assert wrong.status_code == 400 and "utf-8" in wrong.json()["error"]


class _EchoesItsInput(_Parity):
    """Refuses every row naming its value, as scikit-learn's encoders do."""

    def predict(self, X):
        raise ValueError(f"Found unknown categories {list(X['id'])} during transform")


def test_a_models_own_refusal_is_answered_cut_short():
    # A step's message quoting a 100 KB value the request sent came back whole
    # (twice on /invocations) and went whole into the log.
    import pandas as pd

    X = pd.DataFrame({"id": ["a", "b"]})
    with serving(_EchoesItsInput().fit(X, [0, 1]), input_example=X, warmup=False) as client:
        answer = client.post("/invocations", json={"dataframe_records": [{"id": "Z" * 100_000}]})
    assert answer.status_code == 400 and "Found unknown categories" in answer.json()["error"]
    assert answer.json()["error"].endswith("during transform")  # (its start and its end)
    assert len(answer.content) < 3000


def test_ids_of_an_integer_column_are_never_rounded_in_json_or_csv():
    import pandas as pd

    big = 2**53 + 1  # odd; as a float, 2**53 (even)
    ids = pd.DataFrame({"id": np.array([big, 3], dtype=np.int64)})
    model = _Parity().fit(ids, [1, 1])
    with serving(model, input_example=ids, warmup=False) as client:
        exact = client.post("/predict", json={"id": [big, 3]})
        assert exact.status_code == 200 and exact.json()["predictions"] == [1, 1]
        # JSON's float 9007199254740993.0 is 2**53: taken, it was answered "even".
        rounded = client.post("/predict", content=f'{{"id": [{big}.0]}}'.encode(),
                              headers={"content-type": "application/json"})
        assert rounded.status_code == 400
        assert "column 'id', row 0: expected an integer written without a fraction" in (
            rounded.json()["error"])
        assert client.post("/predict", json={"id": [3.0, 2.0**52]}).json()["predictions"] == [1, 0]
        # One cell written 3.0 made pandas read the column as floats: big became 2**53.
        for body in (f"id\n{big}\n3.0\n", f"id\n{big}\n 3\n", f"id\n+{big}\n3\n"):
            answer = client.post("/invocations", content=body.encode(),
                                 headers={"content-type": "text/csv"})
            assert answer.status_code == 200, (body, answer.text)
            assert answer.json()["predictions"] == [1, 1], body
        for body, words in [(f"id\n{big}.0\n", "without a fraction"),
                            ("id\n3.5\n", "expected an integer; got the number 3.5"),
                            ("id\nseven\n", "expected an integer; got the string 'seven'"),
                            ("id\n1" + "0" * 5000 + "\n", "got the string '1000"),
                            # Python's float() takes these; JSON and pandas do not
                            ("id\n1_000\n", "got the string '1_000'"),
                            ("id\n\u0663\n", "got the string '\u0663'")]:
            answer = client.post("/invocations", content=body.encode(),
                                 headers={"content-type": "text/csv"})
            assert answer.status_code == 400 and words in answer.json()["error"], answer.text


def test_a_csv_header_naming_a_column_twice_is_refused_by_name(clf_client):
    # pandas renamed the second 'age' to 'age.1': "unknown column(s) 'age.1'",
    # and where the model had a column 'x.1', the second 'x' was read as it.
    header = "age,age,income,score,ratio\n1,2,3,4,5\n"
    response = clf_client.post("/invocations", content=header.encode(),
                               headers={"content-type": "text/csv"})
    assert response.status_code == 400
    assert "the CSV body names a column twice: 'age'" in response.json()["error"]
    import pandas as pd

    X = pd.DataFrame({"id": [1.0, 2.0], "id.1": [3.0, 4.0]})
    model = _Parity().fit(X, [0, 1])
    with serving(model, input_example=X, warmup=False) as client:
        assert client.post("/invocations", content=b"id,id.1\n1,2\n",
                           headers={"content-type": "text/csv"}).status_code == 200
        twice = client.post("/invocations", content=b"id,id\n1,2\n",
                            headers={"content-type": "text/csv"})
    assert twice.status_code == 400 and "names a column twice: 'id'" in twice.json()["error"]
    marked = clf_client.post("/invocations", content=("\ufeff" + header).encode(),
                             headers={"content-type": "text/csv"})  # Excel's byte order mark
    assert "names a column twice: 'age'" in marked.json()["error"]
