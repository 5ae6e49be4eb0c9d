"""Keras callbacks, a regularizer and a loss that give Keras training scikit-learn's MLP rules."""

import warnings
import weakref

import numpy as np
from scipy import sparse

from .._engine._dense_chain import dense_chains
from .._engine._predict import CHUNK_BYTES
from .._engine._sources import RowSource
from .._stacklevel import user_stacklevel
from .._tf import keras, numpy_reads_of_variables, tf

# model -> its traced held-out step. A warm copy of the trace cache lives
# across fits of its architecture: so does its traced step.
_HELD_OUT_STEPS = weakref.WeakKeyDictionary()


def _held_out_step(model):
    """A traced function: (outputs, compiled loss with penalties) for (x, y, w)."""
    step = _HELD_OUT_STEPS.get(model)
    if step is None:
        # A weak reference: the step must not keep its model (the key) alive.
        model_ref = weakref.ref(model)

        def run(x, y, w):
            net = model_ref()
            outputs = net(x, training=False)
            loss = net.compute_loss(x=x, y=y, y_pred=outputs, sample_weight=w,
                                    training=False)
            # Under a strategy Keras divides a loss by the replicas (their
            # gradients are summed); its own evaluation multiplies it back.
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            return outputs, loss * replicas if replicas > 1 else loss

        step = _HELD_OUT_STEPS[model] = tf.function(run, reduce_retracing=True)
    return step


@keras.saving.register_keras_serializable(package="keraslearn")
class CastL2(keras.regularizers.L2):
    """L2 penalty returned in Keras' float type.

    Keras sums a model's losses in ``floatx`` (float32); a float64 network's
    penalty must be cast to join them. Gradients still flow in float64.
    """

    def __call__(self, x):
        return keras.ops.cast(super().__call__(x), keras.config.floatx())


