"""Image files (or PIL images) to arrays: the :class:`ImageLoader` transformer."""

import numbers
import os
import reprlib
import threading

import numpy as np
from PIL import Image
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils import validate_parameters
from ._image_errors import check_regular_file, not_found, path_text, unreadable
from ._not_a_table import NotATable

# color_mode -> (Pillow mode, number of channels)
_COLOR_MODES = {"rgb": ("RGB", 3), "grayscale": ("L", 1)}
# Pillow widens the filter when it shrinks an image, so bilinear also
# anti-aliases on downscaling (the default of Keras' image_dataset_from_directory).
_RESAMPLE = Image.Resampling.BILINEAR


def _check_target_size(target_size):
    """Return ``target_size`` as a ``(height, width)`` tuple of positive ints."""
    ok = (not isinstance(target_size, (str, bytes)) and hasattr(target_size, "__len__")
          and len(target_size) == 2
          and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
                  for v in target_size))
    if not ok:
        raise ValueError(
            "target_size must be a (height, width) pair of positive integers, "
            f"got {target_size!r}."
        )
    return int(target_size[0]), int(target_size[1])


def _check_color_mode(color_mode):
    """Return the ``(pillow_mode, n_channels)`` pair for ``color_mode``."""
    if not isinstance(color_mode, str) or color_mode not in _COLOR_MODES:
        raise ValueError(
            f"color_mode must be one of {sorted(_COLOR_MODES)}, got {color_mode!r}."
        )
    return _COLOR_MODES[color_mode]


# Who decodes image files: Pillow (ImageLoader's own pixels) or TensorFlow's
# ops (keras.utils.image_dataset_from_directory's pixels).
DECODERS = ("pillow", "tensorflow")


def check_decoder(decoder):
    """Return ``decoder`` if it is one of :data:`DECODERS`, else raise."""
    if not isinstance(decoder, str) or decoder not in DECODERS:
        raise ValueError(f"image_decoder must be one of {list(DECODERS)}, got {decoder!r}.")
    return decoder


