"""Target encoders: labels <-> what a Keras model is trained on and outputs.

A classifier's targets are encoded according to the model's output layer and
its loss: one sigmoid unit (binary cross-entropy), one unit per class with a
loss taking class indices (integer codes) or one shaped like the output
(one-hot rows), or one sigmoid unit per label (multilabel indicator targets).
Which targets a loss takes is decided from the loss object (see ``_losses``).
"""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ._losses import INDEX, SHAPED, loss_description, loss_from_logits, target_kind

# The ``target_encoding`` a user may give for a loss of their own.
TARGET_ENCODINGS = ("auto", "sparse", "onehot")


def _one_hot_rows(y):
    """Whether ``y`` is a 2-D 0/1 array of two or more columns with a single 1 per row."""
    return (
        y.ndim == 2 and y.shape[1] >= 2 and bool(np.isin(y, (0, 1)).all())
        and bool((y.sum(axis=1) == 1).all())
    )


class ClassifierTargetEncoder:
    """Labels -> Keras targets, and Keras outputs -> probabilities -> labels.

    ``fit`` records the classes; ``configure`` chooses the encoding once the
    model's number of output units and loss are known.

    With ``one_hot=True`` (scikeras' rule), indicator targets with a single 1
    per row are one-hot classes, target type ``"multiclass-onehot"``: they
    train as the classes ``0 .. k-1`` and ``predict`` returns one-hot rows.
    Otherwise they are multilabel targets, as for scikit-learn.
    """

    needs_loss = True

    def __init__(self, one_hot=False):
        self.one_hot = one_hot

    def fit(self, y, classes=None):
        y = np.asarray(y) if not hasattr(y, "iloc") else y.to_numpy()
        target_type = type_of_target(y, input_name="y")
        if target_type == "multilabel-indicator" and self.one_hot and _one_hot_rows(y):
            target_type = "multiclass-onehot"
            self.classes_ = np.arange(y.shape[1])
        elif target_type == "multilabel-indicator":
            y = y.astype(int, copy=False)
            self.classes_ = np.arange(y.shape[1])
        elif target_type in ("binary", "multiclass"):
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
            found = np.unique(y)
            if classes is not None:
                classes = np.unique(np.asarray(classes))
                self._check_known(y, classes)
                found = classes
                # A first partial_fit batch may hold 2 of the 3+ classes given.
                target_type = "multiclass" if len(found) > 2 else target_type
            if len(found) < 2:
                raise ValueError(
                    f"The target y has only one class ({found[0]!r}); a classifier "
                    "needs samples of at least 2 classes."
                )
            self.classes_ = found
        else:
            check_classification_targets(y)
            raise ValueError(
                f"Unsupported target type {target_type!r}: keraslearn classifiers take "
                "binary, multiclass or multilabel-indicator targets."
            )
        self.target_type_ = target_type
        self.n_classes_ = len(self.classes_)
        self.n_outputs_ = y.shape[1] if target_type == "multilabel-indicator" else 1
        self.n_outputs_expected_ = 1
        self.y_dtype_ = y.dtype
        self.y_ndim_ = y.ndim
        self.mode_ = None
        return self

    @staticmethod
    def _check_known(y, classes):
        unseen = np.setdiff1d(np.unique(y), classes)
        if len(unseen):
            raise ValueError(
                f"y contains labels not in classes: {unseen.tolist()!r} "
                f"(known classes: {np.asarray(classes).tolist()!r})."
            )

    def validate(self, y, warn=True):
        """Check targets against the fitted classes; return them as 1-D labels
        (or label-indicator rows)."""
        y = np.asarray(y) if not hasattr(y, "iloc") else y.to_numpy()
        if self.target_type_ == "multiclass-onehot":
            if not (y.ndim == 2 and y.shape[1] == self.n_classes_ and _one_hot_rows(y)):
                raise ValueError(
                    f"y must be one-hot rows of {self.n_classes_} columns, as in the first "
                    f"fit; got shape {y.shape}" + (" with rows that are not one-hot."
                                                  if y.ndim == 2 else ".")
                )
            return y.argmax(axis=1)
        if self.target_type_ == "multilabel-indicator":
            if y.ndim != 2 or y.shape[1] != self.n_outputs_:
                raise ValueError(
                    f"y must have {self.n_outputs_} label columns, as in the first "
                    f"fit; got shape {y.shape}."
                )
            return y.astype(int, copy=False)
        y = column_or_1d(y, warn=warn)
        check_classification_targets(y)
        self._check_known(y, self.classes_)
        return y

    def configure(self, n_units, loss, dtype="float32", encoding="auto"):
        """Choose the encoding from the model's output units and loss (class
        codes and indicator targets are exact in any float type).

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
            expected, mode = self.n_outputs_, "multilabel"
        elif n_units == 1 and self.n_classes_ == 2:
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
        if mode is None:
            mode = self._class_mode(kind, loss, encoding)
        self.mode_ = mode
        return self

    @staticmethod
    def _class_mode(kind, loss, encoding):
        """Class indices ("sparse") or one-hot rows ("onehot") for one unit per class."""
        if encoding in ("sparse", "onehot"):
            return encoding
        if kind == INDEX:
            return "sparse"
        if kind == SHAPED:
            return "onehot"
        raise ValueError(
            f"keraslearn cannot tell which targets the loss {loss_description(loss)} "
            "takes: class indices (as keras.losses.SparseCategoricalCrossentropy) or "
            "one-hot rows (as keras.losses.CategoricalCrossentropy). Say which with "
            "target_encoding='sparse' or target_encoding='onehot'."
        )

    def default_loss(self, n_units):
        """The loss to compile with when the user gave none."""
        if self.target_type_ == "multilabel-indicator" or (n_units == 1 and self.n_classes_ == 2):
            return "binary_crossentropy"
        return "sparse_categorical_crossentropy"

    def transform(self, y):
        """Labels -> the array the model is trained on."""
        if self.mode_ == "multilabel":
            return np.asarray(y, dtype="float32")
        codes = np.searchsorted(self.classes_, y)
        if self.mode_ == "binary":
            return codes.astype("float32").reshape(-1, 1)
        if self.mode_ == "sparse":
            return codes.astype("int32")
        return np.eye(self.n_classes_, dtype="float32")[codes]

    def predict_proba(self, raw):
        """Model outputs -> probabilities, (n, n_classes) or (n, n_labels)."""
        raw = np.asarray(raw, dtype="float64")
        if self.mode_ in ("binary", "multilabel"):
            p = 1.0 / (1.0 + np.exp(-raw)) if self.from_logits_ else raw
            if self.mode_ == "multilabel":
                return p
            p = p.reshape(-1)
            return np.column_stack([1.0 - p, p])
        if self.from_logits_:
            raw = np.exp(raw - raw.max(axis=1, keepdims=True))
        else:
            # float32 softmax rows sum to 1 only to ~1e-7; scikit-learn's
            # metrics expect float64 accuracy.
            raw = np.clip(raw, 0.0, None)
        total = raw.sum(axis=1, keepdims=True)
        if not (total > 0).all():
            raise ValueError(
                "The model's outputs for some rows have no positive value, so they are "
                "not probabilities: end the model with a softmax activation, or compile "
                "it with a loss given from_logits=True."
            )
        return raw / total

    def decision_function(self, proba):
        """Probabilities -> log-odds (binary: one column; multilabel: per label)."""
        eps = 1e-15
        if self.mode_ == "multilabel":
            p = np.clip(proba, eps, 1 - eps)
            return np.log(p) - np.log1p(-p)
        p = np.clip(proba, eps, 1.0)
        if self.n_classes_ == 2:
            return np.log(p[:, 1]) - np.log(p[:, 0])
        return np.log(p)

    def inverse_transform(self, proba):
        """Probabilities -> labels (one-hot rows for one-hot targets)."""
        if self.mode_ == "multilabel":
            return (proba > 0.5).astype(int)
        if self.n_classes_ == 2 and proba.shape[1] == 2:
            labels = self.classes_[(proba[:, 1] > 0.5).astype(int)]
        else:
            labels = self.classes_[np.argmax(proba, axis=1)]
        if self.target_type_ == "multiclass-onehot":
            return np.eye(self.n_classes_, dtype=self.y_dtype_)[labels]
        return labels


def _numeric(y):
    """Regression targets as a numeric array (strings are not numbers to learn)."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"A regressor needs numeric targets; y has dtype {y.dtype} ({exc})."
            ) from None
    return y


