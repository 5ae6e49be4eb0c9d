"""The training data of one fit, and the inputs of a prediction.

X and y are validated (``_inputs``); the target encoder is fitted on y (or,
for a fit that continues, checks y against the first fit); the feature
encoder turns X into what the model takes -- by default X itself, or, with a
``feature_encoder`` of the user's own (scikeras' data-transformer interface),
for example a list of arrays for a model with several inputs. What both
encoders learn (``get_metadata``) is merged into the ``meta`` that model
builders receive, and set as attributes of the fitted estimator.
"""

import copy
import dataclasses
from typing import Any

import numpy as np
from scipy.sparse import issparse
from sklearn import get_config
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.multiclass import type_of_target

from .._tf import keras
from ..utils import check_sample_weight
from . import _inputs as inputs
from . import _nested as nested
from . import _targets as targets
from ._inputs import normalised_weights, validate_targets, validate_training_data, validate_X


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """The validated training data of one fit: ``X`` what the model takes (after the
    feature encoder), ``n_rows`` the rows of X as given; ``y`` the targets as the
    target encoder checked them (labels), not yet encoded."""

    X: Any
    y: Any
    sample_weight: Any
    weight_mean: float
    weight_scale: float
    encoder: Any
    features: Any = None
    classes: Any = None
    metadata: dict = dataclasses.field(default_factory=dict)
    n_rows: int = 0


def is_identity(encoder):
    """Whether a feature encoder leaves X as it is (the default, skipped)."""
    return encoder is None or (type(encoder) is FunctionTransformer and encoder.func is None)


def _y_metadata(y):
    """What scikeras records of y itself, whatever the target encoder."""
    if y is None:
        return {}
    y = np.asarray(y) if not isinstance(y, np.ndarray) else y
    try:
        kind = type_of_target(y, input_name="y")
    except ValueError:
        kind = "unknown"
    return {"target_type_": kind, "y_dtype_": y.dtype, "y_ndim_": y.ndim}


def training_data(est, X, y, sample_weight, *, reset, classes, as_given=False):
    """Validate, encode and weigh one fit's data (see the module docstring).
    The weights are scaled to a mean of 1, or, ``as_given`` (a ``partial_fit``
    call), left as given, as Keras weighs them: they keep their ratios across
    calls whatever their order."""
    if y is None and sample_weight is not None and not est._requires_y:
        raise ValueError(
            "sample_weight weighs each sample's loss against its target, but this fit has "
            "no y (the model computes its own loss): Keras would train unweighted. Weigh "
            "the samples in the model's own loss, or give y.")
    X = est._input_source(X, reset)
    X, y = validate_training_data(est, X, y, reset=reset, y_numeric=est._y_numeric)
    X, y = est._prepare_training_data(X, y, reset)
    metadata = {}
    if reset:
        encoder, features = targets.own_copy((est.target_encoder, est.feature_encoder), est)
        encoder, y_checked = targets.fit_encoder(encoder, y, classes)
        features = features if is_identity(features) else features.fit(X)
        if not targets.is_native(encoder):
            metadata.update(_y_metadata(y))
        for kind, fitted in (("target", encoder), ("feature", features)):
            learnt = targets.metadata(fitted)
            _refuse_clashes(est, learnt, kind, fitted)
            metadata.update(learnt)
    else:
        # A copy: configuring it for a rebuilt network must not touch the fitted one.
        encoder = copy.copy(est.target_encoder_)
        every_class = getattr(encoder, "check_every_class", None)
        warm = not as_given and every_class and getattr(est, "_warm_start_needs_every_class",
                                                        False)
        # (a warm start's new class is told as such by every_class, not as unknown)
        try:
            y_checked = targets.check_targets(encoder, y, **({"known": False} if warm else {}))
        except ValueError as exc:
            if as_given and "not in classes" in str(exc):  # (a later partial_fit call)
                raise ValueError(f"{exc} The classes are those of the first fit (fit's y, or "
                                 "the first partial_fit's classes=, else its y): to stream "
                                 "labels a first batch lacks, give every label to the first "
                                 "partial_fit, classes=np.unique(y_all).") from None
            raise
        if warm:
            every_class(y_checked)  # once X and y are checked, as scikit-learn's order
        features = est.__dict__.get("feature_encoder_")
    # Class weights are checked against every class the fit knows (a batch or fold may lack some).
    if sample_weight is not None:  # checked as given, before class weights multiply it
        sample_weight = check_sample_weight(sample_weight, X)
    weights = est._training_weights(y_checked, sample_weight,
                                    classes=getattr(encoder, "classes_", None))
    if weights is not None and not np.any(weights) and (
            sample_weight is None or np.any(sample_weight)):  # zeroed by class_weight
        given = "" if sample_weight is None else " times the sample_weight given"
        raise ValueError(f"class_weight {est.class_weight!r}{given} weighs every sample 0: "
                         "no sample would be learned from.")
    sw, weight_mean, weight_scale = normalised_weights(weights, X, 1.0 if as_given else None)
    model_X = X if is_identity(features) else features.transform(X)
    return TrainingData(model_X, y_checked, sw, weight_mean, weight_scale, encoder, features,
                        classes, metadata, nested.n_rows(X))


