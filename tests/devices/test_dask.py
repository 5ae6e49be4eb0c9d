"""Searches on a real Dask ``distributed`` cluster through joblib's Dask
backend: worker processes on 127.0.0.1 only, no dashboard, closed at the end.

The clusters are ``LocalCluster(processes=True)``: each worker is a process
of its own, as on a machine running ``dask worker``.

Seeded fits give the same results on the cluster as in one process when the
network's initial weights do not come from Python's global generator: Keras
draws the seed of an initializer given none from ``random``, which a Dask
worker's own threads draw from too (its communications), at any moment, so
keraslearn's reseeding of it cannot hold there. The builder below seeds its
initializers; the ready networks seed theirs from ``random_state``.
"""

import logging

import joblib
import keras
import numpy as np
import pytest
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, cross_validate

from keraslearn import KerasClassifier, MLPClassifier
from keraslearn._parallel import dask_worker_threads

X, y = make_classification(n_samples=120, n_features=6, random_state=0)
X = X.astype("float32")
TIMEOUT_S = 120


def _cluster(n_workers, threads_per_worker):
    return LocalCluster(
        n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
        host="127.0.0.1", dashboard_address=None, scheduler_port=0, worker_dashboard_address=None,
        silence_logs=logging.ERROR, death_timeout=TIMEOUT_S,
    )


@pytest.fixture(scope="module")
def client():
    with _cluster(2, 1) as cluster, Client(cluster, timeout=TIMEOUT_S) as client:
        client.wait_for_workers(2, timeout=TIMEOUT_S)
        yield client


def seeded_mlp(meta, hidden=8):
    """tiny_mlp with initializers seeded in the builder (see the module docstring)."""
    return keras.Sequential([
        keras.Input(meta["X_shape_"][1:]),
        keras.layers.Dense(hidden, activation="relu",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=1)),
        keras.layers.Dense(1, activation="sigmoid",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=2)),
    ])


def _wrapper_search():
    est = KerasClassifier(seeded_mlp, optimizer="adam", epochs=3, batch_size=16, random_state=0)
    grid = {"hidden": [4, 8], "optimizer__learning_rate": [1e-3, 1e-2]}
    return GridSearchCV(est, grid, cv=2, scoring="neg_log_loss", error_score="raise")


def test_a_seeded_search_on_the_cluster_equals_the_search_in_one_process(client):
    local = _wrapper_search().fit(X, y)
    with joblib.parallel_config(backend="dask"):
        remote = _wrapper_search().fit(X, y)
    keys = [k for k in local.cv_results_ if k.startswith(("split", "mean_test", "rank"))]
    for key in keys:  # shuffled, seeded fits: the same log-losses to the last bit
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key], key)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))
    # The fits ran on both workers, each with TensorFlow's pools sized to its one thread.
    limits = client.run(_thread_limit)
    assert sorted(limits.values()) == [1, 1], limits


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_search_over_a_ready_network_on_the_cluster_equals_the_search_in_one_process(client):
    def search():  # the ready networks seed their initializers and dropout themselves
        return GridSearchCV(MLPClassifier(hidden_layer_sizes=(8,), dropout=0.1, max_iter=3,
                                          random_state=0),
                            {"alpha": [1e-4, 1e-1]}, cv=2, error_score="raise")

    local = search().fit(X, y)
    with joblib.parallel_config(backend="dask"):
        remote = search().fit(X, y)
    for key in [k for k in local.cv_results_ if k.startswith(("split", "mean_test"))]:
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key], key)
    assert remote.best_estimator_.n_iter_ == 3
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("named", ["id", "name", "name-in-workers-too", "a store not made yet"])
def test_fits_on_workers_started_before_mlflow_was_set_log_where_it_was_set(
        client, tmp_path, monkeypatch, named):
    """The workers were started before MLflow's tracking URI and experiment
    were set here (as MLflow's environment variables, which only processes
    started later inherit): each fold's run still goes to that store and
    experiment, not to a store of the worker's own. An experiment given by a
    name no run has used yet is made, as MLflow makes it; workers that have
    the experiment's name (from their own environment) but no tracking URI
    still log to this store. A store only named so far (no experiment set) is
    made where the search is, not by each worker beside itself."""
    import mlflow

    from keraslearn.tracking import MLflowCallback

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    if named == "name" or named == "name-in-workers-too":
        monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "search")
    elif named == "id":
        store = mlflow.MlflowClient(uri)
        experiment = store.create_experiment("search", artifact_location=tmp_path.as_uri())
        monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment)
    search = GridSearchCV(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0,
                                        callbacks=[MLflowCallback()]),
                          {"alpha": [1e-4, 1e-1]}, cv=2, error_score="raise")
    if named == "name-in-workers-too":
        client.run(_set_env, "MLFLOW_EXPERIMENT_NAME", "search")
    try:
        with joblib.parallel_config(backend="dask"):
            search.fit(X, y)
    finally:
        client.run(_set_env, "MLFLOW_EXPERIMENT_NAME", None)
    assert all(seen is None for seen in client.run(_tracking_uri_set).values())
    store = mlflow.MlflowClient(uri)
    experiment = store.get_experiment_by_name(
        "Default" if named == "a store not made yet" else "search").experiment_id
    runs = store.search_runs([experiment])
    assert len(runs) == 5  # 2 candidates x 2 folds, and the refit
    for run in runs:
        assert run.info.status == "FINISHED"
        assert [m.step for m in store.get_metric_history(run.info.run_id, "loss")] == [0, 1]


def _set_env(name, value):
    import os

    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _tracking_uri_set():
    import os

    return os.environ.get("MLFLOW_TRACKING_URI")


