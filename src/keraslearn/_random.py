"""Randomness of a fit, from one seed, in one place.

A fit draws randomness in four places: the model's initial weights and layer
seeds (drawn by Keras from Python's and NumPy's global generators while the
model is built), the held-out validation rows, the order of the training rows
(tf.data shuffles combine TensorFlow's global seed with their own), and, for
layers that do not use Keras' seed generators (``Lambda``, custom layers),
TensorFlow's stateful random ops and Keras' global seed generator.

:func:`fit_randomness` is the one entry point: a fit asks it for a
:class:`FitRandomness` and goes through that object for each of the four.
With ``random_state=None`` every step draws as Keras always does. With a seed,
every step is seeded from it, so that the same seed on the same machine gives
the same model, and Python's and NumPy's global generators (the user's) are
left as they were.

TensorFlow's global seed is set only when needed: setting it also clears
TensorFlow's kernel caches, which makes every traced function start over
(about 0.1 s per fit of a small network).

Seeding is process-global state, so seeded steps run one thread at a time.
A model builder is user code, and one that waits on a fit in another thread
would hold the lock forever: a fit waits as long as the lock changes hands (a
queue of builds in a thread pool), but past ``SEED_LOCK_WAIT_S`` with one
holder goes on without the lock, and says so with a warning.
"""

import contextlib
import random
import threading
import warnings

import numpy as np

from ._tf import keras, tf

# TensorFlow reduces seeds modulo this, and reports this one when none is set.
_TF_SEED_MODULUS = 2**31 - 1
_TF_DEFAULT_SEED = 87654321

_SEED_LOCK = threading.RLock()
SEED_LOCK_WAIT_S = 5.0
_handovers = [0]  # times the lock was taken: a waiter sees the queue move
_without_lock = threading.local()  # a thread gone on without it (its nested steps too)


def seed_from_random_state(random_state):
    """An int seed for ``random_state`` (None stays None), below 2**31 - 1:
    TensorFlow reduces its seeds modulo that number, so that ``s`` and
    ``s + 2**31 - 1`` ordered the rows alike; larger ints are mixed down."""
    if random_state is None:
        return None
    if isinstance(random_state, (int, np.integer)):  # True is 1, as for scikit-learn
        if not 0 <= random_state <= 2**32 - 1:
            raise ValueError(
                f"random_state must be None, a numpy RandomState or an int from 0 to "
                f"2**32 - 1 (a NumPy seed), got {random_state}.")
        seed = int(random_state)
        if seed >= _TF_SEED_MODULUS:
            seed = int(np.random.SeedSequence(seed).generate_state(1)[0]) % _TF_SEED_MODULUS
        return seed
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise TypeError(
        "random_state must be None, an int or a numpy RandomState, "
        f"got {type(random_state).__name__}"
    )


def _acquired():
    """Whether the lock was taken: waited for while it changes hands, given up
    after ``SEED_LOCK_WAIT_S`` with one holder, or at once by a thread that
    went on without it in an enclosing step."""
    if getattr(_without_lock, "depth", 0):
        return False
    seen = _handovers[0]
    while not _SEED_LOCK.acquire(timeout=SEED_LOCK_WAIT_S):
        if _handovers[0] == seen:
            return False
        seen = _handovers[0]
    _handovers[0] += 1
    return True


@contextlib.contextmanager
def _one_thread_at_a_time():
    acquired = _acquired()
    if not acquired and not getattr(_without_lock, "depth", 0):
        warnings.warn(
            f"keraslearn waited {SEED_LOCK_WAIT_S:g} s for the seeding lock, which another "
            "thread has held all that time (for example a model builder that waits on a fit "
            "in another thread), and goes on without it: seeded fits running at this moment "
            "in other threads may not repeat exactly.",
            RuntimeWarning,
            stacklevel=4,
        )
    if not acquired:
        _without_lock.depth = getattr(_without_lock, "depth", 0) + 1
    try:
        yield
    finally:
        if acquired:
            _SEED_LOCK.release()
        else:
            _without_lock.depth -= 1


def _users_generators():
    """The states of Python's and NumPy's global generators (the user's)."""
    return random.getstate(), np.random.get_state()


def _restore_generators(states):
    random.setstate(states[0])
    np.random.set_state(states[1])


