"""MLflowCallback: each epoch's metrics, logged where it is told, from any process."""

import pickle
import socket
from unittest import mock

import keras
import mlflow
import numpy as np
import pytest
from _mlflow_store import EPOCHS, frame, metric_steps, mlflow_store, pipeline, runs
from sklearn.base import clone

from keraslearn._engine._dense_chain import dense_chains
from keraslearn.tracking import MLflowCallback


@pytest.fixture
def store(tmp_path, monkeypatch):
    yield from mlflow_store(tmp_path, monkeypatch)


def _fit_keras(callback, epochs=EPOCHS):
    X, y = frame()
    X = ((X - X.mean()) / X.std()).to_numpy("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    return model.fit(X, y, epochs=epochs, validation_split=0.25, verbose=0,
                     callbacks=[callback]).history


def test_a_keraslearn_fit_logs_every_epoch_into_the_active_run(store):
    with mlflow.start_run() as run:
        pipe = pipeline(callbacks=[MLflowCallback()], validation_split=0.25,
                        metrics=["accuracy"]).fit(*frame())
        assert mlflow.active_run().info.run_id == run.info.run_id  # not ended by the callback
    history = pipe[-1].history_
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        steps, values = metric_steps(store, run.info.run_id, key)
        assert steps == list(range(EPOCHS)), key
        np.testing.assert_allclose(values, history[key], rtol=1e-6)
    assert [r.info.run_id for r in runs(store)] == [run.info.run_id]


def test_a_plain_dense_fit_logs_every_epoch_from_the_dense_chain_trainer(store):
    # No validation: the network trains through keraslearn's dense chain
    # trainer, which runs the callback between epochs as Keras' fit would.
    with mlflow.start_run() as run, mock.patch.object(
            dense_chains, "fit", wraps=dense_chains.fit) as spy:
        pipe = pipeline(callbacks=[MLflowCallback()], metrics=["accuracy"]).fit(*frame())
    assert spy.call_count == 1
    history = pipe[-1].history_
    for key in ("loss", "accuracy"):
        steps, values = metric_steps(store, run.info.run_id, key)
        assert steps == list(range(EPOCHS)), key
        np.testing.assert_allclose(values, history[key], rtol=1e-6)


def test_metric_names_mlflow_refuses_are_logged_with_those_characters_replaced(store):
    # Keras takes "auc(roc)" as a metric name; MLflow refuses parentheses in a key.
    X, y = frame()
    X = ((X - X.mean()) / X.std()).to_numpy("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", metrics=[keras.metrics.AUC(name="auc(roc)")])
    with mlflow.start_run() as run:
        history = model.fit(X, y, epochs=EPOCHS, verbose=0,
                            callbacks=[MLflowCallback()]).history
    steps, values = metric_steps(store, run.info.run_id, "auc_roc_")
    assert steps == list(range(EPOCHS))
    np.testing.assert_allclose(values, history["auc(roc)"], rtol=1e-6)


def test_without_a_run_each_fit_starts_one_and_ends_it(store):
    callback = MLflowCallback(run_name="alone")
    history = _fit_keras(callback)
    _fit_keras(callback)  # a second fit: a second run
    found = runs(store)
    assert [r.info.run_name for r in found] == ["alone", "alone"]
    assert [r.info.status for r in found] == ["FINISHED", "FINISHED"]
    assert callback.run_id_ == found[-1].info.run_id
    assert mlflow.active_run() is None
    steps, values = metric_steps(store, found[0].info.run_id, "val_loss")
    assert steps == list(range(EPOCHS))
    np.testing.assert_allclose(values, history["val_loss"], rtol=1e-6)


def test_runs_without_ids_start_in_the_store_named_by_tracking_uri(store):
    # tracking_uri was read for run_id and parent_run_id only: the runs went to
    # MLflow's current store, and the store named was never made.
    other = f"sqlite:///{store.folder / 'other.db'}"
    callback = MLflowCallback(tracking_uri=other, run_name="there")
    history = _fit_keras(callback)
    assert runs(store) == [] and mlflow.active_run() is None
    client = mlflow.MlflowClient(other)
    found = client.search_runs([client.get_experiment_by_name("Default").experiment_id])
    assert [(r.info.run_name, r.info.status) for r in found] == [("there", "FINISHED")]
    logged = [m.value for m in client.get_metric_history(found[0].info.run_id, "val_loss")]
    np.testing.assert_allclose(logged, history["val_loss"], rtol=1e-6)
    _fit_keras(MLflowCallback(tracking_uri=store.uri, run_name="here"))  # (MLflow's own: as before)
    assert [r.info.run_name for r in runs(store)] == ["here"]
    # MLflow's own store written otherwise (a relative path): the active run, as before.
    import os

    relative = "sqlite:///" + os.path.relpath(store.uri.split("///", 1)[1])
    with mlflow.start_run(run_name="outer") as outer:
        _fit_keras(MLflowCallback(tracking_uri=relative))
    assert store.client.get_run(outer.info.run_id).data.metrics.keys() >= {"loss", "val_loss"}
    assert len(runs(store)) == 2


