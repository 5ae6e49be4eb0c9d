"""log_fit and log_model: what reaches the MLflow store, read back with MLflow's client."""

import functools
import warnings
import zipfile
from pathlib import Path

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest
from _mlflow_store import EPOCHS, frame, metric_steps, mlflow_store, pipeline, runs
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

import keraslearn
from builders import tiny_mlp
from keraslearn import KerasClassifier, KerasRegressor
from keraslearn.evaluation import evaluate
from keraslearn.tracking import MLflowCallback, flatten_params, log_fit, log_model
from keraslearn.tracking._params import mlflow_key
from versions import SKLEARN_1_8


@pytest.fixture
def store(tmp_path, monkeypatch):
    yield from mlflow_store(tmp_path, monkeypatch)


@functools.cache
def fitted():
    """A pipeline fitted with held-out rows, so that history_ has loss and val_loss."""
    return pipeline(validation_split=0.25).fit(*frame())


def _model_files(model_uri):
    folder = Path(mlflow.artifacts.download_artifacts(model_uri))
    return folder, sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                          if p.is_file())


def test_a_new_run_gets_parameters_curves_evaluation_and_the_model(store):
    pipe = fitted()
    X_test, y_test = frame(60, seed=1)
    logged = log_fit(pipe, X_test, y_test, run_name="tiny", output_dir=store.folder / "eval")

    run = store.client.get_run(logged.run_id)
    assert [r.info.run_id for r in runs(store)] == [logged.run_id]
    assert run.info.run_name == "tiny" and run.info.status == "FINISHED"
    assert mlflow.active_run() is None
    # Parameters: get_params flattened, routed ones included (MLflow stores strings).
    assert run.data.params == {k: str(v) for k, v in flatten_params(pipe).items()}
    assert run.data.params["kerasclassifier__optimizer__learning_rate"] == "0.01"
    # history_, one value per epoch at step=epoch.
    history = pipe[-1].history_
    for key in ("loss", "val_loss"):
        steps, values = metric_steps(store, logged.run_id, key)
        assert steps == list(range(EPOCHS))
        np.testing.assert_allclose(values, history[key], rtol=1e-6)
    # The evaluation report: metrics, figures and the HTML page.
    expected = evaluate(pipe, X_test, y_test).metrics
    assert {"accuracy", "roc_auc", "f1"} <= set(expected)
    for name, value in expected.items():
        assert run.data.metrics[f"test_{name}"] == pytest.approx(value)
    report = logged.evaluation
    assert report.metrics == pytest.approx(expected)
    files = [*report.figures.values(), report.html_path]
    assert {"learning_curves", "confusion_matrix", "roc_curve"} <= set(report.figures)
    assert all(p.parent == store.folder / "eval" and p.is_file() for p in files)
    logged_files = {a.path for a in store.client.list_artifacts(logged.run_id, "evaluation")}
    assert logged_files == {f"evaluation/{p.name}" for p in files} | {"evaluation/report.json"}
    summary = mlflow.artifacts.load_dict(f"runs:/{logged.run_id}/evaluation/report.json")
    assert summary["metrics"] == pytest.approx(expected)
    assert summary["html_path"] == f"evaluation/{report.html_path.name}"
    # compact (found in an audit: one number of the confusion matrix a line, 36 MB
    # at 2,000 classes)
    text = mlflow.artifacts.load_text(f"runs:/{logged.run_id}/evaluation/report.json")
    assert "\n" not in text and '"confusion_matrix":[[' in text
    # The model: the keraslearn file and a code file, nothing pickled.
    folder, model_files = _model_files(logged.model_uri)
    assert "artifacts/model.keraslearn" in model_files and "keraslearn_model.py" in model_files
    assert not [f for f in model_files if f.endswith((".pkl", ".pickle", ".cloudpickle"))]
    flavor = mlflow.models.Model.load(str(folder)).flavors["python_function"]
    assert flavor["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert "manifest.json" in zipfile.ZipFile(folder / "artifacts/model.keraslearn").namelist()
    loaded = keraslearn.load(folder / "artifacts/model.keraslearn")
    np.testing.assert_array_equal(loaded.predict(X_test), pipe.predict(X_test))
    requirements = (folder / "requirements.txt").read_text().split()
    assert f"keraslearn=={keraslearn.__version__}" in requirements
    assert any(r.startswith("keras==") for r in requirements)


def test_the_active_run_is_logged_into_and_left_running(store):
    pipe = fitted()
    with mlflow.start_run() as run:
        logged = log_fit(pipe, log_model=False)
        assert logged.run_id == run.info.run_id
        assert store.client.get_run(run.info.run_id).info.status == "RUNNING"
    assert logged.model_uri is None and logged.evaluation is None
    data = store.client.get_run(run.info.run_id).data
    assert data.params["kerasclassifier__hidden"] == "4"
    assert set(data.metrics) == {"loss", "val_loss"}  # no test data, no test metrics
    assert store.client.list_artifacts(run.info.run_id) == []


def test_parameters_the_run_holds_with_other_values_are_named_and_the_rest_logged(store):
    pipe = fitted()
    with mlflow.start_run() as run:
        mlflow.log_param("kerasclassifier__hidden", 99)  # the user's, logged first
        with pytest.warns(UserWarning, match="already has the parameters "
                          "kerasclassifier__hidden with other values") as caught:
            log_fit(pipe, *frame(40, seed=2), log_model=False)
    # found in an audit: it pointed into keraslearn's own code, not at this line
    assert {w.filename for w in caught if "already has" in str(w.message)} == {__file__}
    data = store.client.get_run(run.info.run_id).data
    assert data.params["kerasclassifier__hidden"] == "99"
    # Before, MLflow refused the whole batch: nothing else was logged.
    assert data.params["kerasclassifier__epochs"] == str(pipe[-1].epochs)
    assert "loss" in data.metrics and "test_accuracy" in data.metrics


@pytest.mark.parametrize("prefix", ["", "fit/", "fit:"])
def test_curves_logged_live_by_the_callback_are_not_logged_again(store, prefix):
    # Under a prefix they were logged a second time, under their bare names; a
    # metric given by Keras' shorthand ("mse", named "mean_squared_error" in
    # history_) was logged again under history_'s name.
    with mlflow.start_run() as run:
        pipe = pipeline(callbacks=[MLflowCallback(prefix=prefix)],
                        metrics=["accuracy", "mse"]).fit(*frame())
        log_fit(pipe, log_model=False)
    steps, values = metric_steps(store, run.info.run_id, mlflow_key(f"{prefix}loss"))
    assert steps == list(range(EPOCHS))
    np.testing.assert_allclose(values, pipe[-1].history_["loss"], rtol=1e-6)
    assert "mean_squared_error" in pipe[-1].history_
    logged = set(store.client.get_run(run.info.run_id).data.metrics)
    curves = {name for name in logged if not name.startswith("test_")}
    assert curves == {mlflow_key(f"{prefix}{key}") for key in ("loss", "accuracy", "mse")}


def test_a_metric_of_the_users_own_hides_no_curve_of_another_name(store):
    # Without a callback, the user's "mse" is not history_'s "mean_squared_error".
    with mlflow.start_run() as run:
        mlflow.log_metric("mse", 0.5)
        pipe = pipeline(metrics=["mse"]).fit(*frame())
        log_fit(pipe, log_model=False)
    logged = store.client.get_run(run.info.run_id).data.metrics
    assert {"mse", "mean_squared_error", "loss"} <= set(logged)


def test_mistakes_are_refused_before_anything_is_logged(store):
    X, y = frame()
    with pytest.raises(NotFittedError):
        log_fit(pipeline(), X, y)
    with pytest.raises(ValueError, match="both X_test and y_test"):
        log_fit(fitted(), X)
    # Test data the evaluation refuses: parameters, tags and curves were logged first.
    with mlflow.start_run() as run:
        with pytest.raises(ValueError, match="inconsistent numbers of samples"):
            log_fit(fitted(), X[:20], y[:10])
    assert store.client.get_run(run.info.run_id).data.params == {}
    store.client.delete_run(run.info.run_id)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        log_fit(fitted(), X[:20], y[:10])
    # Test data missing a column: MLflow's signature of it was warned about first.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError):
            log_fit(fitted(), X.iloc[:, :2], y)
    assert not [w for w in caught if "input example" in str(w.message)]
    # A file of the evaluation's names in output_dir is the user's: kept, and refused.
    mine = store.folder / "eval" / "tiny_report.html"
    mine.parent.mkdir()
    mine.write_text("my notes")
    with pytest.raises(FileExistsError, match="tiny_report.html.*overwrite=True"):
        log_fit(fitted(), X, y, run_name="tiny", output_dir=mine.parent)
    assert runs(store) == [] and mine.read_text() == "my notes"
    logged = log_fit(fitted(), X, y, run_name="tiny", output_dir=mine.parent, overwrite=True)
    assert logged.evaluation.html_path == mine and "my notes" not in mine.read_text()


def test_untrusted_types_are_named_and_trusted_when_given(store):
    X, y = frame()
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    with mlflow.start_run():
        with pytest.raises(ValueError, match=r"sklearn\.tree\._tree\.Tree") as error:
            log_model(forest)
        trusted = [t for t in keraslearn.get_untrusted_types(
            keraslearn.save(forest, store.folder / "forest.keraslearn"))]
        assert trusted and all(t in str(error.value) for t in trusted)
        assert mlflow.search_logged_models(experiment_ids=[store.experiment_id],
                                           output_format="list") == []
        info = log_model(forest, input_example=X.iloc[:5], trusted=trusted)
    model = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_array_equal(model.predict(X), forest.predict(X))


def test_log_fit_checks_the_models_types_before_logging_anything(store):
    # Nothing half-logged into the user's run (params, metrics, evaluation files)
    # when the model cannot be logged: a retry logs once.
    X, y = frame()
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    folder = store.folder / "eval"
    with mlflow.start_run() as run:
        with pytest.raises(ValueError, match=r"sklearn\.tree\._tree\.Tree"):
            log_fit(forest, X, y, output_dir=folder)
    data = mlflow.get_run(run.info.run_id).data
    assert data.params == {} and data.metrics == {}
    assert mlflow.MlflowClient().list_artifacts(run.info.run_id) == []
    # Nor files in output_dir, which the retry the message asks for would refuse.
    assert not folder.exists() or not any(folder.iterdir())


@SKLEARN_1_8
def test_a_model_save_refuses_says_how_to_log_the_run_without_it(store):
    # Routing requests (set_fit_request) refer back to their estimator, which
    # keraslearn.save cannot store: the advice ("pickle it") did not apply here.
    import sklearn

    X, y = frame()
    with sklearn.config_context(enable_metadata_routing=True):
        clf = KerasClassifier(tiny_mlp, epochs=1, random_state=0)
        clf.set_fit_request(sample_weight=True).fit(X, y, sample_weight=np.ones(len(y)))
        with mlflow.start_run():
            with pytest.raises(ValueError, match=r"metadata-routing requests.* To log the run "
                                                 r"without the model: log_model=False\."):
                log_fit(clf, X, y)
            log_fit(clf, X, y, log_model=False)
    (run,) = runs(store)
    assert run.data.metrics and run.data.params  # the run logged, once


def test_log_fit_writes_output_dir_only_once_logged(store, monkeypatch):
    # The evaluation was written into output_dir before logging: a tracking server
    # failing then left files of a run never logged, which refused the retry.
    X, y = frame()
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    folder = store.folder / "eval"

    def down(*args, **kwargs):
        raise ConnectionError("the tracking server is down")

    with monkeypatch.context() as patch:
        patch.setattr(mlflow, "log_metrics", down)
        with pytest.raises(ConnectionError):
            log_fit(forest, X, y, output_dir=folder, log_model=False)
    assert not folder.exists() or not any(folder.iterdir())
    logged = log_fit(forest, X, y, output_dir=folder, log_model=False)
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([logged.evaluation.html_path.name,
                            *(p.name for p in logged.evaluation.figures.values())])
    assert all(p.parent == folder for p in logged.evaluation.figures.values())
    page = logged.evaluation.html_path.read_bytes()
    with monkeypatch.context() as patch:  # and a replacement that fails keeps the first
        patch.setattr(mlflow, "log_metrics", down)
        with pytest.raises(ConnectionError):
            log_fit(forest, X[:30], y[:30], output_dir=folder, log_model=False,
                    overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == names
    assert logged.evaluation.html_path.read_bytes() == page


def test_zero_division_reaches_the_evaluation(store):
    # Found in an audit: log_fit had none, so a model that never predicts a class
    # printed six UndefinedMetricWarnings that only a warnings filter could stop.
    from sklearn.dummy import DummyClassifier
    from sklearn.exceptions import UndefinedMetricWarning

    X, y = frame(40, seed=1)
    never = DummyClassifier(strategy="constant", constant=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedMetricWarning)
        logged = log_fit(never, X, y, log_model=False, zero_division=1.0)
    assert logged.evaluation.metrics == evaluate(never, X, y, zero_division=1.0).metrics
    with pytest.warns(UndefinedMetricWarning):
        log_fit(never, X, y, log_model=False)
    for given in ({"X_test": X, "y_test": y}, {}):  # (without test data too: found in review)
        with pytest.raises(ValueError, match="zero_division must be"):
            log_fit(never, **given, log_model=False, zero_division="zero")
    assert len(runs(store)) == 2  # (the refused one logged nothing)


def test_a_model_fitted_on_arrays_takes_a_frame_of_its_values(store):
    X, _ = frame()
    Xa = ((X - X.mean()) / X.std()).to_numpy()
    reg = KerasRegressor(tiny_mlp, hidden=2, epochs=2, random_state=0)
    reg.fit(Xa, Xa @ [1.0, -2.0, 0.5, 3.0])
    with mlflow.start_run():
        info = log_model(reg)  # no input example: no signature
    assert info.signature is None
    model = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_allclose(model.predict(pd.DataFrame(Xa)), reg.predict(Xa), rtol=1e-6)
    np.testing.assert_allclose(model.predict(Xa), reg.predict(Xa), rtol=1e-6)


def test_a_text_pipeline_takes_a_frame_of_one_column_of_documents(store):
    # found in an audit: the frame MLflow makes of CSV or dataframe_split rows
    # reached the TfidfVectorizer as rows of one cell (AttributeError: lower).
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union

    docs = np.array(["good fun film", "bad awful plot", "great good story", "boring bad"] * 5)
    for head in (TfidfVectorizer(), make_union(TfidfVectorizer(), TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 3)))):  # (a union: found in review)
        pipe = make_pipeline(head, KerasClassifier(
            tiny_mlp, hidden=2, epochs=2, random_state=0)).fit(docs, [1, 0, 1, 0] * 5)
        with mlflow.start_run():
            info = log_model(pipe)
        model = mlflow.pyfunc.load_model(info.model_uri)
        np.testing.assert_array_equal(model.predict(pd.DataFrame({"text": docs})),
                                      pipe.predict(docs))
        np.testing.assert_array_equal(model.predict(docs), pipe.predict(docs))


