"""keraslearn's global settings, in scikit-learn's style.

``set_config`` changes the settings of the process, ``config_context``
changes them for a block of code in the current thread, and ``get_config``
reads them. Worker processes (``GridSearchCV(n_jobs=2)``, Dask workers) start
from the environment: ``KERASLEARN_SHARE_TRACED_FUNCTIONS=0`` turns sharing
off there too, ``KERASLEARN_FAST_SMALL_PREDICTIONS=0`` the NumPy path of small
predictions, ``KERASLEARN_RELEASE_TENSORFLOW_CACHES=0`` the release of
TensorFlow's kernel cache.
"""

import contextlib
import os
import sys
import threading

import numpy as np

_ENV = {"share_traced_functions": "KERASLEARN_SHARE_TRACED_FUNCTIONS",
        "fast_small_predictions": "KERASLEARN_FAST_SMALL_PREDICTIONS",
        "release_tensorflow_caches": "KERASLEARN_RELEASE_TENSORFLOW_CACHES"}


_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _from_env(name, default):
    """A switch from the environment: 1/true/yes/on or 0/false/no/off; unset or
    empty, the default; anything else the default, with a warning naming it."""
    value = os.environ.get(_ENV[name], "").strip().lower()
    if value in _ON or value in _OFF:
        return value in _ON
    if value:
        import warnings

        warnings.warn(f"{_ENV[name]}={os.environ[_ENV[name]]!r} is not one of "
                      f"{'/'.join(_ON)} or {'/'.join(_OFF)}: {name} keeps its default, "
                      f"{default}.", RuntimeWarning, stacklevel=2)
    return default


_global_config = {
    "share_traced_functions": _from_env("share_traced_functions", True),
    "fast_small_predictions": _from_env("fast_small_predictions", True),
    "release_tensorflow_caches": _from_env("release_tensorflow_caches", True),
}
_local = threading.local()


def _overrides():
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def get_config():
    """The current settings, as a dict.

    Returns
    -------
    config : dict
        ``share_traced_functions`` : bool
            Whether fits of one architecture share Keras' traced training
            functions (see :func:`set_config`).
        ``fast_small_predictions`` : bool
            Whether the ready estimators predict a few rows with NumPy
            (see :func:`set_config`).
        ``release_tensorflow_caches`` : bool
            Whether TensorFlow's kernel cache is emptied every so many
            networks built (see :func:`set_config`).

    See Also
    --------
    set_config : Change the settings of the process.
    config_context : Change them for a block of code.
    """
    config = dict(_global_config)
    for override in _overrides():
        config.update(override)
    return config


def _checked(**settings):
    out = {}
    for name, value in settings.items():
        if value is None:
            continue
        if not isinstance(value, (bool, np.bool_)):  # (NumPy's too, as scikit-learn takes)
            raise TypeError(f"{name} must be True or False, got {value!r}.")
        out[name] = bool(value)
    return out


