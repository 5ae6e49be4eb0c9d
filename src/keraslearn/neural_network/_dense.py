"""BaseMLP: the dense network behind MLPClassifier and MLPRegressor, trained
with scikit-learn's MLP rules (batch size, L2 scaling, stopping, schedules)."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils.class_weight import compute_sample_weight

from .._runtime import keras
from ..utils import Interval, OneOf, check_sample_weight
from ._base import ReadyNetwork
from ._callbacks import InvScalingLearningRate, l2_regularizer

# scikit-learn's activation names -> Keras'; Keras' own names are accepted too.
_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_ACTIVATIONS.update({name: name for name in (
    "linear", "sigmoid", "elu", "selu", "gelu", "silu", "softplus", "leaky_relu")})


class BaseMLP(ReadyNetwork):
    """A dense network trained with scikit-learn's MLP rules (not for direct use).

    The public classes put it before KerasClassifier / KerasRegressor, whose
    ClassifierMixin / RegressorMixin then precede BaseEstimator in the MRO
    (a mixin cannot be listed again left of a class that already derives it).
    """

    _fitted_properties = ("coefs_", "intercepts_")
    _warn_max_iter = True

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [OneOf(*_ACTIVATIONS)],
        "solver": [OneOf("lbfgs", "sgd", "adam")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [OneOf("auto"), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [OneOf("constant", "invscaling", "adaptive")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), OneOf(np.inf)],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_normalization": ["boolean"],
        "optimizer": [None, str, type, keras.optimizers.Optimizer],
        "reduce_lr_on_plateau": ["boolean", dict],
        "device": [None, str],
        "dtype": [None, OneOf("float32", "float64")],
    }

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.ndim(sizes) == 0 else list(np.asarray(sizes).ravel())
        for size in sizes:
            if isinstance(size, (bool, np.bool_)) or not isinstance(size, (Integral, np.integer)):
                raise ValueError(f"hidden_layer_sizes must hold integers, got {sizes!r}.")
        if any(size <= 0 for size in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {[int(s) for s in sizes]}.")
        return [int(size) for size in sizes]

    def _check_extra_params(self):
        super()._check_extra_params()
        self._hidden_sizes()
        if self.solver == "lbfgs" and self.optimizer is None:
            raise ValueError(
                f"solver='lbfgs' is not available in keraslearn's {type(self).__name__}: "
                "Keras has no L-BFGS optimizer. Use solver='adam' or 'sgd', or a Keras "
                "optimizer through `optimizer`."
            )

    def _batch_size(self, n_train, warn=True):
        if self.batch_size == "auto":
            return max(1, min(200, n_train))
        if self.batch_size > n_train and warn:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going "
                "to be clipped",
                stacklevel=2,
            )
        return max(1, min(self.batch_size, n_train))

    def _uses_sgd_schedule(self, name):
        return self.optimizer is None and self.solver == "sgd" and self.learning_rate == name

    def _adaptive_learning_rate(self):
        return self._uses_sgd_schedule("adaptive")

    def _stopping_monitor(self):
        if self.early_stopping:
            return "val_" + self._score_metric, False, True
        return "loss", True, False

    def _keras_params(self):
        if self.solver == "sgd":
            default = "sgd"
            extra = {"momentum": self.momentum, "nesterov": self.nesterovs_momentum}
        else:
            default = "adam"
            extra = {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
        optimizer, routed = self._optimizer_and_kwargs(default, self.learning_rate_init, extra)
        params = {
            **self._base_keras_params(), **routed, "optimizer": optimizer,
            "loss": self._keras_loss(), "verbose": 2 if self.verbose else 0,
            "shuffle": self.shuffle, "epochs": self.max_iter,
        }
        if self.early_stopping:
            params["compile__weighted_metrics"] = [self._score_metric]
        return params

    def _keras_loss(self):
        return None  # chosen from the target by the wrapper

    def _sample_weight(self, X, y, sample_weight):
        sw = super()._sample_weight(X, y, sample_weight)
        # scikit-learn divides the L2 penalty by each batch's total sample weight.
        # Class weights count as sample weights here too, as they do in training.
        raw = check_sample_weight(sample_weight, X)
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            raw = raw * compute_sample_weight(class_weight, y)
        self._weight_mean = float(raw.mean())
        return sw

    def _fit_callbacks(self, params):
        callbacks = super()._fit_callbacks(params)
        if self._uses_sgd_schedule("invscaling"):
            callbacks.append(InvScalingLearningRate(
                self.learning_rate_init, self.power_t, self._progress["t"], self._n_train
            ))
        return callbacks

    def _keras_build_fn(self, meta):
        dtype = self._dtype()
        activation = _ACTIVATIONS[self.activation]
        n = meta["X_shape_"][0]
        batch = self._batch_size(n - self._validation_rows(n), warn=False)
        regularizer = l2_regularizer(0.5 * self.alpha / (batch * self._weight_mean), dtype)
        # Glorot's uniform initialisation, with scikit-learn's bound for "logistic".
        init = "glorot_uniform"
        if activation == "sigmoid":
            init = keras.initializers.VarianceScaling(1 / 3, "fan_avg", "uniform")
        layers = [keras.Input(meta["X_shape_"][1:], dtype=dtype)]
        if len(meta["X_shape_"]) > 2:
            layers.append(keras.layers.Flatten(dtype=dtype))
        for units in self._hidden_sizes():
            layers.append(keras.layers.Dense(
                units, activation=None if self.batch_normalization else activation,
                kernel_initializer=init, kernel_regularizer=regularizer, dtype=dtype,
            ))
            if self.batch_normalization:
                layers.append(keras.layers.BatchNormalization(dtype=dtype))
                layers.append(keras.layers.Activation(activation, dtype=dtype))
            if self.dropout:
                layers.append(keras.layers.Dropout(self.dropout, dtype=dtype))
        units, out_activation = self._output(meta)
        layers.append(keras.layers.Dense(
            units, activation=out_activation, kernel_initializer=init,
            kernel_regularizer=regularizer, dtype=dtype,
        ))
        return keras.Sequential(layers)

    def _set_fit_attributes(self):
        self._progress["t"] += self._n_train * self.n_iter_
        self.t_ = self._progress["t"]
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else None
        if self.early_stopping:
            self.validation_scores_ = list(self.history_.get("val_" + self._score_metric, []))
            self.best_validation_score_ = max(self.validation_scores_, default=None)
            self.best_loss_ = None
        else:
            self.best_loss_ = min(self.loss_curve_, default=np.inf)
            self.validation_scores_ = self.best_validation_score_ = None
        self.n_layers_ = len(self._hidden_sizes()) + 2
        self.n_outputs_ = int(self.model_.output_shape[-1])
        self.out_activation_ = self._out_activation_name()

    @property
    def coefs_(self):
        """Weight matrices of the Dense layers, input to output."""
        return [np.asarray(layer.get_weights()[0]) for layer in self._dense_layers()]

    @property
    def intercepts_(self):
        """Bias vectors of the Dense layers, input to output."""
        return [np.asarray(layer.get_weights()[1]) for layer in self._dense_layers()]
