"""keraslearn.export: a fitted pipeline as one model for serving."""

import json

from ..utils._files import commit
from . import _files, _formats
from ._graph import build_graph

# Version of the layout of the exported artifacts and of their metadata.
EXPORT_FORMAT_VERSION = 1
METADATA_NAME = "keraslearn.json"


def export(pipeline, path, format="tf_saved_model", *, overwrite=False):
    """Export a fitted pipeline ending in a keraslearn estimator as one model.

    The fitted preprocessing is folded into the graph as Keras layers, followed
    by the network and the decoding of its outputs, so that the artifact runs
    with nothing of keraslearn or scikit-learn: ``tf.saved_model.load``, the
    LiteRT interpreter or ONNX Runtime.

    Parameters
    ----------
    pipeline : estimator or Pipeline
        A fitted keraslearn estimator, or a fitted ``sklearn.pipeline.Pipeline``
        or ``imblearn.pipeline.Pipeline`` ending in one. Its other steps may be
        ``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``,
        ``SimpleImputer`` (numeric columns), ``Normalizer``, ``OneHotEncoder``
        (integer or string columns), ``FunctionTransformer()`` (the identity),
        a ``ColumnTransformer`` or ``Pipeline`` of these, and
        imbalanced-learn samplers, which are dropped as they act only in fit.
        Any other step raises a ``ValueError`` naming it.

    path : str or path-like
        A directory for ``"tf_saved_model"``, a file (``.tflite``, ``.onnx``)
        otherwise. Its parent directory must exist; a suffix ``.onnx`` or
        ``.tflite`` must be that of ``format``.

    format : {"tf_saved_model", "litert", "onnx"}, default="tf_saved_model"
        ``"litert"`` (alias ``"tflite"``) needs ``pip install 'keraslearn[litert]'``,
        ``"onnx"`` needs ``pip install 'keraslearn[onnx]'``.

    overwrite : bool, default=False
        Replace an existing artifact at ``path``. Without it, an existing path is
        an error. Only an artifact of the same kind is ever replaced (a
        SavedModel directory holding no other files), and only once the new
        one is complete: a failed export leaves ``path`` as it was.

    Returns
    -------
    path : pathlib.Path
        Where the artifact was written.

    Raises
    ------
    TypeError
        When ``pipeline`` does not end in a keraslearn estimator, or the
        estimator computes in Python beside its network (a subclass's own
        ``predict`` or data transformer, several inputs): save it instead.

    ValueError
        When a step cannot be folded into the graph (it is named), the
        format cannot hold the network (LiteRT and a float64 network), or
        ``path``'s suffix names another format.

    sklearn.exceptions.NotFittedError
        When the pipeline is not fitted.

    FileExistsError, FileNotFoundError
        When ``path`` exists (without ``overwrite``) or its parent does not.

    Notes
    -----
    **Inputs.** A pipeline fitted on a pandas DataFrame gets one input per
    column it uses, of shape ``(n,)``, named after the column (characters other
    than ASCII letters, digits and ``_`` become ``_``: ``größe`` is ``gr_e``;
    ``ExportedModel`` and the server still take the column's own name; a Python keyword gets a
    ``_``: ``class_``; a column named like an output, or like another once so
    changed, gets a suffix: ``label_2``): float32 for
    numeric columns (a network of integer inputs with no step before it:
    its integer dtype, so that ids past 2**24 stay exact),
    string for columns one-hot encoded from strings. Columns the pipeline drops
    (``ColumnTransformer(remainder="drop")``) are not inputs. Otherwise there is
    one input ``"inputs"`` of shape ``(n, n_features)`` (float32, or as for
    named columns), or, for images, the shape of
    the X the estimator was fitted on: ``(n, height, width, channels)``,
    ``(n, height, width)`` or flat rows ``(n, height * width)``.

    **Outputs.** Classifiers: ``"label"`` (strings when the classes are strings,
    int64 for integer classes, bool for boolean ones, float64 for float classes,
    float32 in LiteRT, whose gather has no float64; one-hot or indicator rows,
    int64, for one-hot or multilabel targets) and ``"probabilities"`` (float32;
    ``predict_proba`` gives float64). Regressors: ``"predictions"`` (float32, shaped as
    ``predict``'s output). All three formats carry string tensors, so string
    labels are output as strings (bytes from TensorFlow and LiteRT, str from
    ONNX Runtime).

    **Differences from the pipeline.** The graph computes in float32, from
    float32 inputs (integer ones aside, as above): a column whose values
    need more than float32's seven significant digits (Unix timestamps in
    seconds) is rounded before any scaling. A category unseen in fit is encoded as zeros even with
    ``handle_unknown="error"`` (a graph cannot raise); a row whose network
    outputs are all zero gets NaN probabilities instead of an error; a NaN
    that no imputer replaces, or an infinity, gets outputs that mean nothing
    (NaN, or a label, depending on the runtime) where the pipeline raises.
    A float64 network is exported to SavedModel and ONNX, not to LiteRT,
    whose kernels compute in float32 (nor, with convolutions, to ONNX:
    ONNX Runtime's CPU kernels convolve float32 only).

    **Metadata.** A JSON document (inputs with their column names and dtypes,
    the features whose NaN the graph imputes, outputs, classes, steps folded
    and dropped, versions; for an ``ImageClassifier``, ``"image_files"``: how
    its predictions read image files into the input -- decoder, color,
    resizing, and pixels divided by 255, so that they lie in [0, 1]) is written in
    ``<path>/assets.extra/keraslearn.json`` for a SavedModel, in the ONNX
    model's metadata property ``"keraslearn"``, and beside a LiteRT file as
    ``<path>.json``.

    Each artifact is loaded back with its runtime and checked against the
    TensorFlow graph on a few probe rows before it is put in place.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> import tensorflow as tf
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import keraslearn
    >>> X, y = load_iris(return_X_y=True)
    >>> pipe = make_pipeline(StandardScaler(), keraslearn.MLPClassifier(
    ...     hidden_layer_sizes=(8,), max_iter=5, random_state=0)).fit(X, y)
    >>> path = keraslearn.export(pipe, os.path.join(tempfile.mkdtemp(), "iris"))
    >>> serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    >>> out = serve(inputs=tf.constant(X[:3], tf.float32))
    >>> sorted(out)
    ['label', 'probabilities']
    >>> bool((out["label"].numpy() == pipe.predict(X[:3])).all())
    True
    >>> bool(np.allclose(out["probabilities"], pipe.predict_proba(X[:3]), atol=1e-5))
    True
    """
    fmt = _formats.check_format(format)
    targets = _files.destinations(path, fmt)
    _files.check_destinations(targets, fmt, overwrite)
    _formats.require_extra(fmt)
    graph = build_graph(pipeline, float_labels="float32" if fmt == "litert" else "float64")
    if fmt in ("litert", "onnx"):
        _check_dtypes(graph.model, fmt)
    metadata = json.dumps(_metadata(graph, fmt), indent=2)
    target = targets[0]
    with _files.staging(target) as tmp:
        staged = _files.staged_path(tmp, target.name)
        if fmt == "tf_saved_model":
            _formats.write_saved_model(graph, staged)
            (staged / "assets.extra").mkdir()
            (staged / "assets.extra" / METADATA_NAME).write_text(metadata)
            pairs = [(staged, target)]
        elif fmt == "litert":
            _formats.write_saved_model(graph, tmp / "saved_model")
            _formats.write_litert(tmp / "saved_model", staged)
            sidecar = _files.staged_path(tmp, targets[1].name)
            sidecar.write_text(metadata)
            pairs = [(staged, target), (sidecar, targets[1])]
        else:
            _formats.write_onnx(graph, staged, metadata)
            pairs = [(staged, target)]
        _formats.check_artifact(fmt, staged, graph)
        commit(pairs, tmp, overwrite)
    return targets[0]


