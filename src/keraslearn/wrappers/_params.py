"""RoutedParams: parameters beyond the constructor's signature.

A wrapper takes, besides its named parameters, the model builder's own
arguments (``KerasClassifier(build, hidden=64)``) and routed parameters
(``optimizer__learning_rate=0.01``). They are kept apart from the signature's
and behave like them: ``get_params`` lists them, ``set_params`` and ``clone``
carry them, ``est.hidden`` reads them.
"""

from sklearn.base import BaseEstimator

from ._routing import (
    ROUTING_PREFIXES,
    builder_names,
    check_prefix,
    split_routed,
    unknown_name_error,
)


class RoutedParams:
    """Storage and checks of builder arguments and routed parameters (a mixin
    placed before ``BaseEstimator``)."""

    def __getattr__(self, name):
        # ``est.hidden`` / ``est.optimizer__learning_rate`` read the extra parameters.
        kwargs = self.__dict__.get("_kwargs")
        if kwargs is not None and name in kwargs:
            return kwargs[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _signature_params(self):
        return set(self._get_param_names())

    def get_params(self, deep=True):
        params = BaseEstimator.get_params(self, deep=deep)
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
        signature = self._signature_params()
        names, var_kw = builder_names(self._builder_after(params))
        own = {}
        for key, value in params.items():
            prefix, _ = split_routed(key)
            if key in signature:
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