# What fit's checks of X set, which X at predict is checked against.
_X_ATTRIBUTES = ("n_features_in_", "feature_names_in_", "X_shape_", "X_dtype_")


def _refuse_clashes(est, learnt, kind, encoder):
    """Refuse an encoder's metadata redescribing X (values other than the estimator's)."""
    def agrees(key):
        mine = est.__dict__.get(key)
        try:
            return np.shape(learnt[key]) == np.shape(mine) and bool(np.all(learnt[key] == mine))
        except (TypeError, ValueError):
            return False

    clashes = [key for key in _X_ATTRIBUTES if key in learnt and not agrees(key)]
    if clashes:
        raise ValueError(
            f"The {kind} encoder {type(encoder).__name__}'s get_metadata() gives {clashes}, "
            "which describe X as the estimator takes it, and which predict checks X against: "
            "it could not predict. Give the encoder's own values under keys of your own "
            "(such as 'n_features_encoded_'); the builder's meta holds them too.")


class ValidationArrays(tuple):
    """``validation_data`` made of fit's ``X_val``, ``y_val`` and
    ``sample_weight_val``: its errors name those."""


class CheckedValidation(tuple):
    """``validation_data=(X, y[, sample_weight])`` checked before the network is
    built: ``(X as the model takes it, y checked as the training y, weights)``;
    ``name`` says how it was given, for the checks made once it is built."""

    name = "validation_data"


_PIPELINE_HINT = (" (in a Pipeline, validation_data reaches the estimator as given, past the "
                  "steps before it: give fit X_val and y_val instead, with the pipeline's "
                  "transform_input=['X_val'], as the README shows)")


