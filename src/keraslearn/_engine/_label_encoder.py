"""ClassifierLabelEncoder: class labels <-> what a Keras classifier trains on.

It is the default ``target_encoder`` of the classifiers, with scikeras'
interface (``fit``, ``transform``, ``inverse_transform(y, return_proba=False)``,
``get_metadata``), so that code written for ``scikeras.utils.transformers``
runs. Inside an estimator the encoding is chosen from the network once it is
built (``configure``): one sigmoid unit (0/1 column), one unit per class with
a loss taking class indices or one taking one-hot rows (see ``_losses``), or
one sigmoid unit per label (multilabel indicator targets). Used on its own,
it encodes as its ``loss`` says, as scikeras' does.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._persistence import _state as _saved
from ..utils._labels import (
    as_array,
    check_known,
    check_outputs,
    class_codes,
    class_labels,
    encoder_classes,
    indicator_rows,
    not_one_hot,
    one_hot,
    one_hot_rows,
    probabilities,
)
from ..utils._text import listed
from ._losses import (
    INDEX,
    SHAPED,
    check_one_unit_takes,
    class_mode,
    loss_description,
    loss_from_logits,
    refuse_over_labels,
    target_kind,
)

# The ``target_encoding`` a user may give for a loss of their own.
TARGET_ENCODINGS = ("auto", "sparse", "onehot")


class ClassifierLabelEncoder(TransformerMixin, BaseEstimator):
    """Class labels to a Keras classifier's targets, and its outputs back to
    probabilities and labels (scikeras' ``ClassifierLabelEncoder``).

    Parameters
    ----------
    loss : str, keras.losses.Loss or callable, default=None
        The loss the targets are for: a loss taking one-hot rows
        (``"categorical_crossentropy"``) makes ``transform`` one-hot encode
        multiclass targets, any other gives class indices; binary targets are
        one 0/1 column unless the loss is a categorical one. Inside an
        estimator the compiled model's loss decides instead.

    categories : "auto" or list of one array-like, default="auto"
        Every class the target can hold ("auto": the classes of the y given
        to ``fit``), sorted as scikit-learn's ``classes_`` are (its scorers
        take the last as the positive class; scikeras keeps the order given).

    indicator_rows : {"onehot", "multilabel"}, default="onehot"
        How to read indicator rows with a single 1 each: one-hot classes
        (scikeras' rule; ``inverse_transform`` returns one-hot rows) or
        multilabel targets (scikit-learn's rule, which also holds labels
        given as Python objects as NumPy values: strings as ``str_``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The classes (label indices for indicator targets).

    n_classes_ : int
        Number of classes.

    n_outputs_ : int
        1, or the number of labels of a multilabel target.

    n_outputs_expected_ : int
        Number of outputs the Keras model is expected to have (1).

    target_type_ : str
        ``"binary"``, ``"multiclass"``, ``"multiclass-onehot"`` or
        ``"multilabel-indicator"``.

    mode_ : str
        The encoding: ``"binary"``, ``"sparse"``, ``"onehot"`` or ``"multilabel"``.

    See Also
    --------
    keraslearn.KerasClassifier : Uses it as its ``target_encoder``.

    Examples
    --------
    >>> import numpy as np
    >>> from keraslearn.utils.transformers import ClassifierLabelEncoder
    >>> enc = ClassifierLabelEncoder(loss="categorical_crossentropy").fit(["b", "a", "c"])
    >>> enc.transform(["c", "a"])
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    >>> enc.inverse_transform(np.array([[0.1, 0.7, 0.2]]))
    array(['b'], dtype='<U1')
    """

    needs_loss = True

    def __init__(self, loss=None, categories="auto", indicator_rows="onehot"):
        self.loss = loss
        self.categories = categories
        self.indicator_rows = indicator_rows

    # keraslearn.save stores the loss it holds (the estimator's) as the
    # estimator's own: a Keras loss by its config, code by name.
    def __getstate__(self):
        return _saved.portable_state(self, dict(super().__getstate__()))

    def __setstate__(self, state):
        super().__setstate__(_saved.restored_state(self, state))

    def fit(self, y, classes=None):
        """Record the classes of y.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or indicator rows.

        classes : array-like of shape (n_classes,), default=None
            Every class there will be (``partial_fit``); overrides ``categories``.

        Returns
        -------
        self : ClassifierLabelEncoder
            The fitted encoder.
        """
        classes = encoder_classes(self, classes)
        y = as_array(y)
        target_type = type_of_target(y, input_name="y")
        if target_type == "multilabel-indicator" and self.indicator_rows == "onehot" and (
                one_hot_rows(y)):
            target_type = "multiclass-onehot"
            found = np.arange(y.shape[1])
            used = np.flatnonzero(np.asarray(y).any(axis=0))
            if classes is None and len(used) < 2:  # one class, one-hot encoded
                raise ValueError(
                    f"The target y has only one class (one-hot rows of {y.shape[1]} columns, "
                    f"all in column {int(used[0])}); a classifier needs samples of at least "
                    "2 classes.")
        elif target_type == "multilabel-indicator":
            y = indicator_rows(y)
            found = np.arange(y.shape[1])
        elif target_type in ("binary", "multiclass"):
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
            found = np.unique(y)
            if classes is not None:
                classes = class_labels(classes)
                check_known(y, classes)
                found = classes
                # A first partial_fit batch may hold 2 of the 3+ classes given.
                target_type = "multiclass" if len(found) > 2 else target_type
            if self.indicator_rows == "multilabel" and found.dtype == object:
                # scikit-learn's classes: NumPy values (str_, not Python objects).
                found = np.asarray(found.tolist())
            if len(found) < 2:
                raise ValueError(
                    f"The target y has only one class ({found.tolist()[0]!r}); a classifier "
                    "needs samples of at least 2 classes."
                )
        else:
            check_classification_targets(y)
            raise ValueError(
                f"Unsupported target type {target_type!r}: keraslearn classifiers take "
                "binary, multiclass or multilabel-indicator targets. For others, wrap "
                "the classifier in sklearn.multioutput.MultiOutputClassifier, or give a "
                "KerasClassifier subclass a target_encoder of your own (see the data "
                "transformer interface in the README)."
            )
        self.classes_, self.target_type_ = found, target_type  # (checks passed: a refit
        self.n_classes_ = len(self.classes_)  # refused leaves the last fit as it was)
        self.n_outputs_ = y.shape[1] if target_type == "multilabel-indicator" else 1
        self.n_outputs_expected_ = 1
        self.y_dtype_ = y.dtype
        self.y_ndim_ = y.ndim
        self.from_logits_ = loss_from_logits(self.loss)
        self.mode_ = self._standalone_mode()
        return self

    def _standalone_mode(self):
        """The encoding before a network is known: as ``loss`` says. Binary
        targets are a 0/1 column unless the loss is a categorical one (one-hot
        rows of 2 columns): binary cross-entropy, MSE or hinge take the column."""
        from ..utils import loss_name

        modes = {"multilabel-indicator": "multilabel", "multiclass-onehot": "onehot"}
        if self.target_type_ in modes:  # (one-hot rows stay so, as in scikeras)
            return modes[self.target_type_]
        if self.target_type_ == "binary":
            try:
                categorical = loss_name(self.loss).startswith("categorical_")
            except (TypeError, ValueError):  # None, or a loss of the user's own
                categorical = False
            if not categorical:
                return "binary"
        return "onehot" if target_kind(self.loss) == SHAPED else "sparse"

    def check_every_class(self, y):
        """Refuse labels ``y`` of a warm start that lack some fitted class, as
        scikit-learn's MLP does, or holding classes it lacks (labels of another
        type are told as :meth:`validate` tells unknown labels)."""
        if self.target_type_ not in ("binary", "multiclass"):
            return
        try:
            labels = np.unique(as_array(y).ravel())
            unseen = np.setdiff1d(labels, self.classes_)
        except (TypeError, ValueError):
            return check_known(y, self.classes_)
        if len(unseen) and _family(labels) != _family(self.classes_):
            return check_known(y, self.classes_)
        if len(unseen) or len(labels) < len(self.classes_):
            left = np.setdiff1d(self.classes_, labels)
            advice = (f"The fitted network has no output for [{listed(unseen.tolist())}]: fit "
                      "with warm_start=False to learn them." if len(unseen) else
                      f"y lacks [{listed(left.tolist())}]: use partial_fit to train on some "
                      "of the classes.")
            raise ValueError(
                "warm_start can only be used where y has the same classes as in the "
                f"previous call to fit: it had [{listed(self.classes_.tolist())}], y has "
                f"[{listed(labels.tolist())}]. {advice}")

    def validate(self, y, warn=True, known=True):
        """Check targets against the fitted classes (labels among them where
        ``known``); return them as 1-D labels (or label-indicator rows)."""
        y = as_array(y)
        if self.target_type_ == "multiclass-onehot":
            if not (y.ndim == 2 and y.shape[1] == self.n_classes_ and one_hot_rows(y)):
                raise ValueError(not_one_hot(y, self.n_classes_))
            return self.classes_[y.argmax(axis=1)]
        if self.target_type_ == "multilabel-indicator":
            if y.ndim != 2 or y.shape[1] != self.n_outputs_:
                raise ValueError(
                    f"y must have {self.n_outputs_} label columns, as in the first "
                    f"fit; got shape {y.shape}."
                )
            return indicator_rows(y)
        if y.ndim == 2 and y.shape[1] > 1:
            raise ValueError(
                f"y has {y.shape[1]} columns, but the first fit had one column of "
                f"{self.target_type_} labels."
            )
        y = column_or_1d(y, warn=warn)
        if warn:  # (warn=False: the y fit has just checked, and warned of, once)
            check_classification_targets(y)
        if known:
            check_known(y, self.classes_)
        return y

    def configure(self, n_units, loss, dtype="float32", encoding="auto"):
        """Choose the encoding from the built model's output units and loss.

        ``encoding`` ("sparse" or "onehot") says which targets a loss of the
        user's own takes; "auto" decides from the loss.
        """
        kind = target_kind(loss)
        self.from_logits_ = loss_from_logits(loss)
        if self.target_type_ == "multilabel-indicator":
            if kind == INDEX or encoding == "sparse":
                raise ValueError(
                    f"The loss {loss_description(loss)} takes one class index per sample, "
                    f"but the target is multilabel-indicator ({self.n_outputs_} labels, "
                    "any number of them per sample). Use loss='binary_crossentropy' with "
                    "one sigmoid unit per label."
                )
            refuse_over_labels(loss, n_units, self.n_outputs_)
            expected, mode = self.n_outputs_, "multilabel"
        elif n_units == 1 and self.n_classes_ == 2:
            check_one_unit_takes(loss, encoding)
            expected, mode = 1, "binary"
        else:
            expected, mode = self.n_classes_, None
        if n_units != expected:
            raise ValueError(
                f"The model has {n_units} output unit(s) but the target "
                f"({self.target_type_}, {self.n_classes_} classes) needs {expected}. "
                "Size the output layer from meta['n_classes_'] (one sigmoid unit "
                "also works for binary targets)."
            )
        self.mode_ = mode or class_mode(kind, loss, encoding)
        return self

    def default_loss(self, n_units):
        """The loss to compile with when the user gave none."""
        if self.target_type_ == "multilabel-indicator" or (n_units == 1 and self.n_classes_ == 2):
            return "binary_crossentropy"
        return "sparse_categorical_crossentropy"

    def transform(self, y):
        """Labels -> the array the model is trained on.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (indicator rows for indicator targets).

        Returns
        -------
        targets : ndarray
            Class indices, a 0/1 column, one-hot rows or indicator rows.
        """
        check_is_fitted(self)
        return self.encode(self.validate(y))

    def encode(self, labels):
        """Validated labels (see ``validate``) -> the array the model is trained on."""
        if self.mode_ == "multilabel":
            return np.asarray(labels, dtype="float32")
        codes = class_codes(self.classes_, labels)
        if self.mode_ == "binary":
            return codes.astype("float32").reshape(-1, 1)
        if self.mode_ == "sparse":
            return codes.astype("int32")
        return one_hot(codes, self.n_classes_, "float32")

    def predict_proba(self, raw):
        """Model outputs -> probabilities, (n, n_classes) or (n, n_labels).

        Binary targets read as the outputs are shaped, as scikeras' encoder reads
        them where no network configured it (used on its own): one column is
        the second class's probability, two are a score per class."""
        mode = self.mode_
        if mode == "multilabel":
            check_outputs(raw, self.n_outputs_, f"{self.n_outputs_} labels")
        else:
            check_outputs(raw, self.n_classes_, f"{self.n_classes_} classes", one_of_two=True)
        if mode != "multilabel" and self.n_classes_ == 2:
            shape = np.shape(raw)
            mode = ("binary" if len(shape) < 2 or shape[1] == 1 else
                    "onehot" if mode == "binary" else mode)
        return probabilities(raw, mode, self.from_logits_)

    def inverse_transform(self, y, return_proba=False):
        """The model's outputs -> labels (or probabilities).

        Parameters
        ----------
        y : array-like of shape (n_samples, n_units)
            What the model outputs.

        return_proba : bool, default=False
            Return the class probabilities instead of the labels.

        Returns
        -------
        labels : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Labels (indicator rows for indicator targets), or probabilities.
        """
        proba = self.predict_proba(y)
        if return_proba:
            return proba
        if self.mode_ == "multilabel":
            return (proba > 0.5).astype(int)
        if self.n_classes_ == 2 and proba.shape[1] == 2:
            labels = self.classes_[(proba[:, 1] > 0.5).astype(int)]
        else:
            labels = self.classes_[np.argmax(proba, axis=1)]
        if self.target_type_ == "multiclass-onehot":
            return one_hot(labels, self.n_classes_, self.y_dtype_)
        return labels

    def get_metadata(self):
        """What the fit learnt, given to model builders as ``meta``.

        Returns
        -------
        metadata : dict
            ``classes_``, ``n_classes_``, ``n_outputs_``, ``n_outputs_expected_``.
        """
        return {key: getattr(self, key) for key in
                ("classes_", "n_classes_", "n_outputs_", "n_outputs_expected_")}


def _family(labels):
    """Numbers (of any width or sign), text, or "other", as labels compare
    (an object array -- a Series of strings -- by what it holds)."""
    if labels.dtype.kind in "biuf":
        return "number"
    if labels.dtype.kind in "US" or all(isinstance(v, str) for v in labels):
        return "text"
    return "other"
