"""Every parameter of a wrapper checked before TensorFlow runs: routing
prefixes, builder arguments, the optimizer, loss, metrics and callbacks with
their routed parameters, Keras' fit/predict/compile arguments, and values."""

import numbers
import warnings

import numpy as np

from .._engine import _keras_callbacks as keras_callbacks
from .._engine import _keras_objects as objects
from .._engine._data import ValidationArrays
from .._engine._targets import TARGET_ENCODINGS
from .._stacklevel import user_stacklevel
from .._tf import keras
from ..utils import check_kwargs, suggest
from ..utils._input_errors import require_targets
from ..utils._validation import check_positive_int
from ._builder import (
    COMPILED_METRICS,
    _same,
    _wrapper_default,
    builder_kwargs,
    resolve_builder,
)
from ._routing import (
    NO_CLASSES,
    REFUSED_FIT_KWARGS,
    check_prefix,
    home_of,
    routed,
    unknown_name_error,
    without_routed,
)


def without_routed_callbacks(args):
    """Routed fit or predict arguments without ``callbacks`` and their own routing."""
    return {k: v for k, v in args.items() if k != "callbacks" and not k.startswith("callbacks__")}


def check_wrapper_parameters(est, fit_kwargs):
    """Raise ValueError/TypeError for any parameter that is wrong."""
    params = est.get_params(deep=False)
    known = set(est._signature_params())
    for key in params:
        check_prefix(key, known)
    builder = resolve_builder(est, params)
    model_kwargs = routed(params, "model")
    extras = {k: v for k, v in est._kwargs.items() if "__" not in k}
    if isinstance(builder, keras.Model):
        for key in extras:  # (validation_data: Keras' fit's, routed as fit__validation_data)
            if home_of(key, params["optimizer"], params["loss"]) is not None:
                raise unknown_name_error(est, key, (), params["optimizer"], params["loss"])
        if model_kwargs or extras:
            unused = [f"model__{k}" for k in model_kwargs] + list(extras)
            raise ValueError(
                f"Parameters {unused} have nowhere to go: `model` is a keras.Model "
                "instance, not a function that builds one."
            )
    else:
        builder_kwargs(est, builder, params, None, None, dry=True)
    objects.check_optimizer(params["optimizer"], routed(params, "optimizer"))
    objects.check_loss(params["loss"], routed(params, "loss"))
    objects.check_metrics(params["metrics"], routed(params, "metrics"))
    keras_callbacks.check_callbacks(params["callbacks"], routed(params, "callbacks"))
    for name, func in (("fit", keras.Model.fit), ("predict", keras.Model.predict),
                       ("compile", keras.Model.compile)):
        args = routed(params, name)
        # fit__callbacks / predict__callbacks: callbacks of that method only
        keras_callbacks.check_callbacks(args.get("callbacks"), routed(args, "callbacks"),
                                        where=f"{name}__callbacks")
        if name == "compile":  # metrics given there are made as metrics= is (found in review)
            for key in COMPILED_METRICS:
                objects.check_metrics(args.get(key), routed(args, key), f"compile__{key}")
            args = without_routed(args, COMPILED_METRICS)
        check_kwargs(func, without_routed_callbacks(args), name)
    keras_callbacks.check_callbacks(fit_kwargs.get("callbacks"), {})  # (given to fit)
    given = sorted(fit_kwargs.keys() & {"X_val", "y_val", "sample_weight_val"})
    if given:  # (fit takes them by name: these came to partial_fit)
        raise ValueError(f"partial_fit does not take {given[0]}: give validation rows as "
                         "validation_data=(X_val, y_val).")
    check_kwargs(keras.Model.fit, fit_kwargs, None)  # (given to fit itself)
    for where, kwargs in (("fit__", routed(params, "fit")), ("", fit_kwargs)):
        for key in sorted(kwargs.keys() & REFUSED_FIT_KWARGS.keys()):
            why = REFUSED_FIT_KWARGS[key]
            if key == "class_weight" and "class_weight" not in params:
                why = NO_CLASSES
            raise ValueError(f"Invalid fit parameter {where}{key}: {why}.")
    _check_values(params, fit_kwargs)
    _warn_of_overridden(est, params, routed(params, "fit"), fit_kwargs)
    if fit_kwargs.get("callbacks") is not None:  # given to fit: they replace the estimator's
        keras_callbacks.replaced_callbacks(est, params["callbacks"],
                                           routed(params, "fit").get("callbacks"))


def with_validation_arrays(est, fit_kwargs, y, X_val, y_val, sample_weight_val):
    """fit's arguments with ``X_val``, ``y_val`` and ``sample_weight_val`` (the
    names scikit-learn's estimators take) as Keras' ``validation_data``."""
    if X_val is None:
        if y_val is not None or sample_weight_val is not None:
            raise ValueError("y_val and sample_weight_val are given without X_val: give the "
                             "validation samples as X_val.")
        return fit_kwargs
    if fit_kwargs.get("validation_data") is not None:
        raise ValueError("Validation rows are given twice, as X_val and as validation_data: "
                         "give one of them.")
    if (y_val is None) != (y is None):
        require_targets(est, y)  # (found in review: y_val without y, told as a model's without)
        raise ValueError("X_val is given without y_val: give the validation targets too."
                         if y is not None else "y_val is given, but y is not: a model "
                         "trained without targets is validated on X_val alone.")
    weights = () if sample_weight_val is None else (sample_weight_val,)
    return {**fit_kwargs, "validation_data": ValidationArrays((X_val, y_val, *weights))}


