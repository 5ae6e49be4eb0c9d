"""KerasClassifier: a Keras model as a scikit-learn classifier."""

from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.metaestimators import available_if

from .._engine import ClassifierBehaviour, classifier_tags
from .._engine._classification import gives_probabilities
from ._base import BaseWrapper
from ._docstrings import fill_doc


@fill_doc
class KerasClassifier(ClassifierMixin, ClassifierBehaviour, BaseWrapper):
    """A Keras model as a scikit-learn classifier (binary, multiclass, multilabel).

    Parameters
    ----------
    {model}

    {fit_parameters}
        None chooses binary cross-entropy for one sigmoid unit or multilabel
        targets, sparse categorical cross-entropy otherwise; a subclass's own
        ``target_encoder`` not built on keraslearn's encoders gives no default:
        give the loss.

    {training_parameters}

    class_weight : dict, list of dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``. A dict's
        keys are the class labels themselves (not indices, as in Keras); for
        y of several columns (multilabel or several outputs), a list of one
        dict per column, multiplied, as scikit-learn's ``compute_sample_weight``
        takes them;
        ``"balanced"`` weighs classes inversely to their frequency, rows counted
        by their ``sample_weight`` (as scikit-learn's ``LogisticRegression``);
        ``partial_fit`` refuses it, as scikit-learn's online learners do. The
        held-out rows of ``validation_split`` are weighed too, so ``val_loss``
        is the same weighted loss as ``loss`` (as in scikeras; Keras' own
        ``class_weight`` weighs the training rows only); rows given as
        ``validation_data`` (or ``X_val``) are weighed by their own weights
        only, as in scikeras and Keras: give them
        ``compute_sample_weight(class_weight, y_val)`` for the same loss.

    target_encoding : {"auto", "sparse", "onehot"}, default="auto"
        Targets of a model with one output unit per class: class indices
        ("sparse") or one-hot rows ("onehot"). "auto" decides from the loss
        (class indices for ``SparseCategoricalCrossentropy``, one-hot rows for
        Keras' other losses); a loss of your own needs one of the two. Without
        a loss, "onehot" compiles with ``categorical_crossentropy``; one of
        Keras' losses taking the other encoding is refused.

    {placement}

    {kwargs}

    Attributes
    ----------
    {fitted_attributes}

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

    _one_hot_targets = True
    # scikeras' scoring hook; score (BaseWrapper's, ahead of the mixin's) uses it.
    score = BaseWrapper.score

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        """Accuracy of the predictions (``sklearn.metrics.accuracy_score``).

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.

        y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Predictions.

        **kwargs : dict
            ``sample_weight`` and the routed ``score__`` parameters.

        Returns
        -------
        score : float
            The score.
        """
        return accuracy_score(y_true, y_pred, **kwargs)

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
        target_encoding="auto",
        device="auto",
        distribute=None,
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
            device=device,
            distribute=distribute,
            **kwargs,
        )
        self.class_weight = class_weight
        self.target_encoding = target_encoding

    @fill_doc
    def predict(self, X, **kwargs):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, shaped as in fit.

        {predict_kwargs}

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels (label indicator rows for multilabel targets, one-hot rows
            for one-hot targets); a ``csr_matrix`` of indicator rows where the
            fit's were sparse, as scikit-learn's MLP gives them.
        """
        return self._labels(X, **kwargs)

    @available_if(gives_probabilities)
    def predict_proba(self, X, **kwargs):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, shaped as in fit.

        **kwargs : dict
            ``keras.Model.predict`` arguments for this call only, as in
            :meth:`predict`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            One column per class, in the order of ``classes_`` (per label, the
            probability of a 1, for multilabel targets).
        """
        return self._probabilities(X, **kwargs)

    def __sklearn_tags__(self):
        return classifier_tags(super().__sklearn_tags__())
