"""Inference without ``model.predict``'s per-call cost.

``model.predict`` builds a data pipeline and a progress bar on every call
(tens of milliseconds even for one row). Here the model is called directly in
inference mode (through its ``predict_step`` when its class has its own):
eagerly for the first calls (no tracing cost for a model that is scored
once, as in a grid search), then through one traced function with a batch
dimension of any size, which answers a single row in well under a
millisecond.

Row sources (``_sources``: arrays mapped from files, image files) are read
chunk by chunk, read ahead while the model runs, and never whole; their
chunks are smaller (``SOURCE_CHUNK_BYTES``), as several are held at once.
"""

import numpy as np
from scipy import sparse as scipy_sparse

from .._tf import keras, tf
from . import _nested as nested
from ._input_dtypes import check_integer_inputs
from ._layers import all_layers, computing_layers
from ._sources import has_sources, reported_read_errors, sources

# Calls answered eagerly before the traced function is built (none for a
# network computing in 16 bits, whose eager and traced outputs may differ by a
# step of its precision: every call answers as the traced one, as predict).
EAGER_CALLS = 2
EAGER_CHUNKS = 2  # (more chunks in one call: traced at once)
_HALF_PRECISION = frozenset({"float16", "bfloat16"})
# Rows per chunk: keep each chunk's input near this many bytes, and the
# outputs of its layers (a deep convolutional network's, on small images:
# megabytes a row) under ACTIVATION_BYTES, but never fewer rows than Keras'
# predict takes a step (KERAS_BATCH).
CHUNK_BYTES = 16 * 2**20
ACTIVATION_BYTES = 256 * 2**20
KERAS_BATCH = 32
MAX_CHUNK_ROWS = 8192
# Rows per chunk of a row source: a few chunks are in flight at once (read
# ahead), so the resident set grows by several times this.
SOURCE_CHUNK_BYTES = 2**20


