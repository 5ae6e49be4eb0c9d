"""Networks saved without loss scaling, loaded without it.

Keras' compile config does not record ``auto_scale_loss``: where the loading
process's global dtype policy is ``mixed_float16``, Keras compiles a loaded
network's optimizer wrapped in a ``LossScaleOptimizer`` and skips the saved
optimizer's variables (its step count and moments), so that a fit continued
after a load (``partial_fit``, ``warm_start``) starts its optimizer again
(found: the ready estimators compile without loss scaling whatever the
policy; a subclassed network records the policy it was made under, which
Keras' load gives it). There, ``keraslearn.load`` loads a
network saved with an unscaled optimizer uncompiled and compiles it as it was,
from the compile config its file holds, reading its optimizer's variables from
the file. A pickle or copy made where such a load could follow (the process's
policy or the network's is mixed_float16) carries the unscaled optimizer's
values beside the network, which is then compiled again without loss scaling
and given them (Keras' load has warned of the variables it skipped; with
warnings as errors it fails, as Keras' own). Elsewhere, and for an optimizer
that was wrapped, Keras loads the network as it does.
"""

import json
import zipfile

import numpy as np

from .._tf import numpy_reads_of_variables


def is_scaled(network):
    """Whether ``network``'s optimizer is Keras' LossScaleOptimizer."""
    import keras

    return isinstance(getattr(network, "optimizer", None), keras.optimizers.LossScaleOptimizer)


def load_file(file, safe_mode, scaled):
    """The network of the ``.keras`` ``file`` (``keras.saving.load_model``),
    compiled without loss scaling where ``scaled`` is False (it was saved so)
    and Keras' load would add it; ``scaled`` None: not recorded."""
    import keras

    config = _config(file) if scaled is False else None
    if config is None or not config.get("compile_config") or "mixed_float16" not in (
            _recorded_policy(config), keras.config.dtype_policy().name):
        return keras.saving.load_model(file, safe_mode=safe_mode)
    network = keras.saving.load_model(file, safe_mode=safe_mode, compile=False)
    try:  # (the policy Keras' compile reads: a subclassed network's own, found in review)
        if network.dtype_policy.name != "mixed_float16" or _compiles_its_own_way(network):
            network.compile_from_config(config["compile_config"])  # as Keras' load compiles
        else:
            settings = keras.saving.deserialize_keras_object(config["compile_config"],
                                                             safe_mode=safe_mode)
            _compile_unscaled(network, settings)
        network.load_weights(file)  # (its optimizer's variables with the layers')
    except (TypeError, ValueError, KeyError):
        return keras.saving.load_model(file, safe_mode=safe_mode)  # as Keras loads it
    return network


def _config(file):
    """The config Keras' load reads from the ``.keras`` ``file`` (its compile
    config with it), or None where it cannot be read (Keras' load says why)."""
    try:
        with zipfile.ZipFile(file) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    return config if isinstance(config, dict) else None


def _recorded_policy(config):
    """The name of the dtype policy a network's ``config`` records (a Sequential's,
    which Keras' load leaves for the process's, a subclassed network's, which it
    gives the network), or None."""
    inner = config.get("config")
    dtype = inner.get("dtype") if isinstance(inner, dict) else None
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name")
    return dtype if isinstance(dtype, str) else None


def optimizer_values(network):
    """The config of ``network``'s optimizer and the values of its variables (in its
    order: a copy of the network builds them in the same one), for a pickle or copy made
    where Keras' load could wrap it (the process's policy or the network's is
    mixed_float16), its optimizer being unscaled and built; else None. (Not its
    .keras file in place of the network: a network pickled beside its estimator
    stays one object, found in review.)"""
    import keras

    optimizer = getattr(network, "optimizer", None)
    policy = getattr(getattr(network, "dtype_policy", None), "name", None)
    if (optimizer is None or is_scaled(network) or not optimizer.variables
            or "mixed_float16" not in (policy, keras.config.dtype_policy().name)):
        return None
    # (its config too: the LossScaleOptimizer Keras' load makes edits the optimizer it
    # wraps, its loss_scale_factor dropped: found in review)
    with numpy_reads_of_variables():
        return {"optimizer": keras.saving.serialize_keras_object(optimizer),
                "values": [variable.numpy() for variable in optimizer.variables]}


def unscaled_again(network, values):
    """``network`` unpickled (or copied) with ``values`` of its optimizer's
    variables, compiled again without loss scaling where Keras' load wrapped
    its optimizer (skipping those variables), and the values set."""
    import keras

    if values is None or not is_scaled(network) or _compiles_its_own_way(network):
        return  # (a compile of its own: as Keras does it)
    try:
        # (a pickle, unsafe whatever is done: a lambda learning rate was refused in review)
        settings = keras.saving.deserialize_keras_object(network.get_compile_config(),
                                                         safe_mode=False)
        settings["optimizer"] = keras.saving.deserialize_keras_object(values["optimizer"],
                                                                      safe_mode=False)
        _compile_unscaled(network, settings)
        variables = network.optimizer.variables
        if [v.shape for v in variables] != [np.shape(value) for value in values["values"]]:
            raise ValueError("another optimizer")
        for variable, value in zip(variables, values["values"]):
            variable.assign(value)
    except (TypeError, ValueError, KeyError):
        return  # (as Keras loaded it)


def _compiles_its_own_way(network):
    """Whether ``network``'s class has a compile (or compile_from_config) of its own,
    which Keras' load leaves to compile it (found in review)."""
    import keras

    own = type(network)
    return (own.compile is not keras.Model.compile
            or own.compile_from_config is not keras.Model.compile_from_config)


def _compile_unscaled(network, settings):
    """Compile ``network`` with its compile ``settings`` (deserialized) without
    loss scaling, its optimizer built as Keras' compile_from_config builds it."""
    network.compile(**settings, auto_scale_loss=False)
    network.optimizer.build(network.trainable_variables)