def test_a_series_of_documents_is_the_example_of_a_column_of_its_name(store):
    # Found in an audit: log_fit(pipe, df.review, ...) logged params, metrics and
    # the evaluation, then failed in MLflow (a Series is no input example), the
    # model not logged; log_model(input_example=<a Series>) failed alike.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    docs = pd.Series(["good fun film", "bad awful plot", "great good story", "boring bad"] * 5,
                     name="review")
    y = np.array(["p", "n", "p", "n"] * 5)
    pipe = make_pipeline(TfidfVectorizer(), KerasClassifier(
        tiny_mlp, hidden=2, epochs=2, random_state=0)).fit(docs, y)
    logged = log_fit(pipe, docs, y)
    with mlflow.start_run():
        unnamed = log_model(pipe, input_example=docs.rename(None)[:3])
    for uri, name in [(logged.model_uri, "review"), (unnamed.model_uri, "text")]:
        signature = mlflow.models.get_model_info(uri).signature
        assert signature.inputs.input_names() == [name]
        model = mlflow.pyfunc.load_model(uri)
        np.testing.assert_array_equal(model.predict(pd.DataFrame({name: docs})),
                                      pipe.predict(docs))
    assert mlflow.get_run(logged.run_id).info.status == "FINISHED"


def test_a_polars_test_set_gives_the_signature_of_its_named_columns(store):
    # Its example was one NumPy array: a signature of one unnamed tensor, so the
    # model (fitted with column names) was served arrays and warned of them.
    import polars as pl

    X, y = frame()
    model = fitted()
    as_polars = pl.DataFrame({name: X[name].to_numpy() for name in X.columns})
    logged = log_fit(model, as_polars, y)
    signature = mlflow.models.get_model_info(logged.model_uri).signature
    assert signature.inputs.input_names() == list(X.columns)
    loaded = mlflow.pyfunc.load_model(logged.model_uri)
    np.testing.assert_allclose(loaded.predict(X.iloc[:5]), model.predict(X.iloc[:5]))
    # A polars frame given as the example: MLflow refused it, leaving a failed model.
    for logged in (log_fit(model, input_example=as_polars[:3]),
                   log_model_in_run(model, input_example=as_polars[:3])):
        signature = mlflow.models.get_model_info(logged.model_uri).signature
        assert signature.inputs.input_names() == list(X.columns)