@keras.saving.register_keras_serializable(package="keraslearn")
class HalfSquaredError(keras.losses.MeanSquaredError):
    """scikit-learn's MLP regression loss: half the mean squared error.

    With it the loss curve, ``tol`` and the L2 penalty (``alpha``) mean what
    they mean in scikit-learn, and a learning rate takes the same steps. As
    in scikit-learn, its value averages the outputs (the loss curve) while
    its gradient is that of their sum (the steps): the two differ by the
    number of outputs, which a multi-output regressor's steps must not lose.
    """

    def __init__(self, reduction="sum_over_batch_size", name="half_squared_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true, y_pred):
        half = 0.5 * super().call(y_true, y_pred)  # averaged over the outputs
        extra = keras.ops.cast(keras.ops.shape(y_pred)[-1] - 1, half.dtype)
        # Its value, with the gradient of the outputs' sum.
        return half + extra * (half - keras.ops.stop_gradient(half))

    def get_config(self):
        # The dtype too: a float64 network's loss stays float64 in copies.
        return {**super().get_config(), "dtype": self.dtype}


def log_loss_cap(dtype):
    """The most a log-loss term reaches in scikit-learn's MLP, which clips
    probabilities to [eps, 1 - eps] of its data's float type: -log(eps)."""
    dtype = np.dtype(dtype)
    return float(-np.log(np.finfo(dtype if dtype.kind == "f" else "float64").eps))


def _capped(loss, cap):
    """``loss`` reported at most ``cap`` (scikit-learn's clipped value), with
    the gradient of ``loss`` itself (scikit-learn steps along the unclipped
    probabilities)."""
    if cap is None:
        return loss
    return loss + keras.ops.stop_gradient(keras.ops.minimum(loss, cap) - loss)


class _CappedLogLoss:
    """A Keras log-loss whose terms are reported as scikit-learn reports them."""

    _default_name = None

    def __init__(self, cap=None, reduction="sum_over_batch_size", name=None, dtype=None,
                 from_logits=False):
        super().__init__(from_logits=from_logits, reduction=reduction,
                         name=name or self._default_name, dtype=dtype)
        self.cap = cap

    def call(self, y_true, y_pred):
        return _capped(super().call(y_true, y_pred), self.cap)

    def get_config(self):  # (from_logits: the ready MLPs' since they output logits)
        return {"cap": self.cap, "reduction": self.reduction, "name": self.name,
                "dtype": self.dtype, "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="keraslearn")
class SummedBinaryCrossentropy(_CappedLogLoss, keras.losses.BinaryCrossentropy):
    """scikit-learn's MLP loss for multilabel targets: the labels' binary
    log-losses summed (Keras' ``BinaryCrossentropy`` averages them), so that
    the loss curve, ``tol`` and ``alpha`` mean what they mean in scikit-learn;
    each reported at most ``cap``.
    """

    _default_name = "summed_binary_crossentropy"

    def call(self, y_true, y_pred):
        # Each label's term, from the logits (those Keras keeps on a sigmoid's output).
        terms = keras.ops.binary_crossentropy(keras.ops.cast(y_true, y_pred.dtype), y_pred,
                                              from_logits=self.from_logits)
        return keras.ops.sum(_capped(terms, self.cap), axis=-1)


@keras.saving.register_keras_serializable(package="keraslearn")
class CappedBinaryCrossentropy(_CappedLogLoss, keras.losses.BinaryCrossentropy):
    """scikit-learn's MLP loss for binary targets (one logistic unit, or its
    logit with ``from_logits=True``), each row's term reported at most ``cap``."""

    _default_name = "binary_crossentropy"


@keras.saving.register_keras_serializable(package="keraslearn")
class CappedSparseCategoricalCrossentropy(_CappedLogLoss,
                                          keras.losses.SparseCategoricalCrossentropy):
    """scikit-learn's MLP loss for multiclass targets (softmax units, class
    indices), each row's term reported at most ``cap``."""

    _default_name = "sparse_categorical_crossentropy"


@keras.saving.register_keras_serializable(package="keraslearn")
class SummedPoisson(keras.losses.Poisson):
    """scikit-learn's MLP Poisson loss over several outputs: Keras' Poisson
    deviance summed over the outputs (Keras averages them), so that a
    multi-output regressor takes scikit-learn's steps."""

    def __init__(self, reduction="sum_over_batch_size", name="summed_poisson", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true, y_pred):
        outputs = keras.ops.cast(keras.ops.shape(y_pred)[-1], y_pred.dtype)
        return outputs * super().call(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "dtype": self.dtype}


def warn_16_bit_floatx(est, continued=False):
    """Warn where Keras' float type is 16-bit: Keras tracks the training loss
    in it, whatever the network's float type (float32 then); once a network,
    not at each ``partial_fit`` call that ``continued`` it."""
    floatx = keras.config.floatx()
    if floatx in ("float16", "bfloat16") and not continued:
        warnings.warn(
            f"keras.config.floatx() is {floatx!r}: Keras tracks the training loss in it, so "
            f"{type(est).__name__}'s loss_curve_ and stopping rule read it in 16 bits, although "
            f"its network is {est._dtype()} (float16 overflows past 65,504; bfloat16 keeps some 3 "
            "digits, too few to tell small improvements apart). Call "
            "keras.config.set_floatx('float32') before fitting it.", UserWarning,
            stacklevel=user_stacklevel())


def l2_regularizer(strength, dtype):
    """An L2 kernel regularizer of ``strength`` for layers of ``dtype`` (None for 0)."""
    if strength <= 0:
        return None
    if dtype == keras.config.floatx():
        return keras.regularizers.L2(strength)
    return CastL2(strength)


class HeldOutScore(keras.callbacks.Callback):
    """scikit-learn's MLP validation score, after each epoch, on the held-out rows.

    Adds ``val_<name>`` -- ``score(y, predictions, sample_weight=...)`` with
    the function scikit-learn's MLP scores with (``accuracy_score``,
    ``r2_score``), on predictions decoded as ``predict`` decodes them, NaN
    when the outputs are not finite -- and ``val_loss`` (the compiled loss
    with the layers' penalties, as Keras' own validation computes it) to the
    epoch's logs. It runs first, so that every later callback (the user's,
    the stopping rule, ``ReduceLROnPlateau``, Keras' History) sees both.

    One traced forward pass of the held-out rows (in chunks of about
    ``chunk_bytes`` once dense, 4096 rows at most: sparse rows of a wide
    vocabulary are densified a chunk at a time) gives both; the score is
    computed in float64 by
    scikit-learn. It replaces Keras' per-epoch ``evaluate``, whose fixed cost
    is several times a small network's epoch; the fit's other callbacks
    (``others``) get the test hooks ``evaluate`` would call (``SwapEMAWeights``
    scores the averaged weights so).
    """

    def __init__(self, X, y, sample_weight, *, name, score, decode, encode,
                 chunk_bytes=CHUNK_BYTES, dtype=None):
        super().__init__()
        # An array, a row source read chunk by chunk as dtype, or a scipy
        # sparse matrix of dtype densified chunk by chunk.
        self.X = X
        self.dtype = dtype
        self.y = y
        self.sample_weight = sample_weight
        self.name = name
        self.score = score
        self.decode = decode
        self.encode = encode
        row_bytes = int(np.prod(X.shape[1:])) * np.dtype(dtype or X.dtype).itemsize
        self.chunk_rows = max(1, min(4096, chunk_bytes // max(1, row_bytes)))
        self._targets = None
        self.others = ()

    def on_train_begin(self, logs=None):
        # The target encoder is configured for the network once it is built.
        self._targets = self.encode(self.y)

    def on_epoch_end(self, epoch, logs=None):
        # A plain dense network trained by keraslearn's dense chain trainer
        # has a step of its own there, traced once for every width.
        step = dense_chains.held_out_step(self.model) or _held_out_step(self.model)
        outputs, losses, sizes = [], [], []
        self._hooks("on_test_begin")
        for batch, start in enumerate(range(0, self.X.shape[0], self.chunk_rows)):
            self._hooks("on_test_batch_begin", batch)
            rows = slice(start, start + self.chunk_rows)
            x = self.X[rows]
            if isinstance(x, RowSource):
                x = x.read().astype(self.dtype, copy=False)
            elif sparse.issparse(x):
                x = x.toarray()
            out, loss = step(x, self._targets[rows], self.sample_weight[rows])
            outputs.append(np.asarray(out, dtype=np.float64))
            losses.append(float(loss))
            sizes.append(len(outputs[-1]))
            self._hooks("on_test_batch_end", batch, {"loss": losses[-1]})
        raw = np.concatenate(outputs) if len(outputs) > 1 else outputs[0]
        if np.isfinite(raw).all():
            value = float(self.score(self.y, self.decode(raw), sample_weight=self.sample_weight))
        else:
            value = float("nan")
        # Keras' validation: the mean of the chunks' losses, by their size.
        scores = {"loss": float(np.average(losses, weights=sizes)), self.name: value}
        self._hooks("on_test_end", scores)
        if logs is not None:
            logs.update(("val_" + key, score) for key, score in scores.items())

    def _hooks(self, name, *args):
        for callback in self.others:
            getattr(callback, name)(*args)


class NoImprovementStopping(keras.callbacks.Callback):
    """scikit-learn's MLP stopping rule.

    An epoch counts as "no improvement" when the monitored score is lower
    than the best one plus ``tol`` (or equal to it, without ``ties_improve``:
    Keras' rule, where scikit-learn's counts an equal score as better); after
    more than ``n_iter_no_change`` such epochs in a row, training stops — or,
    with ``adaptive``, the learning rate is divided by 5 until it falls below
    1e-6. With
    ``restore_best``, the weights of the best epoch are restored at the end.
    ``state`` (``best``, ``count`` and the best epoch's weights) is a dict
    kept by the estimator, so a warm-started fit continues the count and ends
    on the best weights seen in any of its fits (as scikit-learn's MLP does).
    """

    def __init__(self, monitor, *, lower_is_better, tol, n_iter_no_change, state,
                 adaptive=False, restore_best=False, verbose=False, ties_improve=True):
        super().__init__()
        self.ties_improve = ties_improve
        self.monitor = monitor
        self.sign = -1.0 if lower_is_better else 1.0
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.state = state
        self.adaptive = adaptive
        self.restore_best = restore_best
        self.verbose = verbose
        self._said = None  # what the last epoch did, said at the next one's start

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        score = self.sign * float(value)
        state = self.state
        best = state["best"] + self.tol
        if score < best or (score == best and not self.ties_improve):
            state["count"] += 1
        else:
            state["count"] = 0
        if score > state["best"]:
            state["best"] = score
            if self.restore_best:
                state["best_weights"] = self.model.get_weights()
        if state["count"] > self.n_iter_no_change:
            optimizer = self.model.optimizer
            lr = float(optimizer.learning_rate.numpy())
            if self.adaptive and lr > 1e-6:
                optimizer.learning_rate = lr / 5.0
                state["count"] = 0
                self._said = (f"{self.monitor} did not improve: learning rate set to "
                              f"{lr / 5.0:g}.")
            else:
                self.model.stop_training = True
                state["stopped"] = True
                self._said = (f"{self.monitor} did not improve more than tol={self.tol} for "
                              f"{self.n_iter_no_change} consecutive epochs. Stopping.")

    def on_train_begin(self, logs=None):
        self._said = None  # (nothing left of a fit cut short)

    def on_epoch_begin(self, epoch, logs=None):
        self._say()

    def _say(self):
        """What the last epoch did, said after Keras' line of that epoch (its
        progress bar prints after every other callback), where Keras says it:
        on the terminal, or to absl's log once interactive logging is off."""
        said, self._said = self._said, None
        if said is None or not self.verbose:
            return
        if keras.config.is_interactive_logging_enabled():
            print(said)
        else:
            from absl import logging

            logging.info(said)

    def on_train_end(self, logs=None):
        self._say()
        best = self.state.get("best_weights")
        if self.restore_best and best is not None:
            self.model.set_weights(best)


class PlateauLearningRate(keras.callbacks.ReduceLROnPlateau):
    """Keras' ``ReduceLROnPlateau``, without NumPy 2's deprecation warning
    at every epoch (Keras reads the rate with ``np.array(variable)``)."""

    def on_epoch_end(self, epoch, logs=None):
        with numpy_reads_of_variables():
            super().on_epoch_end(epoch, logs)


class InvScalingLearningRate(keras.callbacks.Callback):
    """scikit-learn's ``learning_rate="invscaling"``: after each epoch the rate
    becomes ``learning_rate_init / (t + 1) ** power_t``, t counting samples seen."""

    def __init__(self, learning_rate_init, power_t, t, n_samples):
        super().__init__()
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.t = t
        self.n_samples = n_samples

    def on_epoch_end(self, epoch, logs=None):
        self.t += self.n_samples
        self.model.optimizer.learning_rate = self.learning_rate_init / (self.t + 1) ** self.power_t
