"""log_search: one parent run per search, one nested run per candidate, with n_jobs=2."""

import mlflow
import numpy as np
import pytest
from _mlflow_store import EPOCHS, frame, mlflow_store, pipeline, runs
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from keraslearn.tracking import MLflowCallback, log_search


@pytest.fixture
def store(tmp_path, monkeypatch):
    yield from mlflow_store(tmp_path, monkeypatch)


def _children(store, parent_id):
    return [r for r in runs(store) if r.data.tags.get("mlflow.parentRunId") == parent_id]


def _check_candidates(search, candidates):
    results = search.cv_results_
    assert [r.info.run_name for r in candidates] == \
        [f"candidate {i}" for i in range(len(results["params"]))]
    for i, run in enumerate(candidates):
        assert run.info.status == "FINISHED"
        assert run.data.params == {k: str(v) for k, v in results["params"][i].items()}
        for key, values in results.items():
            if key.startswith(("split", "mean_", "std_", "rank_")):
                assert run.data.metrics[key] == pytest.approx(float(values[i])), key


def test_a_parallel_search_is_one_parent_with_candidates_and_fits_nested(store):
    X, y = frame()
    X_test, y_test = frame(60, seed=1)
    grid = {"kerasclassifier__hidden": [2, 4]}
    # Each fit, in whichever worker process, logs its curves into a run of its own
    # under the parent: the search's clones of the callback, made while the parent
    # is active, carry its id and the store's URI.
    search = GridSearchCV(pipeline(callbacks=[MLflowCallback(run_name="fit")]), grid, cv=2,
                          n_jobs=2)
    with mlflow.start_run(run_name="search") as parent:
        search.fit(X, y)
        logged = log_search(search, X_test, y_test)
    parent_id = parent.info.run_id
    assert logged.run_id == parent_id

    everything = runs(store)
    children = _children(store, parent_id)
    # Nothing else: the parent, and runs nested under it.
    assert len(everything) == 1 + len(children)
    candidates = [r for r in children if "keraslearn.candidate" in r.data.tags]
    fits = [r for r in children if r.info.run_name == "fit"]
    assert len(candidates) == 2 and len(fits) == 2 * 2 + 1  # every fold, and the refit
    assert [r.info.run_id for r in candidates] == logged.child_run_ids
    _check_candidates(search, candidates)
    for run in fits:
        assert run.info.status == "FINISHED"
        steps = [m.step for m in store.client.get_metric_history(run.info.run_id, "loss")]
        assert sorted(steps) == list(range(EPOCHS))

    data = store.client.get_run(parent_id).data
    best = search.best_params_["kerasclassifier__hidden"]
    assert data.params["best__kerasclassifier__hidden"] == str(best)
    assert data.params["estimator__kerasclassifier__optimizer__learning_rate"] == "0.01"
    assert data.params["param_grid"] == str(grid)
    assert data.metrics["best_score"] == pytest.approx(search.best_score_)
    assert data.metrics["test_accuracy"] == pytest.approx(search.score(X_test, y_test))
    assert "loss" in data.metrics  # the best estimator's curve
    model = mlflow.pyfunc.load_model(logged.model_uri)
    np.testing.assert_array_equal(model.predict(X_test), search.predict(X_test))


def test_a_search_without_refit_starts_its_own_parent_with_every_score(store):
    X, y = frame()
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                          {"logisticregression__C": [0.1, 1.0, 10.0]}, cv=3,
                          scoring=["accuracy", "f1"], refit=False, return_train_score=True)
    search.fit(X, y)
    with pytest.raises(ValueError, match="refit=False"):
        log_search(search, X, y)
    logged = log_search(search, run_name="no refit")
    parent = store.client.get_run(logged.run_id)
    assert parent.info.run_name == "no refit" and parent.info.status == "FINISHED"
    assert mlflow.active_run() is None
    assert logged.model_uri is None and "best_score" not in parent.data.metrics
    candidates = _children(store, logged.run_id)
    assert len(runs(store)) == 1 + len(candidates) == 4
    _check_candidates(search, candidates)
    assert {"split2_train_f1", "mean_test_accuracy", "rank_test_f1"} <= \
        set(candidates[0].data.metrics)


def test_a_fitted_estimator_that_is_no_search_is_pointed_to_log_fit(store):
    # It was told "This Pipeline instance is not fitted yet", though it predicted.
    from sklearn.exceptions import NotFittedError

    X, y = frame()
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    with pytest.raises(NotFittedError):  # (unfitted: as it is)
        log_search(pipe)
    with pytest.raises(TypeError, match="log_search takes a fitted search .* Pipeline is a "
                                        "fitted estimator of another kind: log it with log_fit"):
        log_search(pipe.fit(X, y))
    assert runs(store) == []


def test_candidates_are_nested_in_the_parent_s_experiment_and_told_apart(store):
    # An experiment set after the parent run started: MLflow nests runs in the
    # parent's experiment; the candidates went to the one set now. And
    # candidates that differ by an estimator were all logged "StandardScaler".
    from sklearn.preprocessing import MinMaxScaler

    X, y = frame()
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()),
                          {"standardscaler": [StandardScaler(), StandardScaler(with_mean=False),
                                              MinMaxScaler()]}, cv=2).fit(X, y)
    with mlflow.start_run() as parent:
        mlflow.set_experiment("elsewhere")
        logged = log_search(search, log_model=False)
    candidates = [store.client.get_run(i) for i in logged.child_run_ids]
    assert {r.info.experiment_id for r in candidates} == {parent.info.experiment_id}
    assert [r.data.params["standardscaler"] for r in candidates] == [
        "StandardScaler()", "StandardScaler(with_mean=False)", "MinMaxScaler()"]


def test_fits_dispatched_from_joblib_s_own_thread_are_nested_too(store):
    # MLflow's active run is per thread: the copies joblib made from its own thread
    # (beyond the first 2 * n_jobs fits) started top-level runs of their own.
    import joblib
    from sklearn.model_selection import cross_validate

    X, y = frame()
    with joblib.parallel_backend("threading", n_jobs=2):
        with mlflow.start_run(run_name="cv") as parent:
            cross_validate(pipeline(callbacks=[MLflowCallback(run_name="fit")]), X, y, cv=6,
                           n_jobs=2, error_score="raise")
    fits = [r for r in runs(store) if r.info.run_name == "fit"]
    assert len(fits) == 6
    assert [r.data.tags.get("mlflow.parentRunId") for r in fits] == [parent.info.run_id] * 6


def test_workers_reused_by_a_later_search_log_to_the_experiment_set_now(store, monkeypatch):
    # joblib reuses its worker processes, whose MLflow settings are those of
    # their start: the second search's fits went to the first's experiment.
    X, y = frame()
    second = store.client.create_experiment(
        f"second-{store.experiment_id}", artifact_location=(store.folder / "b").as_uri())
    search = GridSearchCV(pipeline(callbacks=[MLflowCallback(run_name="fit")]),
                          {"kerasclassifier__hidden": [2, 3]}, cv=2, n_jobs=2, refit=False)
    search.fit(X, y)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", second)  # as mlflow.set_experiment sets it
    search.fit(X, y)
    for experiment in (store.experiment_id, second):
        fits = store.client.search_runs([experiment])
        assert [r.info.run_name for r in fits] == ["fit"] * 4
