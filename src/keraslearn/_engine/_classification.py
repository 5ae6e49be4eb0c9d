"""ClassifierBehaviour: what makes a keraslearn estimator a classifier.

Targets are labels of any type (binary, multiclass, multilabel indicator);
the network's outputs are read as probabilities and decoded back to labels.
"""

import numpy as np
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if

from ..utils._labels import date_label
from ..utils._text import listed
from . import _targets as targets


def gives_probabilities(estimator):
    """``available_if`` check of ``predict_proba`` and ``predict_log_proba``:
    hidden where the fitted target encoder gives no probabilities, so that
    scikit-learn's tools (scorers, soft voting, reports) see it has none."""
    encoder = estimator.__dict__.get("target_encoder_")
    return encoder is None or targets.check_gives_probabilities(encoder)


class ClassifierBehaviour:
    """Classification targets, class weights and probability outputs (a mixin
    for :class:`~keraslearn._engine.KerasEstimator` families)."""

    _y_numeric = False
    _requires_y = True
    # scikeras' rule: indicator rows with a single 1 each are one-hot classes
    # (the wrappers); scikit-learn's: they are multilabel targets.
    _one_hot_targets = False

    def _fitted_attributes(self, plan, history):
        attributes = super()._fitted_attributes(plan, history)
        if not hasattr(self.target_encoder_, "classes_"):
            # A target encoder of the user's own for several outputs: no one set
            # of classes (scikeras says None too).
            attributes.setdefault("classes_", None)
        return attributes

    def _new_target_encoder(self):
        return targets.ClassifierLabelEncoder(
            loss=getattr(self, "loss", None),
            indicator_rows="onehot" if self._one_hot_targets else "multilabel",
        )

    def _training_weights(self, y, sample_weight, classes=None):
        class_weight = getattr(self, "class_weight", None)
        if class_weight is None:
            return sample_weight
        per_column = isinstance(class_weight, (list, tuple)) and all(
            isinstance(w, dict) for w in class_weight)
        if not (isinstance(class_weight, dict) or per_column or (
                isinstance(class_weight, str) and class_weight == "balanced")):
            raise ValueError(
                "class_weight must be a dict, a list of dicts (one per column of y), "
                f"'balanced' or None, got {class_weight!r}."
            )
        if per_column:  # as scikit-learn's compute_sample_weight takes them
            if np.ndim(y) != 2:
                raise ValueError(
                    f"class_weight is a list of {len(class_weight)} dicts, one per column "
                    "of a multi-output (or multilabel) y, but y is a single output: give "
                    "one dict of class weights.")
            if len(class_weight) != np.shape(y)[1]:
                raise ValueError(
                    f"class_weight is a list of {len(class_weight)} dicts, one per column "
                    f"of y, but y has {np.shape(y)[1]} columns.")
            for weights, column in zip(class_weight, np.asarray(y).T):
                labels = np.unique(column)
                _check_class_weight_keys(_keyed_as_labels(weights, labels.dtype), labels)
            class_weight = list(class_weight)
        elif isinstance(class_weight, dict) and np.ndim(y) == 1:
            labels = np.unique(y) if classes is None else np.asarray(classes)
            _check_class_weight_keys(_keyed_as_labels(class_weight, labels.dtype), labels)
        elif isinstance(class_weight, dict):
            raise ValueError(
                "class_weight as a dict weighs the classes of a single-output target, but y "
                f"has {np.shape(y)[1]} columns. Use a list of dicts, one per column, "
                "class_weight='balanced' (each column's classes balanced), or give weights "
                "of your own as sample_weight."
            )
        if class_weight != "balanced":
            # Each row its class's weight, 1 for a class without one (scikit-learn's
            # compute_sample_weight refuses a batch whose classes miss some keys).
            weights = np.ones(len(y))
            for weights_of, column in zip(
                    class_weight if per_column else [class_weight],
                    np.asarray(y).reshape(len(y), -1).T):
                labels, codes = np.unique(column, return_inverse=True)
                weights_of = _keyed_as_labels(weights_of, labels.dtype)  # (in y's own unit)
                weights *= np.array([float(weights_of.get(c, 1.0)) for c in labels.tolist()],
                                    dtype=np.float64)[codes]
            return weights if sample_weight is None else (
                np.asarray(sample_weight, dtype=np.float64) * weights)
        if sample_weight is None:
            return compute_sample_weight(class_weight, y)
        base = np.asarray(sample_weight, dtype=np.float64)
        # Classes balanced by their total sample weight, as scikit-learn's
        # LogisticRegression does (a weight of 2 counts as the row twice); for
        # several outputs, each output's weights multiplied, as compute_sample_weight does.
        out = base.copy()
        for column in np.asarray(y).reshape(len(base), -1).T:
            classes, codes = np.unique(column, return_inverse=True)
            counts = np.bincount(codes, weights=base)
            # A class all of whose rows weigh 0 learns nothing whatever its weight.
            out *= np.divide(counts.sum(), len(classes) * counts,
                             out=np.zeros_like(counts), where=counts > 0)[codes]
        return out

    def partial_fit(self, X, y, classes=None, sample_weight=None, **kwargs):
        """Train for one epoch (or ``epochs``), continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (label indicator rows for multilabel targets).

        classes : array-like of shape (n_classes,), default=None
            Every class that will ever be seen; needed on the first call when
            a batch may not hold every class. Given again on a later call, it
            must be the same classes (as scikit-learn's online learners ask).

        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples, taken as given (``fit`` scales its own to a
            mean of 1), so that weights keep their ratios across calls.

        **kwargs : dict
            ``keras.Model.fit`` arguments for this call: ``epochs`` (how many
            epochs it trains, 1 by default) and, for the wrappers, Keras' others
            (``batch_size``, ``verbose``, ...); a ready network (ImageClassifier)
            takes ``epochs`` and ``callbacks``.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if isinstance(getattr(self, "class_weight", None), str) and (
                self.class_weight == "balanced"):
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one batch's class "
                "counts are not the data's. Give the weights as a dict, for example "
                "dict(zip(classes, sklearn.utils.class_weight.compute_class_weight("
                "'balanced', classes=classes, y=y))) with y a large enough sample of the "
                "training targets, as scikit-learn's online learners ask."
            )
        # (multilabel targets take their classes from y's columns: classes is not read)
        if classes is not None and self.__sklearn_is_fitted__() and (
                getattr(self, "target_type_", None) != "multilabel-indicator"):
            if self.classes_ is None:  # a target_encoder of the user's own
                raise ValueError(targets.CLASSES_NEED_NATIVE_ENCODER)
            given, known = np.unique(np.asarray(classes)), np.unique(self.classes_)
            if not np.array_equal(given, known):
                new, left = np.setdiff1d(given, known), np.setdiff1d(known, given)
                raise ValueError(
                    f"classes=[{listed(given.tolist())}] is not the same as on the first "
                    f"partial_fit call: [{listed(self.classes_.tolist())}]"
                    + (f"; new: [{listed(new.tolist())}]" if len(new) else "")
                    + (f"; left out: [{listed(left.tolist())}]" if len(left) else "") + ".")
        return self._fit(X, y, sample_weight, mode="partial",
                         fit_kwargs=self._partial_fit_kwargs(kwargs), classes=classes)

    @available_if(gives_probabilities)
    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, shaped as in fit.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            One column per class, in the order of ``classes_`` (per label, the
            probability of a 1, for multilabel targets).
        """
        return self._probabilities(X)

    def _probabilities(self, X, **predict_kwargs):
        """``predict_proba``; ``predict_kwargs``: see ``_raw_predict``."""
        outputs = self._raw_predict(X, **predict_kwargs)  # checks that the estimator is fitted
        return targets.probabilities(self.target_encoder_, outputs)

    @available_if(gives_probabilities)
    def predict_log_proba(self, X):
        """Logarithm of the class probabilities (``-inf`` where one is 0).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, shaped as in fit.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, shaped as in fit.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels (label indicator rows for multilabel targets, one-hot rows
            for one-hot targets); a ``csr_matrix`` of indicator rows where the
            fit's were sparse, as scikit-learn's MLP gives them.
        """
        return self._labels(X)

    def _labels(self, X, **predict_kwargs):
        """``predict``; ``predict_kwargs``: see ``_raw_predict``."""
        raw = self._raw_predict(X, **predict_kwargs)  # checks that the estimator is fitted first
        labels = self.target_encoder_.inverse_transform(raw)
        if self.__dict__.get("_sparse_y") and np.ndim(labels) == 2:
            from scipy.sparse import csr_matrix  # indicator rows, fitted sparse

            return csr_matrix(labels)
        return labels


