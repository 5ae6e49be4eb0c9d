"""TensorFlow start-up: quiet logs and thread pools sized for the process.

Everything here runs before the first TensorFlow operation of a fit, so that a
worker process started by joblib (``GridSearchCV(n_jobs=2)``) or a Dask
worker (joblib's ``"dask"`` backend) uses only its share of the cores instead
of every worker claiming all of them.
"""

import contextlib
import logging
import os
import threading
import warnings

from ._backend import check_keras_backend

check_keras_backend()
# TF_CPP_MIN_LOG_LEVEL is set (unless the user set it) by keraslearn/__init__.py.
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

check_keras_backend()  # (the one Keras started on, from its keras.json)

_THREADS_LOCK = threading.Lock()
_THREADS_DONE = False
_THREAD_LIMIT = None


def _from_env(var):
    value = os.environ.get(var, "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def _thread_share():
    """The process's share of the cores: ``KERASLEARN_NUM_THREADS`` (the
    user's), a Dask worker's thread count, or the ``OMP_NUM_THREADS`` that
    joblib's process backends set to ``cpu_count() // n_jobs`` in their
    workers; else None. Only a worker process (one with a parent) reads
    ``OMP_NUM_THREADS``: Dask's ``LocalCluster`` sets it to 1 in the process
    that starts it, whose own fits would then run on one thread."""
    import multiprocessing

    from ._parallel import dask_worker_threads

    return (_from_env("KERASLEARN_NUM_THREADS") or dask_worker_threads()
            or (_from_env("OMP_NUM_THREADS") if multiprocessing.parent_process() is not None
                else None))


def configure_threads():
    """Size TensorFlow's thread pools once per process, before it starts.

    Uses ``KERASLEARN_NUM_THREADS``; inside a Dask worker, its number of
    threads; inside a joblib worker, the ``OMP_NUM_THREADS`` that joblib set
    to the worker's share of the cores. Does nothing when none applies, or
    when TensorFlow has already started; leaves the compute pools alone when
    the process sized them itself (``tf.config.threading``): the share still
    caps keraslearn's input pipelines.
    """
    global _THREADS_DONE, _THREAD_LIMIT
    if _THREADS_DONE:
        return
    with _THREADS_LOCK:
        if _THREADS_DONE:
            return
        _THREADS_DONE = True
        n = _thread_share()
        if n is None:
            return
        _THREAD_LIMIT = n  # (tf.data's pools too, see _feed.limit_threads)
        threading_ = tf.config.threading
        if threading_.get_intra_op_parallelism_threads() or (
                threading_.get_inter_op_parallelism_threads()):
            return  # (the user's own sizing of TensorFlow's pools stands)
        try:
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(min(n, 2))
        except RuntimeError:
            # TensorFlow is already running in this process; its pools are fixed.
            pass


def thread_limit():
    """The thread count ``configure_threads`` applied, or None."""
    return _THREAD_LIMIT


# --------------------------------------------------------------------------
# TensorFlow warns when one Python function was traced in 5 of its recent
# calls. Its detector keys every tf.function by the code object it wraps, so
# Keras' train function -- a new tf.function per model, one code object --
# counts every model's single trace together: a search over ten architectures
# warns although nothing is retraced needlessly and nothing the user can do
# would avoid it. That one message, about Keras' train, test and predict
# functions or keraslearn's own traced functions, is dropped while keraslearn
# trains or predicts in the current thread; the same message about a function
# of the user's (a tf.function a callback calls) still shows, and outside
# those calls TensorFlow's logging is untouched.
_RETRACING_MESSAGE = "triggered tf.function retracing"
# The qualified names the message gives ("calls to <function NAME at 0x...>").
_EXPECTED_TRACES = ("TensorFlowTrainer.", "make_fit.<locals>", "make_evaluate.<locals>",
                    "make_held_out.<locals>", "inference.<locals>", "_held_out_step.<locals>")
_inside = threading.local()


class _ExpectedRetracing(logging.Filter):
    def filter(self, record):
        if not getattr(_inside, "depth", 0):
            return True
        message = record.getMessage()
        return _RETRACING_MESSAGE not in message or not any(
            f"<function {name}" in message for name in _EXPECTED_TRACES)


_RETRACING_FILTER = _ExpectedRetracing()
tf.get_logger().addFilter(_RETRACING_FILTER)


@contextlib.contextmanager
def expected_retracing():
    """Keras' per-model traces are expected inside this block (see above)."""
    _inside.depth = getattr(_inside, "depth", 0) + 1
    try:
        yield
    finally:
        _inside.depth -= 1


@contextlib.contextmanager
def numpy_reads_of_variables():
    """Keras reads variables with ``np.array(variable)`` (its saving code,
    ``ReduceLROnPlateau`` at every epoch), and NumPy 2 deprecates its
    ``__array__`` without a ``copy`` keyword: a DeprecationWarning per
    variable read, Keras' to mend, not the user's to act on, is ignored
    inside this block."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "__array__ implementation doesn't accept a copy",
                                DeprecationWarning)
        yield


def fit_limited():
    """Whether Keras' debugging limits of its fit are set
    (``keras.config.set_max_epochs``, ``set_max_steps_per_epoch``: Keras 3.10+)."""
    return any(getattr(keras.config, name, lambda: None)()
               for name in ("max_epochs", "max_steps_per_epoch"))


__all__ = ["configure_threads", "expected_retracing", "fit_limited", "keras",
           "numpy_reads_of_variables", "tf", "thread_limit"]