def set_config(share_traced_functions=None, fast_small_predictions=None,
               release_tensorflow_caches=None):
    """Change keraslearn's settings for the whole process.

    Inside a :func:`config_context` block the change lasts until the block
    ends, in this thread, as with scikit-learn's ``set_config`` there.

    Parameters
    ----------
    share_traced_functions : bool, default=None
        Most of a short fit of a small network is spent tracing Keras' train
        function. With True (the default), fits of the same architecture and
        compile settings train a warm copy of the model whose traced functions
        are kept, and copy the trained state into ``model_``: the same
        computation, verified on a probe batch, without tracing again. During
        such a fit the ``self.model`` of Keras' own callbacks is that copy;
        fits with callbacks of the user's own train ``model_`` itself. A plain
        chain of ``Dense`` layers fitted with or without validation data, no
        callbacks but Keras' ``EarlyStopping``, ``ReduceLROnPlateau``,
        ``LearningRateScheduler``, ``CSVLogger`` or ``ModelCheckpoint``
        (saving at epoch ends) and keraslearn's ``MLflowCallback`` (run
        between epochs on ``model_``), and
        metrics only by name of Keras' means over samples (``"accuracy"``,
        ``"mae"``, ...; a ready MLP's fits too), trains through one traced
        function per depth, whatever its widths (Keras' updates, on the same
        batches).
        With False every fit trains ``model_`` itself, as ``model.fit``
        does, and the warm copies and traced functions kept so far are
        dropped, which frees their memory (fitted estimators keep their own
        networks). None leaves the setting as it is.

    fast_small_predictions : bool, default=None
        A call into TensorFlow costs a few hundred microseconds. With True
        (the default), estimators predict up to 1024 rows on the CPU with a
        NumPy forward pass when their network is a ``keras.Sequential`` (or
        a functional chain) made only of layers keraslearn computes exactly
        (``Dense``, ``Activation``, ``Dropout``, ``BatchNormalization``,
        ``Flatten``): the model's own outputs, up to float rounding. scipy
        sparse rows take it whatever their number when the first layer
        computing anything is ``Dense`` (scipy's sparse product, where
        TensorFlow densifies every batch). The ready estimators
        (``MLPClassifier``, ``MLPRegressor``, ...) use a
        snapshot of their network's weights taken after each keraslearn fit,
        ``partial_fit`` or load; the wrappers' networks, and a ready
        estimator's once handed out (by reading ``model_``, or to a callback
        of one's own), are read again at every call, so that weights or
        layers changed outside keraslearn are always seen. With False
        TensorFlow predicts every call. None leaves the setting as it is.

    release_tensorflow_caches : bool, default=None
        TensorFlow keeps a kernel for every variable of a new name or shape
        and every traced function it ran, for the life of the process: a
        search over hundreds of architectures would hold hundreds of
        megabytes. With True (the default), every 64 networks built (at the
        end of a fit; or loaded by ``keraslearn.load`` or ``save``),
        keraslearn sets TensorFlow's global seed to the value it holds
        (``tf.random.set_seed``), which empties that cache, as
        ``keras.backend.clear_session()`` does, without resetting Keras'
        names or settings. Models, their weights and their seed generators
        are untouched; like every ``tf.random.set_seed`` call, it restarts
        the sequences of TensorFlow's random ops that have no seed of their
        own and of its stateful random kernels. With False nothing is
        released, for code that relies on those sequences running on. None
        leaves the setting as it is.

    See Also
    --------
    config_context : The same settings for a block of code.

    Examples
    --------
    >>> import keraslearn
    >>> keraslearn.set_config(share_traced_functions=False)
    >>> keraslearn.get_config()["share_traced_functions"]
    False
    >>> keraslearn.set_config(share_traced_functions=True)
    """
    settings = _checked(share_traced_functions=share_traced_functions,
                        fast_small_predictions=fast_small_predictions,
                        release_tensorflow_caches=release_tensorflow_caches)
    stack = _overrides()
    # In a block, its innermost entry: a process setting changed there would
    # be hidden by the block's own and outlive it.
    (stack[-1] if stack else _global_config).update(settings)
    if share_traced_functions is False:
        _drop_shared_traces()


def _drop_shared_traces():
    """Forget the warm copies and traced functions kept for sharing (nothing
    was kept where keraslearn's engine was never imported)."""
    for module, cache in (("keraslearn._engine._trace_cache", "trace_cache"),
                          ("keraslearn._engine._dense_chain", "dense_chains")):
        if module in sys.modules:
            getattr(sys.modules[module], cache).clear()


@contextlib.contextmanager
def config_context(*, share_traced_functions=None, fast_small_predictions=None,
                   release_tensorflow_caches=None):
    """Change keraslearn's settings inside a ``with`` block (this thread only).

    Unlike scikit-learn's ``config_context``, it does not travel with the
    tasks of ``n_jobs`` into joblib's workers: their threads see
    :func:`set_config`'s settings, their processes the environment variables
    ``KERASLEARN_SHARE_TRACED_FUNCTIONS``, ``KERASLEARN_FAST_SMALL_PREDICTIONS``
    and ``KERASLEARN_RELEASE_TENSORFLOW_CACHES`` (``0`` turns one off).

    Parameters
    ----------
    share_traced_functions : bool, default=None
        See :func:`set_config`.

    fast_small_predictions : bool, default=None
        See :func:`set_config`.

    release_tensorflow_caches : bool, default=None
        See :func:`set_config`.

    Examples
    --------
    >>> import keraslearn
    >>> with keraslearn.config_context(share_traced_functions=False):
    ...     keraslearn.get_config()["share_traced_functions"]
    False
    """
    stack = _overrides()
    entry = _checked(share_traced_functions=share_traced_functions,
                     fast_small_predictions=fast_small_predictions,
                     release_tensorflow_caches=release_tensorflow_caches)
    stack.append(entry)
    try:
        yield
    finally:
        # Its own entry, wherever it is: blocks of one thread may end out of
        # order (two generators, each inside a config_context).
        del stack[max(i for i, e in enumerate(stack) if e is entry)]


__all__ = ["config_context", "get_config", "set_config"]
