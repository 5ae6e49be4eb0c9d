"""TensorFlow start-up: quiet logs, thread pools sized for the process, seeding.

Everything here runs before the first TensorFlow operation of a fit, so that a
worker process started by joblib (``GridSearchCV(n_jobs=2)``) uses only its
share of the cores instead of every worker claiming all of them.
"""

import contextlib
import os
import random
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


# TensorFlow reduces seeds modulo this, and reports this one when none is set.
_TF_SEED_MODULUS = 2**31 - 1
_TF_DEFAULT_SEED = 87654321

def _tensorflow_seed_is(seed):
    current = tf.compat.v1.random.get_seed(0)[0]  # an op seed given: no draw
    wanted = seed % _TF_SEED_MODULUS
    return current == wanted and wanted != _TF_DEFAULT_SEED


def seed_for_fit(seed):
    """Seed a fresh fit (no-op for None).

    Python's and NumPy's generators, from which Keras draws every initializer
    and layer seed, are always reseeded. TensorFlow's global seed is set (with
    ``keras.utils.set_random_seed``) only when it holds another value: setting
    it also clears TensorFlow's kernel caches, which makes every traced
    function start over (about 0.1 s per fit of a small network). Models whose
    random ops all go through Keras' seed generators do not need that; for the
    others the caller finishes with :func:`seed_tensorflow` once the model is
    built (see ``wrappers._training.keras_layers_only``).
    """
    if seed is None:
        return
    if _tensorflow_seed_is(seed):
        random.seed(seed)
        np.random.seed(seed)
    else:
        keras.utils.set_random_seed(seed)


# Held while anything draws from the global generators or reads TensorFlow's
# global seed for a fit, so that fits in several threads do not interleave.
_SEED_LOCK = threading.RLock()
# A builder is user code: one that waits for a fit in another thread would
# hold the lock forever. Past this wait a fit goes on without it (only seeded
# fits running at that very moment in other threads could then differ).
_SEED_LOCK_WAIT_S = 5.0


@contextlib.contextmanager
def _one_thread_at_a_time():
    acquired = _SEED_LOCK.acquire(timeout=_SEED_LOCK_WAIT_S)
    try:
        yield
    finally:
        if acquired:
            _SEED_LOCK.release()


@contextlib.contextmanager
def generators_untouched():
    """One thread at a time; Python's and NumPy's global generators are left
    as they were (they are the user's), whatever the block draws from them."""
    with _one_thread_at_a_time():
        states = random.getstate(), np.random.get_state()
        try:
            yield
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])


@contextlib.contextmanager
def seeded_build(seed):
    """Build a fresh model seeded by ``seed`` (None: unseeded), one thread at a time.

    A seeded build (see :func:`seed_for_fit`) leaves Python's and NumPy's
    global generators as they were; an unseeded one draws from them as Keras
    always does, so that unseeded models differ.
    """
    with _one_thread_at_a_time():
        if seed is None:
            yield
            return
        with generators_untouched():
            seed_for_fit(seed)
            yield


@contextlib.contextmanager
def tensorflow_seed(seed):
    """TensorFlow's global seed held at ``seed`` (one thread at a time) while
    seeded TensorFlow ops are made: tf.data's shuffles combine it with their
    own seed. A no-op for None."""
    if seed is None:
        yield
        return
    with _one_thread_at_a_time():
        if not _tensorflow_seed_is(seed):
            tf.random.set_seed(seed)
        yield


def seed_tensorflow(seed):
    """Reset TensorFlow's global seed (its op-seed sequence and kernel caches)
    and Keras' global seed generator, which unseeded ``keras.random`` calls
    draw from; Python's and NumPy's global generators are left as they were."""
    with generators_untouched():
        keras.utils.set_random_seed(seed)
        # Keras makes that generator on first use, seeded from Python's
        # generator: make it now, while that one is seeded.
        keras.random.normal((), seed=None)


__all__ = [
    "configure_threads", "keras", "seed_for_fit", "seed_from_random_state",
    "generators_untouched", "seed_tensorflow", "seeded_build", "tensorflow_seed", "tf",
]