def log_model_in_run(model, **kwargs):
    with mlflow.start_run():
        return log_model(model, **kwargs)


def test_a_classifier_fitted_on_sparse_label_rows_is_logged_and_answers_arrays(store):
    # Its pyfunc returned its sparse predictions as they are, which MLflow's
    # pyfunc interface (and its server) does not take; the signature is the
    # array's it returns.
    from scipy.sparse import csr_matrix
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(n_samples=40, n_features=4, n_classes=3,
                                          random_state=0)
    clf = KerasClassifier(tiny_mlp, hidden=3, epochs=1, random_state=0).fit(X, csr_matrix(Y))
    with mlflow.start_run():
        info = log_model(clf, input_example=X[:5])
    assert info.signature is not None
    predictions = mlflow.pyfunc.load_model(info.model_uri).predict(X)
    assert isinstance(predictions, np.ndarray)
    np.testing.assert_array_equal(predictions, clf.predict(X).toarray())


def test_without_a_tracking_uri_runs_go_to_the_default_local_store(tmp_path, monkeypatch):
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.chdir(tmp_path)
    logged = log_fit(fitted(), run_name="default store", log_model=False)
    # MLflow's default: a SQLite file in the working directory (./mlruns in earlier 3.x
    # releases: the run is read from there then).
    database = tmp_path / "mlflow.db"
    assert database.is_file() or (tmp_path / "mlruns").is_dir()
    client = mlflow.MlflowClient(f"sqlite:///{database}" if database.is_file() else
                                 (tmp_path / "mlruns").as_uri())
    run = client.get_run(logged.run_id)
    assert run.info.run_name == "default store"
    assert run.data.params["kerasclassifier__hidden"] == "4"


