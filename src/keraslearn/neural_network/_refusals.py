"""What a ready network refuses of its caller, said in its public class's name:
keyword arguments its fit does not take (Python's own TypeError would name the
shared base class), and nested parameters of parameters holding no estimator
(scikit-learn's ``set_params`` would call their missing ``set_params``)."""

from sklearn.base import is_classifier

from ..utils import suggest
from ..utils._validation import refuse_unrouted


class RefusedInItsOwnName:
    """Mixin of the ready networks (``_fit_params``: what their fit takes)."""

    _fit_params = ()
    # Its network has one input: a feature encoder of the user's making a dict
    # or list of arrays is refused (``_engine._build.network_sample``).
    _one_input = True

    def set_params(self, **params):
        """Set the parameters of this estimator, as scikit-learn's estimators do.

        A nested parameter of a parameter that holds no estimator
        (``optimizer__learning_rate``, ``callbacks__0__patience``) is refused
        with what to set instead: nothing is routed to the optimizer or the
        callbacks of a ready network.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : object
            The estimator.
        """
        rate = next((name for name in ("learning_rate_init", "learning_rate")
                     if name in self._get_param_names()), "learning_rate")
        refuse_unrouted(self, params, {  # what to set instead
            "optimizer": f"its learning rate is {rate}, other settings those of an optimizer "
            "instance given as optimizer (keras.optimizers.Adam(beta_1=0.8))",
            "callbacks": "give the callbacks configured as they should be"})
        return super().set_params(**params)

    def _check_fit_params(self, fit_params, method):
        """Refuse keyword arguments a ready network's fit does not take, naming
        the public class."""
        for key in fit_params:
            if key not in self._fit_params:
                name = type(self).__name__
                hint = (f" {key!r} is one: set it as {name}({key}=...) or with set_params."
                        if key in self._get_param_names()
                        else suggest(key, self._get_param_names()))
                # (partial_fit's classes, and epochs: how many this call trains)
                takes = ["X", "y", "sample_weight", *self._fit_params]
                if method == "partial_fit":
                    takes += ["classes"] * is_classifier(self) + ["epochs"]
                raise TypeError(
                    f"{name}.{method}() got an unexpected keyword argument {key!r}; it takes "
                    f"{', '.join(takes[:-1])} and {takes[-1]}. Other training "
                    f"settings are constructor parameters of {name}." + hint
                )
