"""Image files decoded batch by batch: what ``ImageClassifier.fit(paths, y)`` reads.

:class:`ImageFiles` is a row source of the engine (``keraslearn._engine._sources``)
that decodes only the rows asked for, with one of two decoders:

- ``"pillow"``: it stands for the array :class:`ImageLoader` would return for
  the same paths (default ``scale`` and ``dtype``), decoded with ImageLoader's
  own code (Pillow: convert to RGB or grayscale, resize with bilinear
  resampling, anti-aliased when shrinking, scale to [0, 1]), so that a fit on
  the paths computes what a fit on ImageLoader's array computes. The engine
  decodes several batches at once (``parallel_reads``), in Python threads.
- ``"tensorflow"``: the pixels ``keras.utils.image_dataset_from_directory``
  gives (TensorFlow's ``decode_image`` and ``tf.image.resize``, bilinear
  without anti-aliasing), divided by 255. The engine runs the decoding as
  TensorFlow ops inside its input pipeline (``reads_in_tensorflow``): no
  Python, as Keras' own loader. For JPEG, PNG, GIF and BMP files only.

Memory holds the list of paths (a tensor's as NumPy holds them: bytes) and a few
decoded batches, however many files there are. Before anything is decoded,
:func:`image_files` opens every file for its header only (size, mode and format,
no pixels): a missing file, a file that is not an image (or that the decoder
cannot read), or -- when the images are not resized -- images of different sizes
are refused then, naming the file, before TensorFlow runs. Files are only ever
opened for reading.
"""

import os
import re

import numpy as np
from PIL import Image

from .._engine._feed import limit_threads
from .._engine._sources import RowSource
from .._tf import tf
from ..utils._columns import tensor_values
from ..utils._validation import is_missing
from ._image import _as_items, _check_target_size, _read_image, check_decoder
from ._image_errors import bmp_unread, check_regular_file, not_found, path_text, unreadable

# Images of a batch TensorFlow may decode at once (as many as its threads run):
# fewer leave the cores idle while a batch is decoded one image after another.
_PARALLEL_DECODES = 32
# Images read eagerly one after the other (below, a tf.data map is worth its trace).
_EAGER_DECODES = 32
# The formats TensorFlow's decode_image reads (Pillow's names), by the number
# of channels it reads them into (GIF and BMP files only as RGB).
_TENSORFLOW_FORMATS = {3: ("JPEG", "PNG", "GIF", "BMP"), 1: ("JPEG", "PNG")}
# Pillow's names of JPEG files of another kind: a multi-picture JPEG (MPO, as
# many phone cameras write) is decoded by TensorFlow as JPEG (its first picture).
_AS_JPEG = frozenset({"MPO"})
# Files of those formats decode_image fails on, by (format, Pillow mode, channels).
# (BMP files: :func:`bmp_unread`.)
_TENSORFLOW_UNREAD = {("JPEG", "CMYK", 1): "a CMYK JPEG file read as grayscale"}