def _check_dtype(dtype, scale):
    """Return ``dtype`` as a numpy dtype that can hold the output pixels."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"dtype {dtype!r} is not a numpy dtype.") from exc
    if dt.kind == "f":
        return dt
    if dt.kind in "ui" and not scale and np.iinfo(dt).max >= 255:
        return dt
    raise ValueError(
        "dtype must be a floating point type (or, with scale=False, an integer "
        f"type that holds 0-255 such as 'uint8'), got {dtype!r}."
    )


def _as_items(X):
    """Return the images of ``X`` as a list of paths and/or PIL images."""
    if isinstance(X, (str, bytes, os.PathLike, Image.Image)):
        raise TypeError(
            "X must be a sequence of image paths or PIL images, got a single "
            f"{type(X).__name__}; wrap it in a list."
        )
    if hasattr(X, "to_numpy"):  # a pandas or polars Series or DataFrame
        X = np.asarray(X.to_numpy(), dtype=object)
    if isinstance(X, np.ndarray):
        if X.ndim == 2 and X.shape[1] == 1:
            X = X[:, 0]
        if X.ndim != 1:
            raise ValueError(
                "X must be one-dimensional (or a single column) of image paths, "
                f"got an array of shape {X.shape}."
            )
        if X.dtype.kind not in "OUST":  # (T: NumPy 2's StringDType)
            raise TypeError(
                "X must hold image paths or PIL images, got a numeric array of "
                f"dtype {X.dtype}; decoded images need no ImageLoader."
            )
        items = X.tolist()
    else:
        try:
            items = list(X)
        except TypeError:
            raise TypeError(
                "X must be a sequence of image paths or PIL images, got "
                f"{type(X).__name__}."
            ) from None
        # A 2-D list with one column, e.g. [["a.png"], ["b.png"]].
        items = [v[0] if isinstance(v, (list, tuple)) and len(v) == 1 else v for v in items]
    if not items:
        raise ValueError("X is empty: ImageLoader needs at least one image.")
    return items


# 16-bit integer modes (Pillow opens 16-bit PNG and TIFF files as "I;16*").
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


def _to_8bit(img):
    """A 16-bit, 32-bit integer or float image as 8-bit grayscale, rescaled
    (Pillow's convert would clip: a 16-bit image to white, a [0, 1] float image
    to black). 32-bit integer images ("I") as 16-bit, but those made in memory
    with no value over 255 as 8-bit; float images as [0, 1], or as [0, 255] when
    a finite value exceeds 1."""
    if img.mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(img, dtype=np.float64) / 257.0
    elif img.mode == "I":  # a file's (16-bit PGM, 32-bit TIFF): whatever its pixels
        values = np.asarray(img, dtype=np.float64)
        if img.format is not None or values.size and values.max() > 255:
            values = values / 257.0
    elif img.mode == "F":
        raw = np.asarray(img, dtype=np.float64)
        finite = raw[np.isfinite(raw)]
        values = np.nan_to_num(raw, nan=0.0, posinf=1e300, neginf=0.0)
        if finite.size == 0 or finite.max() <= 1.0:
            values = values * 255.0
    else:
        return img
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), mode="L")


def _pixels(img, pil_mode, size):
    """Decode, convert and resize one open PIL image to a uint8 array."""
    img.load()  # decode now, so that a truncated file raises here
    img = _to_8bit(img)
    if img.mode != pil_mode:
        try:
            img = img.convert(pil_mode)
        except ValueError:  # (La to anything, LAB to L: through the mode Pillow takes)
            img = img.convert("LA" if img.mode == "La" else "RGB").convert(pil_mode)
    height, width = size
    if img.size != (width, height):  # PIL sizes are (width, height)
        img = img.resize((width, height), resample=_RESAMPLE)
    return np.asarray(img)


# Locks of PIL images given as X, by the image's id: Pillow decodes a lazily
# opened image in the first load() and then closes its file, and two threads
# must not do it at once (one image can be given many times, or to several fits).
_LOAD_LOCKS = tuple(threading.Lock() for _ in range(64))


def _read_image(item, index, pil_mode, size):
    """Return image ``item`` (path or PIL image) as a uint8 array."""
    if isinstance(item, Image.Image):
        try:
            with _LOAD_LOCKS[(id(item) >> 4) % len(_LOAD_LOCKS)]:
                item.load()
            return _pixels(item, pil_mode, size)
        except Exception as exc:
            file_closed = getattr(item, "fp", True) is None and getattr(item, "tile", None)
            reason = (f"{type(exc).__name__} (was its file closed before loading?)"
                      if file_closed else str(exc) or type(exc).__name__)  # (Pillow says less)
            raise ValueError(f"Could not read the PIL image X[{index}]: {reason}") from exc
    if not isinstance(item, (str, bytes, os.PathLike)):
        raise TypeError(
            f"X[{index}] must be a file path or a PIL image, got "
            f"{type(item).__name__}: {reprlib.repr(item)}."
        )
    name = path_text(item)
    check_regular_file(name, index)
    try:
        with Image.open(name) as img:
            return _pixels(img, pil_mode, size)
    except FileNotFoundError as exc:  # (removed since)
        raise not_found(name, index) from exc
    except MemoryError:
        raise
    except Exception as exc:  # not an image, truncated, unreadable, ...
        raise unreadable(name, index, exc) from exc


def _load_into(out, items, pil_mode, size, progress=None):
    """Fill ``out[i]`` with image ``items[i]``; call ``progress(i + 1)`` after each."""
    row_shape = out.shape[1:]
    for i, item in enumerate(items):
        out[i] = _read_image(item, i, pil_mode, size).reshape(row_shape)
        if progress is not None:
            progress(i + 1)
    return out


class ImageLoader(NotATable, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Load image files (or PIL images) into a float array.

    Each image is opened with Pillow, converted to RGB or grayscale, resized
    to ``target_size`` and, by default, scaled to [0, 1] (or, with
    ``image_decoder="tensorflow"``, decoded as
    ``keras.utils.image_dataset_from_directory`` decodes it). 16-bit images are
    rescaled to 8 bits and float images read as [0, 1] (or [0, 255] when a
    value exceeds 1), where a plain Pillow conversion would clip them. The
    transformer learns nothing from the data: ``fit`` only validates the
    parameters, so it can lead a :class:`~sklearn.pipeline.Pipeline` that
    feeds a network with file paths.

    Parameters
    ----------
    target_size : tuple of (int, int), default=(64, 64)
        ``(height, width)`` every image is resized to, with bilinear
        resampling (anti-aliased when shrinking).

    color_mode : {"rgb", "grayscale"}, default="rgb"
        Convert images to three channels (RGB) or to one (luminance).

    scale : bool, default=True
        Divide pixel values by 255 so that they lie in [0, 1].

    dtype : str or numpy dtype, default="float32"
        Type of the output array. A floating type; with ``scale=False`` an
        integer type such as ``"uint8"`` is also accepted.

    flatten : bool, default=False
        Return rows of ``height * width * channels`` values instead of
        ``(height, width, channels)`` images, for dense networks and
        scikit-learn estimators: a table of them where ``set_output`` or
        scikit-learn's ``transform_output`` asks for one, images never.

    image_decoder : {"pillow", "tensorflow"}, default="pillow"
        ``"pillow"``: as described above. ``"tensorflow"``: the pixels
        ``keras.utils.image_dataset_from_directory`` gives (TensorFlow's
        ``decode_image``, then ``tf.image.resize``, bilinear without
        anti-aliasing: fractional values, so ``dtype`` must be a float type),
        decoded by TensorFlow's ops, several files at once; for JPEG, PNG,
        GIF and BMP files (not PIL images), as
        ``ImageClassifier(image_decoder="tensorflow")`` reads image files.

    Attributes
    ----------
    n_channels_ : int
        Number of channels of the output images: 3 for ``"rgb"``, 1 for
        ``"grayscale"``.

    See Also
    --------
    keraslearn.datasets.load_image_folder : Read a folder-per-class tree of
        images into paths or arrays, and labels.

    Notes
    -----
    ``transform`` accepts a list, tuple, 1-D array, pandas Series, or a single-column
    2-D array or DataFrame of file paths (``str`` or :class:`pathlib.Path`) and/or
    :class:`PIL.Image.Image` objects. A file that is missing raises
    :class:`FileNotFoundError`; one that is not an image, or is truncated, raises
    :class:`ValueError`. Both messages name the file. Transparency is dropped (a
    transparent GIF pixel reads as its color with Pillow, black with TensorFlow's
    decoder, as with Keras' own loaders) and EXIF orientation is not applied.

    Examples
    --------
    >>> from PIL import Image
    >>> from keraslearn.preprocessing import ImageLoader
    >>> images = [Image.new("RGB", (40, 30), "red"), Image.new("RGB", (8, 8), "blue")]
    >>> X = ImageLoader(target_size=(16, 16)).fit_transform(images)
    >>> X.shape, X.dtype
    ((2, 16, 16, 3), dtype('float32'))
    >>> X[0, 0, 0], X[1, 0, 0]
    (array([1., 0., 0.], dtype=float32), array([0., 0., 1.], dtype=float32))
    >>> loader = ImageLoader(target_size=(4, 6), color_mode="grayscale", flatten=True)
    >>> loader.fit_transform(images).shape
    (2, 24)
    """

    def __init__(
        self,
        *,
        target_size=(64, 64),
        color_mode="rgb",
        scale=True,
        dtype="float32",
        flatten=False,
        image_decoder="pillow",
    ):
        self.target_size = target_size
        self.color_mode = color_mode
        self.scale = scale
        self.dtype = dtype
        self.flatten = flatten
        self.image_decoder = image_decoder

    def _validated_params(self):
        # (a string was taken for True: scale=None kept 0-255, flatten="no" flattened)
        validate_parameters(self, {"scale": ["boolean"], "flatten": ["boolean"]})
        size = _check_target_size(self.target_size)
        pil_mode, n_channels = _check_color_mode(self.color_mode)
        dtype = _check_dtype(self.dtype, self.scale)
        if check_decoder(self.image_decoder) == "tensorflow" and dtype.kind != "f":
            raise ValueError(
                f"dtype={self.dtype!r}: with image_decoder='tensorflow' the pixels are "
                "fractional (Keras' bilinear resize), so dtype must be a floating type.")
        return size, pil_mode, n_channels, dtype

    def fit(self, X, y=None):
        """Validate the parameters; nothing is learned from ``X``.

        Parameters
        ----------
        X : sequence of path-like or PIL.Image.Image
            Ignored; accepted for the scikit-learn API.

        y : None
            Ignored.

        Returns
        -------
        self : ImageLoader
            The fitted transformer.
        """
        _, _, self.n_channels_, _ = self._validated_params()
        return self

    def transform(self, X):
        """Load, convert, resize and scale the images of ``X``.

        Parameters
        ----------
        X : sequence of path-like or PIL.Image.Image
            The images: file paths and/or PIL images, as a list, tuple, 1-D
            array, pandas Series, or one-column 2-D array or DataFrame.

        Returns
        -------
        X_out : ndarray of shape (n_images, height, width, n_channels)
            The images; of shape ``(n_images, height * width * n_channels)``
            when ``flatten=True``.
        """
        check_is_fitted(self)
        size, pil_mode, n_channels, dtype = self._validated_params()
        items = _as_items(X)
        if self.image_decoder == "tensorflow":
            from .._engine._feed import in_memory
            from ._image_files import image_files

            source = image_files(items, (*size, n_channels), decoder="tensorflow",
                                 scale=self.scale)
            out = in_memory(source, dtype)  # scaled by the source
        else:
            out = np.empty((len(items), *size, n_channels), dtype=dtype)
            _load_into(out, items, pil_mode, size)
            if self.scale:
                out /= 255
        return self._as_configured(out.reshape(len(items), -1), X) if self.flatten else out

    def get_feature_names_out(self, input_features=None):
        """Names of the pixel columns ``transform`` returns with ``flatten=True``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored (the images' paths name no pixel).

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``imageloader0``, ``imageloader1``, ...: the flattened pixels, named
            as scikit-learn names the columns of transformers that make new ones.

        Raises
        ------
        ValueError
            When ``flatten=False``: the images are not columns.
        """
        check_is_fitted(self)
        if not self.flatten:
            raise ValueError(
                "ImageLoader returns images (n_images, height, width, channels), not "
                "columns: their names need flatten=True.")
        (height, width), _, n_channels, _ = self._validated_params()
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(height * width * n_channels)],
                          dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Input is a 1-D sequence of paths or PIL images, never a numeric matrix;
        # transform checks it itself rather than through validate_data.
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        tags.no_validation = True
        # The output dtype is set by `dtype`, not by the input.
        tags.transformer_tags.preserves_dtype = []
        return tags
