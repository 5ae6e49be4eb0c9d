"""From a built network to one ready to train: the ``meta`` a builder
receives, the output checks, the default loss and the compile step."""

import weakref

import numpy as np

from .._tf import keras
from ._data import is_identity
from ._given_loss import check_compiled_loss
from ._keras_objects import loss_in_dtype
from ._metric_checks import check_metrics_of_each_output, check_metrics_read_targets
from ._network_checks import (
    check_each_output,
    check_losses_per_output,
    check_output_activation,
    computes_own_loss,
)
from ._predict import keyed_inputs
from ._targets import RegressorTargetEncoder, is_native

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


def sample_shape(est):
    """The shape of one sample of X (a dict of them for named inputs)."""
    shape = est.X_shape_
    if isinstance(shape, dict):
        return {name: tuple(s[1:]) for name, s in shape.items()}
    return tuple(shape[1:])


def network_sample(est, data):
    """(shape, dtype) of one sample the network takes: X's, or, past a feature
    encoder of the user's, its output's: a dict or list of them for several
    inputs (found: a subclassed network, or a ready MLP, behind a PCA was
    called on, or built for, a sample as wide as X)."""
    if is_identity(data.features):
        return sample_shape(est), est.__dict__.get("X_dtype_")
    X, n = data.X, data.n_rows  # (this fit's rows: a continued one's differ, found in review)
    several = isinstance(X, (dict, list, tuple))
    parts = list(X.values()) if isinstance(X, dict) else list(X) if several else [X]
    if not parts:
        raise ValueError(f"X as the feature encoder makes it is an empty {type(X).__name__}: "
                         "it gives the network no input.")
    odd = next((p for p in parts if len(getattr(p, "shape", ())) < 1 or p.shape[0] != n), None)
    if odd is not None:  # (found in review: a list of rows, X.tolist(), failed in the engine)
        what = (f"an array of shape {tuple(odd.shape)}" if hasattr(odd, "shape") else
                f"a {type(odd).__name__}")
        raise ValueError(
            f"X as the feature encoder makes it holds {what} where arrays of {n} rows are "
            "needed (a list or tuple holds one array per network input, as in Keras): make "
            "it give arrays of one row a sample (np.asarray(rows) for a list of rows).")
    if getattr(est, "_one_input", False) and (several or np.ndim(X) < 2):
        made = f"a {type(X).__name__} of arrays" if several else f"an array of shape {X.shape}"
        raise ValueError(
            f"{type(est).__name__} builds a network of one input, but its feature encoder "
            f"made {made}: make it give one array of shape (n_samples, n_features) (or images).")

    def of(x):
        dtype = getattr(x, "dtype", None)  # (a tensor's: TensorFlow's, found in review)
        try:
            dtype = None if dtype is None else np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
        except TypeError:
            dtype = None
        return tuple(np.shape(x)[1:]), dtype

    shapes, dtypes = zip(*(of(x) for x in parts))
    if isinstance(X, dict):
        return dict(zip(X, shapes)), dict(zip(X, dtypes))
    return (list(shapes), list(dtypes)) if several else (shapes[0], dtypes[0])