# Pillow modes that ImageLoader reads as one channel (grayscale) when the
# number of channels is taken from the images; other modes are read as RGB.
_ONE_CHANNEL_MODES = frozenset(
    {"1", "L", "LA", "La", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"})


def _tensorflow_format(fmt):
    """Pillow's name of a file's format, as TensorFlow's decode_image reads it."""
    return "JPEG" if fmt in _AS_JPEG else fmt


def _first_item(X):
    """The first element of X that is not missing (one missing first hid the
    paths after it) when X may be a collection of images, else None."""
    X = tensor_values(X)
    items = ()
    if isinstance(X, np.ndarray) and X.dtype.kind in "OUST":  # (its first column; T: StringDType)
        items = X.flat if X.ndim < 2 else X[:, 0] if X.ndim == 2 and X.shape[1] else ()
    elif hasattr(X, "iloc") and hasattr(X, "ndim"):  # pandas Series or DataFrame
        column = X if X.ndim == 1 else X.iloc[:, 0] if X.shape[1] == 1 else None
        items = () if column is None or column.dtype.kind in "biufcmM" else column
    elif hasattr(X, "head") and getattr(X, "width", 1) == 1:  # polars: its first row, else
        items = (v for rows in (lambda: X.head(1), lambda: X.drop_nulls().head(1))  # its
                 for v in np.asarray(rows().to_numpy(), dtype=object).flat)  # first not null
    elif isinstance(X, (list, tuple)):
        items = (v[0] if isinstance(v, (list, tuple)) and len(v) == 1 else v for v in X)
    return next((item for item in items if not is_missing(item)), None)


def holds_images(X):
    """Whether X is a collection of image file paths (``str`` or
    :class:`pathlib.Path`) or PIL images, as :class:`ImageLoader` takes."""
    return isinstance(_first_item(X), (str, bytes, os.PathLike, Image.Image))


def _header(item, index):
    """``((width, height), mode, format)`` of an image file (its header only)
    or PIL image."""
    if isinstance(item, Image.Image):
        return item.size, item.mode, item.format
    if not isinstance(item, (str, bytes, os.PathLike)):
        raise TypeError(
            "X holds image paths, so every element must be a file path or a PIL image; "
            f"X[{index}] is " + ("missing." if is_missing(item) else f"a {type(item).__name__}."))
    name = path_text(item)
    check_regular_file(name, index)
    try:
        with Image.open(name if isinstance(item, str) else item) as img:
            return img.size, img.mode, img.format
    except FileNotFoundError:  # (removed since)
        raise not_found(name, index) from None
    except Exception as exc:  # not an image, unreadable, ...
        raise unreadable(name, index, exc) from None


def _describe(item, index):
    return f"X[{index}] ({path_text(item)!r})" if not isinstance(item, Image.Image) else (
        f"X[{index}]")


class ImageFiles(RowSource):
    """Images decoded from their files when their rows are read.

    Parameters
    ----------
    items : list of path-like or PIL.Image.Image
        The images, as :class:`ImageLoader` takes them (file paths only for
        the ``"tensorflow"`` decoder).

    image_shape : tuple of (int, int, int)
        ``(height, width, channels)``: the size every image is resized to, and
        1 channel (grayscale) or 3 (RGB).

    sample_shape : tuple of int, default=None
        The shape each decoded image is given (a network fitted on flattened
        rows reads them flat); ``image_shape`` by default.

    decoder : {"pillow", "tensorflow"}, default="pillow"
        Who decodes the files (see the module docstring).

    scale : bool, default=True
        Divide the pixels by 255 (the ``"tensorflow"`` decoder's only: the
        Pillow decoder always scales, as ImageLoader's default does).
    """

    parallel_reads = True

    def __init__(self, items, image_shape, sample_shape=None, decoder="pillow", scale=True):
        height, width, channels = image_shape
        self._size = _check_target_size((height, width))
        self._pil_mode = {1: "L", 3: "RGB"}[channels]
        self._image_shape = (height, width, channels)
        super().__init__(len(items), sample_shape or self._image_shape, np.float32)
        if int(np.prod(self.sample_shape)) != height * width * channels:
            raise ValueError(f"Images of shape {self._image_shape} cannot be read as samples "
                             f"of shape {self.sample_shape}.")
        self._items = items
        self.decoder = check_decoder(decoder)
        self._divisor = 255.0 if scale else 1.0
        # The "tensorflow" decoder's paths, as a string tensor.
        self._paths = (tf.constant([os.fsencode(item) for item in items])
                       if self.reads_in_tensorflow else None)

    @property
    def reads_in_tensorflow(self):
        """Whether the rows are read by TensorFlow ops (:meth:`tf_read`)."""
        return self.decoder == "tensorflow"

    def _read_rows(self, index):
        if self.reads_in_tensorflow:
            return self._decoded_eagerly(index)
        out = np.empty((len(index),) + self._image_shape, dtype=np.float32)
        for k, i in enumerate(index.tolist()):
            out[k] = _read_image(self._items[i], i, self._pil_mode, self._size).reshape(
                self._image_shape)
        out /= 255  # as ImageLoader scales: in float32, after decoding
        return out.reshape((len(index),) + self.sample_shape)

    def tf_read(self, index):
        """The rows ``index`` (an integer tensor of positions in this source),
        decoded by TensorFlow ops (:func:`_decode_file`, divided by 255 unless
        not scaled), several at once: a float32 tensor, for ``tf.data``
        (:meth:`_decoded_eagerly` reads them outside a traced function)."""
        images = tf.map_fn(lambda path: _decode_file(path, self._image_shape),
                           tf.gather(self._paths, self._tf_positions(index)),
                           fn_output_signature=tf.TensorSpec(self._image_shape, tf.float32),
                           parallel_iterations=_PARALLEL_DECODES)
        return tf.reshape(images / self._divisor, tf.concat([[-1], self.sample_shape], 0))

    def tf_read_row(self, i):
        """Row ``i`` (a scalar integer tensor) as :meth:`tf_read` reads it."""
        image = _decode_file(tf.gather(self._paths, self._tf_positions(i)), self._image_shape)
        return tf.reshape(image / self._divisor, self.sample_shape)

    def _tf_positions(self, index):
        """``index`` (positions in this source) as positions in the whole source."""
        index = tf.cast(index, tf.int64)
        if self._rows is None:
            return index
        with tf.init_scope():  # made once, outside any traced function
            rows = tf.constant(self._rows, tf.int64)
        return tf.gather(rows, index)

    def _decoded_eagerly(self, positions):
        """The images at ``positions`` (a NumPy array) as :meth:`tf_read`
        decodes them, read outside any traced function: a few one after the
        other (nothing to trace), more in a ``tf.data`` map decoding several at
        once, as Keras' own loader does (``tf.map_fn`` run eagerly decodes one
        at a time, at several times the cost)."""
        paths = tf.gather(self._paths, tf.constant(positions, tf.int64))
        out = np.empty((len(positions),) + self._image_shape, np.float32)
        if len(positions) <= _EAGER_DECODES:
            for k, path in enumerate(paths):
                out[k] = _decode_file(path, self._image_shape)
        else:
            images = limit_threads(tf.data.Dataset.from_tensor_slices(paths).map(
                lambda path: _decode_file(path, self._image_shape),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(_PARALLEL_DECODES))
            start = 0
            for batch in images:
                out[start:start + len(batch)] = batch
                start += len(batch)
        out /= self._divisor
        return out.reshape((len(positions),) + self.sample_shape)

    def decoding_failure(self):
        """After TensorFlow failed to decode one of the files: an error
        naming the first of this source's files it cannot decode, or None."""
        if not self.reads_in_tensorflow:
            return None
        positions = range(self._n) if self._rows is None else self._rows.tolist()
        for i in positions:
            try:
                _decode_file(self._paths[i], self._image_shape)
            except tf.errors.NotFoundError:  # (removed since the fit began)
                return not_found(path_text(self._items[i]), i)
            except tf.errors.OpError as exc:
                reason = re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:.*$", "", exc.message.strip()).rstrip(".")
                return ValueError(  # (Pillow's advice where Pillow reads it: a truncated file not)
                    f"TensorFlow could not decode image file {path_text(self._items[i])!r} "
                    f"(X[{i}]): {reason}" + (" (image_decoder='pillow' reads what Pillow reads)."
                                             if _pillow_reads(self._items[i]) else "."))
        return None


def _pillow_reads(item):
    """Whether Pillow decodes the image file ``item`` whole."""
    try:
        with Image.open(item) as image:
            image.load()
    except Exception:
        return False
    return True


def _decode_file(path, image_shape):
    """The image file ``path`` (a string tensor) as
    ``keras.utils.image_dataset_from_directory`` reads it: ``decode_image``,
    then ``tf.image.resize`` (bilinear) to ``image_shape``, in float32."""
    height, width, channels = image_shape
    image = tf.io.decode_image(tf.io.read_file(path), channels=channels,
                               expand_animations=False)
    image = tf.image.resize(image, (height, width), method="bilinear")
    image.set_shape(image_shape)
    return image


_DECODER_ADVICE = "Use image_decoder='pillow' (ImageLoader's decoding) for it"
_FITTED_ADVICE = ("This estimator reads images as its fit did (image_decoder='tensorflow'): "
                  "give it files TensorFlow reads, or the images as arrays, scaled as the "
                  "fit's files were, or fit it with image_decoder='pillow'")


def _check_tensorflow_reads(items, headers, channels, advice):
    """Refuse, named, any item TensorFlow's decode_image cannot read into
    ``channels`` channels, with ``advice``."""
    formats = _TENSORFLOW_FORMATS[channels]
    for i, (item, (_, mode, fmt)) in enumerate(zip(items, headers)):
        fmt = _tensorflow_format(fmt)
        unread = _TENSORFLOW_UNREAD.get((fmt, mode, channels)) or (
            bmp_unread(item) if fmt == "BMP" and not isinstance(item, Image.Image) else None)
        if unread is not None:  # a format it reads, in a form it does not
            raise ValueError(
                f"{_describe(item, i)} is {unread}, which TensorFlow's decode_image cannot "
                f"read (image_decoder='tensorflow'). {advice}.")
        if isinstance(item, Image.Image) or fmt not in formats:
            what = ("a PIL image" if isinstance(item, Image.Image) else
                    f"a {fmt} file" if fmt else "an image of unknown format")
            kind = "" if channels == 3 else " grayscale images from"
            raise ValueError(
                f"{_describe(item, i)} is {what}: image_decoder='tensorflow' reads{kind} "
                f"{', '.join(formats[:-1])} and {formats[-1]} files only. {advice}.")


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


def image_files(X, image_shape=None, *, resize=True, sample_shape=None, decoder="pillow",
                scale=True, fitted=False):
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

    decoder : {"pillow", "tensorflow"}, default="pillow"
        Who decodes the files; TensorFlow reads file paths of JPEG, PNG, GIF
        and BMP images only: any other item is refused, named.

    scale : bool, default=True
        Passed to :class:`ImageFiles`.

    fitted : bool, default=False
        Whether the images are read as a fitted estimator's fit read them
        (an error then says what to give it instead, not which decoder to fit with).

    Returns
    -------
    source : ImageFiles
        The images, decoded when their rows are read.
    """
    decoder = check_decoder(decoder)
    items = _as_items(X)
    shape = _image_shape(image_shape)
    headers = [_header(item, i) for i, item in enumerate(items)]
    if shape is None:
        (width, height), _, _ = headers[0]
        # Grayscale where every image is (and, for TensorFlow's decoder, of a
        # format it reads as grayscale: its GIF and BMP images are RGB).
        gray = all(mode in _ONE_CHANNEL_MODES and (
            decoder != "tensorflow" or _tensorflow_format(fmt) in _TENSORFLOW_FORMATS[1])
            for _, mode, fmt in headers)
        shape, resize = (height, width, 1 if gray else 3), False
    if decoder == "tensorflow":
        _check_tensorflow_reads(items, headers, shape[2], _FITTED_ADVICE if fitted else
                                _DECODER_ADVICE)
    if not resize:
        for i, ((width, height), _, _) in enumerate(headers):
            if (height, width) != shape[:2]:
                first = ("X[0]" if image_shape is None else "the images of fit")
                raise ValueError(
                    f"{_describe(items[i], i)} is {height}x{width} pixels (height x width) "
                    f"but {first} {'is' if image_shape is None else 'are'} "
                    f"{shape[0]}x{shape[1]}: images that are not resized must all have "
                    "one size. " + (
                        f"This estimator reads images as its fit did: resize them to "
                        f"{shape[0]}x{shape[1]} first (ImageLoader(target_size=...)), or fit "
                        "it with image_shape=(height, width[, channels]) to resize every "
                        "image." if fitted else "Give image_shape=(height, width[, channels]) "
                        "to resize every image to it."))
    return ImageFiles(items, shape, sample_shape, decoder, scale)