def ready_for_training(est, data, plan):
    """``data`` and ``plan`` once the rows that train are known: the weights
    scaled to a mean of 1 over those rows (see :func:`_weighed_for_training`),
    and ``validation_data`` checked, as the training data, before TensorFlow
    builds anything."""
    keras_split = "validation_data" in getattr(est, "_fit_params", ("validation_data",))
    data, plan = _weighed_for_training(data, plan, keras_split)  # (a ready network's: none)
    _warn_of_unseen_classes(data, plan, keras_split)
    given = plan.validation_data
    if plan.train and isinstance(given, (tuple, list)):
        if len(given) == 1 and data.y is None:  # (X_val,) of a fit without y, as Keras takes
            given = (given[0], None)
        if len(given) not in (2, 3):
            raise ValueError("validation_data must be (X_val, y_val) or (X_val, y_val, "
                             f"sample_weight_val) ((X_val,) without y), got a "
                             f"{type(given).__name__} of {len(given)}.")
        # (fit's X_val, y_val[, sample_weight_val], or Keras' validation_data)
        name = ("X_val, y_val" + ", sample_weight_val" * (len(given) == 3) if isinstance(
            given, ValidationArrays) else "validation_data")
        try:
            checked = _checked_validation(est, given, data, as_given=plan.mode == "partial")
        except (TypeError, ValueError) as exc:
            if type(exc) not in (TypeError, ValueError):
                raise  # an encoder's own error type (of the user's, perhaps): as it is
            # Given encoded, as Keras (and scikeras) take it: said where that may be why.
            text = str(exc)
            if isinstance(given, ValidationArrays):
                hint = (" (in a Pipeline, X_val reaches the estimator as given unless the "
                        "pipeline's transform_input names it; an ensemble fitting its members "
                        "on some of the columns, as bagging's max_features, cannot route it)")
                about = "by output?" not in text and (text.startswith("X ") or any(  # X_val's
                    word in text for word in ("feature", "column")))  # features, not y's
                if "not in classes" in text and _positions(data.encoder):
                    labels = np.asarray(given[1]).dtype.kind in "OUSTb"  # (no position can be)
                    binary = len(data.encoder.classes_) == 2  # (a one-vs-rest member's too)
                    hint = ((_ENSEMBLE_HINT if labels else _MEMBER_HINT)
                            + (_BINARY_MEMBER if binary else "") + ")")
                    about = True
            else:
                hint = (" (validation_data is given as fit's X and y are: the estimator's "
                        "encoders make it what the model takes)")
                about = not is_identity(data.features) or any(
                    words in text for words in ("not in classes", "column"))
                if text.startswith("X") and ("holds text" in text or "holds image" in text):
                    hint, about = _PIPELINE_HINT, True  # (X's: no vectorizer before it reads it)
            raise type(exc)(f"{name}: {exc}" + (hint if about else "")) from None
        checked.name = name
        plan = plan.replace(validation_data=checked)
    return data, plan


# (the hints' parenthesis closed where they are given)
_ROUTED_POSITIONS = (", not on the labels; route y_val to them as those positions, "
                     "np.searchsorted(np.unique(y), y_val)")
_ENSEMBLE_HINT = (" (trained on the classes 0, 1, ...: a voting, stacking or bagging "
                  "ensemble fits its members on positions in its classes_" + _ROUTED_POSITIONS)


_BINARY_MEMBER = ("; a one-vs-rest or one-vs-one classifier fits its members on 0/1 "
                  "targets of its own, which a routed y_val cannot give")
_MEMBER_HINT = (" (if this estimator is a member of a voting, stacking or bagging ensemble: "
                "those fit their members on positions in their classes_" + _ROUTED_POSITIONS)


def _positions(encoder):
    """Whether the classes are 0, 1, ..., k - 1: what an ensemble gives its members."""
    classes = getattr(encoder, "classes_", None)
    return (isinstance(classes, np.ndarray) and classes.ndim == 1 and classes.dtype.kind in "iu"
            and np.array_equal(classes, np.arange(len(classes))))


def _checked_validation(est, given, data, as_given):
    """``validation_data`` checked as the training data, its weights scaled to
    a mean of 1, or, ``as_given`` (a ``partial_fit`` call), left as given, as
    the training weights are: ``val_loss`` is on the scale of ``loss``."""
    X_val = model_inputs(est, given[0], data)
    y_val = given[1]
    inputs.refuse_targets_by_output(given[0], y_val, "y_val")  # (as fit refuses y)
    if y_val is not None and targets.is_native(data.encoder):
        y_val = validate_targets(y_val, est._y_numeric)  # finite, at most 2-D, dense
    y_val = targets.check_targets(data.encoder, y_val)
    n_val, listed = nested.n_rows(X_val), isinstance(y_val, (list, tuple))  # (a list: its
    n_y = None if y_val is None else len(y_val) if listed else nested.n_rows(y_val)  # length)
    if n_y not in (None, n_val):
        raise ValueError(f"X has {n_val} samples but y has {n_y}.")
    sw, _, _ = normalised_weights(given[2] if len(given) == 3 else None, np.empty((n_val, 0)),
                                  1.0 if as_given else None)
    return CheckedValidation((X_val, y_val, sw))