def check_input_shape(model, sample_shape, encoded=False):
    """Refuse X whose samples a model with fixed inputs does not take (a network
    the user sized), before Keras fails inside training: one array for a
    one-input model, or named inputs (a dict, a MultiInput: one ColumnGroups
    group, say) which must be the inputs the model names. ``encoded``: the
    samples a feature encoder of the user's made of X's."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return
    # By the keys of the dict the model was built on (Keras feeds it so), or names.
    keyed = keyed_inputs(model)
    takes = keyed or {tensor.name: tensor for tensor in inputs or ()}
    given = "X as the feature encoder makes it" if encoded else "X"
    if isinstance(sample_shape, dict) and takes:  # (one input too: Keras' error or warning)
        missing = [name for name in takes if name not in sample_shape]
        extra = [name for name in sample_shape if name not in takes]
        # (Keras warns of extra ones; a model built on a dict then matches the arrays
        # to its inputs by position in the keys' order, silently wrong where one
        # sorts between two: checked in review; others match them by name)
        if missing or extra and (not encoded or keyed):
            raise ValueError(
                f"{given} has the inputs {list(sample_shape)}, but the model takes "
                f"{list(takes)}" + (f": {missing} missing" if missing else ":")
                + (f"{',' * bool(missing)} {extra} not taken" if extra else "")
                + (". Make the feature encoder give arrays by those names" + (
                    " only (Keras would match the arrays to the inputs by position)"
                    if extra and keyed else "") + "." if encoded else
                   ". Name X's inputs as the model's keras.Input(..., name=...) layers"
                   + (", or give X as one array." if len(takes) == 1 else ".")))
        for name, tensor in takes.items():
            _check_one_input(tuple(tensor.shape[1:]), sample_shape[name], f"X[{name!r}]",
                             f"the model's input {name!r}", encoded)
        return
    if isinstance(sample_shape, tuple) and len(takes) > 1:
        raise ValueError(
            f"{given} is one array, but the model takes {len(takes)} inputs, {list(takes)}: "
            + ("make the feature encoder give a list of arrays in that order, or a dict by "
               "those names." if encoded else "give X as a dict of arrays by those names (or "
               "a keraslearn.MultiInput of a table's columns)."))
    if not isinstance(sample_shape, tuple) or not inputs or len(inputs) != 1:
        return
    _check_one_input(tuple(inputs[0].shape[1:]), sample_shape, "X", "the model's input", encoded)


def _check_one_input(expected, sample_shape, given_name, input_name, encoded):
    if encoded:  # (meta describes X as given, not what the network takes)
        given_name, given = f"{given_name} as the feature encoder makes it", "its output"
        width = shape = "the feature encoder's output"
        shape_of = str(tuple(sample_shape))
    else:
        given, shape_of = "X", "meta['X_shape_'][1:]"
        width = "X's samples (a builder reads meta['n_features_in_'] or meta['X_shape_'])"
        shape = "X's samples (a builder reads meta['X_shape_'])"
    what = (f"{sample_shape[0]} features" if len(sample_shape) == 1
            else f"samples of shape {sample_shape}")
    takes = (f"{expected[0]} features" if len(expected) == 1 and expected[0] is not None
             else f"samples of shape {expected}")
    # Keras adds or drops a last axis of 1 itself; any other rank fails in training.
    sample = (sample_shape + (1,) if len(expected) == len(sample_shape) + 1 and expected[-1] == 1
              else sample_shape[:-1] if len(sample_shape) == len(expected) + 1
              and sample_shape[-1] == 1 else sample_shape)
    if len(expected) == len(sample) and any(
            None not in (e, s) and e != s for e, s in zip(expected, sample)):
        raise ValueError(f"{given_name} has {what}, but {input_name} takes {takes}. Size the "
                         f"model's input to {width}.")
    if len(expected) != len(sample):
        known = None not in expected
        fix = (f"reshape {given} to (n_samples, {', '.join(map(str, expected))}), or give the "
               f"model keras.Input({shape_of}) followed by keras.layers.Reshape({expected})"
               if known and np.prod(expected) == np.prod(sample_shape) else
               f"size the model's input to {shape}")
        raise ValueError(f"{given_name} has {what}, but {input_name} takes {takes}: {fix}.")


def called_outputs(model, sample_shape, sample_dtype=None):
    """The model's output tensors: a functional model's, else (a subclassed
    model) those of one call in inference mode on a sample of zeros in X's
    dtype (integer ids stay integers), a dict's values included."""
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        outputs = None
    if not outputs and sample_shape is not None:  # a subclassed model: called once
        def zeros(shape, dtype):
            dtype = np.dtype(dtype if dtype is not None else "float32")
            return np.zeros((1,) + tuple(shape), dtype if dtype.kind in "biuf" else "float32")

        if isinstance(sample_shape, dict):  # named inputs
            dtypes = sample_dtype if isinstance(sample_dtype, dict) else {}
            sample = {name: zeros(s, dtypes.get(name)) for name, s in sample_shape.items()}
        elif isinstance(sample_shape, list):  # inputs in order (a feature encoder's list)
            dtypes = sample_dtype if isinstance(sample_dtype, list) else [None] * len(sample_shape)
            # a tuple, as Keras' training step hands them (found in review)
            sample = tuple(zeros(s, d) for s, d in zip(sample_shape, dtypes))
        else:
            sample = zeros(sample_shape, None if isinstance(sample_dtype, dict) else sample_dtype)
        outputs = keras.tree.flatten(model(sample, training=False))
    return list(outputs or [])