class _FailAtEpoch(keras.callbacks.Callback):
    def __init__(self, error):
        super().__init__()
        self.error = error

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1 and self.error is not None:
            raise self.error


@pytest.mark.parametrize("error, status", [(KeyboardInterrupt(), "KILLED"),
                                           (RuntimeError("boom"), "FAILED")])
@pytest.mark.parametrize("parent", [False, True], ids=["own-run", "nested"])
def test_a_failed_fit_ends_the_run_it_started_and_the_next_fit_starts_its_own(
        store, error, status, parent):
    parent_id = store.client.create_run(store.experiment_id).info.run_id if parent else None
    failing = _FailAtEpoch(error)
    pipe = pipeline(callbacks=[MLflowCallback(parent_run_id=parent_id), failing])
    with pytest.raises(type(error)):
        pipe.fit(*frame())
    assert mlflow.active_run() is None
    failing.error = None
    pipe.fit(*frame())  # the same estimator again
    found = [r for r in runs(store) if r.info.run_id != parent_id]
    assert [r.info.status for r in found] == [status, "FINISHED"]
    assert metric_steps(store, found[0].info.run_id, "loss")[0] == [0, 1]
    assert metric_steps(store, found[1].info.run_id, "loss")[0] == list(range(EPOCHS))
    with mlflow.start_run():  # the user's own runs start as before
        pass


@pytest.mark.parametrize("parent", [False, True], ids=["own-run", "nested"])
def test_a_fit_failing_after_its_training_ended_marks_the_run_failed(store, parent):
    # A divergence is found once Keras' fit has returned, after on_train_end
    # closed the run: it stayed FINISHED, beside a fit that raised.
    from keraslearn import MLPRegressor

    parent_id = store.client.create_run(store.experiment_id).info.run_id if parent else None
    callback = MLflowCallback(parent_run_id=parent_id)
    X = np.random.default_rng(0).normal(size=(80, 3)) * 1e3
    reg = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=10.0,
                       max_iter=5, random_state=0, callbacks=[callback])
    with pytest.raises(ValueError, match="training diverged"):
        reg.fit(X, X @ np.array([3.0, -2.0, 1.0]) * 1e3)
    assert mlflow.active_run() is None
    assert store.client.get_run(callback.run_id_).info.status == "FAILED"
    if parent:
        assert store.client.get_run(parent_id).info.status == "RUNNING"


def _fails_when(meta, fail=False):
    if fail:
        raise RuntimeError("the builder failed")
    return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1)])


def test_a_fit_failing_before_training_leaves_the_last_run_as_it_ended(store):
    from keraslearn import KerasRegressor

    callback = MLflowCallback()
    X = np.random.default_rng(0).normal(size=(40, 3))
    reg = KerasRegressor(_fails_when, loss="mse", epochs=1, callbacks=[callback])
    reg.fit(X, X[:, 0])
    finished = callback.run_id_
    with pytest.raises(RuntimeError, match="the builder failed"):
        reg.set_params(model__fail=True).fit(X, X[:, 0])
    assert store.client.get_run(finished).info.status == "FINISHED"
    assert [r.info.run_id for r in runs(store)] == [finished]
    # Refused once the network is there, before its training starts (a warm
    # start inside a strategy scope): the last run was marked FAILED.
    import tensorflow as tf

    reg.set_params(model__fail=False, warm_start=True).fit(X, X[:, 0])
    finished = callback.run_id_
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        with pytest.raises(ValueError, match="strategy scope"):
            reg.fit(X, X[:, 0])
    assert store.client.get_run(finished).info.status == "FINISHED"


def test_run_id_is_logged_into_with_a_prefix_and_left_running(store):
    run_id = store.client.create_run(store.experiment_id).info.run_id
    history = _fit_keras(MLflowCallback(run_id=run_id, prefix="fit/"))
    run = store.client.get_run(run_id)
    assert run.info.status == "RUNNING"
    assert set(run.data.metrics) == {f"fit/{k}" for k in history}
    assert metric_steps(store, run_id, "fit/loss")[0] == list(range(EPOCHS))