def _warn_of_unseen_classes(data, plan, keras_split):
    """Warn where the rows that train hold no sample of a class y has: Keras'
    ``validation_split`` holds out the last rows, which rows ordered by class
    (as imbalanced-learn's RandomUnderSampler returns them) fill with one class."""
    y = data.y
    if (plan.train_rows is None or plan.mode == "partial" or np.ndim(y) != 1
            or getattr(data.encoder, "classes_", None) is None):
        return
    y = np.asarray(y)  # (sets: np.unique sorts, slowly for strings)
    classes, trained = set(y.tolist()), y[plan.train_rows]
    unseen = classes - set(trained.tolist())
    if unseen:
        try:
            unseen = sorted(unseen)  # (as classes_ are: 107 before 1015)
        except TypeError:
            unseen = sorted(unseen, key=str)
        import warnings

        from .._stacklevel import user_stacklevel

        n_train = len(trained)
        warnings.warn(
            f"The rows that train hold no sample of {len(unseen)} class(es) "
            f"{unseen[:5]!r}{' (the first 5)' if len(unseen) > 5 else ''}, which y has: all "
            "of them are among the held-out rows " + (
                "(validation_split holds out the last rows, as Keras does; rows ordered by "
                "class, as samplers return them?). Shuffle the rows first "
                "(sklearn.utils.shuffle), or give validation_data." if keras_split else
                f"(the {n_train} rows that train are fewer than the {len(classes)} classes). "
                "Give more rows, or a smaller validation_fraction." if n_train < len(classes)
                else "(drawn unstratified: a class has too few rows, or the held-out rows are "
                "fewer than the classes). "
                "Give more rows of the rare classes, or a larger validation_fraction."),
            UserWarning, stacklevel=user_stacklevel())


def _weighed_for_training(data, plan, keras_split):
    """``data`` and ``plan`` with the weights scaled to a mean of 1 over the rows
    that train, the held-out ones by the same factor: what the held-out rows
    weigh does not change how the others are learned (as in Keras, whose
    ``validation_split`` rows are out of the training loss). A ``partial_fit``
    call's weights stay as given (see :func:`training_data`): Keras' way too."""
    if plan.validation_rows is not None and not float(
            data.sample_weight[plan.validation_rows].sum()) > 0:
        raise ValueError(
            "The held-out rows weigh nothing (their sample_weight, times class_weight, sums "
            "to zero): the validation loss and scores would measure nothing (a loss of 0 at "
            "every epoch), and a rule stopping on them would stop at once. "
            + ("Give rows that weigh something as validation_data, or drop the rows of zero "
               "weight first." if keras_split else "Drop the rows of zero weight "
               "first, or hold out more rows (validation_fraction)."))
    if plan.train_rows is None or plan.mode == "partial":
        return data, plan
    train = data.sample_weight[plan.train_rows]
    total = float(train.sum())
    if not total > 0:
        raise ValueError(
            "sample_weight of the training rows sums to zero (only held-out rows weigh "
            "anything): no sample would be learned from.")
    factor = len(train) / total
    given_mean = total / len(train) / data.weight_scale  # over the training rows, as given
    data = dataclasses.replace(data, sample_weight=data.sample_weight * factor,
                               weight_scale=data.weight_scale * factor, weight_mean=given_mean)
    return data, plan.replace(weight_mean=given_mean)


def model_inputs(est, X, data=None):
    """X validated as in fit and turned into what the model takes; during a
    fit (its ``validation_data``), by that fit's feature encoder in ``data``."""
    X = validate_X(est, est._input_source(X, False), fitted=data is None)
    features = est.__dict__.get("feature_encoder_") if data is None else data.features
    return X if is_identity(features) else features.transform(X)


