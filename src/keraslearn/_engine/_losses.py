"""What a loss expects as targets, decided from the loss itself.

A classifier with one output unit per class can be trained on class indices
(``SparseCategoricalCrossentropy``) or on rows shaped like its output (one-hot
rows, for every other cross-entropy, hinge, KL divergence, MSE ...). Keras'
own losses are classified by their class or function, never by their name:
a loss of the user's own (a function, or a subclass of ``keras.losses.Loss``
itself) cannot be classified, and the estimator then asks the user to say
which encoding it takes.
"""

import functools
import inspect

from .._tf import keras
from ._layers import defined_by_keras
from ._nested import sole

INDEX = "index"  # class indices, shape (n,)
SHAPED = "shaped"  # shaped like the output: one-hot rows for one-hot classes
# "crossentropy" or "ce": Keras' compile picks the binary, sparse or categorical
# cross-entropy from the shapes of the targets and the output, so either fits.
BY_SHAPE = "by_shape"


def picked_by_shape(loss):
    """Whether ``loss`` (alone or as the one output's) is a name for which
    Keras picks the cross-entropy from the shapes ("crossentropy", "ce")."""
    loss = sole_loss(loss)
    return isinstance(loss, str) and loss.lower() in ("crossentropy", "ce")


def _optional(*names):
    found = (getattr(keras.losses, name, None) for name in names)
    return tuple(obj for obj in found if obj is not None)


# Keras losses that take integer class indices.
_INDEX_CLASSES = _optional("SparseCategoricalCrossentropy", "CategoricalGeneralizedCrossEntropy")
_INDEX_FUNCTIONS = _optional(
    "sparse_categorical_crossentropy", "categorical_generalized_cross_entropy"
)
# Keras losses that are not classification losses over class scores (metric
# learning, sequences): no encoding of class labels fits them.
_OTHER_CLASSES = _optional("CTC", "Circle")
_OTHER_FUNCTIONS = _optional("ctc", "circle")


def _class_kind(cls):
    """The kind of a loss class: the nearest of Keras' own classes in its MRO
    decides (a subclass of MeanSquaredError takes what MeanSquaredError takes)."""
    for base in cls.__mro__:
        if not (defined_by_keras(base) and issubclass(base, keras.losses.Loss)):
            continue
        if base is keras.losses.Loss:
            return None
        if base in _INDEX_CLASSES:
            return INDEX
        if base in _OTHER_CLASSES:
            return None
        if base.__name__ == "LossFunctionWrapper":
            return "wrapper"  # Keras' wrapper around a function: the function decides
        return SHAPED
    return None


# Keras losses comparing scores spread over the classes (normalised across the
# class axis): over one unit they are 0 whatever the model outputs.
_SPREAD_CLASSES = _optional("CategoricalCrossentropy", "CategoricalFocalCrossentropy")
_SPREAD_FUNCTIONS = _optional("categorical_crossentropy", "categorical_focal_crossentropy")


def spread_over_classes(loss, n_units=2):
    if picked_by_shape(loss):  # Keras' binary cross-entropy over one unit
        return n_units > 1
    loss = _resolved(loss)
    if inspect.isclass(loss):
        return issubclass(loss, _SPREAD_CLASSES)
    if isinstance(loss, keras.losses.Loss):
        return isinstance(loss, _SPREAD_CLASSES) or getattr(loss, "fn", None) in _SPREAD_FUNCTIONS
    return loss in _SPREAD_FUNCTIONS


def is_kl_divergence(loss):
    """Whether ``loss`` is Keras' Kullback-Leibler divergence (a name,
    function, class or instance): it compares rows of probabilities."""
    return _is_loss(loss, keras.losses.kl_divergence, keras.losses.KLDivergence)


def zero_targets_ignored(loss):
    """Where ``loss`` is Keras' Kullback-Leibler divergence, a refusal's opening
    for units of their own (one for two classes, one per label, one regressor
    output): it sums y * log(y / p) over the units unnormalised, so a target of
    0 adds nothing and such a unit learns to output 1. None for another loss."""
    if is_kl_divergence(loss):
        return (f"The loss {loss_description(loss)} sums y * log(y / p) over the output "
                "units, where a target of 0 adds nothing: a unit of its own learns to "
                "output 1 whatever y")
    return None


