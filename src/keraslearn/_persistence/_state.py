"""The estimator's state while ``keraslearn.save`` writes and ``keraslearn.load`` reads.

The engine calls three functions of this module (``KerasEstimator.__getstate__``,
``__setstate__`` and the start of a fit); outside a save or a load the first two
return the state unchanged, so that pickle, joblib and ``copy`` work as before (but
for an optimizer compiled without loss scaling, whose values go beside it, ``_unscaled``):

- :func:`portable_state`: the state skops stores, networks and code replaced by the
  references of ``_references`` (the networks are written as ``.keras`` files);
- :func:`restored_state`: those references made real again when the archive is
  loaded (networks loaded with Keras' ``safe_mode=True``; names trusted or not);
- :func:`resolve_parameters`: at fit, parameters a loaded estimator holds as
  references are replaced by what they name, or the fit stops with an error
  that says how to give them.

Which save or load is running is held in a context variable (set by
:func:`saving` and :func:`loading`), so that concurrent threads do not mix.
"""

import contextlib
import contextvars
import inspect
import json

from .._tf import numpy_reads_of_variables
from ..utils._text import cut
from ._references import (
    CodeReference,
    KerasObjectConfig,
    NetworkReference,
    SavedParameter,
    UnstoredObject,
)
from ._unscaled import is_scaled, optimizer_values, unscaled_again

_SAVING = contextvars.ContextVar("keraslearn_saving", default=None)
_OPTIMIZER_VALUES = "_unscaled_optimizer_values"  # (pickled beside model_: _unscaled)
_LOADING = contextvars.ContextVar("keraslearn_loading", default=None)


