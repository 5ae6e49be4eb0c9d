"""A fitted pipeline -> one Keras model: named inputs, preprocessing, network, decoding.

The pipeline is taken apart into its transformers (each converted to Keras
layers), the samplers it drops and its final keraslearn estimator. The model
built from them takes the pipeline's raw columns and returns what the
estimator's ``predict`` (and ``predict_proba``) return, as a dict of tensors.
"""

import keyword
import re
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .._engine._data import reading_float
from .._engine._layers import defined_by_keras_or_keraslearn
from .._engine._predict import inference
from .._tf import keras, tf
from ..utils._first_steps import fitted_features
from ..utils._readers import is_sampler
from ..utils._text import listed, not_utf8, printable
from . import _layers
from ._converters import convert
from ._formats import ATOL, RTOL
from ._hints import refusal_hint
from ._ids import graph_ids
from ._nan_inputs import as_tensors, imputed_features
from ._steps import Frame, Sequence


@dataclass
class Graph:
    """The model to export with what describes it."""

    model: keras.Model
    signature: object  # dict of name -> tf.TensorSpec, or one tf.TensorSpec
    inputs: list  # [{"name", "feature", "dtype", "shape"}]
    unused_features: list
    outputs: list  # [{"name", "dtype", "shape"}]
    tables: list  # lookup tables the model uses (tracked at export)
    probe: dict  # input name -> a few rows, to check an artifact against
    expected: dict  # output name -> the model's outputs on the probe
    info: dict  # task, estimator, classes, steps, dropped steps
    tolerance: tuple = (RTOL, ATOL)  # what an artifact's outputs must agree to


OUTPUT_NAMES = ("label", "probabilities", "predictions")  # those of _layers' outputs


def split_pipeline(pipeline):
    """(transformers [(name, step)], estimator, dropped [(name, step)])."""
    from .._engine import ClassifierBehaviour, RegressorBehaviour

    transformers, dropped, obj, prefix = [], [], pipeline, ""
    while isinstance(obj, Pipeline):
        *head, (last_name, last) = obj.steps
        for name, step in head:
            (dropped if is_sampler(step) else transformers).append((prefix + name, step))
        obj, prefix = last, f"{prefix}{last_name}/"
    if not isinstance(obj, (ClassifierBehaviour, RegressorBehaviour)):
        raise TypeError(
            "keraslearn.export takes a fitted keraslearn estimator, or a scikit-learn or "
            "imbalanced-learn Pipeline ending in one; got "
            + (f"a pipeline ending in {type(obj).__name__}." if obj is not pipeline
               else f"{type(obj).__name__}.") + refusal_hint(obj, obj is not pipeline)
        )
    check_is_fitted(obj)
    _check_exportable(obj)
    return transformers, obj, dropped


def _check_exportable(est):
    """Refuse what the graph would compute otherwise than ``est.predict``:
    encoders of the user's own run Python the graph does not hold."""
    from .._engine._data import is_identity
    from .._engine._label_encoder import ClassifierLabelEncoder
    from .._engine._targets import RegressorTargetEncoder

    name = type(est).__name__
    if isinstance(getattr(est, "n_features_in_", None), dict):
        raise TypeError(
            f"keraslearn.export takes a network of one unnamed input; this {name} was "
            f"fitted on named inputs {sorted(est.n_features_in_)} (a dict or MultiInput). "
            "Save it with keraslearn.save instead."
        )
    features = est.__dict__.get("feature_encoder_")
    if not is_identity(features):
        raise TypeError(
            f"keraslearn.export cannot export this {name}: its feature_encoder "
            f"({type(features).__name__}) transforms X in Python before the network, which "
            "the exported graph would skip. Make the transformation a step of a Pipeline "
            "before the estimator (export converts scikit-learn's scalers, encoders and "
            "imputers), or save it with keraslearn.save."
        )
    overridden = _own_prediction(type(est))
    if overridden is not None:
        raise TypeError(
            f"keraslearn.export cannot export this {name}: its class {overridden[1]} defines "
            f"its own {overridden[0]}, which runs in Python after the network; the exported "
            "graph would answer the network's own predictions instead. Save it with "
            "keraslearn.save, which keeps the class."
        )
    encoder = est.target_encoder_
    if type(encoder) not in (ClassifierLabelEncoder, RegressorTargetEncoder):
        raise TypeError(
            f"keraslearn.export cannot export this {name}: its target_encoder "
            f"({type(encoder).__name__}) turns the network's outputs into predictions in "
            "Python, and export decodes them only as keraslearn's own target encoders do. "
            "Save it with keraslearn.save instead."
        )


