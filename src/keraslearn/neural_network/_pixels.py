"""8-bit pixel values (0-255) given to the ready networks.

A network learns poorly from inputs that large, far worse than from the same
images in [0, 1]; and one fitted on images in [0, 1] predicts nothing
meaningful for 8-bit ones. :func:`warn_at_fit` says the first,
:func:`warn_at_predict` the second (and that files, read in [0, 1], mean nothing
to a network fitted on 8-bit values).
"""

import warnings

import numpy as np

from .._engine._sources import blocks, is_mapped
from .._stacklevel import user_stacklevel
from ..utils._columns import tensor_values


def _pixel_arrays(X):
    """The arrays X's pixels are in, none copied: X itself, a DataFrame's
    values, a tensor's, or the images of a list; none for paths or PIL images."""
    X = tensor_values(X)
    if isinstance(X, np.ndarray):
        return [X]
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        return [X.to_numpy()]
    if isinstance(X, (list, tuple)) and X and all(isinstance(a, np.ndarray) for a in X):
        return list(X)
    return []


# Values up to this are not taken for pixels: small counts or codes in a
# table of uint8 (scikit-learn's 8x8 digits, 0-16, train its MLP unscaled).
_SMALL_VALUES = 16


def eight_bit_top(X, *, wide):
    """The largest value of X where X holds 8-bit pixel values: uint8 above
    16, or with ``wide`` (images) an array of floats or of wider integers
    holding values in [0, 255] above 16 (as ``keras.utils.img_to_array``
    gives, or an image read into int64); None otherwise. X: an array, a
    DataFrame of pixel columns or a list of images."""
    arrays = [a for a in _pixel_arrays(X) if a.size]
    kinds = {"u8" if a.dtype == np.uint8 else a.dtype.kind for a in arrays}
    widened = wide and len(kinds) == 1 and kinds <= {"f", "i", "u"}
    if not arrays or not (kinds == {"u8"} or widened):
        return None
    bottom, top = _value_range(arrays)
    if widened and not (2 < top <= 255 and bottom >= 0):
        return None  # scaled, standardised, or not pixels
    return top if top > _SMALL_VALUES else None


def _value_range(arrays):
    """The smallest and largest value of non-empty ``arrays`` (a file-mapped one
    read block by block: never resident whole)."""
    bottom, top = np.inf, -np.inf
    for array in arrays:
        for part in blocks(array) if is_mapped(array) else [array]:
            bottom, top = min(bottom, float(part.min())), max(top, float(part.max()))
    return bottom, top


def _scaled_to_unit(X):
    """Whether X holds floats in [0, 1], not all 0: images scaled as files are read."""
    arrays = [a for a in _pixel_arrays(X) if a.size]
    if not arrays or any(a.dtype.kind != "f" for a in arrays):
        return False
    bottom, top = _value_range(arrays)
    return bottom >= 0 and 0 < top <= 1


def warn_at_fit(est, X, *, wide):
    """Warn when the training X holds 8-bit pixel values; return whether it does."""
    top = eight_bit_top(X, wide=wide)
    if top is not None:
        warnings.warn(
            f"X holds values up to {top:g}, as 8-bit pixel values (0-255) are: "
            f"{type(est).__name__} learns poorly from inputs that large. Scale them "
            "to [0, 1] first: X / 255.0 (keraslearn.preprocessing.ImageLoader does), "
            "or a scaler before the network in a Pipeline.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return top is not None


def warn_at_predict(est, X, *, fitted_on_8bit, files):
    """Warn when X holds 8-bit pixel values and the network was fitted on
    others, or X holds images read scaled to [0, 1] (``files``: paths or PIL
    images; or arrays of floats in [0, 1]) and the network was fitted on 8-bit
    values. ``fitted_on_8bit`` None (not recorded): no warning."""
    if fitted_on_8bit is True and (files or _scaled_to_unit(X)):
        given = ("image files and PIL images are read scaled to [0, 1]" if files else
                 "X holds values in [0, 1], as images scaled to it do")
        warnings.warn(
            f"This {type(est).__name__} was fitted on 8-bit pixel values (0-255), but "
            f"{given}: its predictions for them mean nothing. Fit it on images scaled to "
            "[0, 1] (X / 255.0, or keraslearn.preprocessing.ImageLoader's), or on the "
            "files themselves.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    top = eight_bit_top(X, wide=True) if fitted_on_8bit is False else None
    if top is not None:
        warnings.warn(
            f"X holds values up to {top:g}, as 8-bit pixel values (0-255) are, but this "
            f"{type(est).__name__} was fitted on images scaled to [0, 1]: its predictions "
            "for them mean nothing. Scale them as at fit: X / 255.0.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