def test_the_model_serves_the_method_it_was_logged_with(store):
    pipe = fitted()
    X, _ = frame(30, seed=3)
    with mlflow.start_run():
        with pytest.raises(ValueError, match=r"pyfunc_predict_fn='score': the model can "
                                             r"serve Pipeline's predict, predict_proba"):
            log_model(pipe, pyfunc_predict_fn="score")
        from sklearn.preprocessing import StandardScaler  # a transformer: nothing to serve

        with pytest.raises(ValueError, match="StandardScaler has none of predict, "
                                             "predict_proba, .* to serve"):
            log_model(StandardScaler().fit(X), pyfunc_predict_fn="predict")
        info = log_model(pipe, input_example=X.iloc[:5], pyfunc_predict_fn="predict_proba")
    assert info.signature.outputs.to_dict()[0]["tensor-spec"]["shape"] == (-1, 2)
    model = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_allclose(model.predict(X), pipe.predict_proba(X), rtol=1e-6)


def test_a_model_logged_to_serve_a_method_the_estimator_lacks_is_refused_at_load(store):
    # Such as one logged with pyfunc_predict_fn="decision_function" by a version
    # of keraslearn whose classifiers had one: refused once, not at every request.
    pipe = fitted()
    with mlflow.start_run():
        info = log_model(pipe, pyfunc_predict_fn="predict_proba")
    with pytest.raises(ValueError, match=r"Pipeline.decision_function, which it does not "
                                         r"have in this version of keraslearn"):
        mlflow.pyfunc.load_model(info.model_uri, model_config={"predict_fn":
                                                               "decision_function"})


