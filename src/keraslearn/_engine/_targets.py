"""Target encoders: what a model is trained on, and its outputs back.

keraslearn's own encoders (:class:`ClassifierLabelEncoder`,
:class:`RegressorTargetEncoder`, :class:`IdentityTargetEncoder`) are
configured from the built network (output units, loss, float type) and check
targets against the first fit. A ``target_encoder`` of the user's own follows
scikeras' data-transformer interface only (``fit``, ``transform``,
``inverse_transform``, optionally ``get_metadata``); the functions at the end
of this module speak to either kind.
"""

import copy
import functools
import inspect

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from ..utils._introspection import accepted_kwargs
from ..utils._labels import check_outputs
from ._label_encoder import TARGET_ENCODINGS, ClassifierLabelEncoder

__all__ = ["TARGET_ENCODINGS", "ClassifierLabelEncoder", "IdentityTargetEncoder",
           "RegressorTargetEncoder"]


def _numeric(y):
    """Regression targets as a numeric array (strings are not numbers to learn)."""
    y = y.to_numpy() if hasattr(y, "iloc") else np.asarray(y)
    if y.dtype.kind in "mMSU":  # as scikit-learn's check_array(dtype="numeric")
        how = ("y.astype(float) for strings of numbers" if y.dtype.kind in "SU" else
               "a count of the unit of your choice, e.g. (y - y.min()) / np.timedelta64(1, 'h')")
        raise ValueError(f"A regressor needs numeric targets; y has dtype {y.dtype}. Convert "
                         f"them to numbers explicitly: {how}.")
    if y.dtype.kind not in "biuf":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"A regressor needs numeric targets; y has dtype {y.dtype} ({exc})."
            ) from None
    return y


# What reaches the network unrefused only when scikit-learn's check was skipped.
NON_FINITE = ": the network cannot learn from them or predict with them"
_OFF = "scikit-learn's check that refuses them is off: sklearn.set_config(assume_finite=True)"
NOT_CHECKED = f"{NON_FINITE} ({_OFF})."
PASSED_ON = f"{NON_FINITE} (made by the feature encoder, or X's passed on: {_OFF})."


def largest_magnitude(values):
    """The largest absolute value of a float array (0 for none): one reduction
    over a temporary for a few values; two, without one, for many. A longdouble
    array's is one too (as a float, its values beyond float64's were infinite)."""
    if not values.size:
        return 0.0
    scalar = (lambda value: value) if values.dtype == np.longdouble else float
    if values.size <= 4096:
        return scalar(np.abs(values).max())
    return max(scalar(values.max()), -scalar(values.min()))


class RegressorTargetEncoder(TransformerMixin, BaseEstimator):
    """Regression targets to a Keras regressor's targets, and its outputs back
    to predictions shaped like y, in float64 (scikeras' ``RegressorTargetEncoder``).

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.

    n_outputs_expected_ : int
        Number of outputs the Keras model is expected to have (1).

    See Also
    --------
    keraslearn.KerasRegressor : Uses it as its ``target_encoder``.

    Examples
    --------
    >>> import numpy as np
    >>> from keraslearn.utils.transformers import RegressorTargetEncoder
    >>> enc = RegressorTargetEncoder().fit(np.array([1.5, 2.0]))
    >>> enc.transform(np.array([3.0])).shape
    (1, 1)
    >>> enc.inverse_transform(np.array([[3.0]]))
    array([3.])
    """

    needs_loss = True

    def fit(self, y, classes=None):
        """Record the number of targets of y.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        classes : None
            Unused (classifiers take it).

        Returns
        -------
        self : RegressorTargetEncoder
            The fitted encoder.
        """
        y = _numeric(y)
        with np.errstate(invalid="ignore"):  # its integer test casts targets past int64's range
            self.target_type_ = type_of_target(y, input_name="y")
        self.y_dtype_ = y.dtype
        self.y_ndim_ = y.ndim
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        self.n_outputs_expected_ = 1
        self.dtype_ = "float32"
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
        """Targets -> an (n_samples, n_outputs) array in the model's float type.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        targets : ndarray of shape (n_samples, n_outputs)
            What the model trains on.
        """
        check_is_fitted(self)
        return self.encode(self.validate(y))

    def encode(self, y):
        y = np.asarray(y)
        if y.dtype.kind == "f" and y.dtype.itemsize > np.dtype(self.dtype_).itemsize:
            largest, limit = largest_magnitude(y), float(np.finfo(self.dtype_).max)
            if not np.isfinite(largest):
                raise ValueError(f"y holds NaN or infinity{NOT_CHECKED}")
            if not largest <= limit:
                raise ValueError(
                    f"y holds values beyond the range of {self.dtype_}, the network's output "
                    f"type (largest |y| = {np.format_float_scientific(largest, 2, trim='-')} > "
                    f"{limit:.3g}): they would become "
                    "infinite in training. Scale the targets (e.g. with "
                    "TransformedTargetRegressor and StandardScaler).")
        return np.asarray(y, dtype=self.dtype_).reshape(len(y), -1)

    def inverse_transform(self, y):
        """The model's outputs -> predictions shaped like y, in float64 (whatever
        the network's type).

        Parameters
        ----------
        y : array-like of shape (n_samples, n_outputs)
            What the model outputs.

        Returns
        -------
        predictions : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predictions.
        """
        raw = np.asarray(y, dtype=np.float64)
        check_outputs(raw, self.n_outputs_, f"{self.n_outputs_} target(s)")
        return raw.reshape(-1) if self.y_ndim_ == 1 else raw.reshape(len(raw), -1)

    def get_metadata(self):
        """``n_outputs_`` and ``n_outputs_expected_``, for model builders' ``meta``.

        Returns
        -------
        metadata : dict
            What the fit learnt.
        """
        return {"n_outputs_": self.n_outputs_, "n_outputs_expected_": self.n_outputs_expected_}


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
        self.dtype_ = "float32"
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

    def encode(self, y):
        if y is None or y.dtype.kind not in "f":
            return y
        return np.asarray(y, dtype=self.dtype_ if self.dtype_ == "float64" else "float32")

    transform = encode

    def inverse_transform(self, y, return_proba=False):
        return y

    def get_metadata(self):
        return {}