def refuse_over_labels(loss, n_units, n_labels):
    """Refuse a loss one sigmoid unit per label cannot train on (multilabel
    targets), before TensorFlow runs."""
    if spread_over_classes(loss, n_units):
        raise ValueError(
            f"The loss {loss_description(loss)} compares scores spread over the "
            f"classes (one class per sample), but the target is multilabel-indicator "
            f"({n_labels} labels, any number of them per sample): each label "
            "would be predicted from its share of the scores. Use "
            "loss='binary_crossentropy' with one sigmoid unit per label.")
    if (opening := zero_targets_ignored(loss)) is not None:
        raise ValueError(
            f"{opening}, and the target is multilabel-indicator ({n_labels} labels): every "
            "label would be predicted for every sample. Use loss='binary_crossentropy' with "
            "one sigmoid unit per label.")


def check_one_unit_takes(loss, encoding):
    """Refuse a loss (or ``target_encoding``) that one output unit for two
    classes, which takes 0/1 targets, cannot train on, before TensorFlow runs."""
    kind, name = target_kind(loss), loss_description(loss)
    spread = kind != INDEX and spread_over_classes(loss, n_units=1)
    if encoding == "sparse" and kind != INDEX:
        raise ValueError(
            "target_encoding='sparse' gives class indices for a score per class, but the "
            "model has 1 output unit for the 2 classes, which takes 0/1 targets: leave "
            "target_encoding='auto'.")
    if encoding == "onehot" and kind != INDEX and not spread:
        raise ValueError(
            "target_encoding='onehot' gives one-hot rows for a score per class, but the "
            "model has 1 output unit for the 2 classes, which takes 0/1 targets: leave "
            "target_encoding='auto', or size the output layer from meta['n_classes_'].")
    if (opening := zero_targets_ignored(loss)) is not None:
        raise ValueError(
            f"{opening}; every sample would be predicted as the second class. Use "
            "loss='binary_crossentropy' with that one sigmoid unit, or size the output layer "
            "from meta['n_classes_'] (2 softmax units).")
    if kind == INDEX or spread:
        what = (f"The loss {name} takes a class index per sample" if kind == INDEX else
                f"The loss {name} compares scores spread over the classes (over one unit it "
                "is 0 whatever the model learns)")
        raise ValueError(
            f"{what}, for a score per class, but the model has 1 output unit for the 2 "
            "classes. Use loss='binary_crossentropy' with that one sigmoid unit, or size "
            "the output layer from meta['n_classes_'] (2 softmax units).")


def sole_loss(loss):
    """The loss itself where ``loss`` gives it per output of a one-output model
    (a one-element list, or a one-key dict by output name, as Keras and scikeras
    take them); ``loss`` unchanged otherwise (a serialized config included)."""
    return loss if isinstance(loss, dict) and "class_name" in loss else sole(loss)


def loss_axes_kept(loss, target, output_shape):
    """The axes per sample the values of ``loss`` keep before Keras reduces
    them (a sequence's steps, an image's pixels: what weights per sample must
    be shaped for), measured on two rows of ``target`` (the encoded targets)
    against zeros of ``output_shape`` (sizes left open taken from the target's);
    None where that cannot be measured. Measured, as the loss's class does not
    say it (found in review: Dice(axis=(1, 2, 3)) of images keeps none)."""
    import numpy as np

    loss = sole_loss(loss)
    if not hasattr(target, "shape") or getattr(getattr(target, "dtype", None), "kind", "") == "O":
        return None
    target = np.asarray(target[:2])
    if picked_by_shape(loss):  # (as Keras' compile picks among its cross-entropies)
        loss = ("binary_crossentropy" if output_shape[-1] == 1 else
                "sparse_categorical_crossentropy" if target.ndim < len(output_shape) or (
                    target.shape[-1] == 1) else "categorical_crossentropy")
    if isinstance(loss, (str, dict)):
        loss = _resolved(loss)  # (None: a name Keras does not know)
    if inspect.isclass(loss):  # (made as Keras' compile makes a class given)
        try:
            loss = loss()
        except Exception:  # noqa: BLE001 - a class needing arguments: Keras tells
            return None
    if not callable(loss):
        return None
    # As Keras' compiled loss calls it: both in the loss's dtype, a function's
    # ranks matched as Keras' wrapper of functions matches them (an axis of 1
    # ending the longer dropped; found in review: float64 targets failed).
    dtype = getattr(loss, "dtype", None) or keras.config.floatx()
    sizes = [len(target)] + [size if size is not None else target.shape[i] if (
        i < target.ndim) else 1 for i, size in enumerate(output_shape) if i > 0]
    function = loss.call if isinstance(loss, keras.losses.Loss) else loss
    if not isinstance(loss, keras.losses.Loss) and abs(target.ndim - len(sizes)) == 1:
        if target.ndim > len(sizes) and target.shape[-1] == 1:
            target = target[..., 0]
        elif len(sizes) > target.ndim and sizes[-1] == 1:
            sizes = sizes[:-1]
    try:
        values = function(keras.ops.convert_to_tensor(target, dtype=dtype),
                          keras.ops.zeros(sizes, dtype=dtype))
    except Exception:  # noqa: BLE001 - a loss failing eagerly, or on these shapes
        return None
    return max(len(getattr(values, "shape", ())) - 1, 0)