@pytest.mark.parametrize("opened", [False, True], ids=["pipeline", "behind-passthrough"])
def test_a_null_text_value_reaches_an_imputer_of_nan_as_nan(store, opened):
    # MLflow's scoring server makes a text column that is null in every row of a
    # request (a one-row request's null) None, which SimpleImputer(missing_values=
    # nan) does not take for missing: the row was answered as an unknown category.
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from keraslearn import KerasClassifier

    X, y = frame()
    X = X.assign(city=np.where(np.arange(len(X)) % 3 == 0, "Lyon", "Oslo").astype(object))
    X.loc[::7, "city"] = np.nan
    pipe = make_pipeline(make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="most_frequent"),
                       OneHotEncoder(handle_unknown="ignore")), ["city"]),
        remainder=StandardScaler()), KerasClassifier(tiny_mlp, epochs=2, random_state=0))
    if opened:  # a pipeline saying nothing of its features: its first reader does
        pipe = Pipeline([("keep", "passthrough"), *pipe.steps])
    pipe.fit(X, y)
    with mlflow.start_run():
        info = log_model(pipe, pyfunc_predict_fn="predict_proba")
    model = mlflow.pyfunc.load_model(info.model_uri)
    row = X.iloc[:1].assign(city=pd.Series([None], dtype=object, index=X.index[:1]))
    expected = pipe.predict_proba(row.assign(city=np.nan))
    assert not np.allclose(pipe.predict_proba(row), expected)  # None is not missing there
    got = model.predict(row)
    assert row["city"].tolist() == [None]  # the caller's frame is kept
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("column", ["category", "Int64 with NA"])
def test_an_example_mlflow_cannot_describe_logs_the_model_without_a_signature(store, column):
    # MLflow's check of the example against the signature it infers refuses
    # these columns: log_fit failed after logging parameters and metrics.
    # As mlflow.sklearn.log_model does, the model is logged without one.
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from keraslearn import KerasClassifier

    X, y = frame()
    if column == "category":
        extra = pd.Categorical(np.where(np.arange(len(X)) % 3 == 0, "Lyon", "Oslo"))
        step = OneHotEncoder(handle_unknown="ignore")
    else:
        extra = pd.array(np.arange(len(X)) % 4, dtype="Int64")
        extra[:5] = pd.NA  # missing in every row of the example
        step = make_pipeline(SimpleImputer(), StandardScaler())
    X = X.assign(extra=extra)
    pipe = make_pipeline(make_column_transformer((step, ["extra"]), remainder=StandardScaler()),
                         KerasClassifier(tiny_mlp, epochs=2, random_state=0)).fit(X, y)
    with pytest.warns(UserWarning, match="cannot describe the input example with a signature"
                      ) as caught:
        logged = log_fit(pipe, X.iloc[:40], y[:40], run_name="described")
    assert {w.filename for w in caught if "signature" in str(w.message)} == {__file__}
    if column == "category":  # log_model and log_search warn at their caller too
        from sklearn.model_selection import GridSearchCV

        from keraslearn.tracking import log_search

        search = GridSearchCV(pipe, {"kerasclassifier__epochs": [1]}, cv=2).fit(X, y)
        for call in (lambda: log_model(pipe, input_example=X.iloc[:5]),
                     lambda: log_search(search, X.iloc[:40], y[:40], run_name="searched")):
            with pytest.warns(UserWarning, match="cannot describe") as caught:
                call()
            assert {w.filename for w in caught if "signature" in str(w.message)} == {__file__}
    run = mlflow.get_run(logged.run_id)
    assert run.info.status == "FINISHED" and "test_accuracy" in run.data.metrics
    model = mlflow.pyfunc.load_model(logged.model_uri)
    assert model.metadata.signature is None
    np.testing.assert_array_equal(model.predict(X.iloc[40:60]), pipe.predict(X.iloc[40:60]))


