"""From a built network to one ready to train: the ``meta`` a builder
receives, the output checks, the default loss and the compile step."""

import numpy as np

from .._tf import keras
from ._keras_objects import loss_in_dtype
from ._targets import is_native

# What the fit has learnt about the data, given to builders as ``meta``.
_META_FROM_ENCODER = (
    "target_type_", "n_outputs_", "n_outputs_expected_", "y_dtype_", "y_ndim_",
    "classes_", "n_classes_",
)


def make_meta(est, encoder, data):
    """The ``meta`` dict of scikeras: what the data looks like, the fitted
    encoders (the feature encoder None when there is none), and what they
    learnt (``data.metadata``)."""
    meta = {
        "n_features_in_": est.n_features_in_,
        "X_shape_": est.X_shape_,
        "X_dtype_": est.X_dtype_,
        "target_encoder_": encoder,
        "feature_encoder_": data.features,
    }
    if "feature_names_in_" in est.__dict__:
        meta["feature_names_in_"] = est.feature_names_in_
    for key in _META_FROM_ENCODER:
        if hasattr(encoder, key):
            meta[key] = getattr(encoder, key)
    meta.update(data.metadata or {})
    return meta


def computes_own_loss(model):
    """Whether a model subclass overrides how Keras computes its loss."""
    return any(
        getattr(type(model), name, None) is not getattr(keras.Model, name, None)
        for name in ("train_step", "compute_loss")
    )


def sample_shape(est):
    """The shape of one sample of X (a dict of them for named inputs)."""
    shape = est.X_shape_
    if isinstance(shape, dict):
        return {name: tuple(s[1:]) for name, s in shape.items()}
    return tuple(shape[1:])


