"""``MLflowCallback``: a Keras callback logging each epoch's metrics to MLflow as it ends.

Design: the callback holds only strings (run ids, a tracking URI, a name), so it
is copied by ``clone`` and pickled to joblib's worker processes with the
estimator that holds it; its MLflow client is made when training begins and
dropped when it ends. Where it logs is decided when training begins, in this
order: ``run_id``; a new run nested under ``parent_run_id``; a new run nested
under the run that was active where the callback was copied (a search's clones),
while that run runs; the run active in this thread; a new run. The first three use a tracking URI
captured when the callback is made or copied, so that fits in other processes
log to the same store as the process that made it; the last two use MLflow's
current tracking URI and experiment, as ``mlflow.start_run`` does.
"""

import os
import threading
import time
import warnings

from .._stacklevel import user_stacklevel
from .._tf import keras
from ..utils._validation import is_number as _is_number
from ._mlflow import require_mlflow
from ._params import mlflow_key
from ._stores import create_store, same_store, store_exists

PARENT_TAG = "mlflow.parentRunId"  # MLflow's system tag of a nested run
_CALLED_BY = ("keraslearn.", "keras.", "tensorflow.")  # a warning points past what runs it


def _mlflow_settings():
    """MLflow's settings a process passes on (and ``set_tracking_uri`` and
    ``set_experiment`` change): its environment variables."""
    return tuple(os.environ.get(f"MLFLOW_{key}") for key in (
        "TRACKING_URI", "EXPERIMENT_ID", "EXPERIMENT_NAME"))


# The tracking URI this process had when it first read a callback.
_INHERITED_URI = _mlflow_settings()[0]


def _worker_as_started():
    """Whether this process is a worker (a process with a parent: joblib's, or
    a Dask worker's) whose tracking URI is still that of its start, which a
    later search in the process that started it does not change (joblib
    reuses its workers). A process that set its own store since, or one of
    the user's own, such as a later session loading a pickled estimator, logs
    where its MLflow points."""
    import multiprocessing

    from .._parallel import dask_worker_threads

    return ((multiprocessing.parent_process() is not None or dask_worker_threads() is not None)
            and _mlflow_settings()[0] == _INHERITED_URI)


def _experiment_named(client, name):
    """The id of experiment ``name``, made if there is none yet (as MLflow
    makes the experiment ``MLFLOW_EXPERIMENT_NAME`` names)."""
    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            return client.create_experiment(name)
        except Exception:  # noqa: BLE001 - made meanwhile by another worker?
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
    return found.experiment_id


def _still_running(mlflow, run_id, uri):
    """Whether run ``run_id`` of the store at ``uri`` is running. A store that
    is not there is not opened (``store_exists``); one that cannot be read
    says no, as the run cannot be logged into."""
    if not store_exists(uri):
        return False
    try:
        return mlflow.MlflowClient(uri).get_run(run_id).info.status == "RUNNING"
    except Exception:  # MLflow's errors, or the store's driver's: the run is out of reach
        return False


