"""BaseMLP: the dense network behind MLPClassifier and MLPRegressor, trained
with scikit-learn's MLP rules (batch size, L2 scaling, stopping, schedules)."""

import threading
import warnings
import weakref
from numbers import Integral, Real

import numpy as np
from scipy import sparse

from .._engine._data import beyond_float
from .._engine._forward import forget
from .._engine._plan import NEW
from .._engine._sources import RowSource, as_source
from .._stacklevel import user_stacklevel
from .._tf import keras
from ..utils import Interval, OneOf
from ._base import ReadyNetwork
from ._callbacks import HeldOutScore, InvScalingLearningRate, l2_regularizer
from ._continued import dropout_rate, normalises

# scikit-learn's activation names -> Keras'; Keras' own names are accepted too.
_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_ACTIVATIONS.update({name: name for name in (
    "linear", "sigmoid", "elu", "selu", "gelu", "silu", "softplus", "leaky_relu")})

# Networks built here, by name, while they live.
_LIVE_NETWORKS = weakref.WeakValueDictionary()
_NAMES_LOCK = threading.Lock()


def _named_network(layers):
    """``keras.Sequential(layers)`` named "mlp", or "mlp_1", "mlp_2", ...: the
    first name no live network built here holds. Two networks can then sit in
    one Keras model (names must be unique there), and refits reuse the same few
    names, so the variables' names repeat too (TensorFlow keeps a cached kernel
    per variable name for the life of the process, see ``_trace_cache``)."""
    with _NAMES_LOCK:
        i = 0
        while (name := f"mlp_{i}" if i else "mlp") in _LIVE_NETWORKS:
            i += 1
        model = keras.Sequential(layers, name=name)
        _LIVE_NETWORKS[name] = model
    return model


# scikit-learn's names of the output activations Keras computes
_OUT_ACTIVATIONS = {"linear": "identity", "exponential": "exp", "sigmoid": "logistic",
                    "softmax": "softmax"}


def _built_with(model):
    """``(L2 strength, hidden activation, dropout rate, batch normalisation,
    hidden sizes, output activation, float type)`` of a network
    :meth:`BaseMLP._keras_build_fn` built."""
    output = model.get_layer("output")
    regularizer = output.kernel_regularizer
    # Batch normalisation sits between a hidden layer and its activation.
    activations = [layer.activation for layer in model.layers
                   if isinstance(layer, keras.layers.Activation)] or [
        layer.activation for layer in model.layers if layer.name.startswith("hidden_")]
    return (0.0 if regularizer is None else float(regularizer.l2),
            keras.activations.serialize(activations[0]) if activations else None,
            dropout_rate(model), normalises(model),
            tuple(layer.units for layer in model.layers if layer.name.startswith("hidden_")),
            _OUT_ACTIVATIONS.get(keras.activations.serialize(output.activation)),
            keras.backend.standardize_dtype(output.kernel.dtype))


def _lbfgs(est):
    """Whether the estimator asks for L-BFGS, which Keras has not (no optimizer given)."""
    return est.solver == "lbfgs" and est.optimizer is None


def stochastic_solver(est):
    """``available_if`` check of ``partial_fit``: hidden for solver="lbfgs" (with
    no ``optimizer`` given), as scikit-learn hides it."""
    if _lbfgs(est):
        raise AttributeError("partial_fit is only available for stochastic optimizers. "
                             "lbfgs is not stochastic.")
    return True