def _check_dtypes(model, fmt):
    """LiteRT's builtin kernels compute in float32: refuse a float64 or 16-bit
    (mixed precision) network by name before its converter fails on every op;
    tf2onnx mistranslates bfloat16 computation (its MatMul binds float16 and
    bfloat16), found only once the whole conversion ran."""
    from .._engine._layers import computing_layers

    dtypes = {str(w.dtype) for w in model.network.weights} | {model.network_dtype} | {
        getattr(layer, "compute_dtype", None) for layer in computing_layers(model.network)
        if layer.weights}  # (mixed precision: float32 weights, 16-bit computation)
    if fmt == "onnx" and "bfloat16" in dtypes:
        raise ValueError(
            "tf2onnx does not convert a network computing in bfloat16 (mixed_bfloat16) to "
            "ONNX: export it with format='tf_saved_model', or fit it under float32 or "
            "mixed_float16 for ONNX.")
    other = sorted(dtypes & {"float64", "float16", "bfloat16"})
    if other and fmt == "litert":
        raise ValueError(
            f"LiteRT computes in float32 and this network computes in {other[0]}: export it "
            "with format='tf_saved_model' (or 'onnx', whose runtime lacks float64 "
            "convolutions), or fit a float32 network for LiteRT (dtype='float32' for the "
            "ready estimators)."
        )


def _metadata(graph, fmt):
    import keras
    import sklearn
    import tensorflow as tf

    from .. import __version__

    versions = {"keraslearn": __version__, "tensorflow": tf.__version__,
                "keras": keras.__version__, "scikit-learn": sklearn.__version__}
    if fmt == "onnx":
        import tf2onnx

        versions.update({"tf2onnx": tf2onnx.__version__, "onnx_opset": _formats.ONNX_OPSET})
    return {
        "export_format_version": EXPORT_FORMAT_VERSION,
        "format": fmt,
        "signature": "serving_default",
        **graph.info,
        "inputs": graph.inputs,
        "unused_features": graph.unused_features,
        "outputs": graph.outputs,
        "versions": versions,
    }