def _resolved(loss):
    """The function, class or instance a loss given as a name or serialized
    config (alone or as the one output's loss) is in Keras, a partial's function
    (``functools.partial(keras.losses.sparse_categorical_crossentropy, ...)``);
    None for a name Keras does not know."""
    loss = sole_loss(loss)
    if isinstance(loss, functools.partial):
        return _resolved(loss.func)
    if isinstance(loss, (str, dict)):
        try:
            return keras.losses.get(loss)
        except (ValueError, TypeError):
            return None
    return loss


def target_kind(loss):
    """``INDEX``, ``SHAPED`` or None (unknown) for a loss given as a name,
    function, class, instance or serialized config, alone or as the one
    output's loss."""
    if picked_by_shape(loss):
        return BY_SHAPE
    loss = _resolved(loss)
    if loss is None:
        return None
    if inspect.isclass(loss):
        kind = _class_kind(loss) if issubclass(loss, keras.losses.Loss) else None
        return None if kind == "wrapper" else kind
    if isinstance(loss, keras.losses.Loss):
        kind = _class_kind(type(loss))
        return target_kind(getattr(loss, "fn", None)) if kind == "wrapper" else kind
    if callable(loss):
        if loss in _INDEX_FUNCTIONS:
            return INDEX
        if loss in _OTHER_FUNCTIONS:
            return None
        return SHAPED if defined_by_keras(loss) else None
    return None


def loss_description(loss):
    """A short name for a loss in messages."""
    loss = sole_loss(loss)
    if isinstance(loss, str):
        return repr(loss)
    if inspect.isclass(loss):
        return loss.__name__
    if isinstance(loss, keras.losses.Loss):
        return type(loss).__name__
    if isinstance(loss, functools.partial):
        return f"partial({loss_description(loss.func)}, ...)"
    return getattr(loss, "__name__", type(loss).__name__)


def loss_from_logits(loss):
    """Whether a Keras loss object was configured with ``from_logits=True``, or a
    loss function given with it (``functools.partial(..., from_logits=True)``)."""
    import functools

    loss = sole_loss(loss)
    if isinstance(loss, dict):
        return bool(loss.get("config", {}).get("from_logits", False))
    if isinstance(loss, functools.partial):
        return bool(loss.keywords.get("from_logits", False))
    return bool(getattr(loss, "from_logits", False))


def _is_loss(loss, function, cls):
    """Whether ``loss`` (a name, function, class or instance) is Keras' loss
    ``function`` or its class ``cls``."""
    resolved = _resolved(loss)
    return (resolved is function or resolved is cls
            or getattr(resolved, "fn", None) is function)


def takes_logarithm(loss):
    """Whether ``loss`` is Keras' Poisson loss, which takes the logarithm of the
    predictions (NaN for a negative one), given as a name, function, class or
    instance."""
    return _is_loss(loss, keras.losses.poisson, keras.losses.Poisson)


def clips_negative_targets(loss):
    """Whether ``loss`` is Keras' mean squared logarithmic error, which reads
    targets (and predictions) below 0 as 0, given as a name, function, class or
    instance."""
    return _is_loss(loss, keras.losses.mean_squared_logarithmic_error,
                    keras.losses.MeanSquaredLogarithmicError)


def rows_cosine(loss):
    """Whether ``loss`` is Keras' cosine similarity of each row's outputs (axis
    -1, or 1: its object's config leaves the axis out, the keyword arguments
    it holds say it), given as a name, function, class or instance."""
    if not _is_loss(loss, keras.losses.cosine_similarity, keras.losses.CosineSimilarity):
        return False
    given = sole_loss(loss)
    if isinstance(given, functools.partial):  # (its keywords give the axis)
        return given.keywords.get("axis", -1) in (-1, 1)
    resolved = _resolved(loss)
    held = [v for v in vars(resolved).values() if isinstance(v, dict) and "axis" in v] \
        if isinstance(resolved, keras.losses.Loss) else []
    return (held[0]["axis"] if held else -1) in (-1, 1)