@pytest.mark.parametrize("freq, steps", [(2, [1, 3]), ([1, 4], [0, 3])])
def test_held_out_curves_scored_every_few_epochs_are_logged_at_their_epochs(store, freq, steps):
    # They were logged at steps 0, 1, ...: the callback logs them at the
    # epochs Keras scored them, and a figure drew them there too.
    fit = pipeline(epochs=4, validation_split=0.25, fit__validation_freq=freq).fit(*frame())
    live = pipeline(epochs=4, validation_split=0.25, fit__validation_freq=freq,
                    callbacks=[MLflowCallback()])
    given = KerasClassifier(tiny_mlp, hidden=4, epochs=4, optimizer="adam",  # fit's argument
                            optimizer__learning_rate=0.01, random_state=0, validation_split=0.25)
    given.fit(StandardScaler().fit_transform(frame()[0]), frame()[1], validation_freq=freq)
    with mlflow.start_run() as run:
        log_fit(fit, log_model=False)
    with mlflow.start_run() as by_callback:
        live.fit(*frame())
    with mlflow.start_run() as by_argument:
        log_fit(given, log_model=False)
    for run_id in (run.info.run_id, by_callback.info.run_id, by_argument.info.run_id):
        assert metric_steps(store, run_id, "loss")[0] == [0, 1, 2, 3]
        logged, values = metric_steps(store, run_id, "val_loss")
        assert logged == steps
        np.testing.assert_allclose(values, fit[-1].history_["val_loss"], rtol=1e-6)


