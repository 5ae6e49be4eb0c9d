"""RoutedParams: parameters beyond the constructor's signature.

A wrapper takes, besides its named parameters, the model builder's own
arguments (``KerasClassifier(build, hidden=64)``) and routed parameters
(``optimizer__learning_rate=0.01``). They are kept apart from the signature's
and behave like them: ``get_params`` lists them, ``set_params`` and ``clone``
carry them, ``est.hidden`` reads them.

The named parameters are those the instance holds, as scikeras lists them: a
subclass whose ``__init__`` declares a few parameters of its own and passes
the rest on with ``super().__init__(**kwargs)`` (scikeras' documented way of
subclassing) has the parameters of every ``__init__`` in its hierarchy, and a
name its ``__init__`` declares but never stores is not a parameter.
"""

import functools
import inspect

from sklearn.base import BaseEstimator

from .._persistence._references import SavedParameter
from ._routing import (
    ROUTING_PREFIXES,
    builder_names,
    check_prefix,
    split_routed,
    unknown_name_error,
)


@functools.lru_cache(maxsize=256)
def init_parameters(cls):
    """``(class, parameter)`` for each named parameter of every ``__init__``
    in ``cls``'s hierarchy, nearest class first (mixins without one passed
    over; read once per class: searches ask for them at every clone)."""
    found = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                found.append((klass, p))
    return tuple(found)


def _init_names(cls):
    """The parameter names of every ``__init__`` in ``cls``'s hierarchy, in order."""
    return tuple(dict.fromkeys(p.name for _, p in init_parameters(cls)))


class RoutedParams:
    """Storage and checks of builder arguments and routed parameters (a mixin
    placed before ``BaseEstimator``)."""

    def __getattr__(self, name):
        # ``est.hidden`` / ``est.optimizer__learning_rate`` read the extra parameters.
        kwargs = self.__dict__.get("_kwargs")
        if kwargs is not None and name in kwargs:
            return kwargs[name]
        attribute = next((k.__dict__[name] for k in type(self).__mro__ if name in k.__dict__),
                         None)
        if hasattr(attribute, "__get__"):
            # A property of the class raised AttributeError (a slip inside a
            # subclass's ``target_encoder``): read it again, so that its own
            # error is told, not "no attribute 'target_encoder'".
            return attribute.__get__(self, type(self))
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name, value):
        # ``est.hidden = 16`` sets the parameter ``est.hidden`` reads (scikeras
        # keeps them as attributes), and so does a routed name set by a
        # subclass's ``__init__`` (scikeras' documented subclassing).
        kwargs = self.__dict__.get("_kwargs")
        if kwargs is not None and name not in self.__dict__ and (
                name in kwargs or split_routed(name)[0] in ROUTING_PREFIXES):
            kwargs[name] = value
        else:
            object.__setattr__(self, name, value)

    def _get_metadata(self):
        """The builder's ``meta``, as scikeras reads it: every public attribute
        of the estimator ending in ``_`` (what this fit learnt, set before the
        builder runs, and what a subclass's ``fit`` set before
        ``super().fit``). A subclass may override it to add its own."""
        return {key: value for key, value in self.__dict__.items()
                if len(key) > 1 and key[-1] == "_" and key[-2] != "_" and key[0] != "_"}

    def _signature_params(self):
        """The named parameters the instance holds (see the module docstring)."""
        held = self.__dict__
        return [name for name in _init_names(type(self)) if name in held]

    def get_params(self, deep=True):
        """Parameters of the estimator: named ones, builder arguments and routed ones.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = {}
        for name in self._signature_params():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            params[name] = value
        params.update(self.__dict__.get("_kwargs", {}))
        return params

    def _builder_after(self, params):
        """The model builder in effect once ``params`` are set."""
        for name in ("model", "build_fn"):
            builder = params.get(name, getattr(self, name, None))
            if builder is not None:
                return builder
        return self._default_builder()

    def set_params(self, **params):
        """Set parameters, builder arguments and routed ones
        (``optimizer__learning_rate``, ...) included.

        A new builder given with its own arguments
        (``set_params(model=build, width=5)``) is taken first, so that its
        arguments are known.

        Parameters
        ----------
        **params : dict
            Parameter names and values.

        Returns
        -------
        self : object
            The estimator.
        """
        signature = set(self._signature_params())
        builder = self._builder_after(params)
        names, var_kw = builder_names(builder)
        # A builder loaded from a file as a reference is imported only to fit:
        # the names it takes are checked then.
        var_kw = var_kw or isinstance(builder, SavedParameter)
        own = {}
        for key, value in params.items():
            prefix, _ = split_routed(key)
            if key in signature and "__" in key:  # a routed name __init__ stores
                object.__setattr__(self, key, value)
            elif key in signature:
                own[key] = value
            elif prefix in ROUTING_PREFIXES or key in self._kwargs or key in names or (
                    prefix is None and var_kw):
                self._kwargs[key] = value
            elif prefix is None:
                raise unknown_name_error(
                    self, key, names, params.get("optimizer", self.optimizer),
                    params.get("loss", self.loss),
                )
            else:
                check_prefix(key, signature)
                own[key] = value
        if own:
            BaseEstimator.set_params(self, **own)
        return self

    def _default_builder(self):
        """The builder used when ``model`` and ``build_fn`` are both None."""
        return getattr(self, "_keras_build_fn", None)