# ------------------------------------------------ native or the user's own
_NATIVE = (ClassifierLabelEncoder, RegressorTargetEncoder, IdentityTargetEncoder)


def is_native(encoder):
    """Whether ``encoder`` is one of keraslearn's (configured from the network).

    A subclass that gives ``fit``, ``transform`` or ``inverse_transform`` of its
    own is spoken to through scikeras' interface, as a user's encoder is: its
    methods are the ones that run (scikeras' subclassing pattern)."""
    base = next((cls for cls in _NATIVE if isinstance(encoder, cls)), None)
    return base is not None and all(
        getattr(type(encoder), name) is getattr(base, name)
        for name in ("fit", "transform", "inverse_transform"))


CLASSES_NEED_NATIVE_ENCODER = (
    "partial_fit(classes=...) needs keraslearn's target encoder; a target_encoder of your "
    "own must know every class itself.")


def own_copy(encoders, est):
    """Copies of the encoders the properties of ``est`` give (its target's and
    feature's, each copied on its own: one object given for both is fitted
    twice, found in review), for the fit to fit: one a property keeps (a
    parameter, say) stays as the user gave it, and a failed fit leaves the
    estimator's fitted one as it was (found in an audit: fitted in place, it
    changed the predictions of the last fit). The estimator itself is not
    copied (an encoder of one of its methods holds it: found in review, each
    refit copied the last copy). One that cannot be copied is used as it is."""
    def copied(encoder):
        try:
            return copy.deepcopy(encoder, {id(est): est})
        except Exception:  # noqa: BLE001 - a lock, a generator, ...: scikeras' own way
            return encoder

    return tuple(map(copied, encoders))


def fit_encoder(encoder, y, classes):
    """Fit a target encoder; return it and y as the model's encoder sees it."""
    if is_native(encoder):
        encoder.fit(y, classes)
        return encoder, encoder.validate(y, warn=False)
    if classes is not None and isinstance(encoder, _NATIVE):  # a subclass of keraslearn's
        names, var_kw = accepted_kwargs(encoder.fit)
        if "classes" in names or var_kw:  # its fit takes them
            encoder.fit(y, classes=classes)
            return encoder, y
    if classes is not None:
        raise ValueError(CLASSES_NEED_NATIVE_ENCODER)
    encoder.fit(y)
    return encoder, y


def check_targets(encoder, y, **options):
    """y of a later fit checked against the first (native encoders check it,
    with ``options`` of their ``validate``)."""
    return encoder.validate(y, **options) if is_native(encoder) else y


def encode(encoder, y):
    """Checked targets -> what the model is trained on."""
    return encoder.encode(y) if is_native(encoder) else encoder.transform(y)


@functools.lru_cache(maxsize=256)
def _takes_proba(inverse_transform):
    try:
        return "return_proba" in inspect.signature(inverse_transform).parameters
    except (TypeError, ValueError):
        return False


def check_gives_probabilities(encoder):
    """Raise AttributeError (``predict_proba``'s ``available_if`` check) where
    the fitted target encoder cannot give class probabilities: one of the
    user's own without scikeras' ``inverse_transform(y, return_proba=True)``."""
    method = encoder.inverse_transform
    # The signature of a class's method is read once (it costs more than a
    # small network's prediction).
    function = getattr(method, "__func__", None)
    takes_proba = _takes_proba(function) if function is not None else _takes_proba.__wrapped__(
        method)
    if not takes_proba:
        raise AttributeError(
            f"predict_proba needs the target encoder ({type(encoder).__name__}) to "
            "implement inverse_transform(y, return_proba=True), as scikeras' interface has it."
        )
    return True


def probabilities(encoder, raw):
    """The model's outputs -> class probabilities (scikeras' ``return_proba``)."""
    check_gives_probabilities(encoder)
    return encoder.inverse_transform(raw, return_proba=True)


def metadata(encoder):
    """What the encoder learnt, for ``meta`` and the estimator's attributes."""
    get = getattr(encoder, "get_metadata", None)
    return dict(get()) if callable(get) else {}