def test_parent_run_id_nests_one_run_per_fit(store):
    parent = store.client.create_run(store.experiment_id).info.run_id
    callback = MLflowCallback(parent_run_id=parent, run_name="fit")
    _fit_keras(callback)
    _fit_keras(callback, epochs=2)
    children = [r for r in runs(store) if r.info.run_id != parent]
    assert len(children) == 2
    assert all(r.data.tags["mlflow.parentRunId"] == parent for r in children)
    assert all(r.info.status == "FINISHED" and r.info.run_name == "fit" for r in children)
    assert [len(store.client.get_metric_history(r.info.run_id, "loss")) for r in children] \
        == [EPOCHS, 2]
    assert store.client.get_run(parent).info.status == "RUNNING"


def test_the_store_is_captured_and_copies_hold_no_client(store):
    callback = MLflowCallback(parent_run_id="abc")
    assert callback.tracking_uri == store.uri == mlflow.get_tracking_uri()
    assert MLflowCallback(tracking_uri="sqlite:///elsewhere.db").tracking_uri == \
        "sqlite:///elsewhere.db"
    with pytest.raises(ValueError, match="not both"):
        MLflowCallback(run_id="a", parent_run_id="b")
    trained = MLflowCallback()
    _fit_keras(trained)
    for copy in (pickle.loads(pickle.dumps(trained)),
                 clone(pipeline(callbacks=[trained]))[-1].callbacks[0]):
        assert copy is not trained and copy._client is None and copy.model is None
        assert (copy.run_id_, copy.tracking_uri) == (trained.run_id_, trained.tracking_uri)
        assert copy._copied_under is None  # copied outside any run


def test_a_copy_made_in_a_run_nests_its_fits_under_it_as_a_search_does(store):
    X, y = frame()
    callback = MLflowCallback(run_name="fit")
    pipe = pipeline(callbacks=[callback])
    with mlflow.start_run() as parent:
        pipe.fit(X, y)  # the callback itself: into the active run
        clone(pipe).fit(X, y)  # a copy made now: a nested run, as a search's fits
        pickle.loads(pickle.dumps(clone(pipe)))[-1].fit(X, y)  # as sent to a worker
    parent_id = parent.info.run_id
    children = [r for r in runs(store) if r.info.run_id != parent_id]
    assert len(children) == 2
    assert all(r.data.tags["mlflow.parentRunId"] == parent_id and r.info.run_name == "fit"
               and r.info.status == "FINISHED" for r in children)
    for run_id in (parent_id, *(r.info.run_id for r in children)):
        assert metric_steps(store, run_id, "loss")[0] == list(range(EPOCHS))


def test_a_copy_made_in_a_run_of_another_store_logs_in_the_store_it_names(store):
    # found in a review of the left items: a search's copies of a callback naming
    # its own tracking_uri nested their runs under the run active in MLflow's store
    X, y = frame()
    other = f"sqlite:///{store.folder / 'other.db'}"
    pipe = pipeline(callbacks=[MLflowCallback(tracking_uri=other, run_name="there")])
    with mlflow.start_run() as active:
        clone(pipe).fit(X, y)
        pickle.loads(pickle.dumps(clone(pipe)))[-1].fit(X, y)
    assert [r.info.run_id for r in runs(store)] == [active.info.run_id]
    client = mlflow.MlflowClient(other)
    found = client.search_runs([client.get_experiment_by_name("Default").experiment_id])
    assert [(r.info.run_name, r.info.status) for r in found] == [("there", "FINISHED")] * 2
    assert all("mlflow.parentRunId" not in r.data.tags for r in found)


def test_a_copy_fitted_later_in_another_run_logs_into_that_run(store):
    # A search's best_estimator_ (a copy made in the search's run) refitted in a new
    # run: its curves go to the new run, not nested under the finished one.
    X, y = frame()
    pipe = pipeline(callbacks=[MLflowCallback()])
    with mlflow.start_run() as first:
        candidate = clone(pipe)
    with mlflow.start_run() as final:
        candidate.fit(X, y)
    assert candidate[-1].callbacks[0].run_id_ == final.info.run_id
    assert metric_steps(store, final.info.run_id, "loss")[0] == list(range(EPOCHS))
    assert [r.info.run_id for r in runs(store)
            if r.info.run_id not in (first.info.run_id, final.info.run_id)] == []