class Predictor:
    """Calls a Keras model in inference mode, chunk by chunk."""

    def __init__(self, model):
        self.model = model
        self.n_calls = 0
        self._traced = None
        self._eager = inference(model)
        self._eager_calls = 0 if any(getattr(layer, "compute_dtype", None) in _HALF_PRECISION
                                     for layer in computing_layers(model)) else EAGER_CALLS
        self._max_rows = None  # (from its layers' outputs, at the first call)

    def _trace(self, spec):
        fn = tf.function(self._eager, reduce_retracing=True)
        self._layout, self._spec = _layout(self.model), spec
        return fn.get_concrete_function(spec)

    def _rows_of_activations(self):
        """The rows whose layer outputs fit in ``ACTIVATION_BYTES`` (an upper
        bound: the sum of every layer's output; layers whose output shape is
        not known, as a subclassed model's, are not counted), or Keras' batch
        where fewer (a 224x224 ResNet50: one row, where chunks by their input
        alone took 27)."""
        if self._max_rows is None:
            per_row = 0
            for layer in computing_layers(self.model):
                try:
                    outputs = keras.tree.flatten(layer.output)
                except (AttributeError, ValueError, RuntimeError):  # (never called on inputs)
                    continue
                for out in outputs:
                    if None not in tuple(out.shape[1:]):
                        per_row += int(np.prod(out.shape[1:])) * _itemsize(out.dtype)
            self._max_rows = (max(KERAS_BATCH, ACTIVATION_BYTES // per_row) if per_row
                              else MAX_CHUNK_ROWS)
        return self._max_rows

    def __call__(self, X, batch_size=None, hooks=None):
        """The model's outputs for X, chunk by chunk (``batch_size`` rows, or
        about ``CHUNK_BYTES`` of input); ``hooks`` (a Keras ``CallbackList``)
        get the predict hooks, a batch hook per chunk, as Keras' predict calls
        them."""
        out = self._outputs(X, batch_size, hooks)
        if hooks is not None:
            hooks.on_predict_end()
        return out

    def _outputs(self, X, batch_size, hooks):
        X = sources(nested.normalise(X))
        kinds = input_kinds(self.model, X)
        check_integer_inputs(X, kinds)
        spec = nested.map_pairs(lambda a, kind: kind.spec(a), X, kinds)
        if self._traced is not None and (_layout(self.model) != self._layout
                                         or spec != self._spec):
            # Layers changed since (model_.pop(), an activation set), or the
            # rows' dtype: an undeclared input takes integer rows as they are.
            self._traced = None
        self.n_calls += 1
        from_files, n = has_sources(X), nested.n_rows(X)
        row_bytes = max(1, sum(int(np.prod(a.shape[1:])) * k.dtype.itemsize for a, k in
                               zip(nested.leaves(X), nested.leaves(kinds))))
        chunk = batch_size or max(1, min(
            MAX_CHUNK_ROWS, (SOURCE_CHUNK_BYTES if from_files else CHUNK_BYTES) // row_bytes,
            self._rows_of_activations()))
        # A model compiled with run_eagerly (layers that run only eagerly) is
        # never traced, as Keras' predict reads it; data read from files, or
        # rows of more than EAGER_CHUNKS chunks, are many: traced at once, not
        # called eagerly chunk by chunk (a deep network's eager chunks take
        # several times its traced ones).
        eagerly = bool(getattr(self.model, "run_eagerly", False))
        if not eagerly and self._traced is None and (
                self.n_calls > self._eager_calls or from_files or n > EAGER_CHUNKS * chunk):
            self._traced = self._trace(spec)
        call = self._eager if eagerly or self._traced is None else self._traced
        outs = []
        if from_files:
            _begin(hooks, n, chunk)
            from ._feed import batches_in_order, releasing

            with reported_read_errors(X), releasing():
                for (tensors,) in batches_in_order(X, chunk, kinds):
                    outs.append(_run(call, tensors, hooks, len(outs)))
            return _joined(outs)
        _begin(hooks, n, chunk)
        for start in range(0, n, chunk):
            part = nested.take(X, slice(start, start + chunk))
            tensors = nested.map_pairs(lambda a, kind: kind.tensor(a), part, kinds)
            outs.append(_run(call, tensors, hooks, len(outs)))
        return _joined(outs)


def _itemsize(dtype):
    try:
        return np.dtype(dtype).itemsize
    except TypeError:  # bfloat16, which NumPy does not know
        return 2


def inference(model):
    """A function of a batch ``x``: the model's outputs as Keras' predict
    computes them, through the model's own ``predict_step`` when its class
    has one (given ``(x,)``, as Keras' predict gives batches), else
    ``model(x, training=False)``."""
    if getattr(type(model), "predict_step", None) is keras.Model.predict_step:
        return lambda x: model(x, training=False)
    return lambda x: model.predict_step((x,))


def _layout(model):
    """What a traced call keeps of a network that its layers may change
    outside keraslearn: which layers it runs (those a wrapper layer such as
    TimeDistributed or Bidirectional runs too), and their activations."""
    parts = [part for layer in all_layers(model) for part in (layer, *(
        getattr(layer, name, None) for name in ("layer", "forward_layer", "backward_layer")))]
    return tuple((part, getattr(part, "activation", None)) for part in parts if part is not None)


def _begin(hooks, n_rows, chunk):
    """Start the predict hooks, with the params Keras' predict gives them
    (one epoch of its steps: here, a step per chunk)."""
    if hooks is not None:
        hooks.set_params({"verbose": 0, "epochs": 1, "steps": -(-n_rows // chunk)})
        hooks.on_predict_begin()


def _run(call, tensors, hooks, batch):
    if hooks is not None:
        hooks.on_predict_batch_begin(batch)
    out = _to_numpy(call(tensors))
    if hooks is not None:
        hooks.on_predict_batch_end(batch, {"outputs": out})
    return out


class InputKind:
    """How one model input takes rows: its dtype, and whether it is a sparse
    input (``keras.Input(..., sparse=True)``), which is fed sparse tensors;
    other inputs get dense rows, scipy sparse rows densified.

    ``declared`` says that the input is a ``keras.Input`` of the model (a
    functional or Sequential model): Keras densifies a sparse tensor given to
    such an input of ``sparse=False`` itself, inside the traced step, so
    training batches of scipy sparse rows reach it sparse and no dense batch
    is held in the input pipeline. Rows given to an input the model does not
    declare (a subclassed model), or to a model whose ``train_step`` is its
    own (which may read the batch before the model does), are densified
    before the model sees them."""

    def __init__(self, dtype, sparse=False, declared=False, ids=None):
        self.dtype = np.dtype(dtype)
        self.sparse = bool(sparse)
        self.declared = bool(declared)
        self.ids = ids  # the rows of an Embedding reading an integer input, or None

    def __repr__(self):
        return f"InputKind({self.dtype}, sparse={self.sparse}, declared={self.declared})"

    @property
    def takes_sparse_batches(self):
        """Whether training batches of scipy sparse rows may reach the model sparse."""
        return self.sparse or self.declared

    def spec(self, array):
        shape = (None,) + tuple(array.shape[1:])
        if self.sparse:
            return tf.SparseTensorSpec(shape, tf.as_dtype(self.dtype))
        return tf.TensorSpec(shape, tf.as_dtype(self.dtype))

    def tensor(self, array):
        if not self.sparse:
            return tf.convert_to_tensor(nested.dense(array, self.dtype))
        if not scipy_sparse.issparse(array):
            return tf.sparse.from_dense(np.asarray(array, dtype=self.dtype))
        coo = array.tocoo()
        indices = np.column_stack([coo.row, coo.col]).astype(np.int64)
        return tf.sparse.reorder(tf.SparseTensor(indices, coo.data.astype(self.dtype), coo.shape))


def _kind(tensor, declared, ids=None):
    dtype = getattr(tensor, "dtype", None)
    dtype = getattr(dtype, "name", dtype) or "float32"
    if dtype == "string":  # (found: NumPy's "data type 'string' not understood")
        name = str(getattr(tensor, "name", "") or "")
        which = "" if name.startswith("keras_tensor") else f" {name!r}"  # (Keras' own name)
        raise ValueError(
            f"The network's input{which} reads text (dtype string), "
            "but keraslearn feeds the network numbers: turn the text into numbers before it "
            "(a vectorizer in a Pipeline, or a feature_encoder giving ids or counts) and give "
            "the network a numeric input (ids read by an Embedding or an IntegerLookup).")
    return InputKind(dtype, getattr(tensor, "sparse", False), declared=declared,
                     ids=(ids or {}).get(id(tensor)))


def _embedding_rows(model, inputs):
    """``{id(input): input_dim}`` for the integer ``inputs`` of ``model`` that an
    Embedding reads directly (as its layer's first call, a shared one's); the
    smallest one's where several read an input (found in review: the first's)."""
    if not any(keras.backend.standardize_dtype(getattr(t, "dtype", "float32")).startswith(
            ("int", "uint")) for t in inputs):
        return {}
    found = {}
    for layer in getattr(model, "layers", ()):  # (a subclass's own call may take others)
        if isinstance(layer, keras.layers.Embedding) and (
                type(layer).call is keras.layers.Embedding.call):
            try:
                rows = int(layer.input_dim)
                found[id(layer.input)] = min(found.get(id(layer.input), rows), rows)
            except (AttributeError, ValueError, TypeError):  # (never called, or not built)
                continue
    return found


def _undeclared(a):
    """How an input the model does not declare takes ``a``: integer and boolean
    rows as they are (as Keras' fit hands them to a subclassed model), other
    rows as float32."""
    dtype = getattr(a, "dtype", None)
    kept = isinstance(dtype, np.dtype) and dtype.kind in "biu"
    return InputKind(dtype if kept else "float32")


def input_kinds(model, X=None):
    """How each model input takes rows (:class:`InputKind`): one, or a tuple
    or dict of them shaped like ``X`` (matched by position, or by input name
    for a dict); see :func:`_undeclared` for an input the model does not
    declare yet."""
    inputs = list(getattr(model, "inputs", None) or [])
    # Keras' own train_step hands the batch to the model's declared inputs.
    declared = getattr(type(model), "train_step", None) is keras.Model.train_step
    ids = _embedding_rows(model, inputs)
    if nested._is_dict(X):
        # By input name, or by the key of the dict a functional model was built on
        # (Keras feeds it so, whatever its Input's name).
        by_name = {getattr(t, "name", None): t for t in inputs} | keyed_inputs(model)
        return {k: _kind(by_name[k], declared, ids) if k in by_name else _undeclared(a)
                for k, a in X.items()}
    if isinstance(X, (list, tuple)):
        if len(inputs) == len(X):
            return tuple(_kind(t, declared, ids) for t in inputs)
        return tuple(_undeclared(a) for a in X)
    return _kind(inputs[0], declared, ids) if inputs else _undeclared(X)


def keyed_inputs(model):
    """A functional model's inputs by the keys of the dict it was built on; {}
    for other models."""
    try:
        structure = model.input
    except (AttributeError, ValueError, TypeError):  # not built, or not functional
        return {}
    return dict(structure) if isinstance(structure, dict) else {}


def _to_numpy(out):
    """A model's output as an array; several outputs as a list (or dict) of arrays.
    One output in a list or dict is its array, as the NumPy forward pass gives it."""
    out = nested.sole(out)
    if isinstance(out, dict):
        return {k: np.asarray(v) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return [np.asarray(o) for o in out]
    return np.asarray(out)


def _joined(outs):
    """The chunks' outputs joined, in arrays of the caller's own: ``np.asarray``
    of an eager tensor is a read-only view of its buffer, which one chunk's
    outputs passed on unchanged (a float64 network's) would hand the user;
    several chunks are joined into new arrays already."""
    joined = nested.concatenate(outs)
    if len(outs) != 1:
        return joined

    def own(a):
        return a if a.flags.writeable else a.copy()

    if isinstance(joined, dict):
        return {k: own(v) for k, v in joined.items()}
    return [own(a) for a in joined] if isinstance(joined, list) else own(joined)