class MLflowCallback(keras.callbacks.Callback):
    """Log the metrics of every epoch to MLflow while a Keras model trains.

    Give it to any keraslearn estimator (``callbacks=[MLflowCallback()]``) or to
    ``keras.Model.fit``. At the end of each epoch, every number in Keras' logs
    (``loss``, ``val_loss``, compiled metrics) is logged with ``step=epoch``,
    counted on from the epochs the callback already logged into the same run:
    a warm-started fit or ``partial_fit`` continues the curve, as ``history_``
    does, inside a run that outlives the calls (``with mlflow.start_run():``
    around them, or ``run_id``): with no run active, each call is a run of
    its own.

    Where: with ``run_id``, into that run; with ``parent_run_id``, into a new
    run nested under it for each fit (the way to follow the fits of a search,
    ``n_jobs=2`` included); otherwise into the run active when training begins,
    or, when none is, into a new run ended when training ends.

    Inside a search: a copy of the callback made while a run is active (in the
    store ``tracking_uri`` names, where given) -- the clones a search fits, in
    this process or in joblib's workers -- nests each fit under that run, as
    ``parent_run_id`` would, while that run is still the active one, or, where
    no run is active, while it is still running (a copy fitted in another run
    later, such as a search's ``best_estimator_`` refitted in a new run, logs
    into that run; one fitted once that run has ended, such as an estimator
    pickled in it and loaded later, starts a run of its own, in MLflow's
    current store). So a search fitted inside
    ``with mlflow.start_run():`` gets one nested run per fit (every fold and
    the refit) whatever its ``n_jobs``, instead of fits logging over each
    other into the parent or into unrelated runs. That is the callback given
    to the estimator (its ``callbacks`` parameter); one given to
    ``search.fit`` is a fit parameter, the same object in every fit, never
    copied in this process: it logs every fit into the active run there, and
    into runs of their own in workers (pickled where no run is active). Give
    the estimator an instance, ``callbacks=[MLflowCallback()]``: the class
    (``callbacks=[MLflowCallback]``) is made anew inside each fit, from no
    copy, and so logs as one given to ``search.fit`` does.

    Parameters
    ----------
    run_id : str, default=None
        An existing run to log into (it is left running).

    parent_run_id : str, default=None
        Start one run per fit, nested under this run (in its experiment), and
        end it when training ends.

    tracking_uri : str, default=None
        The tracking store of ``run_id`` and ``parent_run_id``; by default
        MLflow's tracking URI when the callback is made, so that worker
        processes log to the same store. Runs without either id start in the
        store given here (in the experiment ``MLFLOW_EXPERIMENT_NAME`` names, or
        "Default") where it is not MLflow's current one; without it they use
        MLflow's current tracking URI and experiment; in a worker process (joblib's, or
        Dask's) that set no store of its own, a copy uses those of the process
        where it was made (a search's clones, pickled to the workers) -- a worker
        reused by a later search held those of its start -- unless that store
        cannot be reached there.

    run_name : str, default=None
        The name of the runs the callback starts.

    prefix : str, default=""
        Put before each metric name (``"fit/"`` gives ``fit/loss``).

    Attributes
    ----------
    run_id_ : str or None
        The run the last training logged to (None before training, and after
        one whose run could not be started).

    See Also
    --------
    log_fit : Parameters, curves, evaluation and model of a fitted estimator.
    log_search : A fitted search as a parent run with one nested run per candidate.

    Notes
    -----
    When the fit of a keraslearn estimator fails or is interrupted while it
    trains, a run the callback started and left running is ended as
    ``FAILED`` (``KILLED`` when interrupted), as ``with mlflow.start_run():``
    ends its run, so that the next fit starts a run of its own. Keras' own
    ``model.fit`` calls no callback when training raises: there, such a run
    is left running (``mlflow.end_run(status="FAILED")`` ends it).

    Metric names are written as MLflow takes them on every system (the
    characters it refuses replaced by ``_``: ``auc(roc)`` is logged as
    ``auc_roc_``). An epoch that
    cannot be logged (the store out of reach) is warned about, once per
    training, and the training goes on; so does a training whose run cannot
    be started, without logging.

    Examples
    --------
    >>> import tempfile
    >>> import keras, mlflow, numpy as np
    >>> from keraslearn.tracking import MLflowCallback
    >>> folder = tempfile.mkdtemp()
    >>> store = f"sqlite:///{folder}/mlflow.db"
    >>> client = mlflow.MlflowClient(store)
    >>> experiment = client.create_experiment("demo", artifact_location=f"file://{folder}")
    >>> parent = client.create_run(experiment).info.run_id
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> callback = MLflowCallback(parent_run_id=parent, tracking_uri=store)
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(loss="mse")
    >>> _ = model.fit(X, X.sum(axis=1), epochs=3, verbose=0, callbacks=[callback])
    >>> [m.step for m in client.get_metric_history(callback.run_id_, "loss")]
    [0, 1, 2]
    >>> client.get_run(callback.run_id_).data.tags["mlflow.parentRunId"] == parent
    True
    >>> import shutil
    >>> shutil.rmtree(folder, ignore_errors=True)
    """

    def __init__(self, *, run_id=None, parent_run_id=None, tracking_uri=None, run_name=None,
                 prefix=""):
        super().__init__()
        mlflow = require_mlflow()
        if run_id is not None and parent_run_id is not None:
            raise ValueError("Give run_id (log into that run) or parent_run_id (a nested run "
                             "per fit), not both.")
        self.run_id = run_id
        self.parent_run_id = parent_run_id
        self.tracking_uri = tracking_uri if tracking_uri is not None else (
            mlflow.get_tracking_uri())
        self._uri_given = tracking_uri is not None
        self.run_name = run_name
        self.prefix = prefix
        self.run_id_ = None
        self._client = None
        self._ends = None  # how to end the run this callback started, if it did
        self._finished = None  # (client, run id) of the run its last training ended
        self._copied_under = None  # (run id, tracking URI) active where this copy was made
        self._copied_settings = None  # (tracking URI, experiment id, name) where copied
        self._steps = 0  # epochs logged into run_id_ so far: where the next fit's steps start
        self._steps_run = None  # the run _steps counts the epochs of
        self._offset = 0
        self._first_epoch = None
        self._log_failed = False

    def on_train_begin(self, logs=None):
        try:
            self._start_run()
        except Exception as exc:  # noqa: BLE001 - the store's: the training goes on
            self._client = self._ends = self.run_id_ = None  # it logs to no run
            warnings.warn(f"MLflowCallback could not start its run ({type(exc).__name__}: "
                          f"{exc}); training goes on without logging.", RuntimeWarning,
                          stacklevel=user_stacklevel(_CALLED_BY))
            return
        if self.run_id_ != self._steps_run:  # (a training unlogged between keeps the count)
            self._steps, self._steps_run = 0, self.run_id_
        self._offset = self._steps
        self._first_epoch = None  # Keras' number of this training's first epoch
        self._log_failed = False  # a failure to log said once per training

    def _start_run(self):
        mlflow = require_mlflow()
        self._ends = None
        self._finished = None
        parent_id, uri = self.parent_run_id, self.tracking_uri
        if self.run_id is None and parent_id is None and self._copied_under is not None and (
                not self.__dict__.get("_uri_given") or same_store(self._copied_under[1], uri)):
            # The run the copy was made in (in the store named, if one is), while it
            # is the active one (a search fitting its clones) or, where no run is
            # active (joblib's workers), still running (see the class docstring).
            active = mlflow.active_run()
            if (active.info.run_id == self._copied_under[0] if active is not None
                    else _still_running(mlflow, *self._copied_under)):
                parent_id, uri = self._copied_under
        if self.run_id is not None or parent_id is not None:
            self._client = mlflow.MlflowClient(uri)
            if self.run_id is not None:
                self.run_id_ = self.run_id
            else:
                parent = self._client.get_run(parent_id)
                run = self._client.create_run(parent.info.experiment_id, run_name=self.run_name,
                                              tags={PARENT_TAG: parent_id})
                self.run_id_ = run.info.run_id
                self._ends = "client"
            return
        active = mlflow.active_run()
        if self.__dict__.get("_uri_given") and not same_store(uri, mlflow.get_tracking_uri()):
            # The store named (it was ignored, the run logged where MLflow pointed).
            self._client = mlflow.MlflowClient(uri)
            experiment = _experiment_named(self._client, _mlflow_settings()[2] or "Default")
            self.run_id_ = self._client.create_run(experiment, run_name=self.run_name).info.run_id
            self._ends = "client"
            return
        settings = self._copied_settings
        if (active is None and settings is not None and _worker_as_started()
                and store_exists(settings[0])):
            # A copy in a worker: the store and experiment where the copy was
            # made, not those the worker started with (a Dask worker started
            # before they were set; joblib's, reused by a search in another
            # experiment). A store the worker cannot reach is left to its own.
            self._client = mlflow.MlflowClient(settings[0])
            experiment = settings[1] or _experiment_named(self._client, settings[2] or "Default")
            self.run_id_ = self._client.create_run(experiment, run_name=self.run_name).info.run_id
            self._ends = "client"
            return
        self._client = mlflow.MlflowClient()
        if active is None:
            active = mlflow.start_run(run_name=self.run_name)
            self._ends = "fluent"
        self.run_id_ = active.info.run_id

    def on_epoch_end(self, epoch, logs=None):
        if self._client is None:
            return  # used outside model.fit: nothing to log to
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        # Keras takes metric names MLflow refuses ("auc(roc)"): the
        # characters MLflow refuses are replaced, as log_fit replaces them.
        # Steps count on from the run's last: a partial_fit trains from
        # Keras' initial_epoch, numbering its epochs on already.
        if self._first_epoch is None:
            self._first_epoch = epoch
        step = self._offset + epoch - self._first_epoch
        self._steps = max(self._steps, step + 1)
        metrics = [Metric(mlflow_key(f"{self.prefix}{key}"), float(value), now, step)
                   for key, value in (logs or {}).items() if _is_number(value)]
        if not metrics:
            return
        try:
            self._client.log_batch(self.run_id_, metrics=metrics)
        except Exception as exc:  # noqa: BLE001 - the store's: the training goes on
            if not self._log_failed:
                warnings.warn(f"MLflowCallback could not log epoch {step} to run "
                              f"{self.run_id_} ({type(exc).__name__}: {exc}); training goes "
                              "on, and later epochs are tried again.", RuntimeWarning,
                              stacklevel=user_stacklevel(_CALLED_BY))
            self._log_failed = True

    def on_train_end(self, logs=None):
        self._end_run("FINISHED")

    def _fit_starting(self):
        """A keraslearn fit starts training with this: a failure concerns the run it starts."""
        self._finished = None

    def _fit_failed(self, interrupted):
        """The keraslearn fit this callback trained in failed: end the run it
        started and left running as failed (Keras calls no callback then), so
        that the next fit starts its own; or, when the fit failed after its
        training ended the run (a divergence found then), mark it failed."""
        status = "KILLED" if interrupted else "FAILED"
        if self._ends is None and self._finished is not None:
            client, run_id = self._finished
            client.set_terminated(run_id, status=status)
            self._finished = None
            return
        self._end_run(status)

    def _end_run(self, status):
        """End the run this training started, if it did (and has not yet)."""
        mlflow = require_mlflow()
        if self._ends is not None:  # the client that can mark it failed after all
            self._finished = (self._client or mlflow.MlflowClient(), self.run_id_)
        try:
            if self._ends == "client":
                self._client.set_terminated(self.run_id_, status=status)
            elif self._ends == "fluent":
                active = mlflow.active_run()
                if active is not None and active.info.run_id == self.run_id_:
                    mlflow.end_run(status=status)  # off MLflow's stack even if it raises
                else:
                    self._client.set_terminated(self.run_id_, status=status)
        except Exception as exc:  # noqa: BLE001 - the store's: the fit keeps its training
            warnings.warn(f"MLflowCallback could not end run {self.run_id_} as {status} "
                          f"({type(exc).__name__}: {exc}); it stays as the store has it.",
                          RuntimeWarning, stacklevel=user_stacklevel(_CALLED_BY))
        finally:
            self._client = None
            self._ends = None

    def __getstate__(self):
        # A copy (clone, pickling to a worker) holds the settings and the last
        # run id: the client is made again where training begins, and the model
        # of the last training is not carried along.
        state = {k: None if isinstance(v, keras.Model) else v for k, v in self.__dict__.items()}
        state["_client"] = state["_finished"] = None
        # A copy made while a run is active nests its fits under that run; a copy of
        # a copy (a clone pickled to a worker) keeps the run its original saw.
        # MLflow's active run is the thread's own: a copy made in joblib's thread
        # (a search dispatching its later fits) nests under the run active where
        # this callback was last copied in the main thread.
        state.pop("_main_thread_run", None)
        mlflow = require_mlflow()
        active = mlflow.active_run()
        main = threading.current_thread() is threading.main_thread()
        if self.run_id is None and self.parent_run_id is None:
            if active is not None:
                state["_copied_under"] = (active.info.run_id, mlflow.get_tracking_uri())
                if main:
                    self._main_thread_run = state["_copied_under"]
            elif not main and self.__dict__.get("_main_thread_run") is not None:
                state["_copied_under"] = self._main_thread_run
            # What a process started from this one now would inherit (MLflow's
            # environment variables), for workers that inherited nothing or
            # earlier settings. A store set is made for them (MLflow's default
            # one, in the working directory, is not: it is theirs too).
            state["_copied_settings"] = (mlflow.get_tracking_uri(), *_mlflow_settings()[1:])
            if mlflow.is_tracking_uri_set():
                create_store(mlflow, state["_copied_settings"][0])
        return state

    def __setstate__(self, state):
        state.setdefault("_copied_under", None)
        state.setdefault("_copied_settings", None)
        state.setdefault("_finished", None)
        state.setdefault("_steps", 0)
        state.setdefault("_steps_run", state.get("run_id_"))
        state.setdefault("_offset", 0)
        state.setdefault("_log_failed", False)
        self.__dict__.update(state)
