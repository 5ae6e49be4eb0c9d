"""Checks of a built network against the estimator's loss and targets, before
TensorFlow runs: losses given per output and the output layers' activations
(the metrics: _metric_checks.py)."""

import inspect

from .._tf import keras
from ._layers import defined_by_keras_or_keraslearn, output_keys


def check_losses_per_output(model, loss, n_outputs):
    """A loss given per output (a list, or a dict by output name) must name the
    model's outputs; anything else must be a loss (a name, function or object)."""
    names = output_keys(model)
    if isinstance(loss, (list, tuple)) and len(loss) != n_outputs:
        raise ValueError(f"loss is a list of {len(loss)} losses, one per output, but the "
                         f"model has {n_outputs} output(s): {names}.")
    unknown = [key for key in loss if str(key) not in names] if isinstance(loss, dict) and (
        "class_name" not in loss and len(names) == n_outputs) else []
    if unknown:
        raise ValueError(f"loss has keys {unknown} that name no output of the model; its "
                         f"outputs are {names}.")
    if isinstance(loss, dict) and "class_name" not in loss and isinstance(
            model, keras.Sequential):  # (Keras fails on it: "'NoneType' object is not iterable")
        raise ValueError(
            f"loss={dict(loss)!r} is given by output name, but a Sequential model does not name "
            "its output to Keras: give the loss itself, or build a functional model, "
            "keras.Model(inputs, outputs), whose output layers' names key the dict.")
    if not (loss is None or callable(loss) or isinstance(loss, (str, list, tuple, dict))):
        raise TypeError(f"loss={loss!r} is not a loss: give a name ('mse'), a function, or a "
                        "keras.losses.Loss (one per output: a list, or a dict by output name).")


def _output_activation(model, target=None):
    """The name of the activation ending a one-output network, or its output
    ``target`` (a tensor of ``model.outputs``) of several (that of the
    layer producing its output: a Dense layer's, an Activation or Softmax
    layer's, where the function is Keras' or keraslearn's, or TensorFlow's that
    Keras names as its own (tf.nn.sigmoid) or by its function (tf.nn.softmax),
    not the user's of the same name; through a linear Activation layer, which
    only casts, as a float32 one ending a mixed precision network, and through
    layers that pass their input on at inference (Dropout, noise); None where
    it cannot be read (a subclassed model); a nested model ending the network
    (a head) is read as its own network is."""
    passing = (keras.layers.Dropout, keras.layers.GaussianNoise, keras.layers.GaussianDropout,
               keras.layers.AlphaDropout, keras.layers.ActivityRegularization,
               keras.layers.Identity)
    if target is None:
        try:
            outputs = model.outputs
        except (AttributeError, ValueError):
            return None
        if outputs is None or len(outputs) != 1:
            return None
        target = outputs[0]
    layers = list(reversed(getattr(model, "layers", None) or []))
    while True:
        layer = next((one for one in layers if _produces(one, target)), None)
        if layer is None:
            return None
        if isinstance(layer, keras.layers.Softmax):
            return "softmax"
        if isinstance(layer, keras.Model):  # a nested model (a head): what ends it
            return _output_activation(layer)
        if isinstance(layer, passing):
            target = layer.input
            continue
        function = getattr(layer, "activation", None)
        if not _library_function(function):  # (one's own, whatever its name: not
            return None                       # serialized, which warns of a lambda)
        try:
            name = keras.activations.serialize(function)
        except (TypeError, ValueError):
            return None
        if isinstance(name, dict):  # TensorFlow's, which Keras names by their function
            name = _TENSORFLOW_NAMES.get(getattr(function, "__name__", None))
        if not (name == "linear" and isinstance(layer, keras.layers.Activation)):
            return name if isinstance(name, str) else None
        target = layer.input


# TensorFlow's activations that Keras does not name as its own (tf.nn.softmax).
_TENSORFLOW_NAMES = {"softmax_v2": "softmax", "log_softmax_v2": "log_softmax", "swish": "silu"}


def _library_function(function):
    """Whether an activation function is Keras', keraslearn's or TensorFlow's
    (tf.nn.sigmoid, which Keras names as its own), not one of the user's."""
    return defined_by_keras_or_keraslearn(function) or (
        getattr(function, "__module__", None) or "").startswith("tensorflow.")


def _produces(layer, tensor):
    try:
        return layer.output is tensor
    except (AttributeError, ValueError, RuntimeError):  # a layer called twice, say
        return False