class BaseMLP(ReadyNetwork):
    """A dense network trained with scikit-learn's MLP rules (not for direct use)."""

    # keraslearn builds the network from the parameters alone (an
    # ImageClassifier's may hold the user's augmentation layer): small
    # predictions may take the NumPy path (see keraslearn.set_config).
    _private_network = True

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
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), OneOf(np.inf)],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_normalization": ["boolean"],
        "optimizer": [None, str, type, keras.optimizers.Optimizer],
        "reduce_lr_on_plateau": ["boolean", dict],
        "callbacks": [None, list, tuple],
        "device": [None, str],
        # distribute: checked by the engine, as for the wrappers
        "dtype": [None, OneOf("float32", "float64")],
    }

    def _hidden_sizes(self):
        given = sizes = self.hidden_layer_sizes  # ([[3, 2]], a grid's typo: refused)
        sizes = [sizes] if np.ndim(sizes) == 0 else [  # (a 0-d array: its number)
            s[()] if isinstance(s, np.ndarray) else s for s in np.asarray(sizes, dtype=object)]
        for size in sizes:
            if isinstance(size, (bool, np.bool_)) or not isinstance(size, (Integral, np.integer)):
                raise ValueError(f"hidden_layer_sizes must hold integers, got {given!r}.")
        if any(size <= 0 for size in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {[int(s) for s in sizes]}.")
        return [int(size) for size in sizes]

    def _check_extra_params(self):
        super()._check_extra_params()
        self._hidden_sizes()
        if _lbfgs(self):
            raise ValueError(
                f"solver='lbfgs' is not available in keraslearn's {type(self).__name__}: "
                "Keras has no L-BFGS optimizer. Use solver='adam' or 'sgd', or a Keras "
                "optimizer through `optimizer`."
            )

    def _batch_size(self, n_train):
        if self.batch_size == "auto":
            return max(1, min(200, n_train))
        if self.batch_size > n_train:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                          "going to be clipped", stacklevel=user_stacklevel())
        return max(1, min(self.batch_size, n_train))

    def _uses_sgd_schedule(self, name):
        return self.optimizer is None and self.solver == "sgd" and self.learning_rate == name

    def _adaptive_learning_rate(self):
        return self._uses_sgd_schedule("adaptive")

    def _stopping_monitor(self):
        if self.early_stopping:
            return "val_" + self._score_metric, False, True
        return "loss", True, False

    def _epochs(self):
        return self.max_iter

    def _shuffle(self):
        return self.shuffle

    def _keras_verbose(self):
        return 2 if self.verbose else 0

    def _optimizer_spec(self):
        if self.solver == "sgd":
            default = "sgd"
            extra = {"momentum": self.momentum, "nesterov": self.nesterovs_momentum}
        else:
            default = "adam"
            extra = {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
        return self._optimizer_and_kwargs(default, self.learning_rate_init, extra)

    def _held_out_scorer(self, plan, data):
        # scikit-learn's MLP scores its held-out rows with its own score
        # function (accuracy, R²) after every epoch: so does this callback.
        if plan.validation_rows is None:
            return None
        rows, encoder = plan.validation_rows, data.encoder
        # A file-mapped X is read from its file chunk by chunk at every epoch,
        # a sparse one densified chunk by chunk.
        X = as_source(data.X)
        if isinstance(X, RowSource):
            X = X[rows]
        else:  # (values beyond the network's float type made every score NaN, silently)
            X = X.tocsr()[rows] if sparse.issparse(X) else X[rows]
            if (overflow := beyond_float(X, self._dtype(), features=data.features)) is not None:
                raise ValueError(f"The rows held out for early stopping: {overflow}")
            X = X.astype(self._dtype()) if sparse.issparse(X) else np.asarray(X, self._dtype())
        return HeldOutScore(
            X, data.y[rows], data.sample_weight[rows], name=self._score_metric,
            score=self._score_function, decode=lambda raw: self._decode(encoder, raw),
            encode=encoder.transform, dtype=self._dtype(),
        )

    def _needs_rebuild(self, model, plan):
        # scikit-learn's partial_fit computes with the current parameters and
        # divides the L2 penalty by this call's batches.
        # A fitted estimator's loss gives its output activation (and target type).
        return super()._needs_rebuild(model, plan) or _built_with(model) != (
            *self._network_settings(plan), self._network_output(), self._dtype())

    def _network(self, plan, data, randomness, where=None):
        model, encoder = super()._network(plan, data, randomness, where)
        # Early stopping judges the network by its validation score from the
        # first epoch: it starts from the targets' best constant prediction.
        if plan.network == NEW and plan.train and plan.validation_rows is not None:
            rows = slice(None) if plan.train_rows is None else plan.train_rows
            bias = self._initial_output_bias(data.y[rows], data.sample_weight[rows])
            if bias is not None:
                bias_var = model.layers[-1].bias
                with np.errstate(over="ignore"):  # (targets beyond it: named at encoding)
                    bias_var.assign(np.asarray(bias, dtype=bias_var.dtype))
        return model, encoder

    def _initial_output_bias(self, y, sample_weight):
        """The output layer's starting bias, with early stopping, for these
        training targets, or None to keep Keras' zeros."""
        return None

    def _own_callbacks(self, plan):
        callbacks = super()._own_callbacks(plan)
        if self._uses_sgd_schedule("invscaling"):
            callbacks.append(InvScalingLearningRate(
                float(self.learning_rate_init), float(self.power_t), plan.progress["t"],
                plan.n_train
            ))
        return callbacks

    def _network_settings(self, plan):
        """``(L2 strength, hidden activation, dropout rate, batch normalisation,
        hidden sizes)`` of the network the parameters build for ``plan``, as
        :func:`_built_with` reads them (other layers: partial_fit refuses to go on)."""
        # scikit-learn divides the L2 penalty by each batch's total sample
        # weight; a regularizer's strength is one number: a full batch's.
        strength = 0.5 * float(self.alpha) / (plan.batch_size * plan.weight_mean)
        return (max(strength, 0.0),
                _ACTIVATIONS[self.activation] if self._hidden_sizes() else None,
                float(self.dropout or 0.0),
                bool(self.batch_normalization and self._hidden_sizes()),
                tuple(self._hidden_sizes()))

    def _keras_build_fn(self, meta, plan):
        dtype = self._dtype()
        strength, activation, *_ = self._network_settings(plan)
        regularizer = l2_regularizer(strength, dtype)
        seeds = self._layer_seeds(plan)

        def init():  # Glorot's uniform initialisation, with scikit-learn's bound for "logistic"
            if self.activation == "logistic":  # with hidden layers or without, as scikit-learn
                return keras.initializers.VarianceScaling(1 / 3, "fan_avg", "uniform",
                                                          seed=next(seeds))
            return keras.initializers.GlorotUniform(seed=next(seeds))

        layers = [keras.Input(plan.sample[0], dtype=dtype)]  # (past a feature encoder)
        if len(plan.sample[0]) > 1:
            layers.append(keras.layers.Flatten(dtype=dtype))
        # Fixed names (not Keras' "dense_57"): the variables' names repeat from fit to
        # fit, so TensorFlow's kernel cache does not grow with refits (``_trace_cache``).
        for i, units in enumerate(self._hidden_sizes(), 1):
            layers.append(keras.layers.Dense(
                units, activation=None if self.batch_normalization else activation,
                kernel_initializer=init(), kernel_regularizer=regularizer, dtype=dtype,
                name=f"hidden_{i}",
            ))
            if self.batch_normalization:
                # Across replicas, the statistics of the global batch, as on one device.
                layers.append(keras.layers.BatchNormalization(
                    dtype=dtype, name=f"normalise_{i}",
                    synchronized=self.distribute is not None))
                layers.append(keras.layers.Activation(activation, dtype=dtype))
            if self.dropout:
                layers.append(keras.layers.Dropout(self.dropout, dtype=dtype, seed=next(seeds)))
        units, out_activation = self._output(meta)
        layers.append(keras.layers.Dense(
            units, activation=out_activation, kernel_initializer=init(),
            kernel_regularizer=regularizer, dtype=dtype, name="output",
        ))
        return _named_network(layers)

    def _family_attributes(self, plan, n_iter):
        plan.progress["t"] += plan.n_train * n_iter
        loss_curve = self.history_.get("loss", [])
        attributes = {
            "t_": plan.progress["t"],
            "loss_": loss_curve[-1] if loss_curve else None,
            "n_layers_": len(self._hidden_sizes()) + 2,
            "n_outputs_": int(self.__dict__["model_"].output_shape[-1]),
            "out_activation_": self._out_activation_name(),
        }
        if self.early_stopping:
            scores = list(self.history_.get("val_" + self._score_metric, []))
            best = plan.progress["best"]  # (of the weights kept: the rule may have started over)
            attributes.update(validation_scores_=scores, best_loss_=None, best_validation_score_=(
                best if np.isfinite(best) else None))
        else:
            attributes.update(best_loss_=min(loss_curve, default=np.inf),
                              validation_scores_=None, best_validation_score_=None)
        return attributes

    @property
    def coefs_(self):
        """Weight matrices of the Dense layers, input to output."""
        return self._dense_weights(0)

    @coefs_.setter
    def coefs_(self, values):
        self._set_dense_weights(0, values, "coefs_")

    @property
    def intercepts_(self):
        """Bias vectors of the Dense layers, input to output."""
        return self._dense_weights(1)

    @intercepts_.setter
    def intercepts_(self, values):
        self._set_dense_weights(1, values, "intercepts_")

    def _dense_weights(self, index):
        # Copies of the network's weights: read-only, so that changing one in
        # place fails loudly instead of leaving the network as it was.
        out = [np.array(layer.get_weights()[index]) for layer in self._dense_layers()]
        for array in out:
            array.flags.writeable = False
        return _LayerArrays(out, self, index, ("coefs_", "intercepts_")[index])

    def _set_dense_weights(self, index, values, name):
        """Assign ``values`` (one array per Dense layer) to the layers' kernels
        (``index`` 0) or biases (1), every shape checked before any is set."""
        layers = self._dense_layers()
        values = list(values)
        if len(values) != len(layers):
            raise ValueError(f"{name} takes {len(layers)} arrays, one per Dense layer; got "
                             f"{len(values)}.")
        variables = [layer.weights[index] for layer in layers]
        arrays = []
        for i, (variable, value) in enumerate(zip(variables, values)):
            array = np.asarray(value)
            if array.shape != tuple(variable.shape):
                raise ValueError(f"{name}[{i}] has shape {array.shape}; the layer's is "
                                 f"{tuple(variable.shape)}.")
            arrays.append(array.astype(variable.dtype))
        for variable, array in zip(variables, arrays):
            variable.assign(array)
        # After the weights change: a snapshot another thread read meanwhile goes too.
        forget(self.__dict__["model_"])


def _refused(method):
    def refuse(self, *args, **kwargs):
        raise TypeError(f"{self._name} holds one array per Dense layer: set one "
                        f"({self._name}[i] = ...) or all of them ({self._name} = [...]); "
                        f"{method} would change the list, not the network.")
    return refuse


class _LayerArrays(list):
    """``coefs_`` or ``intercepts_``: copies of the network's arrays, one per
    Dense layer. Setting an item sets that layer's, as in scikit-learn's lists
    (it was lost: the list is made anew at each read), the others left as the
    network holds them; the list then holds what the network does. Other
    changes to the list are refused, and so is setting an item of a list read
    before a fit that built another network. Pickled or copied, it is a plain
    list."""

    def __init__(self, arrays, owner, index, name):
        super().__init__(arrays)
        self._owner, self._index, self._name = owner, index, name
        self._model = owner.__dict__["model_"]

    def __setitem__(self, i, value):
        if self._owner.__dict__.get("model_") is not self._model:
            raise ValueError(f"This {self._name} list was read from the network of an earlier "
                             f"fit: read {self._name} again to set the current network's.")
        values = list(self._owner._dense_weights(self._index))  # as the network is now
        values[i] = list(value) if isinstance(i, slice) else value
        self._owner._set_dense_weights(self._index, values, self._name)
        super().__setitem__(slice(None), self._owner._dense_weights(self._index))

    def __reduce__(self):
        return list, (list(self),)

    append, extend, insert = _refused("append"), _refused("extend"), _refused("insert")
    pop, remove, clear = _refused("pop"), _refused("remove"), _refused("clear")
    sort, reverse = _refused("sort"), _refused("reverse")
    __delitem__, __iadd__, __imul__ = _refused("del"), _refused("+="), _refused("*=")