def output_spec(outputs, sample_shape, *, needs_rows):
    """(number of output units, output dtype name) of a one-output model, of
    output tensors ``outputs`` (:func:`called_outputs`).

    With ``needs_rows`` the output must hold one row of values per sample
    (shape ``(n, units)``), as a classifier's or regressor's target does.
    """
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
        if len(shape) == 3 and shape[-1] == 1 and shape[1] is not None:  # one value a step
            hint += (f" For one value per step (y of shape (n_samples, {shape[1]})), end the "
                     f"model with keras.layers.Reshape(({shape[1]},)) instead.")
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


def _check_outputs_of_a_users_encoder(model, outputs, expected, loss=None):
    """A target_encoder of the user's own says how many outputs it produces
    (``n_outputs_expected_``); the model must have as many, and a loss given
    per output (a list, or a dict by output name) must name its outputs."""
    n_outputs = len(outputs)
    if expected is not None and expected != n_outputs:
        raise ValueError(
            f"The target encoder produces {expected} target(s) (n_outputs_expected_) "
            f"but the model has {n_outputs} output(s)."
        )
    check_losses_per_output(model, loss, n_outputs)


# The models a fit compiled, uncompiled as they came, with the optimizer and loss
# it gave them: a builder's model made outside it, which a failed fit leaves
# compiled with the estimator's settings, is compiled anew by the next fit (whose
# settings were refused as contradicting the user's), unless the user compiled it since.
_COMPILED_HERE = weakref.WeakKeyDictionary()


def compiled_by_user(model):
    """Whether ``model`` came compiled to a fit (not compiled by one)."""
    if not getattr(model, "compiled", False):
        return False
    ours = _COMPILED_HERE.get(model)
    return ours is None or ours[0] is not model.optimizer or ours[1] is not model.loss


def _compile(model, **kwargs):
    model.compile(**kwargs)
    _COMPILED_HERE[model] = (model.optimizer, model.loss)