def classifier_tags(tags):
    """The tags of a keraslearn classifier, given those ``ClassifierMixin`` set
    (the public classes call it: the mixin, left of this behaviour, sets its
    tags after it)."""
    tags.classifier_tags.multi_label = True
    # Multilabel rows, yes; several multiclass targets (scikit-learn's
    # multi_output for a classifier, as its MLP says), no.
    tags.target_tags.multi_output = False
    return tags


def _weight(value):
    """Whether ``value`` is a class weight: a finite number, 0 or more."""
    try:
        return not isinstance(value, (bool, np.bool_, str, bytes)) and 0 <= float(value) < np.inf
    except (TypeError, ValueError, OverflowError):
        return False


def _keyed_as_labels(class_weight, dtype):
    """``class_weight`` with its keys of dates or durations (np.datetime64,
    datetime.date, pd.Timestamp) as the labels of ``dtype`` are listed (their
    ``tolist()``: a datetime64[D] label is a datetime.date, one of finer unit
    a number), so that each reaches its label; other keys as given."""
    if dtype.kind not in "mM":
        return class_weight
    labels = {key: date_label(key, dtype) for key in class_weight}
    return {key if labels[key] is None else labels[key].item(): weight
            for key, weight in class_weight.items()}


def _check_class_weight_keys(class_weight, classes):
    """Keys of class_weight are the labels themselves (not indices, as in
    Keras). As in scikit-learn, keys of classes y lacks are fine (a fold or
    a batch without a rare class) unless some class of y has no weight."""
    bad = [(c, w) for c, w in class_weight.items() if not _weight(w)]
    if bad:
        raise ValueError(f"class_weight gives the class {bad[0][0]!r} the weight {bad[0][1]!r}; "
                         "class weights are finite numbers, 0 or more.")
    labels = set(classes.tolist())
    missing = [c for c in class_weight if c not in labels]
    if not missing or all(c in class_weight for c in labels):
        return
    indices = classes.dtype.kind not in "iu" and all(  # (each a class's index)
        isinstance(k, (int, np.integer)) and 0 <= k < len(classes) for k in class_weight)
    hint = ""
    if all(isinstance(c, str) for c in labels) and all(str(k) in labels for k in class_weight):
        example = listed(class_weight.items(), 50,  # (whole, to copy, for up to 50)
                         as_text=lambda kw: f"{str(kw[0])!r}: {kw[1]!r}")
        hint = (" The labels are text (names of folders or columns read as text, say): "
                f"class_weight={{{example}}}.")
    elif indices:  # Keras' index k is the k-th class: the same weights keyed by label
        example = listed(sorted(class_weight.items()), 50,
                         as_text=lambda kw: f"{classes[kw[0]].item()!r}: {kw[1]!r}")
        hint = (" Keras' class_weight takes class indices; keraslearn takes the labels "
                f"themselves, as scikit-learn does: class_weight={{{example}}}.")
    raise ValueError(
        f"class_weight has keys [{listed(missing)}] that are not labels of y. Its keys are the "
        f"labels themselves: [{listed(classes.tolist())}].{hint}"
    )
