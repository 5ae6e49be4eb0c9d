"""Predictions on a few rows without TensorFlow: a NumPy forward pass.

A call into TensorFlow costs a few hundred microseconds whatever the network
does, several times what a small network's arithmetic costs on a few rows.
For a network keraslearn knows exactly -- a ``keras.Sequential``, or a
functional model calling its layers one after the other, made only of
``Dense``, ``Activation``, ``Dropout``, ``BatchNormalization`` and
``Flatten`` layers (exactly those classes, not subclasses) with the
activations ``linear``, ``relu``, ``tanh``, ``sigmoid``, ``softmax`` and
``exponential``, in float32 or float64, one dense input -- the same inference
is computed with NumPy: the model's own outputs, up to floating point
rounding. Anything else is predicted by the model itself.

scipy sparse rows (text features: tens of thousands of columns, a few
hundred values a row) take this path whatever their number when the first
layer computing anything is a ``Dense`` one: its product is scipy's sparse
one, a chunk of rows at a time, where TensorFlow would densify every batch
before multiplying it.

Where the weights come from:

- a network no code outside keraslearn can hold (one the ready estimators
  build themselves, never handed out) is predicted from a *snapshot*: the
  weights are read at the first small prediction after each keraslearn fit,
  ``partial_fit``, warm start or load (never before: keraslearn drops it
  whenever it changes the weights itself), then no weight is read per call;
- any other network -- the wrappers', which the user's own code builds, or a
  ready estimator's once handed out (reading or setting ``model_``, or a
  callback of one's own that receives it) -- is read again at every call:
  its layers, their settings and every weight as they are at that moment
  (each variable read straight from its handle, about 12 microseconds a
  variable), so whatever code changed it, the prediction is the network's.

``keraslearn.set_config(fast_small_predictions=False)`` turns the path off.
"""

import functools
import threading
import weakref

import numpy as np
from scipy import sparse as scipy_sparse
from scipy.special import expit

from .._tf import keras, tf
from ._plain_networks import layers_in_order
from ._sources import is_mapped

# Predictions of at most this many rows take the NumPy path.
SMALL_ROWS = 1024
_FLOATS = ("float32", "float64")

# Networks a reference to which has left keraslearn: never snapshot.
_HANDED_OUT = weakref.WeakSet()
# network -> its NumpyForward, or False when it has a layer NumPy cannot run.
_SNAPSHOTS = weakref.WeakKeyDictionary()
# network -> how many times its snapshot was dropped: a snapshot read while
# another thread's fit changed the weights is not kept.
_DROPPED = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _drop(model):
    with _LOCK:
        _SNAPSHOTS.pop(model, None)
        _DROPPED[model] = _DROPPED.get(model, 0) + 1


def hand_out(model):
    """Record that code outside keraslearn may hold (and change) ``model``."""
    if model is not None:
        _HANDED_OUT.add(model)
        _drop(model)


def might_take(X):
    """Whether X may take the NumPy path, known before any weight is read:
    an ndarray of a few rows, or scipy sparse rows."""
    return (type(X) is np.ndarray and len(X) <= SMALL_ROWS) or scipy_sparse.issparse(X)


def forget(model):
    """Drop the snapshot of ``model``: keraslearn is changing its weights."""
    if model is not None:
        _drop(model)


def snapshot(model):
    """The :class:`NumpyForward` of ``model``'s current weights, or None when
    the network has been handed out or is not made of layers NumPy runs."""
    if model in _HANDED_OUT:
        return None
    forward = _SNAPSHOTS.get(model)
    if forward is None:
        dropped = _DROPPED.get(model, 0)
        forward = NumpyForward.of(model) or False
        with _LOCK:  # kept unless the weights were changed meanwhile
            if _DROPPED.get(model, 0) == dropped:
                _SNAPSHOTS[model] = forward
    return forward or None


def forward_of(model, private):
    """The NumPy forward pass that predicts with ``model`` now, or None for
    TensorFlow: a snapshot for a ``private`` network (one keraslearn alone
    built) never handed out, else the network read as it is at this call."""
    if private and model not in _HANDED_OUT:
        return snapshot(model)
    return NumpyForward.of(model)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _activations():
    acts = keras.activations
    return {
        acts.linear: None,
        acts.relu: lambda x: np.maximum(x, 0),
        acts.tanh: np.tanh,
        acts.sigmoid: expit,
        acts.softmax: _softmax,
        acts.exponential: np.exp,
    }


def _read(variable):
    """The variable's current value as a read-only array, which later
    changes to the variable leave as it is."""
    value = getattr(variable, "value", None)
    if isinstance(value, tf.Variable) and not isinstance(value, tf.distribute.DistributedValues):
        # One op on the variable's handle (Keras' and TensorFlow's reading
        # machinery around it costs three times as much), and no copy: the
        # array views the value read, whose buffer TensorFlow copies before
        # writing the variable again while it is shared (a copy of a large
        # network's weights at every call would cost more than TensorFlow).
        array = np.asarray(tf.raw_ops.ReadVariableOp(resource=value.handle, dtype=value.dtype))
    else:
        array = np.array(variable.numpy())
    array.flags.writeable = False
    return array