class SaveSession:
    """What a save has written so far: networks (``networks/<i>.keras``) and the
    names of the code it references.

    Parameters
    ----------
    folder : pathlib.Path
        The staging folder the networks are written into.
    """

    def __init__(self, folder):
        self.folder = folder
        self.networks = []  # {"member", "owner", "attribute"} per network
        self.code_references = set()
        self.unstored = []
        self._members = {}  # id(model) -> member
        self._keep = []  # the models, so that their ids stay theirs while saving

    def add_network(self, model, owner, attribute):
        known = self._members.get(id(model))
        if known is not None:
            return NetworkReference(known)
        member = f"networks/{len(self.networks)}.keras"
        path = self.folder / member
        path.parent.mkdir(exist_ok=True)
        try:
            with numpy_reads_of_variables():
                model.save(path)
        except (Warning, OSError):  # one the user's filters raise; a full disk: as they are
            raise
        except Exception as exc:
            raise ValueError(
                f"keraslearn.save: Keras cannot save the network of {owner} ({attribute}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._members[id(model)] = member
        self._keep.append(model)
        self.networks.append({"member": member, "owner": owner, "attribute": attribute,
                              "scaled": is_scaled(model)})  # (loaded so again: _unscaled)
        return NetworkReference(member)


class LoadSession:
    """The networks an archive holds (already loaded) and the names the user trusts.

    Parameters
    ----------
    networks : dict
        Member name -> loaded ``keras.Model``.

    trusted : set of str
        Names given in ``trusted`` to ``keraslearn.load``.
    """

    def __init__(self, networks, trusted):
        self.networks = networks
        self.trusted = trusted


@contextlib.contextmanager
def saving(folder):
    """Make estimators' state portable while the block runs; yields the session."""
    session = SaveSession(folder)
    token = _SAVING.set(session)
    try:
        yield session
    finally:
        _SAVING.reset(token)


@contextlib.contextmanager
def loading(networks, trusted):
    """Restore estimators' references while the block runs."""
    token = _LOADING.set(LoadSession(networks, trusted))
    try:
        yield
    finally:
        _LOADING.reset(token)


# ------------------------------------------------------------------- saving
def saving_now():
    """Whether a ``keraslearn.save`` is running in this context."""
    return _SAVING.get() is not None


def loading_now():
    """Whether a ``keraslearn.load`` is running in this context."""
    return _LOADING.get() is not None


def portable_state(owner, state):
    """``state`` as skops stores it during ``keraslearn.save``; itself otherwise,
    as pickle takes it, where Keras can make its network (``model_``) again."""
    session = _SAVING.get()
    if session is None:
        from .._engine._layers import refuse_unpicklable

        network = state.get("model_")
        refuse_unpicklable(owner, network)
        values = optimizer_values(network)  # (an unscaled optimizer loaded so again)
        return state if values is None else {**state, _OPTIMIZER_VALUES: values}
    owner_name = type(owner).__name__
    return {key: _portable(value, session, owner_name, key) for key, value in state.items()}


def _portable(value, session, owner, key):
    import keras

    if isinstance(value, keras.Model):
        return session.add_network(value, owner, key)
    if type(value) in (list, tuple):
        return type(value)(_portable(v, session, owner, key) for v in value)
    if type(value) is dict:
        return {k: _portable(v, session, owner, key) for k, v in value.items()}
    if isinstance(value, keras.callbacks.Callback):
        return _unstored(session, value, "Keras callbacks have no config to store; a "
                         "callback class is stored, and a wrapper's routed callbacks__ "
                         "parameters with it")
    if isinstance(value, keras.layers.Layer) and value.weights:
        return _unstored(session, value, "a Keras layer holding weights (built, adapted or "
                         "pretrained) comes back from its config without them; give it "
                         "again with set_params to fit")
    if isinstance(value, _keras_configurable()):
        from .._engine._compiled_loss import exact_config

        try:
            config = exact_config(value)
        except Warning:  # raised by the user's filters: theirs, as it is
            raise
        except Exception as exc:  # a custom object without get_config
            return _unstored(session, value, f"Keras cannot serialize it: {exc}")
        if config is None:
            return _unstored(session, value, "its config leaves out settings it holds "
                             "(Keras' Huber drops its delta): give the loss by name with "
                             "routed parameters (loss='huber', loss__delta=...) to store it")
        return KerasObjectConfig(json.dumps(config))
    if _is_code(value):
        reference = CodeReference.of(value)
        if reference is None:
            return _unstored(session, value, "it has no name to import it by: a lambda, a "
                             "nested function, a method or a functools.partial; a function "
                             "or class defined at the top level of a module is stored by "
                             "name")
        session.code_references.add(reference.name)
        return reference
    if isinstance(value, CodeReference):  # saving a loaded estimator again
        session.code_references.add(value.name)
        return CodeReference(value.module, value.qualname)
    return value


def portable_value(value):
    """``value`` as a keraslearn estimator's state holds it in the save running
    (Keras objects as their configs, code as references)."""
    session = _SAVING.get()
    return value if session is None else _portable(value, session, "", "")


def _keras_configurable():
    import keras

    from .._engine._keras_objects import configured_kinds

    return (*configured_kinds(), keras.layers.Layer)


def _is_code(value):
    """Functions, classes and callable objects, except NumPy's and Python's own
    types and functions, which skops stores itself."""
    if isinstance(value, SavedParameter) or not callable(value):
        return False
    module = getattr(value, "__module__", None) or type(value).__module__
    if isinstance(module, str) and (module == "builtins" or module.split(".")[0] == "numpy"):
        return False
    return inspect.isroutine(value) or inspect.isclass(value) or not hasattr(value, "get_params")


def _unstored(session, value, reason):
    if inspect.isroutine(value):
        description = f"the function {getattr(value, '__qualname__', value)}"
    else:
        text = repr(value)
        description = f"an instance of {type(value).__name__}" if " at 0x" in text else text
        description = cut(description, 80)
    if description not in session.unstored:
        session.unstored.append(description)
    return UnstoredObject(description, reason)


# ------------------------------------------------------------------ loading
def restored_state(owner, state):
    """``state`` with the networks of the archive being loaded put back, and
    code references marked trusted when the user trusted their name; a
    constructor parameter the state lacks (an estimator pickled or saved before
    that parameter existed) takes its default, which does what was done then."""
    routed = state.get("_kwargs") or {}  # (a wrapper subclass's own parameters live there)
    state = {**{k: v for k, v in parameter_defaults(type(owner)).items() if k not in routed},
             **state}
    session = _LOADING.get()
    if session is None:
        if _holds(state, NetworkReference):
            raise ValueError(
                f"This {type(owner).__name__} refers to networks stored beside it: read "
                "it with keraslearn.load, not with skops or pickle directly."
            )
        unscaled_again(state.get("model_"), state.pop(_OPTIMIZER_VALUES, None))
        return state
    return {key: _restored(value, session) for key, value in state.items()}


def parameter_defaults(cls):
    """The defaults of the parameters keraslearn's own class declares (a subclass of
    the user's may declare names it stores elsewhere, or not at all)."""
    own = next((k for k in cls.__mro__ if k.__module__.startswith("keraslearn.")
                and "__init__" in vars(k)), None)
    if own is None:
        return {}
    return {name: p.default for name, p in inspect.signature(own.__init__).parameters.items()
            if p.default is not p.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _restored(value, session):
    if isinstance(value, NetworkReference):
        try:
            return session.networks[value.member]
        except KeyError:
            raise ValueError(
                f"The file refers to a network {value.member!r} it does not hold."
            ) from None
    if type(value) in (list, tuple):
        return type(value)(_restored(v, session) for v in value)
    if type(value) is dict:
        return {k: _restored(v, session) for k, v in value.items()}
    if isinstance(value, CodeReference):
        value.trusted = value.trusted_in(session.trusted)
    elif isinstance(value, KerasObjectConfig):
        from ._networks import refuse_unsafe

        try:  # (resolve refuses first where Keras' safe mode is off)
            return value.resolve("", "")
        except ValueError:
            # Refused where safe mode is off (not kept); else kept: a fit that
            # needs it says why it cannot be rebuilt.
            refuse_unsafe("keraslearn.load refused a Keras object of the file")
            return value
    return value


def holds_saved(value):
    """Whether a parameter value is, or holds, a reference a loaded estimator
    keeps in place of code (:class:`SavedParameter`)."""
    return _holds(value, SavedParameter)


def _holds(value, kind):
    if isinstance(value, kind):
        return True
    if type(value) in (list, tuple):
        return any(_holds(v, kind) for v in value)
    if type(value) is dict:
        return any(_holds(v, kind) for v in value.values())
    return False


# -------------------------------------------------------------------- fitting
def resolve_parameters(estimator):
    """Replace the parameters a loaded estimator holds as references by what
    they name, before a fit; a ValueError says how to give one that cannot be
    made real. Does nothing (and costs little) for any other estimator."""
    state = estimator.__dict__
    if not (_holds(list(state.values()), SavedParameter)
            or _holds(list(state.get("_kwargs", {}).values()), SavedParameter)):
        return
    params = estimator.get_params(deep=False)
    owner = type(estimator).__name__
    resolved, problems = {}, []
    # The builder first: its error is the one a user of a loaded estimator expects.
    for name in sorted(params, key=lambda n: (n not in ("model", "build_fn"), n)):
        if _holds(params[name], SavedParameter):
            try:
                resolved[name] = _resolved(params[name], owner, name)
            except ValueError as exc:
                problems.append(str(exc))
    if problems:
        raise ValueError("\n".join(problems))
    estimator.set_params(**resolved)


def _resolved(value, owner, param):
    if isinstance(value, SavedParameter):
        return value.resolve(owner, param)
    if type(value) in (list, tuple):
        return type(value)(_resolved(v, owner, param) for v in value)
    if type(value) is dict:
        return {k: _resolved(v, owner, param) for k, v in value.items()}
    return value
