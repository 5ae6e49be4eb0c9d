"""ImageClassifier: a small convolutional network as a scikit-learn classifier."""

import math
from collections.abc import Callable
from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .._engine import ClassifierBehaviour, classifier_tags
from .._tf import keras
from ..utils import Interval, OneOf, suggest
from ._base import ReadyNetwork
from ._docstrings import fill_doc

# Augmentation name -> (Keras layer, default argument when given by name or True).
_AUGMENTATIONS = {
    "flip": (keras.layers.RandomFlip, "horizontal"),
    "rotation": (keras.layers.RandomRotation, 0.1),
    "zoom": (keras.layers.RandomZoom, 0.1),
}
_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


def _positive_ints(value, name, length=None, allow_empty=False):
    values = [value] if np.ndim(value) == 0 else list(np.asarray(value, dtype=object).ravel())
    ok = (allow_empty or values) and all(
        isinstance(v, (Integral, np.integer)) and not isinstance(v, bool) and v > 0
        for v in values
    )
    if not ok or (length is not None and len(values) not in length):
        raise ValueError(f"{name} must hold positive integers, got {value!r}.")
    return tuple(int(v) for v in values)


def _image_shape_param(value, n_values=None):
    """``image_shape`` as a tuple of 2 or 3 ints; a single -1 stands for the
    size that makes the image hold ``n_values`` values (as in numpy.reshape)."""
    values = [value] if np.ndim(value) == 0 else list(np.asarray(value, dtype=object).ravel())
    unknown = [i for i, v in enumerate(values) if isinstance(v, (Integral, np.integer))
               and not isinstance(v, bool) and v == -1]
    if len(unknown) == 1 and len(values) in (2, 3):
        known = [v for i, v in enumerate(values) if i != unknown[0]]
        known = _positive_ints(known, "image_shape", length=(1, 2))
        if n_values is None:
            return None
        size = n_values // math.prod(known)
        values = list(known)
        values.insert(unknown[0], max(size, 1))
    return _positive_ints(values, "image_shape", length=(2, 3))