def check_batch_size(value, name):
    """A prediction's batch size: None, a positive int, or -1 (every row at once)."""
    check_positive_int(value, name, minus_one=True)


#: The estimator's parameters a routed ``fit__`` value of the same name overrides.
_ROUTED_OVER = ("epochs", "batch_size", "validation_batch_size", "shuffle", "validation_split",
                "verbose")


def _warn_of_overridden(est, params, fit_args, fit_kwargs):
    """Warn where a routed ``fit__`` value overrides the estimator's own parameter
    set to another value than its default (scikeras' precedence): a search over
    ``epochs`` with ``fit__epochs`` set trained ``fit__epochs`` at every candidate."""
    for name in _ROUTED_OVER:
        if name in fit_kwargs or name not in fit_args:
            continue
        if fit_args[name] is None and name.endswith("batch_size"):  # (the estimator's, then)
            continue
        if _same(params[name], _wrapper_default(est, name)) or _same(params[name],
                                                                     fit_args[name]):
            continue
        warnings.warn(
            f"fit__{name}={fit_args[name]!r} overrides {name}={params[name]!r} (a routed fit__ "
            f"parameter takes precedence, as in scikeras): a search over {name} trains with "
            f"fit__{name} at every candidate. Set one of them.",
            UserWarning, stacklevel=user_stacklevel())


def _check_values(params, fit_kwargs):
    split = params["validation_split"]
    if not (isinstance(split, numbers.Real) and not isinstance(split, (bool, np.bool_))
            and 0.0 <= split < 1.0):  # (NumPy's float32 too, as Keras' fit takes it)
        raise ValueError(f"validation_split must be a float in [0, 1), got {split!r}.")
    fit_args = routed(params, "fit")

    def given(name):  # to fit(), else routed to it, else the estimator's
        return fit_kwargs.get(name, fit_args.get(name, params.get(name)))

    for name in ("epochs", "batch_size", "validation_batch_size"):
        check_positive_int(given(name), name, minus_one=name != "epochs", none=name != "epochs")
    for name in ("steps_per_epoch", "validation_steps"):  # (None: Keras' default)
        check_positive_int(given(name), name)
    _check_epoch_numbers(given("initial_epoch"), given("validation_freq"))
    for name in ("warm_start", "run_eagerly"):  # (run_eagerly=None: Keras 2's default)
        if not (isinstance(params[name], (bool, np.bool_))
                or name == "run_eagerly" and params[name] is None):
            raise ValueError(f"{name} must be a bool, got {params[name]!r}.")
    check_batch_size(routed(params, "predict").get("batch_size"), "predict__batch_size")
    verbose, shuffle = given("verbose"), given("shuffle")
    if not (isinstance(verbose, (int, np.integer, np.bool_)) and verbose >= 0
            or isinstance(verbose, str) and verbose == "auto"):
        raise ValueError("verbose must be an int: 0 (silent), 1 (a progress bar), 2 or more (a "
                         f"line an epoch), or 'auto' (1, as in Keras), got {verbose!r}.")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(f"shuffle must be a bool, got {shuffle!r}.")
    encoding = params.get("target_encoding", "auto")
    if encoding not in TARGET_ENCODINGS:
        raise ValueError(
            f"target_encoding must be one of {TARGET_ENCODINGS}, got {encoding!r}."
            + suggest(str(encoding), TARGET_ENCODINGS)
        )


def _check_epoch_numbers(initial_epoch, validation_freq):
    """Keras' ``initial_epoch`` (an int from 0) and ``validation_freq`` (every
    how many epochs, or a list of the epochs, counted from 1), as its fit reads
    them (it would divide by a zero frequency once training ran)."""
    def counts(value, low):  # (NumPy's ints, a search's: given to Keras as Python's)
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and (
            value >= low)

    if initial_epoch is not None and not counts(initial_epoch, 0):
        raise ValueError(f"initial_epoch must be an int of 0 or more, got {initial_epoch!r}.")
    if validation_freq is not None and not (counts(validation_freq, 1) or isinstance(
            validation_freq, list) and all(counts(e, 1) for e in validation_freq)):
        raise ValueError("validation_freq must be a positive int (validate every that many "
                         "epochs) or a list of the epochs to validate after (counted from 1), "
                         f"got {validation_freq!r}.")


def keras_verbosity(verbose):
    """Keras' ``verbose="auto"``: a progress bar (1), as Keras' fit takes it."""
    return 1 if isinstance(verbose, str) and verbose == "auto" else verbose