def test_a_failure_to_log_is_warned_about_once_and_the_training_goes_on(store, monkeypatch):
    X, y = frame()
    pipe = pipeline(callbacks=[MLflowCallback()])

    def unreachable(self, *args, **kwargs):
        raise ConnectionError("the tracking server is down")

    # Down from the first epoch's logging on: ending the run fails too.
    monkeypatch.setattr(mlflow.MlflowClient, "log_batch", unreachable)
    monkeypatch.setattr(mlflow.MlflowClient, "set_terminated", unreachable)
    with pytest.warns(RuntimeWarning, match="could not log epoch 0 .*the tracking server is "
                      "down.*training goes on") as caught:
        pipe.fit(X, y)  # before: the fit failed, and the estimator was left unfitted
    assert len([w for w in caught if "could not log" in str(w.message)]) == 1
    assert [str(w.message) for w in caught if "could not end run" in str(w.message)]
    assert len(pipe[-1].history_["loss"]) == EPOCHS
    assert mlflow.active_run() is None  # MLflow's stack left clean for the next fit


def test_a_run_that_cannot_be_started_is_warned_about_and_the_training_goes_on(
        store, monkeypatch):
    # A tracking server down when training starts failed the fit with MLflow's
    # error, where one down from an epoch on is a warning.
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    X, y = frame()
    pipe = pipeline(callbacks=[MLflowCallback()])
    with pytest.warns(RuntimeWarning, match="could not start its run.*training goes on "
                                            "without logging"):
        pipe.fit(X, y)
    assert len(pipe[-1].history_["loss"]) == EPOCHS
    assert mlflow.active_run() is None
    assert pipe[-1].callbacks[0].run_id_ is None  # it logged to no run


def test_a_training_whose_run_cannot_start_logs_nowhere_and_the_next_counts_on(store):
    # run_id_ named the run of the training before, as if this one had logged there.
    run_id = store.client.create_run(store.experiment_id).info.run_id
    callback = MLflowCallback(run_id=run_id)
    X, y = frame()
    pipe = pipeline(callbacks=[callback], warm_start=True).fit(X, y)
    callback = pipe[-1].callbacks[0]
    callback.run_id, callback.parent_run_id = None, "0" * 32  # a parent the store lacks
    with pytest.warns(RuntimeWarning, match="could not start its run") as told:
        pipe.fit(X, y)
    assert callback.run_id_ is None
    # told at the caller of the fit (here scikit-learn's Pipeline), not inside Keras' fit
    assert not any(part in told[0].filename for part in ("keraslearn", "/keras/", "tensorflow"))
    callback.run_id, callback.parent_run_id = run_id, None  # the first run again
    pipe.fit(X, y)
    steps, _ = metric_steps(store, run_id, "loss")
    assert steps == list(range(2 * EPOCHS))


@pytest.mark.parametrize("kind", ["file", "databricks", "sqlite with options"])
def test_whether_the_copy_s_run_still_runs_is_asked_of_its_store(store, tmp_path, monkeypatch,
                                                                  kind):
    from keraslearn.tracking._callback import _still_running

    if kind == "databricks":  # a workspace, not a folder: the store is asked
        calls = []

        class Client:
            def __init__(self, uri):
                calls.append(uri)

            def get_run(self, run_id):
                raise ConnectionError("no workspace here")

        assert not _still_running(type("M", (), {"MlflowClient": Client}), "r", "databricks")
        assert calls == ["databricks"]
        return
    if kind == "file":
        monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps it if asked
        uri = (tmp_path / "my project" / "mlruns").as_uri()  # a space: %20 in the file URI
        experiment = mlflow.MlflowClient(uri).create_experiment("e")
    else:  # SQLAlchemy's options after the path: the database was taken as gone
        uri, experiment = f"{store.uri}?timeout=30", store.experiment_id
    client = mlflow.MlflowClient(uri)
    run = client.create_run(experiment)
    assert _still_running(mlflow, run.info.run_id, uri)
    client.set_terminated(run.info.run_id)
    assert not _still_running(mlflow, run.info.run_id, uri)


def test_a_copy_fitted_after_its_run_ended_starts_a_run_of_its_own(store):
    # An estimator pickled inside a run (or a search's best_estimator_) and
    # fitted once that run has ended, with no run active: before, its fits
    # went on nesting under the finished run, in the store of that time.
    X, y = frame()
    pipe = pipeline(callbacks=[MLflowCallback(run_name="later")])
    with mlflow.start_run() as old:
        kept = pickle.dumps(clone(pipe))
    again = pickle.loads(kept)
    again.fit(X, y)
    run = store.client.get_run(again[-1].callbacks[0].run_id_)
    assert run.info.run_name == "later" and "mlflow.parentRunId" not in run.data.tags
    assert run.info.status == "FINISHED" and run.info.run_id != old.info.run_id
    assert len(runs(store)) == 2


