"""keraslearn's global settings, in scikit-learn's style.

``set_config`` changes the settings of the process, ``config_context``
changes them for a block of code in the current thread, and ``get_config``
reads them. Worker processes (``GridSearchCV(n_jobs=2)``, Dask workers) start
from the environment: ``KERASLEARN_SHARE_TRACED_FUNCTIONS=0`` turns sharing
off there too.
"""

import contextlib
import os
import threading

_ENV = {"share_traced_functions": "KERASLEARN_SHARE_TRACED_FUNCTIONS"}


def _from_env(name, default):
    value = os.environ.get(_ENV[name])
    if value is None:
        return default
    return value.strip().lower() not in ("0", "false", "no", "off", "")


_global_config = {"share_traced_functions": _from_env("share_traced_functions", True)}
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

    See Also
    --------
    set_config : Change the settings of the process.
    config_context : Change them for a block of code.
    """
    config = dict(_global_config)
    for override in _overrides():
        config.update(override)
    return config


def _checked(share_traced_functions):
    out = {}
    if share_traced_functions is not None:
        if not isinstance(share_traced_functions, bool):
            raise TypeError(
                "share_traced_functions must be True or False, "
                f"got {share_traced_functions!r}."
            )
        out["share_traced_functions"] = share_traced_functions
    return out


def set_config(share_traced_functions=None):
    """Change keraslearn's settings for the whole process.

    Parameters
    ----------
    share_traced_functions : bool, default=None
        Most of a short fit of a small network is spent tracing Keras' train
        function. With True (the default), fits of the same architecture and
        compile settings train a warm copy of the model whose traced functions
        are kept, and copy the trained state into ``model_``: the same
        computation, verified on a probe batch, without tracing again. During
        such a fit a callback's ``self.model`` is that copy. With False every
        fit trains ``model_`` itself, as ``model.fit`` does. None leaves the
        setting as it is.

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
    _global_config.update(_checked(share_traced_functions))


@contextlib.contextmanager
def config_context(*, share_traced_functions=None):
    """Change keraslearn's settings inside a ``with`` block (this thread only).

    Parameters
    ----------
    share_traced_functions : bool, default=None
        See :func:`set_config`.

    Examples
    --------
    >>> import keraslearn
    >>> with keraslearn.config_context(share_traced_functions=False):
    ...     keraslearn.get_config()["share_traced_functions"]
    False
    """
    stack = _overrides()
    stack.append(_checked(share_traced_functions))
    try:
        yield
    finally:
        stack.pop()


__all__ = ["config_context", "get_config", "set_config"]
