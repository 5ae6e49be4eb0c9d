"""TensorFlow start-up: quiet logs, thread pools sized for the process, seeding.

Everything here runs before the first TensorFlow operation of a fit, so that a
worker process started by joblib (``GridSearchCV(n_jobs=2)``) uses only its
share of the cores instead of every worker claiming all of them.
"""

import os
import threading

import numpy as np

# Hide TensorFlow's C++ info and warning lines unless the user asked otherwise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

_THREADS_LOCK = threading.Lock()
_THREADS_DONE = False
_THREAD_LIMIT = None

# Variables joblib's process backends set in each worker to the worker's share
# of the cores (``cpu_count() // n_jobs``); a user may set them too.
_THREAD_ENV_VARS = ("KERASLEARN_NUM_THREADS", "OMP_NUM_THREADS")


def _threads_from_env():
    for var in _THREAD_ENV_VARS:
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def configure_threads():
    """Size TensorFlow's thread pools once per process, before it starts.

    Uses ``KERASLEARN_NUM_THREADS`` or, inside a joblib worker, the
    ``OMP_NUM_THREADS`` that joblib set to the worker's share of the cores.
    Does nothing when neither is set or TensorFlow has already started.
    """
    global _THREADS_DONE, _THREAD_LIMIT
    if _THREADS_DONE:
        return
    with _THREADS_LOCK:
        if _THREADS_DONE:
            return
        _THREADS_DONE = True
        n = _threads_from_env()
        if n is None:
            return
        _THREAD_LIMIT = n
        try:
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(min(n, 2))
        except RuntimeError:
            # TensorFlow is already running in this process; its pools are fixed.
            pass


def thread_limit():
    """The thread count ``configure_threads`` applied, or None."""
    return _THREAD_LIMIT


def seed_from_random_state(random_state):
    """Return an int seed for ``random_state`` (None stays None)."""
    if random_state is None:
        return None
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise TypeError(
        "random_state must be None, an int or a numpy RandomState, "
        f"got {type(random_state).__name__}"
    )


def set_seed(seed):
    """Seed Python, NumPy and TensorFlow through Keras (no-op for None)."""
    if seed is not None:
        keras.utils.set_random_seed(seed)


__all__ = ["configure_threads", "seed_from_random_state", "set_seed", "keras", "tf"]
