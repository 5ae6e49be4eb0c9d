"""KerasClassifier: a Keras model as a scikit-learn classifier."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted

from ._base import BaseWrapper
from ._targets import ClassifierTargetEncoder


class KerasClassifier(ClassifierMixin, BaseWrapper):
    """A Keras model as a scikit-learn classifier (binary, multiclass, multilabel).

    Parameters
    ----------
    model : keras.Model or callable, default=None
        The network, or a function that builds and returns it. A function
        receives the arguments it declares: estimator parameters by name
        (``KerasClassifier(build, hidden=64)``), ``model__``-prefixed
        parameters, ``meta`` (a dict describing the data: ``n_features_in_``,
        ``X_shape_``, ``classes_``, ``n_classes_``, ``target_type_``, ...) and
        ``compile_kwargs``. A model returned uncompiled is compiled with
        ``optimizer``, ``loss`` and ``metrics``. A ``keras.Model`` instance is
        copied (weights included) at every fit and never changed.

    build_fn : callable, default=None
        Alias of ``model`` kept for scikeras users.

    warm_start : bool, default=False
        Continue training the fitted model at the next ``fit``.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling for reproducible
        fits, in one thread or several. Python's and NumPy's global generators
        are seeded while the model is built, then restored as they were.
        TensorFlow's global seed is set (``keras.utils.set_random_seed``) when
        it holds another value, or when the model has layers of its own (whose
        random ops may keep state in TensorFlow), and stays set. Randomness a
        builder draws should come from Keras initializers, NumPy or ``random``.

    optimizer : str, keras.optimizers.Optimizer class or instance, default="rmsprop"
        Its parameters can be routed: ``optimizer__learning_rate=1e-3``.

    loss : str, keras.losses.Loss or callable, default=None
        None chooses binary cross-entropy for one sigmoid unit or multilabel
        targets, sparse categorical cross-entropy otherwise. Routed
        parameters: ``loss__from_logits=True``.

    metrics : list, default=None
        Keras metrics to compile with (reported in ``history_``).

    batch_size : int, default=None
        Samples per gradient step; None means 32.

    validation_batch_size : int, default=None
        Samples per validation batch; None means ``batch_size``.

    verbose : int, default=0
        Keras' verbosity during ``fit``; 0 is silent. Prediction is always silent.

    callbacks : list or dict of keras.callbacks.Callback, default=None
        Classes are instantiated with routed parameters
        (``callbacks__0__patience=3`` or ``callbacks__patience=3``).
        Small models train in a warm copy of ``model_`` kept per architecture
        (so that a new fit does not trace again): during ``fit`` a callback's
        ``self.model`` is that copy, whose weights and optimizer state
        (learning rate included) are copied into ``model_`` when ``fit`` ends.
        Read ``model_``, not a callback's ``model``, after ``fit``.

    validation_split : float, default=0.0
        Fraction of the training data, taken from its end, held out to
        compute ``val_*`` metrics each epoch. Ignored, as in Keras, when
        ``validation_data`` is given to ``fit``.

    shuffle : bool, default=True
        Reshuffle the training data every epoch.

    run_eagerly : bool, default=False
        Run Keras' train step eagerly (for debugging).

    epochs : int, default=1
        Passes over the training data per ``fit``.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.

    **kwargs : dict
        Builder arguments and routed parameters (``model__``, ``optimizer__``,
        ``loss__``, ``metrics__``, ``callbacks__``, ``fit__``, ``predict__``,
        ``compile__``), all settable with ``set_params``.

    Attributes
    ----------
    model_ : keras.Model
        The trained network.

    history_ : dict of list
        Per-epoch loss and metrics, accumulated over warm-started fits.

    classes_ : ndarray of shape (n_classes,)
        Class labels (label indices for multilabel targets).

    n_classes_ : int
        Number of classes (labels for multilabel targets).

    n_outputs_ : int
        1, or the number of labels of a multilabel target.

    target_type_ : str
        ``"binary"``, ``"multiclass"``, ``"multilabel-indicator"`` or, for
        indicator rows with a single 1 each (one-hot classes, as in scikeras),
        ``"multiclass-onehot"``: ``predict`` then returns one-hot rows.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of str
        Column names, when X was a pandas DataFrame.

    X_shape_ : tuple
        Shape of the training X.

    target_encoder_ : object
        Converts labels to the model's targets and its outputs back.

    See Also
    --------
    KerasRegressor : The regression counterpart.
    keraslearn.MLPClassifier : A ready network with scikit-learn's MLP parameters.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import make_classification
    >>> from keraslearn import KerasClassifier
    >>> def build(meta, hidden=16):
    ...     return keras.Sequential([
    ...         keras.Input(meta["X_shape_"][1:]),
    ...         keras.layers.Dense(hidden, activation="relu"),
    ...         keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ...     ])
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = KerasClassifier(build, hidden=8, optimizer="adam", epochs=5,
    ...                       random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _target_encoder_class = ClassifierTargetEncoder
    _y_numeric = False
    # scikeras' rule: indicator rows with a single 1 each are one-hot classes.
    _one_hot_targets = True

    def _new_target_encoder(self):
        return ClassifierTargetEncoder(one_hot=self._one_hot_targets)

    def __init__(
        self,
        model=None,
        *,
        build_fn=None,
        warm_start=False,
        random_state=None,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        batch_size=None,
        validation_batch_size=None,
        verbose=0,
        callbacks=None,
        validation_split=0.0,
        shuffle=True,
        run_eagerly=False,
        epochs=1,
        class_weight=None,
        **kwargs,
    ):
        super().__init__(
            model,
            build_fn=build_fn,
            warm_start=warm_start,
            random_state=random_state,
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            batch_size=batch_size,
            validation_batch_size=validation_batch_size,
            verbose=verbose,
            callbacks=callbacks,
            validation_split=validation_split,
            shuffle=shuffle,
            run_eagerly=run_eagerly,
            epochs=epochs,
            **kwargs,
        )
        self.class_weight = class_weight

    def _sample_weight(self, X, y, sample_weight):
        class_weight = self.class_weight
        if class_weight is not None:
            if not (class_weight == "balanced" or isinstance(class_weight, dict)):
                raise ValueError(
                    f"class_weight must be a dict, 'balanced' or None, got {class_weight!r}."
                )
            base = 1.0 if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
            sample_weight = base * compute_sample_weight(class_weight, y)
        return super()._sample_weight(X, y, sample_weight)

    def _check_weighted_target(self, y, sw):
        if y.ndim == 1 and len(np.unique(y[sw > 0])) < 2:
            raise ValueError(
                "Only one class has non-zero sample weight; a classifier needs samples "
                "of at least 2 classes."
            )

    def partial_fit(self, X, y, classes=None, sample_weight=None, **kwargs):
        """Train for one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), default=None
            All classes that will ever be seen; needed on the first call when
            a batch may not contain every class.
        sample_weight : array-like of shape (n_samples,), default=None
        **kwargs : dict
            Passed to ``keras.Model.fit``.

        Returns
        -------
        self : object
        """
        if classes is not None and self.__sklearn_is_fitted__():
            unknown = np.setdiff1d(np.asarray(classes), self.classes_)
            if len(unknown):
                raise ValueError(
                    f"classes {unknown.tolist()!r} differ from the classes of the first "
                    f"partial_fit call {self.classes_.tolist()!r}."
                )
        return self._partial_fit(X, y, sample_weight, classes, kwargs)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes) (or n_labels)."""
        check_is_fitted(self)
        return self.target_encoder_.predict_proba(self._raw_predict(X))

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities (``-inf`` where one is 0), as
        scikit-learn's classifiers give it."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted class labels (label indicator rows for multilabel targets)."""
        proba = self.predict_proba(X)
        return self.target_encoder_.inverse_transform(proba)

    def decision_function(self, X):
        """Log-odds of the positive class (binary, shape (n_samples,)), of each
        label (multilabel), or log-probabilities (multiclass)."""
        proba = self.predict_proba(X)
        return self.target_encoder_.decision_function(proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
