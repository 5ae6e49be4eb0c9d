"""ImageClassifier: a small convolutional network as a scikit-learn classifier."""

from numbers import Integral, Real

from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .._engine import ClassifierBehaviour, classifier_tags
from .._tf import keras
from ..preprocessing._image_files import holds_images
from ..utils import Interval, OneOf
from ._base import ReadyNetwork
from ._docstrings import fill_doc
from ._image_inputs import (
    _image_shape_param,
    _positive_ints,
    check_image_input,
    check_same_reading,
    image_source,
    infer_image_shape,
    record_reading,
)
from ._image_layout import _AUGMENTATIONS, augmentations, kernel_shape, layout, planned_layout
from ._pixels import warn_at_predict


@fill_doc
class ImageClassifier(ClassifierMixin, ClassifierBehaviour, ReadyNetwork):
    """A small convolutional network for images, as a scikit-learn classifier.

    Each entry of ``conv_filters`` adds a block Conv2D → [BatchNormalization]
    → ReLU → MaxPooling (2×2, "same" padding); dropout, a dense ReLU layer and
    the output layer follow. The output layer and the loss follow the target
    (one logistic unit for binary targets, a softmax for multiclass targets,
    one logistic unit per label for multilabel targets; the network outputs
    their logits, to which ``predict_proba`` applies them in float64).
    Optional augmentation layers (random flip, rotation, zoom) sit at the front
    of the network and act only while training: predictions are deterministic.

    X may be images of shape (n, height, width, channels), grayscale images
    (n, height, width), or flattened rows (n, height * width * channels) with
    ``image_shape``. Without ``image_shape``, flattened rows must hold a
    perfect square number of values and are read as square grayscale images
    (64 values: 8×8; 4 values: 2×2, so a table of 4 columns is read as images
    too: use ``MLPClassifier`` for tables); any other row length is a
    ValueError. Images given at
    predict must have the shape of those given to fit (grayscale images in
    either form, with or without their channel axis). Pixel values should be
    scaled to [0, 1] (``ImageLoader`` does): 8-bit values (0-255) are accepted
    with a warning, as the network learns poorly from them (and image files,
    read in [0, 1], mean nothing to a network fitted on them).

    X may also be a list (or 1-D array, or Series) of image file paths or PIL
    images, for collections larger than memory: they are decoded batch by
    batch while the network trains or predicts, several batches at once, as
    ``ImageLoader`` decodes them (RGB, or grayscale if every image is;
    scaled to [0, 1]), never all at once; or, with
    ``image_decoder="tensorflow"``, as ``keras.utils.image_dataset_from_directory``
    decodes them (grayscale only if all are JPEG or PNG). With ``image_shape``
    every image is resized to it; without,
    the images must all have one size (that of fit, at predict). Every file's
    header is read first: a missing file, a file that is not an image (or that
    ``image_decoder`` cannot read) or images of different sizes raise an error
    naming the file before training starts. Files are only read.

    Parameters
    ----------
    conv_filters : int or tuple of int, default=(32, 64)
        Filters of each convolution block (an int: one block).

    kernel_size : int or tuple of (int, int), default=3
        Size of the convolution kernels.

    dense_units : int, default=128
        Units of the dense layer before the output; 0 for none.

    dropout : float, default=0.25
        Dropout rate after the convolution blocks and after the dense layer,
        in [0, 1).

    batch_normalization : bool, default=False
        Add ``BatchNormalization`` after each convolution (synchronized
        across replicas under ``distribute``).

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
        one-pixel-wide images. For image files, the size every image is
        resized to ((height, width) for grayscale).

    image_decoder : {"pillow", "tensorflow"}, default="pillow"
        How image files (X as paths) are decoded. ``"pillow"``: as
        ``ImageLoader`` decodes them (Pillow, any format it reads, resized
        with bilinear resampling anti-aliased when shrinking), so that a fit
        on the paths equals a fit on ImageLoader's array. ``"tensorflow"``:
        as ``keras.utils.image_dataset_from_directory`` decodes them
        (TensorFlow's ``decode_image`` and ``tf.image.resize``, bilinear
        without anti-aliasing, then divided by 255), by TensorFlow's ops in
        the input pipeline without Python, as fast as Keras' own loader; for
        JPEG, PNG, GIF and BMP files. Predictions on paths decode (and
        resize) them as the fit did, even after ``set_params`` changes
        ``image_decoder`` or ``image_shape``.

    epochs : int, default=10
        Passes over the training data per ``fit``.

    batch_size : int, default=32
        Samples per gradient step (clipped to the number of samples).

    learning_rate : float, default=0.001
        Learning rate of the optimizer.

    optimizer : str, keras.optimizers.Optimizer class or instance, default="adam"
        A name or class is created with ``learning_rate``; an instance is
        copied with its own settings, made again from its config as Keras
        copies one: ``exclude_from_weight_decay`` is not kept.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified),
        stop when the validation loss has not fallen below its best for more
        than ``n_iter_no_change`` epochs (as Keras' ``EarlyStopping`` with
        ``patience=n_iter_no_change + 1``), and restore the best epoch's weights.

    validation_fraction : float, default=0.1
        Fraction held out by ``early_stopping``, in [0, 1) (used only with
        ``early_stopping``, where it must hold out 2 rows or more).

    n_iter_no_change : int, default=5
        Epochs without improvement tolerated by ``early_stopping``.

    reduce_lr_on_plateau : bool or dict, default=False
        Add ``keras.callbacks.ReduceLROnPlateau`` (halving the learning rate,
        down to 1e-6, after ``n_iter_no_change // 2`` epochs in which the
        training loss — the validation loss with ``early_stopping`` — did not
        improve at all); a dict overrides its arguments.

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
        ``early_stopping``'s count and best weights go on, as in scikit-learn's MLP.

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
        The trained Keras network. It outputs logits: a sigmoid (binary,
        multilabel) or softmax (multiclass) of them are ``predict_proba``'s.

    history_ : dict of list
        Keras' per-epoch logs.

    n_features_in_ : int
        Size of the second dimension of the training images (their height,
        or the length of flat rows), those decoded from files included.

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

    # What to give instead of images of different sizes (explained_input_errors).
    _ragged_hint = ("Images of different sizes? Give them as file paths or PIL images with "
                    "image_shape=(height, width, channels): each is resized to it as it "
                    "is read.")

    _parameter_constraints = {
        "conv_filters": ["array-like", Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "dense_units": [Interval(Integral, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_normalization": ["boolean"],
        "augmentation": [None, "boolean", str, tuple, list, dict],
        "image_shape": [None, tuple, list],
        "image_decoder": [OneOf("pillow", "tensorflow")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [None, str, type, keras.optimizers.Optimizer],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "reduce_lr_on_plateau": ["boolean", dict],
        "callbacks": [None, list, tuple],
        "class_weight": [dict, list, OneOf("balanced"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "device": [None, str],
        # distribute: checked by the engine, as for the wrappers
        "dtype": [None, OneOf("float32", "float64")],
    }

    def __init__(
        self, *, conv_filters=(32, 64), kernel_size=3, dense_units=128, dropout=0.25,
        batch_normalization=False, augmentation=None, image_shape=None,
        image_decoder="pillow", epochs=10,
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
        self.image_decoder = image_decoder
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
        return augmentations(self.augmentation)

    def _needs_rebuild(self, model, plan):
        # Other layers: partial_fit refuses to go on (another dropout rate or
        # augmentation: built again, carrying the state).
        return super()._needs_rebuild(model, plan) or layout(model) != planned_layout(self)

    def _input_source(self, X, reset):
        return image_source(self, X, reset)

    def _prepare_training_data(self, X, y, reset):
        if reset:
            self.image_shape_ = infer_image_shape(self, X.shape[1:])
            record_reading(self)
        return X, y

    def _raw_predict(self, X):
        check_is_fitted(self)
        X = check_image_input(self, X)
        warn_at_predict(self, X, fitted_on_8bit=self.__dict__.get("_fitted_on_8bit"),
                        files=holds_images(X))
        return super()._raw_predict(X)

    def _fit(self, X, y, sample_weight, *, mode, fit_kwargs=None, classes=None):
        if mode in ("warm", "partial") and self.__sklearn_is_fitted__():
            check_same_reading(self, mode, X)
            X = check_image_input(self, X)
        return super()._fit(X, y, sample_weight, mode=mode, fit_kwargs=fit_kwargs,
                            classes=classes)

    # ---------------------------------------------------------- training
    def _batch_size(self, n_train):
        return max(1, min(self.batch_size, n_train))

    def _stopping_monitor(self):
        if self.early_stopping:
            return "val_loss", True, True
        return None, True, False

    _takes_sparse = False  # images are dense: sparse X gets scikit-learn's clear error
    _ties_improve = False  # no tol: a loss equal to the best is no improvement, as in Keras
    __metadata_request__partial_fit = {"callbacks": None}  # routed, once requested
    # Float (keras.utils.img_to_array's) and integer images of 0-255 values get the
    # 8-bit warning too.
    _warns_wide_pixels = True

    def _epochs(self):
        return self.epochs

    def __sklearn_tags__(self):
        tags = classifier_tags(super().__sklearn_tags__())
        tags.input_tags.three_d_array = tags.input_tags.string = True  # grayscale; paths
        return tags

    def _optimizer_spec(self):
        return self._optimizer_and_kwargs("adam", self.learning_rate)

    def _keras_build_fn(self, meta, plan):
        dtype = self._dtype()
        seeds = self._layer_seeds(plan)

        def init():
            return keras.initializers.GlorotUniform(seed=next(seeds))

        # Images are (height, width, channels) whatever Keras' image_data_format
        # (keras.json may say channels_first): every layer is told so.
        last = {"data_format": "channels_last", "dtype": dtype}
        layers = [keras.Input(plan.sample[0], dtype=dtype)]  # (past a feature encoder)
        if tuple(plan.sample[0]) != self.image_shape_:
            layers.append(keras.layers.Reshape(self.image_shape_, dtype=dtype))
        for name, value in self._augmentations():
            layers.append(_AUGMENTATIONS[name][0](value, seed=next(seeds), **last))
        kernel = kernel_shape(self.kernel_size)
        for filters in _positive_ints(self.conv_filters, "conv_filters", allow_empty=True):
            bn = self.batch_normalization
            layers.append(keras.layers.Conv2D(
                filters, kernel, padding="same", use_bias=not bn, kernel_initializer=init(),
                **last,
            ))
            if bn:
                layers.append(keras.layers.BatchNormalization(
                    dtype=dtype, synchronized=self.distribute is not None))
            layers.append(keras.layers.Activation("relu", dtype=dtype))
            layers.append(keras.layers.MaxPooling2D(2, padding="same", **last))
        if self.dropout:
            layers.append(keras.layers.Dropout(self.dropout, dtype=dtype, seed=next(seeds)))
        layers.append(keras.layers.Flatten(**last))
        if self.dense_units:
            layers.append(keras.layers.Dense(
                self.dense_units, activation="relu", dtype=dtype, kernel_initializer=init()))
            if self.dropout:
                layers.append(keras.layers.Dropout(self.dropout, dtype=dtype, seed=next(seeds)))
        # Logits: predict_proba applies the logistic function or the softmax in float64
        units = 1 if meta["target_type_"] == "binary" else meta["n_classes_"]
        layers.append(keras.layers.Dense(units, dtype=dtype, kernel_initializer=init()))
        return keras.Sequential(layers)

    def _keras_loss(self, meta):
        # From the logits (a float32 sigmoid is exactly 1 past a logit of ~16.6)
        kind = (keras.losses.SparseCategoricalCrossentropy
                if meta["target_type_"] == "multiclass" else keras.losses.BinaryCrossentropy)
        return kind(from_logits=True, dtype=self._dtype())