@contextlib.contextmanager
def generators_untouched():
    """One thread at a time; Python's and NumPy's global generators are left
    as they were (they are the user's), whatever the block draws from them."""
    with _one_thread_at_a_time():
        states = _users_generators()
        try:
            yield
        finally:
            _restore_generators(states)


@contextlib.contextmanager
def seeded_block(seed):
    """Python's, NumPy's, TensorFlow's and Keras' generators seeded for the
    block; Python's, NumPy's and TensorFlow's global seed restored at its end
    (Keras has no public way to read its own seed back). The lock is held while
    seeding and while restoring only: fits in other threads go on meanwhile
    (their seeded steps take the lock as they always do)."""
    with _one_thread_at_a_time():
        states, tf_seed = _users_generators(), _tensorflow_global_seed()
        try:
            keras.utils.set_random_seed(seed)
        except BaseException:  # a seed NumPy refuses, after Python's generator took it
            _restore_generators(states)
            raise
    try:
        yield
    finally:
        with _one_thread_at_a_time():
            _restore_generators(states)
            tf.random.set_seed(tf_seed)


def _tensorflow_global_seed():
    """TensorFlow's global seed: an int, or None when none is set."""
    current = tf.compat.v1.random.get_seed(0)[0]  # an op seed given: no draw
    # The default is also what is reported when no seed is set; only then
    # does an op without a seed get none (this draws only if one is set).
    if current == _TF_DEFAULT_SEED and tf.compat.v1.random.get_seed(None)[0] is None:
        return None
    return current


def _tensorflow_seed_is(seed):
    current = tf.compat.v1.random.get_seed(0)[0]  # an op seed given: no draw
    wanted = seed % _TF_SEED_MODULUS
    return current == wanted and wanted != _TF_DEFAULT_SEED


class FitRandomness:
    """The randomness of one fit (see the module docstring).

    Parameters
    ----------
    seed : int or None
        None: unseeded, every step draws as Keras does.
    """

    def __init__(self, seed):
        self.seed = seed

    @contextlib.contextmanager
    def building(self):
        """Build a model: seeded from ``seed`` (global generators restored
        afterwards), or unseeded so that unseeded models differ."""
        with _one_thread_at_a_time():
            if self.seed is None:
                yield
                return
            with generators_untouched():
                if _tensorflow_seed_is(self.seed):
                    random.seed(self.seed)
                    np.random.seed(self.seed)
                else:
                    keras.utils.set_random_seed(self.seed)
                yield

    def settle(self, own_random_ops):
        """After a fresh build: a seeded model whose layers may draw from
        TensorFlow's stateful ops or Keras' global generator (``own_random_ops``)
        gets both reset, so that they repeat too."""
        if self.seed is None or not own_random_ops:
            return
        with generators_untouched():
            keras.utils.set_random_seed(self.seed)
            # Keras makes that generator on first use, seeded from Python's
            # generator: make it now, while that one is seeded.
            keras.random.normal((), seed=None)

    @contextlib.contextmanager
    def data_order(self, shuffle):
        """TensorFlow's global seed held at ``seed`` while the training
        dataset's shuffle is made (a no-op unseeded or without shuffling)."""
        if self.seed is None or not shuffle:
            yield
            return
        with _one_thread_at_a_time():
            if not _tensorflow_seed_is(self.seed):
                tf.random.set_seed(self.seed)
            yield

    @property
    def split_seed(self):
        """Seed of the held-out validation rows (None: a fresh random split)."""
        return self.seed


def reapply_tensorflow_seed():
    """Set TensorFlow's global seed to what it holds (a seed, or none), which
    makes TensorFlow empty its eager kernel caches (see
    ``keraslearn._engine._kernel_cache``).

    As every ``tf.random.set_seed`` call does, this restarts the sequences of
    TensorFlow's random ops that have no seed of their own and of its stateful
    random kernels; the seed itself is left as it was.
    """
    with _one_thread_at_a_time():
        tf.random.set_seed(_tensorflow_global_seed())


def fit_randomness(random_state):
    """The :class:`FitRandomness` of a fit with ``random_state``."""
    return FitRandomness(seed_from_random_state(random_state))


__all__ = ["FitRandomness", "fit_randomness", "generators_untouched", "reapply_tensorflow_seed",
           "seed_from_random_state", "seeded_block"]