def float_overflow(X, model, non_finite=True, features=None):
    """What to say when X (an array in memory, or a sparse matrix's stored
    values) holds finite values beyond the range of the float type ``model``
    takes (they become infinite in the network), or None. It reads X once more
    only where X's float type is wider than the network's; there, with
    ``non_finite``, NaN and infinity (scikit-learn's check skipped) are told
    too, else NaN is passed on as it would be in X of the network's type (a
    user's network may take it; infinity is told: a sigmoid would hide it).
    X is named as ``features`` (the fit's feature encoder) makes it."""
    dtype, cast_first = reading_float(model)
    if dtype is None:
        return None
    return beyond_float(X, dtype, *(["the type the network's first layer computes in"]
                                    if cast_first else []), non_finite=non_finite,
                        features=features)


def unchecked_non_finite(X):
    """What to say when scikit-learn's check of X is off (``assume_finite``)
    and X (an array in memory, or a sparse matrix's stored values) holds NaN
    or infinity, or None."""
    X = X.data if issparse(X) else X
    if not get_config()["assume_finite"] or type(X) is not np.ndarray or (
            X.dtype.kind != "f" or np.isfinite(targets.largest_magnitude(X))):
        return None
    return f"X holds NaN or infinity{targets.NOT_CHECKED}"


def reading_float(model):
    """``(dtype, cast_first)``: the NumPy type ``model`` reads its input in,
    and whether its first layer casts a wider input to it (float16 under a
    mixed policy); ``(None, False)`` where it cannot be told."""
    try:
        dtype = np.dtype(keras.backend.standardize_dtype(model.inputs[0].dtype))
    except (AttributeError, IndexError, TypeError, ValueError):
        return None, False
    # Under a mixed policy (mixed_float16) the input is float32 (or integer) and the
    # first layer casts it to float16: 1e5 became infinite there, told as NaN outputs
    # (or not). (An Embedding does not cast, a Discretization reads float32.)
    first = next((layer for layer in model.layers
                  if not isinstance(layer, keras.layers.InputLayer)), None)
    if (getattr(first, "input_dtype", None) == "float16" and getattr(first, "autocast", False)
            and not (dtype.kind == "f" and dtype.itemsize <= 2)):
        return np.dtype(np.float16), True
    return dtype, False


def beyond_float(X, dtype, what="the network's input type", non_finite=True, features=None):
    """:func:`float_overflow` for a network taking the float type ``dtype``."""
    X, dtype = (X.data if issparse(X) else X), np.dtype(dtype)
    name = "X" if is_identity(features) else "X as the feature encoder makes it"
    if type(X) is not np.ndarray or dtype.kind != "f":
        return None
    # a float X wider than the network's type (float16 X fits any float network), or
    # integers of 16 bits or more into float16 (uint16 passes its range)
    if not (X.dtype.kind == "f" and X.dtype.itemsize > max(2, dtype.itemsize)
            or X.dtype.kind in "iu" and X.dtype.itemsize >= 2 and dtype.itemsize == 2):
        return None
    largest = targets.largest_magnitude(X)
    if not np.isfinite(largest) and not non_finite:  # NaN passed on: the others' range (no copy)
        largest = max(float(np.fmax.reduce(X, axis=None)), -float(np.fmin.reduce(X, axis=None)))
    if np.isinf(largest) or (np.isnan(largest) and non_finite):
        return f"{name} holds NaN or infinity" + (  # (X's, where that check is off)
            f"{targets.NON_FINITE}." if not get_config()["assume_finite"] else
            targets.NOT_CHECKED if name == "X" else targets.PASSED_ON)
    if not largest > float(np.finfo(dtype).max):
        return None
    return (f"{name} holds values beyond the range of {dtype.name}, {what} (largest |x| = "
            f"{np.format_float_scientific(largest, 2, trim='-')} > "
            f"{float(np.finfo(dtype).max):.3g}): they become "
            "infinite in the network. Scale them (e.g. with StandardScaler), or use a float64 "
            "network (dtype='float64' for the ready estimators; Keras layers made with "
            "dtype='float64').")
