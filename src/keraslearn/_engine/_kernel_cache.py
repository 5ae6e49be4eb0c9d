"""TensorFlow's eager kernel cache, emptied every so many networks built.

TensorFlow keeps, for the life of the process, a kernel for every eager
operation it has run with new attributes: for every variable of a new name
or shape (Keras names each new layer and optimizer uniquely, so every call
of a builder adds some) and for every traced function called. A search over
hundreds of architectures, or hundreds of fits of one builder, would hold
hundreds of megabytes of them (about 0.75 MiB per fit of a small network:
``benchmarks/arch_memory_results.md``).

So at the end of a fit, once :data:`RELEASE_EVERY` networks have been built
since the last time (a network ``keraslearn.load`` or ``save`` loads counts, as
does one an estimator's unpickling or deep copy makes again, each followed by
the same check: a service reloading models would grow so too),
keraslearn sets TensorFlow's global seed to the value it holds
(``tf.random.set_seed`` with its current seed, or None), which
empties that cache, as ``keras.backend.clear_session()`` does, without
clear_session's other effects (Keras' layer-name counters and global
settings stay as they are). Kernels are made again when next used: about
0.2 s for a small fit, a few milliseconds a fit over :data:`RELEASE_EVERY`
fits.

Nothing a model holds is touched: weights, optimizer state and Keras' seed
generators are variables, and traced functions compute what they computed.
What every ``tf.random.set_seed`` call restarts is restarted: the sequences
of TensorFlow's random ops that have no seed of their own (under a global
seed) and of its stateful random kernels. Code that relies on those running
on across fits turns the release off:
``keraslearn.set_config(release_tensorflow_caches=False)``.

TensorFlow's gradient registry, which keeps every train step traced by Keras'
own ``fit`` (fits with metrics, callbacks or held-out rows), has no public
way to be emptied; it still grows with each architecture such fits trace.
"""

import threading

from .. import _config, _random
from .._tf import tf

# Networks built between two releases of TensorFlow's kernel cache.
RELEASE_EVERY = 64

_lock = threading.Lock()
_built = 0


def network_built():
    """Count a network built by a fit."""
    global _built
    with _lock:
        _built += 1


def release_if_due():
    """Empty TensorFlow's kernel cache if :data:`RELEASE_EVERY` networks were
    built since the last time and the setting allows it."""
    global _built
    if not _config.get_config()["release_tensorflow_caches"] or not tf.executing_eagerly():
        return
    with _lock:
        due = _built >= RELEASE_EVERY
        if due:
            _built = 0
    if due:
        _random.reapply_tensorflow_seed()
