"""What ImageClassifier's network is made of: the augmentation layers its
``augmentation`` asks for, and the layout of its layers, which a partial_fit
compares with what the parameters now build (another dropout rate or
augmentation, layers that hold no weights: the network is built again)."""

import functools
from numbers import Real

import numpy as np

from .._tf import keras
from ..utils import suggest
from ._continued import dropout_rate, normalises
from ._image_inputs import _positive_ints

# Augmentation name -> (Keras layer, default argument when given by name or True).
_AUGMENTATIONS = {
    "flip": (keras.layers.RandomFlip, "horizontal"),
    "rotation": (keras.layers.RandomRotation, 0.1),
    "zoom": (keras.layers.RandomZoom, 0.1),
}
_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


def augmentations(aug):
    """[(name, argument)] of the augmentation layers ``aug`` (ImageClassifier's
    ``augmentation``) asks for, validated."""
    if aug is None or aug is False:
        return []
    if aug is True:
        aug = list(_AUGMENTATIONS)
    if isinstance(aug, str):
        aug = [aug]
    if not isinstance(aug, dict):
        aug = {name: True for name in aug}
    out = []
    for name, value in aug.items():
        if name not in _AUGMENTATIONS:
            raise ValueError(
                f"Unknown augmentation {name!r}; choose among {list(_AUGMENTATIONS)}."
                + suggest(str(name), _AUGMENTATIONS)
            )
        if value is False or value is None:
            continue
        if value is True:
            value = _AUGMENTATIONS[name][1]
        if name == "flip" and value not in _FLIP_MODES:
            raise ValueError(
                f"augmentation 'flip' must be one of {_FLIP_MODES}, got {value!r}."
            )
        if name != "flip" and not (isinstance(value, Real) and 0 < value < 1):
            raise ValueError(
                f"augmentation {name!r} must be a factor in (0, 1), got {value!r}."
            )
        out.append((name, value))
    if any(name == "rotation" for name, _ in out) and not _rotation_runs(keras.config.floatx()):
        raise ValueError(
            "augmentation 'rotation' uses keras.layers.RandomRotation, which fails in this "
            f"Keras version while keras.config.floatx() is {keras.config.floatx()!r}. Call "
            "keras.config.set_floatx('float32') (dtype='float64' on the estimator still "
            "trains in float64), or leave 'rotation' out of augmentation.")
    return out


@functools.cache
def _rotation_runs(floatx):
    """Whether Keras' RandomRotation runs while ``floatx`` is Keras' default
    float type (some Keras versions mix float32 into its float64 ops)."""
    if floatx == "float32":
        return True
    try:
        # (its dtype given: a layer made without one fixes Keras' global policy at floatx)
        keras.layers.RandomRotation(0.1, seed=0, dtype=floatx)(np.zeros((1, 4, 4, 1), floatx),
                                                               training=True)
    except Exception:  # noqa: BLE001 - any failure of the layer: refused, named, at fit
        return False
    return True


def kernel_shape(kernel_size):
    """The convolutions' (height, width) for ``kernel_size`` (one int: square)."""
    kernel = _positive_ints(kernel_size, "kernel_size", length=(1, 2))
    return tuple(kernel * (3 - len(kernel)))


def _augmentation(layer):
    """(name, argument) of an augmentation layer, as :func:`augmentations`
    gives them, or None for another layer."""
    for name, (kind, _) in _AUGMENTATIONS.items():
        if isinstance(layer, kind):
            config = layer.get_config()
            value = config.get("mode", config.get("height_factor", config.get("factor")))
            return name, value[1] if isinstance(value, (tuple, list)) else value  # (-f, f)
    return None


def layout(model):
    """``(augmentations, convolutions as (filters, kernel size), batch
    normalisation, dropout rate, dense units, output activation)`` of a network
    ImageClassifier built (the output's: "linear" since it outputs logits; a
    sigmoid or softmax of an earlier file's is built again by partial_fit)."""
    augmented = tuple(filter(None, map(_augmentation, model.layers)))
    convolutions = tuple((layer.filters, tuple(layer.kernel_size)) for layer in model.layers
                         if isinstance(layer, keras.layers.Conv2D))
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    return (augmented, convolutions, normalises(model), dropout_rate(model),
            dense[0].units if len(dense) > 1 else 0,
            keras.activations.serialize(dense[-1].activation) if dense else None)


def planned_layout(est):
    """:func:`layout` of the network ``est``'s parameters build."""
    kernel = kernel_shape(est.kernel_size)
    filters = _positive_ints(est.conv_filters, "conv_filters", allow_empty=True)
    return (tuple(augmentations(est.augmentation)), tuple((f, kernel) for f in filters),
            bool(est.batch_normalization and filters), float(est.dropout or 0.0),
            int(est.dense_units or 0), "linear")