def check_input_shape(model, sample_shape):
    """Refuse X whose samples a one-input model with a fixed input does not take
    (a network the user sized), before Keras fails inside training."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return
    if not isinstance(sample_shape, tuple) or not inputs or len(inputs) != 1:
        return
    expected = tuple(inputs[0].shape[1:])
    if len(expected) == len(sample_shape) and any(
            e is not None and e != s for e, s in zip(expected, sample_shape)):
        what = (f"{sample_shape[0]} features" if len(sample_shape) == 1
                else f"samples of shape {sample_shape}")
        takes = (f"{expected[0]} features" if len(expected) == 1
                 else f"samples of shape {expected}")
        raise ValueError(f"X has {what}, but the model's input takes {takes}. Size the "
                         "model's input from meta['n_features_in_'] (or meta['X_shape_']).")


def _outputs(model, sample_shape):
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        outputs = None
    if not outputs and sample_shape is not None:  # a subclassed model: called once
        if isinstance(sample_shape, dict):  # named inputs
            sample = {name: np.zeros((1,) + s, dtype="float32")
                      for name, s in sample_shape.items()}
        else:
            sample = np.zeros((1,) + tuple(sample_shape), dtype="float32")
        outputs = model(sample)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    return list(outputs or [])


def output_spec(model, sample_shape, *, needs_rows):
    """(number of output units, output dtype name) of a one-output model.

    With ``needs_rows`` the output must hold one row of values per sample
    (shape ``(n, units)``), as a classifier's or regressor's target does.
    """
    outputs = _outputs(model, sample_shape)
    if len(outputs) != 1:
        raise ValueError(
            f"The model has {len(outputs)} outputs; keraslearn's estimators take a model "
            "with one output tensor. For several outputs, subclass the wrapper with a "
            "target_encoder of your own that makes y into one target per output (as "
            "scikeras' multi-output examples do)."
        )
    shape = tuple(outputs[0].shape)
    if needs_rows and len(shape) != 2:
        hint = ""
        if len(shape) > 2 and isinstance(sample_shape, tuple) and len(sample_shape) > 1:
            hint = (
                f" The samples have shape {tuple(sample_shape)}: add "
                "keras.layers.Flatten() (or a pooling layer) before the Dense layers."
            )
        raise ValueError(
            f"The model's output has shape {_shape_text(shape)}, but one row of values "
            f"per sample, shape (n_samples, n_units), is needed.{hint}"
        )
    dtype = getattr(outputs[0].dtype, "name", outputs[0].dtype)
    # A 1-D output (n_samples,) holds one value per sample.
    return int(shape[-1]) if len(shape) > 1 else 1, str(dtype)


def _shape_text(shape):
    text = ", ".join("n_samples" if d is None else str(d) for d in shape)
    return f"({text},)" if len(shape) == 1 else f"({text})"


def check_loss_dtypes(model):
    """Refuse, before training, penalties Keras cannot add to the compiled loss.

    Keras computes the compiled loss in ``floatx`` and sums the layers' own
    losses (regularizers, ``add_loss``) with it as they are: a float64 layer's
    penalty under the default float32 makes that sum fail deep inside tracing.
    """
    floatx = keras.config.floatx()
    if all(v.dtype == floatx for v in model.weights):
        return
    odd = []
    for layer in model.layers:
        dtypes = {keras.backend.standardize_dtype(loss.dtype) for loss in layer.losses}
        if dtypes - {floatx}:
            odd.append(f"{layer.name!r} ({', '.join(sorted(dtypes))})")
    if odd:
        raise ValueError(
            f"Layer losses (regularizers or add_loss) of {', '.join(odd)} are not in "
            f"Keras' float type {floatx!r}, so Keras cannot add them to the compiled loss. "
            f"Return the penalty in {floatx} (e.g. keras.ops.cast(penalty, {floatx!r}) in a "
            "custom regularizer) or call keras.config.set_floatx() with the layers' dtype "
            "before building the model."
        )


def _check_outputs_of_a_users_encoder(model, sample_shape, expected, loss=None):
    """A target_encoder of the user's own says how many outputs it produces
    (``n_outputs_expected_``); the model must have as many, and a loss given
    per output (a list, or a dict by output name) must name its outputs."""
    n_outputs = len(_outputs(model, sample_shape))
    if expected is not None and expected != n_outputs:
        raise ValueError(
            f"The target encoder produces {expected} target(s) (n_outputs_expected_) "
            f"but the model has {n_outputs} output(s)."
        )
    names = list(getattr(model, "output_names", None) or ())
    if isinstance(loss, (list, tuple)) and len(loss) != n_outputs:
        raise ValueError(f"loss is a list of {len(loss)} losses, one per output, but the "
                         f"model has {n_outputs} output(s): {names}.")
    unknown = [key for key in loss if key not in names] if isinstance(loss, dict) and (
        len(names) == n_outputs) else []
    if unknown:
        raise ValueError(f"loss has keys {unknown} that name no output of the model; its "
                         f"outputs are {names}.")


def finish_network(model, compile_kwargs, encoder, *, sample_shape, needs_rows, encoding,
                   expected_outputs=None, compile=True, anew=False):
    """Compile ``model`` when it is not (default loss from the target), check
    it, and configure the target encoder for its output and loss.

    With ``compile`` False (a model the user gave to ``initialize``, used as it
    is) an uncompiled model stays so, and the encoder is configured for the
    loss it would be compiled with. With ``anew``, a compiled model is compiled
    again as an uncompiled one (keraslearn compiled it, for a fit that failed).
    """
    compiled = getattr(model, "compiled", False) and not anew
    if compiled:
        _check_compiled_loss(model, compile_kwargs.get("loss"))
    if not is_native(encoder):
        _check_outputs_of_a_users_encoder(model, sample_shape, expected_outputs,
                                          None if compiled else compile_kwargs.get("loss"))
        if not compiled and compile:
            model.compile(**_with_default_loss(compile_kwargs, encoder, model, sample_shape))
        if compile and model.loss is None and not computes_own_loss(model):
            raise ValueError(
                "The model was compiled without a loss. Pass loss=... to the estimator "
                "(one per output: a list or a dict) or compile with a loss."
            )
        return model
    n_units, out_dtype = output_spec(model, sample_shape, needs_rows=needs_rows)
    loss = model.loss if compiled else (
        compile_kwargs.get("loss") or _default_loss(encoder, n_units, encoding))
    if not compiled and compile:
        # A float64 network gets its loss computed in float64 too (Keras
        # losses otherwise cast predictions to floatx).
        model.compile(**{**compile_kwargs, "loss": loss_in_dtype(loss, out_dtype)})
        loss = model.loss
    if compile and model.loss is None and encoder.needs_loss and not computes_own_loss(model):
        raise ValueError(
            "The model was compiled without a loss. Pass loss=... to the estimator "
            "(compile_kwargs['loss'] is None until it is set) or compile with a loss."
        )
    if compiled or compile:
        check_loss_dtypes(model)
    encoder.configure(n_units, loss, out_dtype, encoding)
    _check_output_activation(model, n_units, loss, classifies=hasattr(encoder, "classes_"))
    if getattr(encoder, "mode_", None) == "sparse":
        _check_metrics_take_indices(_compiled_metrics(model, compile_kwargs), loss)
    return model


def _output_activation(model):
    """The name of the activation ending a one-output network (that of the
    layer producing its output: a Dense layer's, an Activation or Softmax
    layer's); None where it cannot be read (a subclassed model, a nested one)."""
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        return None
    for layer in reversed(getattr(model, "layers", None) or []):
        try:
            if outputs is None or len(outputs) != 1 or layer.output is not outputs[0]:
                continue
        except (AttributeError, ValueError, RuntimeError):  # a layer called twice, say
            continue
        if isinstance(layer, keras.layers.Softmax):
            return "softmax"
        try:
            name = keras.activations.serialize(getattr(layer, "activation", None))
        except (TypeError, ValueError):
            return None
        return name if isinstance(name, str) else None
    return None


def _check_output_activation(model, n_units, loss, *, classifies):
    """Refuse, before training, an output layer the loss cannot learn through:
    a softmax over one unit (1 whatever the inputs), and a classifier's linear
    output where the Keras crossentropy takes probabilities (``from_logits``
    False): it trains on clipped scores, and predict_proba refuses some rows."""
    from ._losses import takes_probabilities

    activation = _output_activation(model)
    if activation == "softmax" and n_units == 1:
        fix = ("activation='sigmoid' for one unit of two classes, or size the output layer "
               "from meta['n_classes_'] (a softmax unit per class)" if classifies else
               "no activation (linear) for a regressor's values")
        raise ValueError("The model ends in a softmax over 1 unit, which is 1 whatever the "
                         f"inputs, so nothing can be learnt: end it with {fix}.")
    if classifies and activation == "linear" and takes_probabilities(loss):
        from ._losses import loss_description

        raise ValueError(
            f"The model's output layer has no activation (linear), but the loss "
            f"{loss_description(loss)} takes probabilities: end the model with "
            "activation='softmax' (one unit per class) or 'sigmoid' (one unit for two "
            "classes, or per label), or give the loss from_logits=True (e.g. keras.losses."
            "SparseCategoricalCrossentropy(from_logits=True)).")


def _with_default_loss(compile_kwargs, encoder, model, sample_shape):
    """``compile_kwargs`` with the default loss of an encoder of the user's own
    that has one (a subclass of keraslearn's) where no loss was given."""
    default = getattr(encoder, "default_loss", None)
    if compile_kwargs.get("loss") is not None or not callable(default) or len(
            _outputs(model, sample_shape)) != 1:
        return compile_kwargs
    n_units, _ = output_spec(model, sample_shape, needs_rows=False)
    return {**compile_kwargs, "loss": default(n_units)}


def _default_loss(encoder, n_units, encoding):
    """The encoder's default loss; one taking one-hot rows where they were asked for."""
    loss = encoder.default_loss(n_units)
    return ("categorical_crossentropy" if encoding == "onehot"
            and loss == "sparse_categorical_crossentropy" else loss)


def _compiled_metrics(model, compile_kwargs):
    """The metrics ``model`` is compiled with: as given to the estimator, else read
    from its compile config (None where Keras cannot serialize it: a partial)."""
    if compile_kwargs.get("metrics") is not None or not model.compiled:
        return compile_kwargs.get("metrics")
    try:
        return (model.get_compile_config() or {}).get("metrics")
    except Exception:  # not a check worth failing a fit for
        return None


# Keras metrics that compare targets with outputs of the same shape (one-hot
# rows for one unit per class): class indices fail inside the training step,
# or (categorical accuracy: the argmax of one index) are silently wrong. Those
# with a sparse twin name it.
_SHAPED_METRICS = dict.fromkeys({
    "auc", "precision", "recall", "precisionatrecall", "recallatprecision",
    "sensitivityatspecificity", "specificityatsensitivity", "truepositives",
    "falsepositives", "truenegatives", "falsenegatives", "f1score", "fbetascore"}) | {
    "categoricalaccuracy": "sparse_categorical_accuracy",
    "topkcategoricalaccuracy": "sparse_top_k_categorical_accuracy",
    "categoricalcrossentropy": "sparse_categorical_crossentropy"}


def _check_metrics_take_indices(metrics, loss):
    """Refuse, before training, metrics that cannot read class-index targets."""
    from ._losses import loss_description

    for metric in metrics if isinstance(metrics, (list, tuple)) else [metrics]:
        # Keras' own metrics only: one of the user's named Recall may read indices
        cls = metric if isinstance(metric, type) else type(metric)
        name = (metric if isinstance(metric, str) else metric.get("class_name")
                if isinstance(metric, dict) and str(metric.get("module")).startswith("keras")
                else cls.__name__ if cls.__module__.startswith("keras.")
                and issubclass(cls, keras.metrics.Metric) else "")
        key = str(name).replace("_", "").lower()
        if key in _SHAPED_METRICS:
            twin = _SHAPED_METRICS[key]
            raise ValueError(
                f"The metric {name!r} compares targets with outputs of the same shape, but "
                f"the loss {loss_description(loss)} trains on class indices. "
                + (f"Measure {twin!r}, which reads them, or train" if twin else "Train")
                + " on one-hot rows: loss='categorical_crossentropy' (or "
                "target_encoding='onehot' for a loss of your own that takes them).")


def _check_compiled_loss(model, loss):
    """Refuse a ``loss`` set on the estimator that is not the one the model
    was compiled with (by its builder, or as given), as scikeras does: the
    compiled loss trains, so the estimator's would go unused (a search over
    ``loss`` would search nothing). Lists and dicts of losses are not compared."""
    from ..utils import loss_name

    if loss is None or isinstance(loss, (list, tuple, dict)) or isinstance(
            model.loss, (list, tuple, dict)) or model.loss is None:
        return
    try:
        given, compiled = loss_name(loss), loss_name(model.loss)
    except (TypeError, ValueError):  # a loss of the user's own that has no name
        return
    if given != compiled:
        raise ValueError(
            f"loss={loss!r} was given, but the model was compiled with the loss "
            f"{compiled!r}, which would train instead: give the estimator the loss the "
            "model is compiled with, or leave loss=None, or build the model uncompiled "
            "(the estimator then compiles it with loss).")
