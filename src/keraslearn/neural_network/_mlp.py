"""MLPClassifier and MLPRegressor: dense networks with scikit-learn's MLP parameters."""

import numpy as np
from scipy.sparse import issparse
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from .._engine import ClassifierBehaviour, RegressorBehaviour, classifier_tags
from ..utils import OneOf
from ._callbacks import (
    CappedBinaryCrossentropy,
    CappedSparseCategoricalCrossentropy,
    HalfSquaredError,
    SummedBinaryCrossentropy,
    SummedPoisson,
    log_loss_cap,
)
from ._dense import BaseMLP, stochastic_solver
from ._docstrings import fill_doc


@fill_doc
class MLPClassifier(ClassifierMixin, ClassifierBehaviour, BaseMLP):
    """Multi-layer perceptron classifier: a Keras dense network with scikit-learn's
    ``MLPClassifier`` parameters.

    Code written for :class:`sklearn.neural_network.MLPClassifier` runs
    unchanged; the network trains with Keras on TensorFlow's devices. The
    output layer and the loss follow the target: one logistic unit and binary
    cross-entropy for binary targets, a softmax and sparse categorical
    cross-entropy for multiclass targets, one logistic unit per label for
    multilabel indicator targets, whose binary cross-entropies are summed, as
    scikit-learn sums them (``SummedBinaryCrossentropy``; Keras' own averages
    them). Each term is reported (``loss_curve_``, ``tol``) at most -log(eps)
    of X's float type, as scikit-learn clips probabilities; the steps follow
    the unclipped gradient, as scikit-learn's do. The network outputs the
    logits (the losses take them, ``from_logits=True``: ``model_.predict``
    gives logits) and ``predict_proba`` applies ``out_activation_`` in float64:
    a float32 logistic unit is exactly 1 past a logit of about 16.6, where
    scikit-learn's float64 probabilities still tell rows apart.

    Parameters
    ----------
    {mlp_parameters}

    {callbacks}

    {class_weight}

    {device_dtype}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (label indices for multilabel targets).

    {mlp_attributes}

    See Also
    --------
    MLPRegressor : The regression counterpart.
    sklearn.neural_network.MLPClassifier : scikit-learn's NumPy implementation.
    keraslearn.KerasClassifier : Wrap a Keras model of your own.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from keraslearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = make_pipeline(StandardScaler(), MLPClassifier(
    ...     hidden_layer_sizes=(16,), learning_rate_init=0.05, tol=1e-3,
    ...     random_state=0)).fit(X_train, y_train)
    >>> clf.predict_proba(X_test[:2]).shape
    (2, 3)
    >>> clf.score(X_test, y_test) > 0.9
    True
    >>> clf[-1].n_iter_ < 200  # stopped when the loss stopped improving by tol
    True
    """

    def __init__(
        self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
        alpha=0.0001, batch_size="auto", learning_rate="constant",
        learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
        random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
        nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
        beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
        dropout=0.0, batch_normalization=False, optimizer=None,
        reduce_lr_on_plateau=False, callbacks=None, class_weight=None, device="auto",
        distribute=None,
        dtype=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.optimizer = optimizer
        self.reduce_lr_on_plateau = reduce_lr_on_plateau
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.device = device
        self.distribute = distribute
        self.dtype = dtype

    _parameter_constraints = {
        **BaseMLP._parameter_constraints,
        "class_weight": [dict, list, OneOf("balanced"), None],
    }
    _score_metric = "accuracy"
    _score_function = staticmethod(accuracy_score)

    @staticmethod
    def _decode(encoder, raw):
        # As predict decodes: the encoder takes the model's outputs.
        return encoder.inverse_transform(raw)

    def _output(self, meta):
        # Logits (see the class docstring): a unit per class or label, one for two classes
        return (1 if meta["target_type_"] == "binary" else meta["n_classes_"]), None

    def _out_activation_name(self):
        return "softmax" if self.target_type_ == "multiclass" else "logistic"

    def _network_output(self):  # (predict_proba applies out_activation_)
        return "identity"

    def _fit(self, X, y, sample_weight, **kwargs):
        # scikit-learn's MLP computes in float32 for float32 data only (int
        # and float16 data in float64): its log-loss cap follows that type.
        previous = self.__dict__.get("_data_float")
        # A frame's pandas extension dtypes (nullable, categorical, sparse)
        # make its data float64 there, as NumPy's float16 does.
        dtypes = getattr(X, "dtypes", None)
        if dtypes is None or getattr(X, "ndim", 2) == 1:  # (a Series' dtypes: its dtype)
            dtype = getattr(X, "dtype", None)
        elif len(dtypes) and all(isinstance(d, np.dtype) and d.kind in "biuf"
                                 for d in dtypes):
            dtype = np.result_type(*dtypes)
        else:  # (date, text or extension columns: the input checks name them)
            dtype = None
        self._data_float = "float32" if dtype == np.float32 else "float64"
        try:
            return super()._fit(X, y, sample_weight, **kwargs)
        except BaseException:  # a failed fit leaves the estimator as it was
            if previous is None:
                del self._data_float
            else:
                self._data_float = previous
            raise

    def _keras_loss(self, meta):
        # scikit-learn sums the labels' log-losses (Keras averages them), and
        # reports each term at most -log(eps) of its data's float type.
        cap = log_loss_cap(self.__dict__.get("_data_float", "float64"))
        kind = {"multilabel-indicator": SummedBinaryCrossentropy,
                "binary": CappedBinaryCrossentropy}.get(meta["target_type_"],
                                                        CappedSparseCategoricalCrossentropy)
        return kind(cap=cap, dtype=self._dtype(), from_logits=True)

    def __sklearn_tags__(self):
        return classifier_tags(super().__sklearn_tags__())

    @available_if(stochastic_solver)
    @fill_doc
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch, continuing from the current weights.

        {partial_fit_optimizer}

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Relative weights of the samples.

        classes : array-like of shape (n_classes,), default=None
            Every class that will ever be seen. Required on the first call, as
            in scikit-learn (a first batch lacking a class would leave the
            network without it); later calls may leave it out, or give the
            same classes. Multilabel targets take their classes from y's
            columns: it must be given, but is not read.

        Returns
        -------
        self : MLPClassifier
            The updated estimator.
        """
        if classes is None and getattr(self, "classes_", None) is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)


@fill_doc
class MLPRegressor(RegressorMixin, RegressorBehaviour, BaseMLP):
    """Multi-layer perceptron regressor: a Keras dense network with scikit-learn's
    ``MLPRegressor`` parameters.

    Code written for :class:`sklearn.neural_network.MLPRegressor` runs
    unchanged; the network trains with Keras on TensorFlow's devices. The
    output layer has one linear unit per target and the loss is half the
    mean squared error, as in scikit-learn: averaged over the targets in
    ``loss_curve_``, and summed over them in the gradient, so that several
    targets take scikit-learn's steps (or, with ``loss="poisson"``,
    exponential units and Keras' Poisson loss, ``y_pred - y * log(y_pred)``
    summed over the targets: scikit-learn's half Poisson deviance differs
    from it by a term of the targets alone, so ``loss_curve_`` differs while
    the gradients are the same). With ``early_stopping``, the
    output units' bias starts at the weighted mean of the training targets
    (its logarithm for ``"poisson"``): the stopping rule judges the network
    by its validation R² from the first epoch, and a network starting at 0
    would spend its first epochs learning the offset of unscaled targets
    (prices, counts) at a negative R², where the rule can stop it.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        The loss, as in scikit-learn: ``"poisson"`` needs non-negative targets.

    {mlp_parameters}

    {callbacks}

    {device_dtype}

    Attributes
    ----------
    {mlp_attributes}

    See Also
    --------
    MLPClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : scikit-learn's NumPy implementation.
    keraslearn.KerasRegressor : Wrap a Keras model of your own.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from keraslearn import MLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = make_pipeline(StandardScaler(), MLPRegressor(
    ...     hidden_layer_sizes=(32,), learning_rate_init=0.05, early_stopping=True,
    ...     random_state=0)).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> mlp = reg[-1]
    >>> len(mlp.validation_scores_) == mlp.n_iter_ < 200
    True
    """

    def __init__(
        self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
        solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
        learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
        random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
        nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
        beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
        dropout=0.0, batch_normalization=False, optimizer=None,
        reduce_lr_on_plateau=False, callbacks=None, device="auto", distribute=None,
        dtype=None,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.optimizer = optimizer
        self.reduce_lr_on_plateau = reduce_lr_on_plateau
        self.callbacks = callbacks
        self.device = device
        self.distribute = distribute
        self.dtype = dtype

    _parameter_constraints = {
        **BaseMLP._parameter_constraints,
        "loss": [OneOf("squared_error", "poisson")],
    }
    _score_metric = "r2_score"
    _score_function = staticmethod(r2_score)

    @staticmethod
    def _decode(encoder, raw):
        return encoder.inverse_transform(raw)

    def _initial_output_bias(self, y, sample_weight):
        # The constant prediction that fits the training targets best (their
        # weighted mean), so that the first epochs learn how they vary.
        y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        mean = np.average(y, axis=0, weights=sample_weight)
        if self.loss == "poisson":  # exponential output units
            return np.log(np.maximum(mean, 1e-6))
        return mean

    def _keras_loss(self, meta):
        if self.loss == "poisson":
            return SummedPoisson(dtype=self._dtype())
        return HalfSquaredError(dtype=self._dtype())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = self.loss == "poisson"  # as PoissonRegressor's
        return tags

    def _prepare_training_data(self, X, y, reset):
        if np.ndim(y) == 2 and np.shape(y)[1] == 1:
            # As scikit-learn's MLPRegressor: warn, and predict 1-D.
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and not issparse(y):
            values = np.asarray(y)  # (text or dates: told as such by the targets' check, after)
            if values.dtype.kind in "biuf" and (values < 0).any():
                raise ValueError("loss='poisson' requires non-negative y.")
        return X, y

    def _output(self, meta):
        return meta["n_outputs_"], "exponential" if self.loss == "poisson" else None

    def _out_activation_name(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _network_output(self):
        return self._out_activation_name()

    @available_if(stochastic_solver)
    @fill_doc
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch, continuing from the current weights.

        {partial_fit_optimizer}

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Relative weights of the samples.

        Returns
        -------
        self : MLPRegressor
            The updated estimator.
        """
        return super().partial_fit(X, y, sample_weight=sample_weight)