def check_output_activation(model, n_units, loss, *, classifies, regresses=False, mode=None):
    """Refuse, before training, an output layer the loss cannot learn through:
    a softmax over one unit (1 whatever the inputs) or over multilabel targets
    (``mode`` "multilabel": its units sum to 1, so a row holds one label at
    most past predict's threshold of 0.5), a classifier's linear (or tanh,
    relu, ...) output where the Keras crossentropy takes probabilities (``from_logits``
    False): it trains on clipped scores, and predict_proba refuses some rows;
    a linear output under the Poisson loss, whose logarithm of the negative
    predictions is NaN from the first step; a regressor's (``regresses``)
    classification loss (see :func:`check_regression_loss`), a classifier's
    cosine similarity over one unit."""
    from ._losses import (
        check_regression_loss,
        is_kl_divergence,
        loss_description,
        loss_from_logits,
        refuse_one_unit_cosine,
        takes_logarithm,
        takes_probabilities,
    )

    if regresses:
        check_regression_loss(loss, n_units)
    elif classifies and n_units == 1:
        refuse_one_unit_cosine(loss, "Give a classification loss (loss='binary_crossentropy').")
    activation = _output_activation(model)
    if activation == "softmax" and n_units == 1:
        fix = ("activation='sigmoid' for one unit of two classes, or size the output layer "
               "from meta['n_classes_'] (a softmax unit per class)" if classifies else
               "no activation (linear) for a regressor's values")
        raise ValueError("The model ends in a softmax over 1 unit, which is 1 whatever the "
                         f"inputs, so nothing can be learnt: end it with {fix}.")
    if activation == "softmax" and mode == "multilabel":
        raise ValueError(
            "The model ends in a softmax, whose units sum to 1, but y is multilabel: a row "
            "may hold several labels, and past predict's threshold of 0.5 one at most "
            "would be predicted. End it with activation='sigmoid' (one unit per label).")
    if not classifies and activation == "linear" and takes_logarithm(loss):
        raise ValueError(
            f"The model's output layer has no activation (linear), but the loss "
            f"{loss_description(loss)} takes the logarithm of the predictions, which a linear "
            "output makes negative (the loss is NaN from the first step): end the model with "
            "activation='exponential' or 'softplus'.")
    spread = n_units > 1 and mode != "multilabel"  # (a row's scores made to sum to 1)
    positive = activation in ("exponential", "softplus")
    if classifies and takes_logarithm(loss) and _not_probabilities(activation) and not (
            positive and spread):
        # (found in an audit: a ReLU's rows of zeros, refused at predict; a unit of
        # its own must lie in [0, 1])
        may_be = "above 1" if positive else "0 or negative"
        fix = ("activation='softmax' (or 'exponential', 'softplus': each row's scores are "
               "normalised)" if spread else
               "activation='sigmoid' (one unit for two classes, or per label)")
        raise ValueError(
            f"The model's output layer has activation={activation!r}, whose outputs may be "
            f"{may_be}, and the loss {loss_description(loss)} takes their logarithm: they "
            f"would be no probabilities to predict_proba. End the model with {fix}.")
    if classifies and activation in ("sigmoid", "softmax") and loss_from_logits(loss):
        raise ValueError(
            f"The model ends in a {activation}, whose outputs are probabilities, but the loss "
            f"{loss_description(loss)} takes logits (from_logits=True) and applies a "
            f"{activation} of its own: it would train (and predict_proba read) the {activation} "
            f"of the {activation}. Remove the output layer's activation, or give the loss "
            "from_logits=False.")
    trains = _trains(loss) if classifies else None
    if trains and activation not in (None, *_PROBABILITY_ACTIVATIONS):
        raise ValueError(
            f"The model's output layer has a {activation} activation and the loss "
            f"{loss_description(loss)} trains {trains}, not probabilities, but a classifier's "
            "predict and predict_proba read probabilities: end the model with "
            "activation='sigmoid' (one unit for two classes, or per label) or 'softmax' (one "
            "unit per class), or train with a crossentropy loss.")
    kl = is_kl_divergence(loss)
    if classifies and _not_probabilities(activation) and (takes_probabilities(loss) or kl):
        give = "train with a loss taking" if kl else "give the loss"  # (KL: no from_logits)
        what, logits = ("no activation (linear)", give) if activation == "linear" else (
            f"activation={activation!r}, whose outputs are not probabilities",
            f"remove it and {give}")  # (a relu's logits would never be negative)
        raise ValueError(
            f"The model's output layer has {what}, but the loss "
            f"{loss_description(loss)} takes probabilities: end the model with "
            "activation='softmax' (one unit per class) or 'sigmoid' (one unit for two "
            f"classes, or per label), or {logits} from_logits=True (e.g. keras.losses."
            f"{_logits_class(loss)}(from_logits=True)).")