def _own_prediction(cls):
    """The first prediction method a class outside keraslearn redefines (a
    subclass of the user's own), with that class's name, or None."""
    for method in ("predict", "predict_proba", "_labels", "_probabilities", "_targets",
                   "_raw_predict", "_network_outputs"):
        owner = next((k for k in cls.__mro__ if method in k.__dict__), None)
        if owner is not None and not defined_by_keras_or_keraslearn(owner):
            return method, owner.__qualname__
    return None


class PipelineModel(keras.Model):
    """Raw columns -> preprocessing layers -> the fitted network -> decoded outputs."""

    def __init__(self, plan, network, decoder, input_names, matrix_input, network_dtype):
        # float32 whatever Keras' global dtype policy: the artifact takes and
        # preprocesses float32 columns, and casts to the network's own dtype.
        super().__init__(name="keraslearn_pipeline", dtype="float32")
        self.plan = plan
        self.preprocessing = plan.layers()
        self.network = network
        self.decoder = decoder
        self.input_names = list(input_names)
        self.matrix_input = matrix_input
        self.network_dtype = network_dtype

    def call(self, inputs):
        raw = inference(self.network)(tf.cast(self.preprocess(inputs), self.network_dtype))
        return self.decoder(raw)

    def preprocess(self, inputs):
        """The matrix the preprocessing layers give the network."""
        if self.matrix_input:
            frame = Frame(matrix=inputs)
        else:
            frame = Frame(columns=[None if n is None else inputs[n] for n in self.input_names])
        return self.plan(frame).as_matrix(integers=self.plan.keeps_values)


def build_graph(pipeline, float_labels="float64"):
    """The :class:`Graph` of a fitted pipeline; ``float_labels`` is the dtype
    float class labels are output in (LiteRT has no float64 gather)."""
    transformers, est, dropped = split_pipeline(pipeline)
    plan = Sequence([convert(name, step) for name, step in transformers])
    features, n_features = fitted_features(pipeline)
    n_features = int(n_features)
    needs = plan.needs(n_features)
    image_shape = tuple(est.X_shape_[1:])
    # Read, not handed out (as reading ``model_`` does): the export changes
    # nothing in it, so its few-row predictions keep their NumPy snapshot.
    network = est.__dict__["model_"]
    takes = _input_dtype(network)
    ids, keeps = graph_ids(plan, needs, features, network, takes)
    numbers = tf.as_dtype(takes) if keeps else tf.float32  # (ids: past 2**24 too)
    if features is not None and not (plan.transparent and len(image_shape) > 1):
        input_names, signature, inputs_meta, unused = _named_inputs(
            [str(f) for f in features], needs, plan.transparent, numbers)
    else:
        # One input: images as the network takes them, or rows of n_features.
        shape = image_shape if plan.transparent and len(image_shape) > 1 else (n_features,)
        signature = tf.TensorSpec((None, *shape), _single_dtype(needs, numbers), name="inputs")
        input_names, inputs_meta, unused = [], [_describe("inputs", None, signature)], []
    model = PipelineModel(plan, network, _decoder(est, float_labels), input_names,
                          matrix_input=not input_names, network_dtype=takes)
    probe = _probe(signature, needs, input_names, integers=np.dtype(takes).kind in "iub")
    expected = {k: np.asarray(v) for k, v in model(as_tensors(probe)).items()}
    outputs = [
        {"name": k, "dtype": _dtype_name(v.dtype), "shape": [None, *v.shape[1:]]}
        for k, v in expected.items()
    ]
    tables = _layers.lookup_tables(plan.layers())
    info = {
        "task": "classification" if hasattr(est, "classes_") else "regression",
        "estimator": type(est).__name__,
        "steps": [{"name": n, "class": type(s).__name__} for n, s in transformers
                  if not (s is None or isinstance(s, str))],  # not "passthrough"
        "dropped_steps": [{"name": n, "class": type(s).__name__} for n, s in dropped],
    }
    info["imputed_features"] = [] if keeps or plan.transparent else imputed_features(
        pipeline, features, n_features, inputs_meta, model, probe, int(np.prod(image_shape)))
    if info["task"] == "classification":
        info["classes"] = np.asarray(est.classes_).tolist()
        info["target_type"] = est.target_encoder_.target_type_
    if "image_shape_" in est.__dict__:
        info["image_files"] = _image_files(est)
    reads, _ = reading_float(network)
    if reads is not None and reads.kind == "f" and reads.itemsize == 2:
        # (float16 under a mixed policy: a preprocessed value past 65,504 gives NaN)
        info["network_reads"] = reads.name
    if ids is not None:  # (preprocessing steps make the values it takes: none recorded)
        info["network_ids"] = ids
    return Graph(model, signature, inputs_meta, unused, outputs, tables, probe, expected, info,
                 _tolerance(network))


