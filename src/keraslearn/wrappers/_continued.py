"""What a continued fit of a wrapper does not take: the parameters its network
was built and compiled with.

A warm start or ``partial_fit`` trains the fitted network further, as in
scikeras: the builder does not run again and the model is not compiled again,
so a builder argument, ``optimizer__learning_rate`` or ``loss`` changed since
(``set_params`` between fits, the usual "unfreeze, lower the learning rate,
go on" of fine-tuning) does not reach it. The fit that builds a network
records what it was built with, and a continued fit warns of what changed.
"""

import warnings

import numpy as np

from .._engine._plan import CONTINUE, NEW
from .._persistence._state import parameter_defaults
from .._stacklevel import user_stacklevel
from ._builder import resolve_builder
from ._routing import builder_names

# Parameters a continued fit takes: how it trains, not what it trains.
_TRAINING = frozenset({
    "epochs", "batch_size", "validation_batch_size", "shuffle", "verbose", "random_state",
    "validation_split", "callbacks", "warm_start", "class_weight", "device", "distribute",
    "target_encoding",
})
# Parameters a network is compiled with, and those it is built and compiled with.
_COMPILED = ("optimizer", "loss", "metrics", "run_eagerly")
_COMPILED_PREFIXES = ("optimizer__", "loss__", "metrics__", "compile__")
_BUILT = ("model", "build_fn", *_COMPILED)
_BUILT_PREFIXES = ("model__", *_COMPILED_PREFIXES)
_RECORD = "_built_with"
# In the record since Keras objects are read by their config (and arrays by
# their values): a record without it holds them by their class alone.
_FORMAT, _VERSION = "__format__", 2


def built_with(est, plan):
    """The attributes recording what a fit that built ``est``'s network built
    it with; for a continued fit, none (and a warning naming what changed), or
    the record with the compile settings of now where it compiled the network
    (one ``initialize`` took uncompiled, as the user gave it)."""
    compiled_now = est.__dict__.pop("_compiled_now", False)
    if plan.network == NEW:
        return {_RECORD: {**_tokens(est), _FORMAT: _VERSION}}
    recorded = est.__dict__.get(_RECORD)
    if plan.network != CONTINUE or plan.mode not in ("warm", "partial") or recorded is None:
        return {}
    recorded = dict(recorded)
    older = recorded.pop(_FORMAT, None) != _VERSION
    current = _tokens(est)
    if compiled_now:
        recorded = {key: value for key, value in recorded.items() if not _compiled(key)}
        recorded.update((key, value) for key, value in current.items() if _compiled(key))
        update = {_RECORD: {**recorded, _FORMAT: _VERSION}} if not older else {}
    else:
        update = {}
    changed = sorted(key for key in recorded.keys() | current.keys()
                     if not _same(recorded.get(key), current.get(key), older))
    if changed:
        how = ("partial_fit" if plan.mode == "partial" else "A fit with warm_start=True")
        fix = ("call fit" if plan.mode == "partial" else "fit with warm_start=False")
        warnings.warn(
            f"{how} trained the fitted network further: {', '.join(changed)} changed since "
            f"it was built and compiled, and did not reach it (as in scikeras). To build a "
            f"network with the new values, {fix}.", UserWarning, stacklevel=user_stacklevel())
    return update


def _compiled(key):
    """Whether a parameter reaches the network when it is compiled."""
    return key in _COMPILED or key.startswith(_COMPILED_PREFIXES)


def _tokens(est):
    """The parameters a network is built and compiled from, as comparable
    values (an object by its class, and a Keras loss, optimizer, metric,
    schedule, ... by its config too: another instance of one class is seen
    only as the settings its config holds)."""
    params = est.get_params(deep=False)
    try:
        builder = resolve_builder(est, params)
    except (TypeError, ValueError):
        builder = None
    names, takes_all = builder_names(builder)
    if getattr(builder, "__self__", None) is est:
        # A subclass's own parameters, which its _keras_build_fn reads from self
        # (scikeras' pattern); given another builder, they reach the network only
        # by name (one read by predict, a threshold, is no build parameter).
        names = names | (set(params) - set(parameter_defaults(type(est))))
    return {key: _token(value) for key, value in params.items()
            if key in _BUILT or key.startswith(_BUILT_PREFIXES)
            or ((key in names or takes_all) and key not in _TRAINING and "__" not in key)}


def _same(recorded, current, older=False):
    """Whether a recorded token matches the current one. In an ``older`` record
    (see ``_FORMAT``) an instance recorded by its class alone matches that
    class's instances of any settings, an array any array."""
    if recorded == current or older and current == "nan" and recorded != recorded:
        return True  # (an older record holds NaN itself)
    if not (isinstance(recorded, tuple) and isinstance(current, tuple)):
        return False
    if older and (recorded == ("numpy", "ndarray") and current[:1] == ("ndarray",) or (
            len(current) == 3 and recorded == current[:2] and isinstance(current[2], tuple)
            and all(isinstance(part, str) for part in recorded))):
        return True
    return len(recorded) == len(current) and all(
        _same(a, b, older) for a, b in zip(recorded, current))


def _token(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray) and value.size <= 10_000:  # (larger: by its type)
        return ("ndarray", str(value.dtype), value.shape, _token(value.tolist()))
    if value is None or isinstance(value, (bool, int, float, str)):
        return "nan" if value != value else value  # (NaN equals no NaN, itself included)
    if isinstance(value, (list, tuple)):
        return tuple(_token(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted(((str(key), _token(item)) for key, item in value.items()),
                            key=lambda pair: pair[0]))
    named = getattr(value, "__qualname__", None)  # a function or class
    what = value if named is not None else type(value)
    token = (getattr(what, "__module__", ""), getattr(what, "__qualname__", type(what).__name__))
    return token + _settings(value) if named is None else token


def _settings(value):
    """A Keras object's settings (``settings_of``) as a token, else ()."""
    from .._engine._keras_objects import settings_of

    config = settings_of(value)
    return () if config is None else (_token(config),)
