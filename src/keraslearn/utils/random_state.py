"""``tensorflow_random_state``, as ``scikeras.utils.random_state`` offers it."""

import contextlib


@contextlib.contextmanager
def tensorflow_random_state(seed):
    """Seed Python, NumPy, TensorFlow and Keras for the block.

    Python's and NumPy's global generators and TensorFlow's global seed are
    restored when the block ends (restoring the seed restarts the sequences of
    TensorFlow's unseeded random ops, as setting it does). Keras' own global
    seed stays set (Keras has no public way to read it back), and TensorFlow's
    op determinism is left as it is (it cannot be turned off again once on):
    seed the estimators with ``random_state`` for reproducible fits.

    Parameters
    ----------
    seed : int
        The seed.

    Examples
    --------
    >>> import numpy as np
    >>> from keraslearn.utils.random_state import tensorflow_random_state
    >>> with tensorflow_random_state(0):
    ...     a = np.random.rand()
    >>> with tensorflow_random_state(0):
    ...     b = np.random.rand()
    >>> a == b
    True
    """
    from .. import _random

    with _random.seeded_block(seed):
        yield