# The spacing of 16-bit floats at 1: a network computing in them differs between
# runtimes (or traced and eager) by a few of these, not by float32's.
_EPSILON = {"float16": 2.0**-10, "bfloat16": 2.0**-7}


def _tolerance(network):
    from .._engine._layers import computing_layers

    eps = max((_EPSILON.get(getattr(layer, "compute_dtype", None), 0.0)
               for layer in computing_layers(network)), default=0.0)
    return max(RTOL, 8 * eps), max(ATOL, 8 * eps)


def _named_inputs(features, needs, transparent, numbers):
    names = input_names(features)
    signature, meta, used_names, unused = {}, [], [], []
    for feature, name, need in zip(features, names, needs):
        if need is None and not transparent:
            unused.append(feature)
            used_names.append(None)
            continue
        dtype = tf.string if need is not None and need.dtype == "string" else numbers
        signature[name] = tf.TensorSpec((None,), dtype, name=name)
        meta.append(_describe(name, feature, signature[name]))
        used_names.append(name)
    return used_names, signature, meta, unused


def input_names(features):
    """Graph input names for column names: ASCII letters, digits and ``_``, unique
    whatever their case (TensorFlow's signatures tell "ID" from "id" not), and
    none an output's name (ONNX graphs need that)."""
    names, seen = [], {name.lower() for name in OUTPUT_NAMES}
    for i, feature in enumerate(features):
        base = re.sub(r"[^A-Za-z0-9_]+", "_", feature).strip("_") or f"feature_{i}"
        if base[0].isdigit():
            base = f"f_{base}"
        # TensorFlow's signatures take no Python keyword, nor "self" (the
        # traced method's own argument).
        if keyword.iskeyword(base) or base == "self":
            base = f"{base}_"
        name, k = base, 2
        while name.lower() in seen:
            name, k = f"{base}_{k}", k + 1
        seen.add(name.lower())
        names.append(name)
    return names


def _single_dtype(needs, numbers):
    kinds = {need.dtype for need in needs if need is not None}
    if len(kinds) > 1:
        raise ValueError(
            "The pipeline reads some columns as strings and others as numbers, but it was "
            "fitted without column names (on an array, or on a DataFrame whose column names "
            "are not all strings, which scikit-learn does not record): fit it on a pandas "
            "DataFrame of string column names (X.columns = X.columns.astype(str)) so that "
            "each column gets its own named input."
        )
    return tf.string if kinds == {"string"} else numbers


def _describe(name, feature, spec):
    return {"name": name, "feature": feature, "dtype": spec.dtype.name,
            "shape": list(spec.shape.as_list())}


def _input_dtype(network):
    try:
        dtype = network.inputs[0].dtype
    except (AttributeError, IndexError, TypeError, ValueError):
        return "float32"
    return keras.backend.standardize_dtype(dtype)


