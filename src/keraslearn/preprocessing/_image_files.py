"""Image files decoded batch by batch: what ``ImageClassifier.fit(paths, y)`` reads.

:class:`ImageFiles` is a row source of the engine (``keraslearn._engine._sources``):
it stands for the array :class:`ImageLoader` would return for the same paths
(default ``scale`` and ``dtype``), and decodes only the rows asked for, with
ImageLoader's own code (Pillow: convert to RGB or grayscale, resize with
bilinear resampling, scale to [0, 1]), so that a fit on the paths computes
what a fit on ImageLoader's array computes. The engine asks for one batch at
a time and decodes several batches at once (``parallel_reads``): Pillow
releases the GIL while it decodes and resizes. Memory holds the list of paths
and a few decoded batches, however many files there are.

Before anything is decoded, :func:`image_files` opens every file for its
header only (size and mode, no pixels): a missing file, a file that is not an
image, or -- when the images are not resized -- images of different sizes
are refused then, naming the file, before TensorFlow runs. Files are only
ever opened for reading.
"""

import errno
import os

import numpy as np
from PIL import Image

from .._engine._sources import RowSource
from ._image import _as_items, _check_target_size, _read_image

# Pillow modes that ImageLoader reads as one channel (grayscale) when the
# number of channels is taken from the images; other modes are read as RGB.
_ONE_CHANNEL_MODES = frozenset(
    {"1", "L", "LA", "La", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"})


def _first_item(X):
    """The first element of X when X may be a collection of images, else None."""
    if isinstance(X, np.ndarray):
        return X.flat[0] if X.dtype.kind in "OUS" and X.size and X.ndim <= 2 else None
    if hasattr(X, "iloc") and hasattr(X, "ndim"):  # pandas Series or DataFrame
        if len(X) == 0 or (X.ndim == 2 and X.shape[1] != 1):
            return None
        return X.iloc[0] if X.ndim == 1 else X.iloc[0, 0]
    if isinstance(X, (list, tuple)) and X:
        first = X[0]
        return first[0] if isinstance(first, (list, tuple)) and len(first) == 1 else first
    return None


def holds_images(X):
    """Whether X is a collection of image file paths (``str`` or
    :class:`pathlib.Path`) or PIL images, as :class:`ImageLoader` takes."""
    return isinstance(_first_item(X), (str, bytes, os.PathLike, Image.Image))


def _header(item, index):
    """``((width, height), mode)`` of an image file (its header only) or PIL image."""
    if isinstance(item, Image.Image):
        return item.size, item.mode
    if not isinstance(item, (str, bytes, os.PathLike)):
        raise TypeError(
            "X holds image paths, so every element must be a file path or a PIL image; "
            f"X[{index}] is a {type(item).__name__}.")
    name = os.fsdecode(item)
    try:
        with Image.open(item) as img:
            return img.size, img.mode
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"Image file X[{index}] not found",
                                name) from None
    except IsADirectoryError:
        raise ValueError(f"X[{index}] is a folder, not an image file: {name!r}.") from None
    except Exception as exc:  # not an image, unreadable, ...
        raise ValueError(f"Could not read image file {name!r} (X[{index}]): {exc}") from None


def _describe(item, index):
    return f"X[{index}] ({os.fsdecode(item)!r})" if not isinstance(item, Image.Image) else (
        f"X[{index}]")


class ImageFiles(RowSource):
    """Images decoded from their files when their rows are read.

    Parameters
    ----------
    items : list of path-like or PIL.Image.Image
        The images, as :class:`ImageLoader` takes them.

    image_shape : tuple of (int, int, int)
        ``(height, width, channels)``: the size every image is resized to, and
        1 channel (grayscale) or 3 (RGB).

    sample_shape : tuple of int, default=None
        The shape each decoded image is given (a network fitted on flattened
        rows reads them flat); ``image_shape`` by default.
    """

    parallel_reads = True

    def __init__(self, items, image_shape, sample_shape=None):
        height, width, channels = image_shape
        self._size = _check_target_size((height, width))
        self._pil_mode = {1: "L", 3: "RGB"}[channels]
        self._image_shape = (height, width, channels)
        super().__init__(len(items), sample_shape or self._image_shape, np.float32)
        if int(np.prod(self.sample_shape)) != height * width * channels:
            raise ValueError(f"Images of shape {self._image_shape} cannot be read as samples "
                             f"of shape {self.sample_shape}.")
        self._items = items

    def _read_rows(self, index):
        out = np.empty((len(index),) + self._image_shape, dtype=np.float32)
        for k, i in enumerate(index.tolist()):
            out[k] = _read_image(self._items[i], i, self._pil_mode, self._size).reshape(
                self._image_shape)
        out /= 255  # as ImageLoader scales: in float32, after decoding
        return out.reshape((len(index),) + self.sample_shape)


def _image_shape(image_shape):
    """``image_shape`` as ``(height, width, channels)``, or None."""
    if image_shape is None:
        return None
    values = tuple(image_shape)
    if len(values) not in (2, 3) or any(isinstance(v, bool) or not isinstance(
            v, (int, np.integer)) or v < 1 for v in values):
        raise ValueError(
            f"image_shape={image_shape!r}: for image files it is the size every image is "
            "resized to, (height, width) for grayscale or (height, width, channels) with "
            "positive sizes (-1 only stands for a size of flattened rows).")
    values = tuple(int(v) for v in values) + ((1,) if len(values) == 2 else ())
    if values[2] not in (1, 3):
        raise ValueError(f"image_shape={image_shape!r}: images read from files have "
                         "1 channel (grayscale) or 3 (RGB).")
    return values


def image_files(X, image_shape=None, *, resize=True, sample_shape=None):
    """:class:`ImageFiles` for the images of X (see :func:`holds_images`),
    every header checked first (see the module docstring).

    Parameters
    ----------
    X : sequence of path-like or PIL.Image.Image
        The images.

    image_shape : tuple of int, default=None
        ``(height, width)`` (grayscale) or ``(height, width, channels)`` with
        1 or 3 channels. None: the images' own size, which must be the same
        for all, with one channel if every image is grayscale, else three.

    resize : bool, default=True
        Whether images of another size than ``image_shape`` are resized to
        it; False refuses them.

    sample_shape : tuple of int, default=None
        Passed to :class:`ImageFiles`.

    Returns
    -------
    source : ImageFiles
        The images, decoded when their rows are read.
    """
    items = _as_items(X)
    shape = _image_shape(image_shape)
    headers = [_header(item, i) for i, item in enumerate(items)]
    if shape is None:
        (width, height), _ = headers[0]
        gray = all(mode in _ONE_CHANNEL_MODES for _, mode in headers)
        shape, resize = (height, width, 1 if gray else 3), False
    if not resize:
        for i, ((width, height), _) in enumerate(headers):
            if (height, width) != shape[:2]:
                first = ("X[0]" if image_shape is None else "the images of fit")
                raise ValueError(
                    f"{_describe(items[i], i)} is {height}x{width} pixels (height x width) "
                    f"but {first} {'is' if image_shape is None else 'are'} "
                    f"{shape[0]}x{shape[1]}: images that are not resized must all have "
                    "one size. Give image_shape=(height, width[, channels]) to resize "
                    "every image to it.")
    return ImageFiles(items, shape, sample_shape)
