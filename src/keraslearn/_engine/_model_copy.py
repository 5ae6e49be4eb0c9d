"""The copy of a ``keras.Model`` given as ``model=`` that a fit trains: the
user's network is never trained or changed."""

import inspect
import re

from .._tf import keras
from . import _nested as nested
from ._layers import (
    all_layers,
    copy_loaded_state,
    copy_network_state,
    copy_trainable_flags,
    own_optimizer,
    trainable_positions,
)

_REFUSED = "The keras.Model given as model cannot be copied for training: "
_BUILDER = ". Give the function that builds the model as model= instead."
# What Keras says of an object its serialised form cannot make again.
_NOT_MADE_AGAIN = ("Could not locate", "deserialization of a Python lambda")
# How Keras serialises a plain function of the user's (not registered): by name alone.
_PLAIN_FUNCTION = re.compile(r"'module': 'builtins', 'class_name': 'function', "
                             r"'config': '([^']+)'")
REGISTER_FUNCTION = (
    "A function of one's own (a layer's activation, initializer, regularizer or "
    "constraint, a loss, a metric) is saved by its name alone: Keras makes it again only "
    "when it is registered with @keras.saving.register_keras_serializable() and imported "
    "first.")


def plain_function(text):
    """The name of a plain function of the user's, unregistered, that the
    Keras error ``text`` names (where Keras failed on it), or None."""
    cause = text.rsplit("Exception encountered: ", 1)[-1]
    found = _PLAIN_FUNCTION.search(cause)
    return None if found is None else found.group(1)


def copy_model(source):
    """A copy of the ``keras.Model`` ``source``: its layers, weights, trainable
    flags and compile settings, compiled from its compile config, which names
    every object by its registered name: an optimizer or loss class, or a loss
    function, of the user's own that is not registered with Keras is known by
    the one ``source`` holds.

    Raises ValueError, naming the way out, where Keras cannot make the model
    again from its config, or its copy would train other weights.
    """
    known = {type(source.optimizer).__name__: type(source.optimizer)} if getattr(
        source, "optimizer", None) is not None else {}
    for obj in nested.leaves(getattr(source, "loss", None)):
        if inspect.isfunction(obj):
            known[obj.__name__] = obj
        elif isinstance(obj, keras.losses.Loss):
            known[type(obj).__name__] = type(obj)
    compiling = False
    try:
        with keras.saving.custom_object_scope(known):
            model = keras.models.clone_model(source)
            if getattr(source, "compiled", False) and not getattr(model, "compiled", False):
                compiling = True
                model.compile_from_config(source.get_compile_config())
    except (TypeError, ValueError, NotImplementedError) as exc:
        refusal = _refusal(exc, compiling)
        if refusal is None:
            raise  # another failure of Keras' copy: as Keras words it
        raise refusal from None
    copy_trainable_flags(source, model)  # (a subclassed model's frozen layers)
    if source.weights:
        model.set_weights(source.get_weights())
    copy_loaded_state(source, model)  # (an adapted Normalization's constants, vocabularies)
    own_optimizer(model)  # (Keras' clone_model compiles the copy for itself)
    return model


def _refusal(exc, compiling):
    """The error telling why Keras could not copy the model (None: Keras' own
    words), ``compiling`` it once its layers were made again or not."""
    text = " ".join(str(exc).split())
    first, function = text.split(". ")[0], plain_function(text)
    if function is not None and not compiling:
        return ValueError(_REFUSED + f"it holds the function {function!r}, which Keras does not "
                          f"make again from its config. {REGISTER_FUNCTION}" + _BUILDER[1:])
    if "`Lambda` layer" in str(exc):  # (Keras' safe mode makes no lambda from a config)
        return ValueError(_REFUSED + "it holds a Lambda layer of a Python lambda, which Keras "
                          "does not make again from its config" + _BUILDER)
    if isinstance(exc, NotImplementedError):  # (a subclass without the get_config it needs)
        return ValueError(_REFUSED + f"Keras does not make it again from its config ({first})"
                          + _BUILDER)
    if any(words in str(exc) for words in _NOT_MADE_AGAIN) and not compiling:
        return ValueError(  # (a layer of the user's, perhaps inside an RNN or a wrapper)
            _REFUSED + f"it holds a layer Keras cannot make again from its config ({first}). "
            "Register its class with @keras.saving.register_keras_serializable()" + _BUILDER)
    if any(words in str(exc) for words in _NOT_MADE_AGAIN):
        return ValueError(
            _REFUSED + f"it was compiled with an object Keras cannot make again ({first}). "
            "Register it with @keras.saving.register_keras_serializable(), or give the model "
            "uncompiled and the loss, optimizer and metrics to the estimator.")
    return None


def check_trainable_unchanged(est, model, rebuilt=None):
    """Refuse to train ``model`` further when the variables it trains changed
    since the fit that built its optimizer (a layer frozen or unfrozen):
    Keras trains another set only once compiled again, with an optimizer
    built for it (its fit fails, or trains the old set). A network continued
    in one ``rebuilt`` from the parameters (a ready estimator's) would lose the
    flags whatever its optimizer: refused then too, where they differ from the
    last fit's or a layer with weights is frozen, which ``rebuilt`` (built from
    the parameters) trains (found in an audit: frozen, compiled, then
    partial_fit, the last fit's record held the frozen flags, and a warm start
    unfroze the layer silently)."""
    before = est.__dict__.get("_trainable")
    if before is None or not (rebuilt is not None or getattr(
            getattr(model, "optimizer", None), "built", False)):
        return
    now, than = trainable_positions(model), "at its last fit"
    if rebuilt is not None and now == before and any(
            layer.weights and not layer.trainable for layer in [model, *all_layers(model)]):
        before, than = trainable_positions(rebuilt), "the network its parameters build"
    if now != before:
        from sklearn.base import is_classifier

        name = type(est).__name__
        # (a ready estimator takes no model: the wrapper of its kind copies its network)
        copier = name if "model" in est.get_params(deep=False) else (
            "KerasClassifier" if is_classifier(est) else "KerasRegressor")
        raise ValueError(
            f"{name}'s network trains other weights than {than} ({len(before)} "
            f"variables there, {len(now)} in it: a layer's trainable flag changed), and Keras "
            "trains another set only once compiled again with a new optimizer, so this "
            "network cannot be trained further (warm_start, partial_fit). Fit a copy "
            f"instead ({copier}(model=est.model_, ...) copies the network and trains it as "
            "compiled: compile est.model_ with the optimizer to fine-tune with first), or "
            "fit anew with warm_start=False.")


def continue_into(est, model, partial):
    """Give ``model``, a network the parameters of now built, the state of the
    fitted one it continues (warm_start, partial_fit): refused where that one's
    trainable layers changed since its fit, or its weights do not fit ``model``'s."""
    current = est.__dict__["model_"]
    check_trainable_unchanged(est, current, rebuilt=model)  # (the flags would be lost)
    try:
        copy_network_state(current, model)
    except ValueError as exc:
        raise ValueError(
            f"{'partial_fit' if partial else 'warm_start=True'} continues the fitted "
            f"network, but the current parameters build another one ({exc}). "
            f"{'Call fit' if partial else 'Set warm_start=False'} to fit a new network."
        ) from None