def check_each_output(model, loss):
    """Refuse, before training, an output of a network whose targets a target
    encoder of the user's gives (one output, or several it splits y into) that
    its loss cannot learn through, as a network's under keraslearn's encoders
    is refused (found in audits: they trained silently, a segmentation head of
    logits under a loss taking probabilities too): a softmax over one unit, or
    an output that is no probability (linear, relu, ...) under a loss taking
    probabilities. ``loss``: the compiled one, the same for each output, or per
    output (a list, or a dict by output name); a model computing its own loss
    decides."""
    from ._losses import loss_description, takes_probabilities

    if computes_own_loss(model):
        return
    for _, name, output, own in each_output(model, loss):
        activation = _output_activation(model, output)
        if activation == "softmax" and output.shape[-1] == 1:
            raise ValueError(
                f"The model's output {name!r} ends in a softmax over 1 unit, which is 1 "
                "whatever the inputs, so nothing can be learnt: end it with "
                "activation='sigmoid' (one unit for two classes), or a softmax unit per class.")
        if own is not None and _not_probabilities(activation) and takes_probabilities(own):
            raise ValueError(
                f"The model's output {name!r} has activation={activation!r}, whose outputs "
                f"are not probabilities, but its loss {loss_description(own)} takes "
                "probabilities: end it with activation='sigmoid' or 'softmax', or give the "
                f"loss from_logits=True (e.g. keras.losses.{_logits_class(own)}"
                "(from_logits=True)).")


def computes_own_loss(model):
    """Whether a model subclass overrides how Keras computes its loss (its
    targets and their metrics are then its own: found in review)."""
    return any(
        getattr(type(model), name, None) is not getattr(keras.Model, name, None)
        for name in ("train_step", "compute_loss")
    )


def each_output(model, loss):
    """``(index, name, output, its loss)`` of each output of ``model``, each
    keyed by Keras (none where they are not: a subclassed model's); ``loss`` as
    compiled: one for every output, or per output."""
    outputs = getattr(model, "outputs", None) or []
    names = output_keys(model)
    if len(names) != len(outputs):
        return
    for i, (name, output) in enumerate(zip(names, outputs)):
        yield i, name, output, of_output(loss, i, name, len(outputs))


def of_output(value, i, name, n_outputs):
    """Output ``i``'s (named ``name``) entry of a compile argument given per
    output (a list of ``n_outputs``, a dict by output name); one for every
    output as it is."""
    if isinstance(value, (list, tuple)) and len(value) == n_outputs:
        return value[i]
    if isinstance(value, dict) and "class_name" not in value:  # (not a config)
        return {str(key): one for key, one in value.items()}.get(name)
    return value


def check_targets_fit_outputs(model, encoded):
    """Refuse, before training, a target (of a target encoder of the user's)
    whose shape is not its output's where the output's loss of Keras' own
    compares them (found while checking metrics per output: one column for an
    output of 3 units under 'mse' trained every unit towards it, silently):
    the same sample shape, or the output's less its class axis for a loss
    taking class indices; an axis of 1 ending the longer one is dropped, as
    Keras' losses do."""
    from ._losses import INDEX, SHAPED, loss_description, target_kind

    loss = getattr(model, "loss", None)
    if loss is None or computes_own_loss(model):
        return
    n_outputs = len(getattr(model, "outputs", None) or [])
    for i, name, output, own in each_output(model, loss):
        target = (of_output(encoded, i, name, n_outputs)
                  if n_outputs > 1 or isinstance(encoded, dict) else encoded)
        kind = target_kind(own) if own is not None else None
        if kind not in (INDEX, SHAPED) or getattr(target, "ndim", 0) < 1:
            continue
        given, taken = tuple(target.shape[1:]), tuple(output.shape[1:])
        taken = taken[:-1] if kind == INDEX else taken
        if len(given) == len(taken) + 1 and given[-1] == 1:
            given = given[:-1]
        elif len(taken) == len(given) + 1 and taken[-1] == 1:
            taken = taken[:-1]
        if len(given) == len(taken) and all(t is None or g == t for g, t in zip(given, taken)):
            continue
        what = (f"class indices (shape {taken} per sample, for an output of shape "
                f"{tuple(output.shape[1:])})" if kind == INDEX else
                f"targets of the output's shape, {taken}")
        raise ValueError(
            f"The target encoder gives the output {name!r} targets of shape {given} per "
            f"sample, but its loss {loss_description(own)} takes {what}: make the "
            "targets so, or the output.")