@pytest.mark.parametrize("splits, steps", [
    ((0.0, 0.25), [2, 3]), ((0.25, 0.0), [0, 1]), ((0.25, 0.0, 0.25), [0, 1, 4, 5])])
def test_held_out_curves_of_warm_starts_are_at_the_epochs_they_were_scored(store, splits,
                                                                           steps):
    # A first fit without held-out rows, then a warm start with: its val_loss
    # was logged (and drawn) at the first fit's epochs, 0 and 1.
    X, y = StandardScaler().fit_transform(frame()[0]), frame()[1]
    clf = KerasClassifier(tiny_mlp, hidden=4, epochs=2, random_state=0, warm_start=True)
    for split in splits:
        clf.set_params(validation_split=split).fit(X, y)
    with mlflow.start_run() as run:
        log_fit(clf, log_model=False)
    assert metric_steps(store, run.info.run_id, "val_loss") == (
        steps, pytest.approx(clf.history_["val_loss"]))
    # partial_fit calls scored every second epoch: each at the epoch it ran.
    clf.set_params(fit__validation_freq=2, validation_split=0.25)
    for _ in range(3):
        scored = len(clf.history_["val_loss"])
        clf.partial_fit(X, y, epochs=1)
        if len(clf.history_["val_loss"]) > scored:
            steps = steps + [len(clf.history_["loss"]) - 1]
    assert len(steps) < len(clf.history_["loss"]) - 1  # some calls were not scored
    with mlflow.start_run() as run:
        log_fit(clf, log_model=False)
    assert metric_steps(store, run.info.run_id, "val_loss")[0] == steps