def _thread_limit():
    from keraslearn import _tf

    return _tf.thread_limit()


def test_cross_validate_runs_on_the_cluster(client):
    est = KerasClassifier(seeded_mlp, epochs=2, random_state=0)
    local = cross_validate(est, X, y, cv=2)
    with joblib.parallel_config(backend="dask"):
        remote = cross_validate(est, X, y, cv=2)
    np.testing.assert_array_equal(remote["test_score"], local["test_score"])


def _fit_in_worker():
    import os

    from keraslearn import _tf

    MLPClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(X, y)
    return {"worker_threads": dask_worker_threads(), "thread_limit": _tf.thread_limit(),
            "omp": os.environ.get("OMP_NUM_THREADS")}


# A second cluster beside the module's: its HTTP server (127.0.0.1) takes another port.
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
def test_a_worker_sizes_tensorflow_to_its_own_threads():
    # Dask's nanny sets OMP_NUM_THREADS=1 in every worker whatever its threads:
    # TensorFlow's pools, shared by the tasks a worker runs at once, follow the
    # worker's thread count instead.
    with _cluster(1, 2) as cluster, Client(cluster, timeout=TIMEOUT_S) as client:
        seen = client.submit(_fit_in_worker, pure=False).result(timeout=TIMEOUT_S)
    assert seen == {"worker_threads": 2, "thread_limit": 2, "omp": "1"}


def test_outside_a_worker_there_is_no_worker_thread_count():
    assert dask_worker_threads() is None


_SIZES_ITS_OWN_POOLS = '''
import json
import numpy as np
from joblib import Parallel, delayed


def sized_then_fitted():
    import tensorflow as tf
    from keraslearn import MLPClassifier, _tf
    tf.config.threading.set_intra_op_parallelism_threads(3)
    tf.config.threading.set_inter_op_parallelism_threads(3)
    X = np.random.RandomState(0).randn(20, 3)
    MLPClassifier(hidden_layer_sizes=(2,), max_iter=1).fit(X, X[:, 0] > 0)
    return (tf.config.threading.get_intra_op_parallelism_threads(),
            tf.config.threading.get_inter_op_parallelism_threads(), _tf.thread_limit())


if __name__ == "__main__":
    print(json.dumps(Parallel(n_jobs=2, backend="loky")(
        delayed(sized_then_fitted)() for _ in range(2))))
'''


def test_a_worker_sizing_its_own_pools_keeps_them(tmp_path):
    # In a joblib worker (OMP_NUM_THREADS set by joblib) the first fit sized
    # TensorFlow's pools over the sizes the worker's code had set.
    import json
    import os
    import subprocess
    import sys

    script = tmp_path / "sizes_its_own_pools.py"
    script.write_text(_SIZES_ITS_OWN_POOLS)
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "KERASLEARN_NUM_THREADS")}
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=TIMEOUT_S * 2, env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert run.returncode == 0, run.stderr[-3000:]
    share = max(1, joblib.cpu_count() // 2)  # (still caps keraslearn's input pipelines)
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [[3, 3, share]] * 2


_STARTS_A_CLUSTER = '''
import json, os, sys
import numpy as np
from distributed import LocalCluster
from joblib import Parallel, delayed


def limit_in_worker():
    from keraslearn import MLPClassifier, _tf
    X = np.random.RandomState(0).randn(20, 3)
    MLPClassifier(hidden_layer_sizes=(2,), max_iter=1).fit(X, X[:, 0] > 0)
    return _tf.thread_limit()


if __name__ == "__main__" and sys.argv[1:] == ["in-process"]:
    # Workers in this process (in-process transport, no socket): its pools are
    # not theirs to size.
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        in_process = cluster.get_client().submit(limit_in_worker, pure=False).result()
    import tensorflow as tf
    print(json.dumps({"in_process": in_process,
                      "intra": tf.config.threading.get_intra_op_parallelism_threads()}))
elif __name__ == "__main__":
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None, host="127.0.0.1"):
        omp = os.environ.get("OMP_NUM_THREADS")
        here = limit_in_worker()
    workers = Parallel(n_jobs=2, backend="loky")(delayed(limit_in_worker)() for _ in range(2))
    print(json.dumps({"omp": omp, "here": here, "workers": workers}))
'''


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use")
def test_starting_a_cluster_leaves_this_process_its_threads(tmp_path):
    # Dask's LocalCluster sets OMP_NUM_THREADS=1 in the process that starts it,
    # which was read as a joblib worker's share of the cores: every later fit
    # of that process ran on one thread. joblib's workers still take theirs.
    # An in-process cluster's worker thread (processes=False) left the user's
    # own process on its thread count for good.
    import json
    import os
    import subprocess
    import sys

    script = tmp_path / "starts_a_cluster.py"
    script.write_text(_STARTS_A_CLUSTER)
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "KERASLEARN_NUM_THREADS")}
    seen = {}
    for mode in ([], ["in-process"]):
        run = subprocess.run([sys.executable, str(script), *mode], capture_output=True,
                             text=True, timeout=TIMEOUT_S * 2,
                             env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"})
        assert run.returncode == 0, run.stderr[-3000:]
        seen.update(json.loads(run.stdout.strip().splitlines()[-1]))
    assert seen["omp"] == "1" and seen["here"] is None
    assert seen["in_process"] is None and seen["intra"] == 0  # TensorFlow's own sizing
    share = max(1, joblib.cpu_count() // 2)  # joblib's OMP_NUM_THREADS in its 2 workers
    assert seen["workers"] == [share, share]