def _image_files(est):
    """How the estimator reads image files into the input, or None (it reads none)."""
    height, width, channels = est.image_shape_
    if channels not in (1, 3):
        return None
    resize, decoder = est.__dict__.get(
        "_image_reading", (est.image_shape is not None, est.image_decoder))
    return {"decoder": decoder, "color": "grayscale" if channels == 1 else "rgb",
            "resized_to": [height, width] if resize else None,
            "resampling": "bilinear" + ", anti-aliased when shrinking" * (decoder == "pillow"),
            "scale": "float32 divided by 255: values in [0, 1]"}


def _decoder(est, float_labels):
    encoder = est.target_encoder_
    if not hasattr(est, "classes_"):
        return _layers.RegressorOutputs(one_dimensional=encoder.y_ndim_ == 1)
    classes = np.asarray(est.classes_)
    return _layers.ClassifierOutputs(
        mode=encoder.mode_, from_logits=encoder.from_logits_, classes=classes,
        one_hot_labels=encoder.target_type_ == "multiclass-onehot",
        label_dtype=_label_dtype(classes, float_labels),
    )


def _label_dtype(classes, float_labels):
    items = classes.tolist()
    if classes.dtype.kind == "O":
        classes = np.asarray(items)  # (Python ints past int64's range: floats, objects)
    kind = classes.dtype.kind
    if kind in "US":
        if bad := not_utf8(items):
            raise ValueError(
                f"The classes {listed(bad, as_text=printable)} are not UTF-8 text (names read "
                "from files or folders whose bytes are not UTF-8, escaped here as \\xNN), "
                "and an exported graph holds its labels as UTF-8 strings. Fit on labels "
                "that are (rename the folders, or decode the names from their encoding).")
        return tf.string
    beyond = [c for c in items if isinstance(c, Integral) and not isinstance(c, bool)
              and not -(2**63) <= c < 2**63]
    if beyond:
        raise ValueError(
            f"The classes {beyond[:3]!r} pass int64's range: an exported graph outputs "
            "integer labels as int64. Fit on labels within it (or on strings).")
    if kind in "iu":
        return tf.int64
    if kind == "b":
        return tf.bool
    if kind == "f":
        inexact = classes[classes.astype(float_labels) != classes]
        if inexact.size:
            raise ValueError(
                f"The classes {inexact.tolist()[:3]!r} are not exact in {float_labels}, the "
                "type of float labels in this export format: the exported labels would differ "
                "(two could merge). Export to tf_saved_model or onnx (float64 labels), or fit "
                "on integer labels.")
        return tf.as_dtype(float_labels)
    raise ValueError(
        f"The classes {classes.tolist()[:5]!r} are neither strings nor numbers; "
        "they cannot be output by an exported graph."
    )


def _probe(signature, needs, names, integers=False):
    """A few rows for each input: random numbers (images in [0, 1)), and string
    columns going through all their categories and one unseen value. For a
    network taking integers (ids), 0 and 1, ids every Embedding has (found in
    an audit: normal draws cast to -2..2 failed an Embedding(input_dim=2))."""
    rng = np.random.default_rng(0)
    n = max([4] + [len(need.examples) + 1 for need in needs if need is not None])

    def numbers(shape, spec, images=False):  # (in the input's dtype: ids as integers)
        return (rng.integers(0, 2, shape) if integers else rng.uniform(0.0, 1.0, shape)
                if images else rng.standard_normal(shape)).astype(spec.dtype.as_numpy_dtype)

    def strings(need):
        values = list(need.examples if need is not None else ()) + ["<unseen>"]
        return np.array([values[i % len(values)] for i in range(n)], dtype=object)

    if isinstance(signature, dict):
        return {
            name: strings(need) if signature[name].dtype == tf.string else numbers(
                n, signature[name])
            for name, need in zip(names, needs) if name is not None
        }
    if signature.dtype == tf.string:
        return {"inputs": np.stack([strings(need) for need in needs], axis=1)}
    shape = (n,) + tuple(signature.shape.as_list()[1:])
    return {"inputs": numbers(shape, signature, images=len(shape) > 2)}


def _dtype_name(dtype):
    return "string" if dtype.kind in "OSU" else np.dtype(dtype).name