class _EveryEpoch(keras.callbacks.Callback):
    """Logs a held-out score of its own at every epoch."""

    def on_epoch_end(self, epoch, logs=None):
        logs["val_own"] = float(epoch)


def test_each_held_out_curve_is_at_the_epochs_it_was_scored(store):
    # One list of epochs for every curve, sized by the longest, moved Keras'
    # val_loss (every second epoch) to the last epochs.
    X, y = StandardScaler().fit_transform(frame()[0]), frame()[1]
    clf = KerasClassifier(tiny_mlp, hidden=4, epochs=4, random_state=0, validation_split=0.25,
                          fit__validation_freq=2, callbacks=[_EveryEpoch()]).fit(X, y)
    with mlflow.start_run() as run:
        log_fit(clf, log_model=False)
    assert metric_steps(store, run.info.run_id, "val_loss")[0] == [1, 3]
    assert metric_steps(store, run.info.run_id, "val_own") == ([0, 1, 2, 3], [0, 1, 2, 3])


def test_a_fit_of_an_earlier_version_keeps_its_curves_where_its_validation_freq_put_them(
        store):
    # Its state held the validation_freq only: a warm start placed its
    # held-out scores at its last epochs (2, 3) instead of 1, 3.
    X, y = StandardScaler().fit_transform(frame()[0]), frame()[1]
    clf = KerasClassifier(tiny_mlp, hidden=4, epochs=4, random_state=0, validation_split=0.25,
                          fit__validation_freq=2, warm_start=True).fit(X, y)
    first = clone(clf).fit(X, y)
    del clf.__dict__["_validated_epochs"]
    clf.__dict__["_validation_freq"] = 2  # as that version recorded it
    clf.set_params(fit__validation_freq=1, epochs=2).fit(X, y)
    with mlflow.start_run() as run:
        log_fit(clf, log_model=False)
    assert metric_steps(store, run.info.run_id, "val_loss")[0] == [1, 3, 4, 5]
    # Earlier still, nothing recorded: the parameter it was fitted with, as the curves
    # read it (found in an audit: the old scores were put at the last epochs, 2 and 3).
    del first.__dict__["_validated_epochs"]
    first.set_params(epochs=2).fit(X, y)
    with mlflow.start_run() as run:
        log_fit(first, log_model=False)
    assert metric_steps(store, run.info.run_id, "val_loss")[0] == [1, 3, 5]


class _WrapperOfOthers(BaseEstimator):
    """An estimator that keeps Keras' logs as history_ and routes fit's
    validation_freq as a parameter, as scikeras does (or a keraslearn
    estimator saved before fits recorded the validation_freq they took)."""

    def __init__(self, fit__validation_freq=2):
        self.fit__validation_freq = fit__validation_freq

    def fit(self, X=None, y=None):
        self.history_ = {"loss": [0.9, 0.8, 0.7, 0.6], "val_loss": [0.85, 0.65]}
        return self


def test_held_out_curves_of_other_wrappers_are_logged_at_the_epochs_their_parameter_names(
        store):
    with mlflow.start_run() as run:
        log_fit(_WrapperOfOthers().fit(), log_model=False)
    assert metric_steps(store, run.info.run_id, "val_loss") == ([1, 3], [0.85, 0.65])