def test_a_copy_whose_store_is_gone_logs_where_mlflow_points_now(store, tmp_path, monkeypatch):
    X, y = frame()
    gone = tmp_path / "gone.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{gone}")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID")
    with mlflow.start_run():
        kept = pickle.dumps(clone(pipeline(callbacks=[MLflowCallback()])))
    gone.unlink()  # as in another process, on another machine, months later
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", store.experiment_id)
    again = pickle.loads(kept).fit(X, y)  # before: "Run ... not found"
    assert not gone.exists()  # the old store is not created again, empty
    assert [r.info.run_id for r in runs(store)] == [again[-1].callbacks[0].run_id_]


def test_warm_started_fits_and_partial_fit_continue_the_curve_as_history_does(store):
    X, y = frame()
    warm = pipeline(callbacks=[MLflowCallback()], warm_start=True)
    with mlflow.start_run() as run:
        warm.fit(X, y)
        warm.fit(X, y)
    steps, values = metric_steps(store, run.info.run_id, "loss")
    assert steps == list(range(2 * EPOCHS))
    np.testing.assert_allclose(values, warm[-1].history_["loss"], rtol=1e-6)
    online = pipeline(callbacks=[MLflowCallback()])
    with mlflow.start_run() as run:
        online.fit(X, y)
        scaled = online[:-1].transform(X)
        online[-1].partial_fit(scaled, y)
        online[-1].partial_fit(scaled, y)
    steps, values = metric_steps(store, run.info.run_id, "loss")
    assert steps == list(range(EPOCHS + 2))
    np.testing.assert_allclose(values, online[-1].history_["loss"], rtol=1e-6)


def test_a_copy_loaded_in_a_later_session_logs_where_that_session_s_mlflow_points(
        store, tmp_path, monkeypatch):
    # A copy carries the store and experiment set where it was made, for the
    # workers of a search that inherit neither; a process of the user's own, such
    # as a later session with nothing set but an experiment, logs where its MLflow
    # points (here MLflow's default store, in the working directory).
    X, y = frame()
    kept = pickle.dumps(pipeline(callbacks=[MLflowCallback()]))
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "later")
    monkeypatch.chdir(tmp_path)
    assert not mlflow.is_tracking_uri_set()
    again = pickle.loads(kept).fit(X, y)
    assert runs(store) == []  # nothing in the store of the session that made it
    here = mlflow.MlflowClient(mlflow.get_tracking_uri())
    run = here.get_run(again[-1].callbacks[0].run_id_)
    assert here.get_experiment(run.info.experiment_id).name == "later"


def test_a_process_of_the_user_s_own_that_sets_its_store_logs_there(store, tmp_path):
    # A worker whose MLflow settings are those of its start logs where the
    # copy was made; a process that set its own logs there (as it did before).
    import multiprocessing

    from _mlflow_store import fit_setting_own_store

    X, y = frame()
    own = f"sqlite:///{tmp_path}/own.db"
    process = multiprocessing.get_context("spawn").Process(
        target=fit_setting_own_store,
        args=(pipeline(callbacks=[MLflowCallback(run_name="own")]), X, y, own))
    process.start()
    process.join(300)
    assert process.exitcode == 0
    assert runs(store) == []
    client = mlflow.MlflowClient(own)
    assert [run.info.run_name for experiment in client.search_experiments()
            for run in client.search_runs([experiment.experiment_id])] == ["own"]


def test_a_copy_makes_a_store_only_named_where_it_can_be_made(tmp_path, monkeypatch):
    # Workers log to the store set here only where it is there: a copy made for
    # them makes it. One that cannot be made (a folder not writable) is left to
    # them: MLflow retried opening it for ~100 s at every pickle or clone.
    made = []
    real = mlflow.MlflowClient
    monkeypatch.setattr(mlflow, "MlflowClient", lambda *a, **k: made.append(a) or real(*a, **k))
    callback = MLflowCallback()
    for uri, expected in [("sqlite:////proc/sys/mlflow.db", []),
                          (f"sqlite:///{tmp_path}/mlflow.db", [(f"sqlite:///{tmp_path}/mlflow.db",)])]:
        made.clear()
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        pickle.dumps(callback)
        assert made == expected
    assert (tmp_path / "mlflow.db").is_file()
    made.clear()
    pickle.dumps(callback)  # there now: not opened again
    assert made == []
