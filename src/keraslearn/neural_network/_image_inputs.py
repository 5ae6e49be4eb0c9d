"""What ImageClassifier reads: its shape parameters, the shape of the images
it infers from X, the check of X at prediction in words of images, and image
files decoded batch by batch (``keraslearn.preprocessing._image_files``)."""

import math
import os
from numbers import Integral

import numpy as np
from PIL import Image

from ..preprocessing._image import _as_items
from ..preprocessing._image_files import holds_images, image_files
from ..utils._columns import tensor_values
from ..utils._input_errors import explained_input_errors, refuse_mixed_images


def _positive_ints(value, name, length=None, allow_empty=False, given=None):
    """``value`` as a tuple of positive ints (``length``: how many it may hold);
    errors show ``given``, the parameter as set, when ``value`` was read from it."""
    given = value if given is None else given
    values = _listed(value, name, given)
    ok = (allow_empty or values) and all(
        isinstance(v, (Integral, np.integer)) and not isinstance(v, bool) and v > 0
        for v in values
    )
    if not ok:
        raise ValueError(f"{name} must hold positive integers, got {given!r}.")
    if length is not None and len(values) not in length:
        raise ValueError(f"{name} must hold {' or '.join(map(str, length))} values, got "
                         f"{len(values)}: {given!r}.")
    return tuple(int(v) for v in values)


def _listed(value, name, given):
    """The values of a shape parameter, a list nested in a list refused (a
    grid's typo, [[32, 64]], was read as its values, where MLP refuses it)."""
    values = np.asarray(value, dtype=object)
    if values.ndim > 1:
        raise ValueError(f"{name} must hold positive integers, got {given!r}.")
    return [value] if values.ndim == 0 else list(values)


def _image_shape_param(value, n_values=None):
    """``image_shape`` as a tuple of 2 or 3 ints; a single -1 stands for the
    size that makes the image hold ``n_values`` values (as in numpy.reshape)."""
    values = _listed(value, "image_shape", value)
    unknown = [i for i, v in enumerate(values) if isinstance(v, (Integral, np.integer))
               and not isinstance(v, bool) and v == -1]
    if len(unknown) == 1 and len(values) in (2, 3):
        known = [v for i, v in enumerate(values) if i != unknown[0]]
        known = _positive_ints(known, "image_shape", length=(1, 2), given=value)
        if n_values is None:
            return None
        size = n_values // math.prod(known)
        values = list(known)
        values.insert(unknown[0], max(size, 1))
    return _positive_ints(values, "image_shape", length=(2, 3), given=value)


def _refuse_empty(est, X):
    """An empty list (or 1-D array) is no images, rather than a 1-D array to reshape."""
    if isinstance(X, (list, tuple)) and not X or getattr(X, "shape", None) == (0,):
        raise ValueError(
            f"X holds no images: {type(est).__name__} needs at least one (an array of "
            "images, or a list of image file paths or PIL images).")


def _refuse_one_item(est, X):
    """One image file or PIL image, not a collection of them, is refused in those
    words (as an array, its pixels would be read as images); so is no image, and
    arrays followed by image files."""
    if isinstance(X, (str, bytes, os.PathLike, Image.Image)):
        _as_items(X)
    _refuse_empty(est, X)
    refuse_mixed_images(X)


def image_source(est, X, reset):
    """X as ImageClassifier reads it: image paths (or PIL images) as image
    files decoded batch by batch (by its ``image_decoder``), resized to
    ``image_shape`` when it is set
    (else they must all have one size: that of fit, for a fitted estimator);
    anything else as it is. A fitted estimator reads images as its fit did."""
    X = tensor_values(X)  # (a tensor of paths, read as NumPy holds them: bytes)
    _refuse_one_item(est, X)
    if not holds_images(X):
        return X
    if reset:
        return image_files(X, est.image_shape, decoder=est.image_decoder)
    if "image_shape_" not in est.__dict__:
        return X  # unfitted: prediction says so
    # Read as fit read them, whatever set_params has changed since (an
    # estimator fitted before this was recorded reads by its parameters).
    resize, decoder = est.__dict__.get(
        "_image_reading", (est.image_shape is not None, est.image_decoder))
    channels = est.image_shape_[2]
    if channels not in (1, 3):
        raise ValueError(
            f"{type(est).__name__} was fitted on images of {channels} channels, but image "
            "files are read with 1 channel (grayscale) or 3 (RGB): give it arrays of shape "
            f"(n_images, {', '.join(map(str, est.image_shape_))}) to predict.")
    return image_files(X, est.image_shape_, resize=resize,
                       sample_shape=est.X_shape_[1:], decoder=decoder, fitted=True)


def infer_image_shape(est, per_sample):
    """``(height, width, channels)`` of the images whose samples have shape
    ``per_sample``, with ``est.image_shape`` for flattened rows."""
    per_sample = tuple(int(v) for v in per_sample)
    if len(per_sample) > 3:
        raise ValueError(
            "X must hold images (n, height, width, channels), grayscale images "
            f"(n, height, width) or flattened rows; got {len(per_sample) + 1} dimensions."
        )
    if est.image_shape is not None:
        shape = _image_shape_param(est.image_shape, math.prod(per_sample))
        shape = shape + (1,) if len(shape) == 2 else shape
        same = per_sample == shape or per_sample + (1,) == shape
        if math.prod(shape) != math.prod(per_sample) or (len(per_sample) > 1 and not same):
            raise ValueError(
                f"image_shape={est.image_shape!r} does not match X, whose samples "
                f"have shape {per_sample}."
            )
        return shape
    if len(per_sample) > 1:
        return per_sample + (1,) if len(per_sample) == 2 else per_sample
    n = per_sample[0]
    side = math.isqrt(n)
    if side * side == n:
        return (side, side, 1)
    raise ValueError(
        f"X has rows of {n} values, which are not square grayscale images "
        f"({n} is not a perfect square). Pass images as an array of shape (n, height, "
        "width) or (n, height, width, channels), or give the shape of the flattened "
        "images as image_shape=(height, width, channels). For tabular data, use "
        "MLPClassifier."
    )