class NumpyForward:
    """Inference of a known ``keras.Sequential`` in NumPy, on a snapshot of its
    weights (see the module docstring). Build it with :meth:`of`."""

    def __init__(self, steps, input_shape, dtype, takes_sparse=False):
        self.steps = steps
        self.takes_sparse = takes_sparse  # the first step is a Dense layer's
        self._tiny = np.finfo(dtype).tiny  # the smallest normal float
        self.input_shape = input_shape
        self.dtype = dtype

    @classmethod
    def of(cls, model):
        """The forward pass of ``model`` as it is now, or None if a layer,
        dtype or input is not one this class knows."""
        layers = layers_in_order(model)
        # Checked before any weight is read: a network NumPy cannot run costs nothing.
        if layers is None or any(type(layer) not in _steps() for layer in layers):
            return None
        inputs = model.inputs
        if getattr(inputs[0], "sparse", False):
            return None
        name = getattr(inputs[0].dtype, "name", inputs[0].dtype)
        if name not in _FLOATS:
            return None
        dtype = np.dtype(name)
        steps, takes_sparse = [], False
        for layer in layers:
            policy = getattr(layer, "dtype_policy", None)
            if getattr(policy, "name", None) != name:
                return None  # mixed precision, or a layer of another dtype
            step = _step(layer, dtype)
            if step is False:
                return None
            if step is not None:
                takes_sparse = takes_sparse or not steps and type(layer) is keras.layers.Dense
                steps.append(step)
        return cls(steps, tuple(inputs[0].shape[1:]), dtype, takes_sparse)

    def accepts(self, X):
        """Whether X is a float ndarray of a few rows shaped as the input, in
        memory: one mapped from a file is read a batch at a time by TensorFlow's
        path, not cast whole here; or scipy sparse rows of any number, for a
        network whose first step is a Dense layer's."""
        if scipy_sparse.issparse(X):
            return (self.takes_sparse and X.shape[0] > 0 and X.dtype.kind in "biuf"
                    and X.shape[1:] == self.input_shape)
        return (type(X) is np.ndarray and 0 < len(X) <= SMALL_ROWS
                and X.dtype.kind in "biuf" and X.shape[1:] == self.input_shape
                and not is_mapped(X))

    def __call__(self, X):
        if scipy_sparse.issparse(X):
            # A chunk of rows at a time: one dense chunk of each layer's outputs.
            X = scipy_sparse.csr_array(X)
            return np.concatenate([self._rows(X[i:i + SMALL_ROWS])
                                   for i in range(0, X.shape[0], SMALL_ROWS)])
        return self._rows(X)

    def _rows(self, X):
        # (a frame's values, column after column: in rows, as Keras' predict reads
        # them, or BLAS computes them otherwise, a float32 step apart)
        x = (X.astype(self.dtype, copy=False) if scipy_sparse.issparse(X)
             else np.ascontiguousarray(X, dtype=self.dtype))
        with np.errstate(all="ignore"):  # (overflow to inf, NaN: silent, as in TensorFlow)
            for step in self.steps:
                x = step(x)
        if np.may_share_memory(x, X):  # layers that pass rows on: never the caller's array
            x = x.copy()
        # TensorFlow flushes subnormal results to (signed) zero on the CPU.
        size = np.abs(x)
        if size.min(initial=np.inf) < self._tiny:
            x[(size < self._tiny) & (x != 0)] *= 0
        return x


@functools.cache
def _steps():
    """Each layer class NumPy runs -> ``make(layer, dtype)``: a function of
    the layer's inference on an array, None for a layer that leaves it as it
    is (Dropout, inactive at inference), False for settings NumPy cannot run."""
    layers = keras.layers
    return {
        layers.Dropout: lambda layer, dtype: None,
        layers.Flatten: lambda layer, dtype: (
            (lambda x: x.reshape(len(x), -1))
            if getattr(layer, "data_format", "channels_last") == "channels_last" else False),
        layers.Activation: lambda layer, dtype: _activation_step(layer.activation),
        layers.Dense: lambda layer, dtype: _dense_step(layer),
        layers.BatchNormalization: _batch_norm_step,
    }


def _step(layer, dtype):
    """A function of the layer's inference on an array, None for a layer that
    leaves it as it is, False for a layer NumPy cannot run."""
    make = _steps().get(type(layer))
    return False if make is None else make(layer, dtype)


def _activation_step(function):
    table = _activations()
    if function not in table:
        return False
    return table[function]


def _dense_step(layer):
    if getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None):
        return False
    activation = _activation_step(layer.activation)
    if activation is False:
        return False
    kernel = _read(layer.kernel)
    bias = _read(layer.bias) if layer.bias is not None else None  # as Dense.call decides

    def dense(x):
        y = x @ kernel
        if bias is not None:
            y += bias
        return y if activation is None else activation(y)

    return dense


def _batch_norm_step(layer, dtype):
    try:
        rank = len(layer.input.shape)
    except (AttributeError, ValueError):
        return False
    if layer.axis not in (-1, rank - 1):
        return False
    # tf.nn.batch_normalization's arithmetic, in the same order.
    inv = 1.0 / np.sqrt(_read(layer.moving_variance) + np.asarray(layer.epsilon, dtype))
    if layer.scale:
        inv = inv * _read(layer.gamma)
    offset = -_read(layer.moving_mean) * inv
    if layer.center:
        offset = _read(layer.beta) + offset
    inv = inv.astype(dtype)
    offset = offset.astype(dtype)
    return lambda x: x * inv + offset