class RegressorTargetEncoder:
    """Regression targets -> (n, n_outputs) in the model's float type, and back to y's shape."""

    needs_loss = True

    def fit(self, y, classes=None):
        y = _numeric(y)
        self.target_type_ = type_of_target(y, input_name="y")
        self.y_dtype_ = y.dtype
        self.y_ndim_ = y.ndim
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        self.n_outputs_expected_ = 1
        return self

    def validate(self, y, warn=True):
        y = _numeric(y)
        n_out = 1 if y.ndim == 1 else y.shape[1]
        if n_out != self.n_outputs_:
            raise ValueError(
                f"y has {n_out} output(s) but the estimator was fitted with {self.n_outputs_}."
            )
        return y

    def configure(self, n_units, loss, dtype="float32", encoding="auto"):
        """Check the model's output units; a float64 network gets its targets
        in float64 (unrounded), any other float32."""
        if n_units != self.n_outputs_:
            raise ValueError(
                f"The model has {n_units} output unit(s) but y has {self.n_outputs_} "
                "output(s). Size the output layer from meta['n_outputs_']."
            )
        self.dtype_ = "float64" if dtype == "float64" else "float32"
        return self

    def default_loss(self, n_units):
        return "mean_squared_error"

    def transform(self, y):
        return np.asarray(y, dtype=self.dtype_).reshape(len(y), -1)

    def inverse_transform(self, raw):
        """Model outputs -> predictions shaped like y, in float64 as scikit-learn's
        regressors return them (whatever the network's float type)."""
        raw = np.asarray(raw, dtype=np.float64)
        return raw.reshape(-1) if self.y_ndim_ == 1 else raw.reshape(len(raw), -1)