def check_image_input(est, X):
    """Refuse X whose images differ from those of fit, in words of images
    (scikit-learn's check would speak of a number of features). Images given
    as paths or PIL images are checked file by file as they are read
    (:func:`image_source`). Returns X, grayscale images reshaped to the form
    of fit's: (n, height, width) and (n, height, width, 1) are the same images."""
    _refuse_one_item(est, X)
    if holds_images(X):
        return X
    with explained_input_errors(X, **dict.fromkeys(("ragged", "per_sample"), est._ragged_hint)):
        shape = X.shape if hasattr(X, "shape") else np.asarray(X).shape
    per_sample, fitted = tuple(shape[1:]), tuple(est.X_shape_[1:])
    if len(shape) < 2 or per_sample == fitted:
        return X  # fine, or not samples at all: scikit-learn's validation says so
    if len(per_sample) >= 2 and (per_sample + (1,) == fitted or fitted + (1,) == per_sample):
        return (X if hasattr(X, "reshape") else np.asarray(X)).reshape((shape[0], *fitted))
    name = type(est).__name__
    one = {fitted, fitted[:-1] if fitted[-1] == 1 else fitted + (1,)}  # grayscale either way
    if len(fitted) >= 2 and tuple(shape) in one:
        raise ValueError(f"X is one image of shape {tuple(shape)}, but {name} takes a batch "
                         f"of images: give X[np.newaxis], of shape {(1, *shape)}.")
    size = "x".join(str(v) for v in est.image_shape_)
    fix = ("Give images of the size used in fit (ImageLoader's target_size resizes "
           "image files).")
    seen_hwc, fitted_hwc = (s + (1,) if len(s) == 2 else s for s in (per_sample, fitted))
    if len(seen_hwc) == len(fitted_hwc) == 3 and seen_hwc[:2] == fitted_hwc[:2]:  # channels
        fix = (f"They have {seen_hwc[2]} channel(s) where fit's had {fitted_hwc[2]}: convert "
               "them (ImageLoader's color_mode converts image files).")
    if np.prod(per_sample) == np.prod(fitted) and 1 in (len(per_sample), len(fitted)):
        # flat rows of as many values: images in the other form (another layout of
        # images, channels first, would be scrambled by a reshape)
        fix = (f"They hold as many values: give them in fit's form, "
               f"X.reshape(len(X), {', '.join(map(str, fitted))}).")
    if len(fitted) == 1 and len(per_sample) == 1:
        # scikit-learn's words first (its estimator checks read them), then the images'.
        raise ValueError(
            f"X has {per_sample[0]} features, but {name} is expecting {fitted[0]} "
            f"features as input: it was fitted on flattened {size} images ({fitted[0]} "
            f"values a row). {fix}"
        )
    seen = (f"rows of {per_sample[0]} values" if len(per_sample) == 1
            else f"images of shape {per_sample}")
    if len(fitted) == 1:
        fitted_text = f"flattened {size} images ({fitted[0]} values a row)"
    else:
        fitted_text = f"images of shape {fitted}"
    raise ValueError(f"X holds {seen}, but {name} was fitted on {fitted_text}. {fix}")


def reading_params(est):
    """The parameters that say how a fit reads images."""
    shape = est.image_shape
    return (None if shape is None else tuple(shape), est.image_decoder)


def record_reading(est):
    """Record, at a fit's start, how it reads images: predictions read them so
    (:func:`image_source`), and continuing fits must too (:func:`check_same_reading`)."""
    est._image_reading = (est.image_shape is not None, est.image_decoder)
    est._reading_params = reading_params(est)


def check_same_reading(est, mode, X):
    """Refuse to continue a fitted network (warm start, ``partial_fit``) with
    parameters that would read its images otherwise than its fit did. Arrays
    are not decoded: for them only an ``image_shape`` other than the fitted
    ``image_shape_`` counts."""
    then = est.__dict__.get("_reading_params", reading_params(est))
    now = reading_params(est)
    if now != then and not holds_images(X) and (now[0] is None or _same_shape(est, now[0])):
        return
    if now != then:
        raise ValueError(
            f"{'partial_fit' if mode == 'partial' else 'warm_start'} continues the fitted "
            f"network, which reads images as its first fit did (image_shape={then[0]!r}, "
            f"image_decoder={then[1]!r}), not as image_shape={est.image_shape!r}, "
            f"image_decoder={est.image_decoder!r} say now. Fit a new network "
            "(fit with warm_start=False) to read them otherwise.")


def _same_shape(est, shape):
    """Whether ``image_shape=shape`` gives the fitted ``image_shape_``."""
    fitted = tuple(est.image_shape_)
    try:
        shape = _image_shape_param(shape, math.prod(fitted))
    except ValueError:
        return False
    return shape in (fitted, fitted[:2] if fitted[2] == 1 else None)