@fill_doc
class ImageClassifier(ClassifierMixin, ClassifierBehaviour, ReadyNetwork):
    """A small convolutional network for images, as a scikit-learn classifier.

    Each entry of ``conv_filters`` adds a block Conv2D → [BatchNormalization]
    → ReLU → MaxPooling (2×2, "same" padding); dropout, a dense ReLU layer and
    the output layer follow. The output layer and the loss follow the target
    (one sigmoid unit for binary targets, a softmax for multiclass targets,
    one sigmoid unit per label for multilabel targets). Optional augmentation
    layers (random flip, rotation, zoom) sit at the front of the network and
    act only while training: predictions are deterministic.

    X may be images of shape (n, height, width, channels), grayscale images
    (n, height, width), or flattened rows (n, height * width * channels) with
    ``image_shape``. Without ``image_shape``, flattened rows must hold a
    perfect square number of values and are read as square grayscale images
    (64 values: 8×8; 4 values: 2×2, so a table of 4 columns is read as images
    too: use ``MLPClassifier`` for tables); any other row length is a
    ValueError. Images given at
    predict must have the shape of those given to fit. Pixel values should be
    scaled to [0, 1] (``ImageLoader`` does): 8-bit values (0-255) are accepted
    with a warning, as the network learns poorly from them.

    Parameters
    ----------
    conv_filters : tuple of int, default=(32, 64)
        Filters of each convolution block.

    kernel_size : int or tuple of (int, int), default=3
        Size of the convolution kernels.

    dense_units : int, default=128
        Units of the dense layer before the output; 0 for none.

    dropout : float, default=0.25
        Dropout rate after the convolution blocks and after the dense layer,
        in [0, 1).

    batch_normalization : bool, default=False
        Add ``BatchNormalization`` after each convolution.

    augmentation : None, bool, str, tuple of str or dict, default=None
        Training-time augmentation with Keras preprocessing layers: names
        among ``"flip"``, ``"rotation"``, ``"zoom"`` (``True`` for all three),
        or a dict giving each one's argument: ``{"flip": "horizontal",
        "rotation": 0.1, "zoom": 0.2}`` (flip mode; rotation as a fraction of
        a full turn; zoom as a fraction of the size).

    image_shape : tuple of int or None, default=None
        ``(height, width, channels)`` (or ``(height, width)`` for grayscale)
        of the images when X holds flattened rows. Inferred from X otherwise.
        One size may be -1, computed from the row length as in
        ``numpy.reshape``: ``(-1, 1, 1)`` reads rows of any length as
        one-pixel-wide images.

    epochs : int, default=10
        Passes over the training data per ``fit``.

    batch_size : int, default=32
        Samples per gradient step (clipped to the number of samples).

    learning_rate : float, default=0.001
        Learning rate of the optimizer.

    optimizer : str, keras.optimizers.Optimizer class or instance, default="adam"
        A name or class is created with ``learning_rate``; an instance is
        copied with its own settings.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified),
        stop when the validation loss has not improved for more than
        ``n_iter_no_change`` epochs, and restore the best epoch's weights.

    validation_fraction : float, default=0.1
        Fraction held out by ``early_stopping``, in (0, 1).

    n_iter_no_change : int, default=5
        Epochs without improvement tolerated by ``early_stopping``.

    reduce_lr_on_plateau : bool or dict, default=False
        Add ``keras.callbacks.ReduceLROnPlateau`` (halving the learning rate
        when the training loss — the validation loss with ``early_stopping``
        — stalls); a dict overrides its arguments.

    {callbacks}

    {class_weight}

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, augmentation, shuffling and the
        early-stopping split.

    verbose : int, default=0
        Keras' verbosity during ``fit`` (0 silent, 1 progress bar, 2 one line
        per epoch).

    warm_start : bool, default=False
        Continue training the fitted network at the next ``fit``, with the
        current parameters (a new optimizer); the architecture must stay the same.

    {device_dtype}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    image_shape_ : tuple of (int, int, int)
        ``(height, width, channels)`` of the images the network reads.

    n_iter_ : int
        Epochs run by the last ``fit``.

    loss_curve_ : list of float
        Training loss of every epoch.

    model_ : keras.Model
        The trained Keras network.

    history_ : dict of list
        Keras' per-epoch logs.

    n_features_in_ : int
        Size of the second dimension of the training X.

    See Also
    --------
    keraslearn.preprocessing.ImageLoader : Image files to arrays, to put
        before this classifier in a Pipeline.
    MLPClassifier : A dense network for tabular data.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from keraslearn import ImageClassifier
    >>> digits = load_digits()
    >>> X = digits.images / 16.0  # 8x8 grayscale images
    >>> clf = ImageClassifier(conv_filters=(16,), dense_units=32, epochs=8,
    ...                       random_state=0)
    >>> clf.fit(X[:1500], digits.target[:1500]).image_shape_
    (8, 8, 1)
    >>> clf.score(X[1500:], digits.target[1500:]) > 0.85
    True
    """

    _parameter_constraints = {
        "conv_filters": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "dense_units": [Interval(Integral, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_normalization": ["boolean"],
        "augmentation": [None, "boolean", str, tuple, list, dict],
        "image_shape": [None, tuple, list],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [None, str, type, keras.optimizers.Optimizer],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "reduce_lr_on_plateau": ["boolean", dict],
        "callbacks": [None, list, tuple],
        "class_weight": [dict, OneOf("balanced"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "device": [None, str],
        "distribute": [None, str, list, tuple, Callable],
        "dtype": [None, OneOf("float32", "float64")],
    }

    def __init__(
        self, *, conv_filters=(32, 64), kernel_size=3, dense_units=128, dropout=0.25,
        batch_normalization=False, augmentation=None, image_shape=None, epochs=10,
        batch_size=32, learning_rate=0.001, optimizer="adam", early_stopping=False,
        validation_fraction=0.1, n_iter_no_change=5, reduce_lr_on_plateau=False,
        callbacks=None, class_weight=None, random_state=None, verbose=0, warm_start=False,
        device="auto", distribute=None, dtype=None,
    ):
        self.conv_filters = conv_filters
        self.kernel_size = kernel_size
        self.dense_units = dense_units
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.augmentation = augmentation
        self.image_shape = image_shape
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.reduce_lr_on_plateau = reduce_lr_on_plateau
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.device = device
        self.distribute = distribute
        self.dtype = dtype

    # ------------------------------------------------------------- checks
    def _check_extra_params(self):
        super()._check_extra_params()
        _positive_ints(self.conv_filters, "conv_filters", allow_empty=True)
        _positive_ints(self.kernel_size, "kernel_size", length=(1, 2))
        if self.image_shape is not None:
            _image_shape_param(self.image_shape)
        self._augmentations()

    def _augmentations(self):
        """[(name, argument)] of the augmentation layers, validated."""
        aug = self.augmentation
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
        return out

    def _prepare_training_data(self, X, y, reset):
        if reset:
            self.image_shape_ = self._infer_image_shape(X.shape[1:])
        return X, y

    def _infer_image_shape(self, per_sample):
        per_sample = tuple(int(v) for v in per_sample)
        if len(per_sample) > 3:
            raise ValueError(
                "X must hold images (n, height, width, channels), grayscale images "
                f"(n, height, width) or flattened rows; got {len(per_sample) + 1} dimensions."
            )
        if self.image_shape is not None:
            shape = _image_shape_param(self.image_shape, math.prod(per_sample))
            shape = shape + (1,) if len(shape) == 2 else shape
            same = per_sample == shape or per_sample + (1,) == shape
            if math.prod(shape) != math.prod(per_sample) or (len(per_sample) > 1 and not same):
                raise ValueError(
                    f"image_shape={self.image_shape!r} does not match X, whose samples "
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

    def _check_image_input(self, X):
        """Refuse X whose images differ from those of fit, in words of images
        (scikit-learn's check would speak of a number of features)."""
        shape = X.shape if hasattr(X, "shape") else np.asarray(X).shape
        per_sample, fitted = tuple(shape[1:]), tuple(self.X_shape_[1:])
        if len(shape) < 2 or per_sample == fitted:
            return  # fine, or not samples at all: scikit-learn's validation says so
        name = type(self).__name__
        size = "x".join(str(v) for v in self.image_shape_)
        fix = ("Give images of the size used in fit (ImageLoader's target_size resizes "
               "image files).")
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

    def _raw_predict(self, X):
        check_is_fitted(self)
        self._check_image_input(X)
        return super()._raw_predict(X)

    def _fit(self, X, y, sample_weight, *, mode, fit_kwargs=None, classes=None):
        if mode in ("warm", "partial") and self.__sklearn_is_fitted__():
            self._check_image_input(X)
        return super()._fit(X, y, sample_weight, mode=mode, fit_kwargs=fit_kwargs,
                            classes=classes)

    # ---------------------------------------------------------- training
    def _batch_size(self, n_train):
        return max(1, min(self.batch_size, n_train))

    def _tol(self):
        return 0.0

    def _stopping_monitor(self):
        if self.early_stopping:
            return "val_loss", True, True
        return None, True, False

    # Images are dense: sparse X gets scikit-learn's clear error.
    _takes_sparse = False

    def _epochs(self):
        return self.epochs

    def __sklearn_tags__(self):
        return classifier_tags(super().__sklearn_tags__())

    def _optimizer_spec(self):
        return self._optimizer_and_kwargs("adam", self.learning_rate)

    def _keras_build_fn(self, meta, plan):
        dtype = self._dtype()
        layers = [keras.Input(meta["X_shape_"][1:], dtype=dtype)]
        if tuple(meta["X_shape_"][1:]) != self.image_shape_:
            layers.append(keras.layers.Reshape(self.image_shape_, dtype=dtype))
        for name, value in self._augmentations():
            layers.append(_AUGMENTATIONS[name][0](value, dtype=dtype))
        kernel = _positive_ints(self.kernel_size, "kernel_size", length=(1, 2))
        for filters in _positive_ints(self.conv_filters, "conv_filters", allow_empty=True):
            bn = self.batch_normalization
            layers.append(keras.layers.Conv2D(
                filters, kernel * (3 - len(kernel)), padding="same", use_bias=not bn, dtype=dtype
            ))
            if bn:
                layers.append(keras.layers.BatchNormalization(dtype=dtype))
            layers.append(keras.layers.Activation("relu", dtype=dtype))
            layers.append(keras.layers.MaxPooling2D(2, padding="same", dtype=dtype))
        if self.dropout:
            layers.append(keras.layers.Dropout(self.dropout, dtype=dtype))
        layers.append(keras.layers.Flatten(dtype=dtype))
        if self.dense_units:
            layers.append(keras.layers.Dense(self.dense_units, activation="relu", dtype=dtype))
            if self.dropout:
                layers.append(keras.layers.Dropout(self.dropout, dtype=dtype))
        if meta["target_type_"] == "multiclass":
            units, activation = meta["n_classes_"], "softmax"
        else:
            units = 1 if meta["target_type_"] == "binary" else meta["n_classes_"]
            activation = "sigmoid"
        layers.append(keras.layers.Dense(units, activation=activation, dtype=dtype))
        return keras.Sequential(layers)