def check_class_weight_columns(outputs, y, class_weight):
    """Refuse ``class_weight`` where a target encoder of the user's makes
    labels per position (per pixel, per step: an output of more than one axis
    per sample) of more columns of y than the model has outputs (found in an
    audit): a sample would weigh the product of its classes' weights over every
    column, as scikit-learn's compute_sample_weight gives for several outputs
    (from 1e-20 to 49 over 256 pixels), where Keras refuses class weights for
    such targets (``outputs``: the model's output tensors). Columns of labels
    of one output of a unit each (multilabel) keep their product, as
    keraslearn's own encoder gives it, however many: the refusal reads labels
    per position from the output's axes, not from their count."""
    columns = y.shape[1] if getattr(y, "ndim", 0) == 2 else 1
    if class_weight is None or columns <= len(outputs) or not any(
            output.shape is not None and len(output.shape) > 2 for output in outputs):
        return
    given = (f"a list of {len(class_weight)} dicts" if isinstance(class_weight, (list, tuple))
             else repr(class_weight))
    raise ValueError(
        f"class_weight ({given}) weighs a sample by the product of its classes' weights over "
        f"the {columns} columns of y (as scikit-learn's compute_sample_weight does for "
        f"several outputs), but the target encoder makes the model's {len(outputs)} "
        "output(s) of them (labels per pixel or per step?): a sample would weigh a product "
        f"of {columns} weights. Weigh the samples with sample_weight instead, or the labels "
        "in a loss of your own.")


def _logits_class(loss):
    """The name of Keras' loss class ``loss`` is (or whose function it is:
    binary_crossentropy -> BinaryCrossentropy), to give with from_logits."""
    from ._losses import _resolved

    found = _resolved(loss)
    name = (found.__name__ if inspect.isclass(found) else type(found).__name__ if isinstance(
        found, keras.losses.Loss) else getattr(found, "__name__", ""))
    name = "".join(part.capitalize() for part in name.split("_")) if "_" in name else name
    try:
        taken = "from_logits" in inspect.signature(getattr(keras.losses, name)).parameters
    except (AttributeError, TypeError, ValueError):
        taken = False
    return name if taken else "SparseCategoricalCrossentropy"


# Activations whose outputs lie in [0, 1] (a softmax's, sparsemax's rows summing to 1).
_PROBABILITY_ACTIVATIONS = ("sigmoid", "softmax", "hard_sigmoid", "sparse_sigmoid", "sparsemax")


def _not_probabilities(activation):
    """Whether ``activation`` (a name) is one of Keras' own whose outputs may
    leave [0, 1] (linear, relu, tanh, softplus, ...: a crossentropy taking
    probabilities clips them, and predict_proba refuses the rows)."""
    return (isinstance(activation, str) and activation not in _PROBABILITY_ACTIVATIONS
            and callable(getattr(keras.activations, activation, None)))


def trains_scores(loss):
    """Whether ``loss`` is one of Keras' hinge losses (it trains scores to the
    sign of -1/1 labels)."""
    return _trains(loss) == "scores"


def _trains(loss):
    """What ``loss`` (a name, function, class or instance) trains outputs to
    where it is one of Keras' hinge losses ("scores", of any sign) or of its
    regression losses ("values": a linear or ReLU output under the mean squared
    error has rows of no positive value); None for another loss."""
    from ._losses import _is_loss

    losses = keras.losses
    found = {"scores": [(losses.hinge, losses.Hinge), (losses.squared_hinge, losses.SquaredHinge),
                        (losses.categorical_hinge, losses.CategoricalHinge)],
             "values": [(losses.mean_squared_error, losses.MeanSquaredError),
                        (losses.mean_absolute_error, losses.MeanAbsoluteError),
                        (losses.mean_absolute_percentage_error,
                         losses.MeanAbsolutePercentageError),
                        (losses.mean_squared_logarithmic_error,
                         losses.MeanSquaredLogarithmicError),
                        (losses.huber, losses.Huber), (losses.log_cosh, losses.LogCosh)]}
    return next((what for what, pairs in found.items()
                 if any(_is_loss(loss, fn, cls) for fn, cls in pairs)), None)