def finish_network(model, compile_kwargs, encoder, *, sample_shape, needs_rows, encoding,
                   expected_outputs=None, compile=True, anew=False, sample_dtype=None):
    """Compile ``model`` when it is not (default loss from the target), check
    it, and configure the target encoder for its output and loss; ``sample_shape``
    and ``sample_dtype`` (X's) are those of a sample a subclassed model is called on.

    With ``compile`` False (a model the user gave to ``initialize``, used as it
    is) an uncompiled model stays so, and the encoder is configured for the
    loss it would be compiled with. With ``anew``, a compiled model is compiled
    again as an uncompiled one (keraslearn compiled it, for a fit that failed).
    """
    compiled = compiled_by_user(model) and not anew
    if compiled:
        check_compiled_loss(model, compile_kwargs.get("loss"))
    outputs = called_outputs(model, sample_shape, sample_dtype)
    if not is_native(encoder):
        _check_outputs_of_a_users_encoder(model, outputs, expected_outputs,
                                          None if compiled else compile_kwargs.get("loss"))
        if not compiled and compile:
            _compile(model, **_with_default_loss(compile_kwargs, encoder, outputs, sample_shape))
        if compile and model.loss is None and not computes_own_loss(model):
            raise ValueError(
                "The model was compiled without a loss. Pass loss=... to the estimator "
                "(one per output: a list or a dict) or compile with a loss."
            )
        loss = model.loss if compiled or compile else compile_kwargs.get("loss")
        check_each_output(model, loss)
        check_metrics_of_each_output(model, loss, _compiled_metrics(model, compile_kwargs))
        return model
    n_units, out_dtype = output_spec(outputs, sample_shape, needs_rows=needs_rows)
    # (one output: a list or dict of losses gives that one loss; a builder's compile too)
    check_losses_per_output(model, model.loss if compiled else compile_kwargs.get("loss"), 1)
    loss = model.loss if compiled else (
        compile_kwargs.get("loss") or _default_loss(encoder, n_units, encoding))
    if not compiled and compile:
        # A float64 network gets its loss computed in float64 too (Keras
        # losses otherwise cast predictions to floatx).
        _compile(model, **{**compile_kwargs, "loss": loss_in_dtype(loss, out_dtype)})
        loss = model.loss
    if compile and model.loss is None and encoder.needs_loss and not computes_own_loss(model):
        raise ValueError(
            "The model was compiled without a loss. Pass loss=... to the estimator "
            "(compile_kwargs['loss'] is None until it is set) or compile with a loss."
        )
    if compiled or compile:
        check_loss_dtypes(model)
    encoder.configure(n_units, loss, out_dtype, encoding)
    _check_output(model, n_units, loss, encoder)
    check_metrics_read_targets(_compiled_metrics(model, compile_kwargs), loss,
                               getattr(encoder, "mode_", None))
    return model


def _check_output(model, n_units, loss, encoder):
    """:func:`check_output_activation` for the targets a configured keraslearn
    ``encoder`` makes."""
    check_output_activation(model, n_units, loss, classifies=hasattr(encoder, "classes_"),
                            regresses=isinstance(encoder, RegressorTargetEncoder),
                            mode=getattr(encoder, "mode_", None))


def _with_default_loss(compile_kwargs, encoder, outputs, sample_shape):
    """``compile_kwargs`` with the default loss of an encoder of the user's own
    that has one (a subclass of keraslearn's) where no loss was given."""
    default = getattr(encoder, "default_loss", None)
    if compile_kwargs.get("loss") is not None or not callable(default) or len(outputs) != 1:
        return compile_kwargs
    n_units, _ = output_spec(outputs, sample_shape, needs_rows=False)
    return {**compile_kwargs, "loss": default(n_units)}


def _default_loss(encoder, n_units, encoding):
    """The encoder's default loss; one taking one-hot rows where they were asked for."""
    loss = encoder.default_loss(n_units)
    return ("categorical_crossentropy" if encoding == "onehot"
            and loss == "sparse_categorical_crossentropy" else loss)


def _compiled_metrics(model, compile_kwargs):
    """The metrics and weighted metrics ``model`` is compiled with: as given to
    the estimator, else read from its compile config (none where Keras cannot
    serialize it: a partial)."""
    found = []
    for key in ("metrics", "weighted_metrics"):
        given = compile_kwargs.get(key)
        if given is None and compiled_by_user(model):
            try:
                given = (model.get_compile_config() or {}).get(key)
            except Exception:  # not a check worth failing a fit for
                given = None
        found.append(given)
    return found


def check_continued(model, encoder):
    """The output checks of a fit, made again on a fitted network it goes on
    training (partial_fit, a warm start), whose compile may have changed since
    (found in an audit: model_ compiled by the user with a loss the fit refuses
    for its output trained on, silently)."""
    outputs = getattr(model, "outputs", None) or []
    if is_native(encoder) and len(outputs) == 1 and getattr(model, "loss", None) is not None:
        # (the units as a fit reads them: 1 for a 1-D output)
        _check_output(model, output_spec(outputs, None, needs_rows=False)[0], model.loss,
                      encoder)
