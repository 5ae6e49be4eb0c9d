"""Inference without ``model.predict``'s per-call cost.

``model.predict`` builds a data pipeline and a progress bar on every call
(tens of milliseconds even for one row). Here the model is called directly in
inference mode: eagerly for the first calls (no tracing cost for a model that
is scored once, as in a grid search), then through one traced function with a
batch dimension of any size, which answers a single row in well under a
millisecond.
"""

import numpy as np

from .._tf import tf

# Calls answered eagerly before the traced function is built.
EAGER_CALLS = 2
# Rows per chunk: keep each chunk's input near this many bytes.
CHUNK_BYTES = 16 * 2**20
MAX_CHUNK_ROWS = 8192


class Predictor:
    """Calls a Keras model in inference mode, chunk by chunk."""

    def __init__(self, model):
        self.model = model
        self.n_calls = 0
        self._traced = None
        self.x_dtype = input_dtype(model)

    def _trace(self, X):
        spec = tf.TensorSpec((None,) + tuple(X.shape[1:]), tf.as_dtype(self.x_dtype))
        model = self.model
        fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        return fn.get_concrete_function(spec)

    def __call__(self, X, batch_size=None):
        self.n_calls += 1
        if self._traced is None and self.n_calls > EAGER_CALLS:
            self._traced = self._trace(X)
        call = self._traced if self._traced is not None else self._eager
        n = X.shape[0]
        row_bytes = max(1, int(np.prod(X.shape[1:])) * self.x_dtype.itemsize)
        chunk = batch_size or max(1, min(MAX_CHUNK_ROWS, CHUNK_BYTES // row_bytes))
        outs = [
            _to_numpy(call(tf.convert_to_tensor(np.asarray(X[s:s + chunk], dtype=self.x_dtype))))
            for s in range(0, n, chunk)
        ]
        return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=0)

    def _eager(self, x):
        return self.model(x, training=False)


def input_dtype(model):
    """The dtype of the model's (first) input; float32 when it has none yet."""
    inputs = getattr(model, "inputs", None)
    dtype = inputs[0].dtype if inputs else None
    return np.dtype(getattr(dtype, "name", dtype) or "float32")


def _to_numpy(out):
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        parts = [np.asarray(o).reshape(len(np.asarray(o)), -1) for o in out]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
    return np.asarray(out)