def reads_unit_targets(loss):
    """Whether ``loss`` is one of Keras' losses whose targets are probabilities
    in [0, 1] (binary crossentropies, Kullback-Leibler divergence, the Dice and
    Tversky losses of masks), given as a name, function, class or instance."""
    losses = keras.losses
    return any(_is_loss(loss, fn, cls) for fn, cls in [
        (losses.binary_crossentropy, losses.BinaryCrossentropy),
        (losses.binary_focal_crossentropy, losses.BinaryFocalCrossentropy),
        (losses.kl_divergence, losses.KLDivergence), (losses.dice, losses.Dice),
        (losses.tversky, losses.Tversky)])


def takes_probabilities(loss):
    """Whether ``loss`` is one of Keras' crossentropies reading probabilities
    (``from_logits`` False), given as a name, function, class or instance (or
    a partial of a function, its keywords read)."""
    if picked_by_shape(loss):
        return True
    if loss_from_logits(loss):
        return False
    resolved = _resolved(loss)
    if isinstance(resolved, keras.losses.Loss):
        return defined_by_keras(type(resolved)) and getattr(resolved, "from_logits",
                                                            None) is False
    if resolved is None or not defined_by_keras(resolved):
        return False
    try:
        return "from_logits" in inspect.signature(resolved).parameters
    except (TypeError, ValueError):
        return False


def class_mode(kind, loss, encoding):
    """Class indices ("sparse") or one-hot rows ("onehot") for one unit per class."""
    taken = {INDEX: "sparse", SHAPED: "onehot"}.get(kind)
    if encoding in ("sparse", "onehot") and taken not in (None, encoding):
        raise ValueError(
            f"target_encoding={encoding!r} contradicts the loss {loss_description(loss)}, "
            f"which takes {'class indices' if taken == 'sparse' else 'one-hot rows'}: "
            f"give target_encoding={taken!r} or leave it 'auto'.")
    if encoding in ("sparse", "onehot"):
        return encoding
    if kind in (INDEX, BY_SHAPE):  # (Keras then picks the sparse one)
        return "sparse"
    if kind == SHAPED:
        return "onehot"
    raise ValueError(
        f"keraslearn cannot tell which targets the loss {loss_description(loss)} "
        "takes: class indices (as keras.losses.SparseCategoricalCrossentropy) or "
        "one-hot rows (as keras.losses.CategoricalCrossentropy). Say which with "
        "target_encoding='sparse' or target_encoding='onehot'."
    )


def check_regression_loss(loss, n_units):
    """Refuse a classification loss a regressor's values cannot train on: one
    taking a class index per sample (TensorFlow refused the values deep in the
    graph), or one comparing scores spread over units, over one unit (0
    whatever the model learns: nothing was learnt, in silence); and, over one
    unit, the cosine similarity (1 or -1 whatever the unit's value: no
    gradient) and the Kullback-Leibler divergence (it learns 1)."""
    if n_units == 1:
        refuse_one_unit_cosine(loss, "Give a regression loss (loss='mse', 'mae', 'huber').")
        if (opening := zero_targets_ignored(loss)) is not None:
            raise ValueError(f"{opening}. Give a regression loss (loss='mse', 'mae', 'huber').")
    index = target_kind(loss) == INDEX
    if index or (n_units == 1 and spread_over_classes(loss, n_units=1)):
        what = ("takes a class index per sample" if index else "compares scores spread over "
                "the output units, which over one unit is 0 whatever the model learns")
        raise ValueError(
            f"The loss {loss_description(loss)} {what}: it trains a classifier, not a "
            "regressor's values. Give a regression loss (loss='mse', 'mae', 'huber'), or "
            "use KerasClassifier.")


def refuse_one_unit_cosine(loss, advice):
    """Refuse the cosine similarity of each row over one output unit: 1 or -1
    whatever the unit's value (a sigmoid's: always 1), so no gradient."""
    if rows_cosine(loss):
        raise ValueError(
            f"The loss {loss_description(loss)} compares the directions of the output units' "
            "vector and y's, which over one unit are 1 or -1 whatever its value: it learns "
            f"nothing. {advice}")