class IdentityTargetEncoder:
    """Targets given to the model as they are, and its outputs returned as
    they are (a :class:`~keraslearn.wrappers.BaseWrapper`). ``y=None`` suits a
    model that computes its loss from x alone (``add_loss``, a ``train_step``
    of its own)."""

    needs_loss = False

    def fit(self, y, classes=None):
        y = None if y is None else np.asarray(y)
        self.target_type_ = None if y is None else type_of_target(y, input_name="y")
        self.y_dtype_ = None if y is None else y.dtype
        self.y_ndim_ = None if y is None else y.ndim
        self.n_outputs_ = 0 if y is None else (1 if y.ndim == 1 else int(np.prod(y.shape[1:])))
        self.n_outputs_expected_ = 1
        return self

    def validate(self, y, warn=True):
        if (y is None) != (self.y_ndim_ is None):
            raise ValueError(
                "This fit has " + ("no y" if y is None else "a y")
                + ", but the fit it continues had " + ("one." if y is None else "none.")
            )
        return None if y is None else np.asarray(y)

    def configure(self, n_units, loss, dtype="float32", encoding="auto"):
        self.dtype_ = dtype
        return self

    def default_loss(self, n_units):
        return None

    def transform(self, y):
        if y is None or y.dtype.kind not in "f":
            return y
        return np.asarray(y, dtype=self.dtype_ if self.dtype_ == "float64" else "float32")

    def inverse_transform(self, raw):
        return raw
