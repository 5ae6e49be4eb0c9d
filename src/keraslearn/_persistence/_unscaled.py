"""Networks saved without loss scaling, loaded without it.

Keras' compile config does not record ``auto_scale_loss``: where the loading
process's global dtype policy is ``mixed_float16``, Keras compiles a loaded
network's optimizer wrapped in a ``LossScaleOptimizer`` and skips the saved
optimizer's variables (its step count and moments), so that a fit continued
after a load (``partial_fit``, ``warm_start``) starts its optimizer again
(found: the ready estimators compile without loss scaling whatever the
policy). There, a network whose optimizer was not wrapped when it was saved
(or pickled) is loaded uncompiled and compiled as it was, from the compile
config its file holds, and its optimizer's variables are read from the file;
elsewhere, and for one that was wrapped, Keras loads it as it does.
"""

import json
import tempfile
import zipfile
from pathlib import Path

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

    if scaled is not False or keras.config.dtype_policy().name != "mixed_float16":
        return keras.saving.load_model(file, safe_mode=safe_mode)
    network = keras.saving.load_model(file, safe_mode=safe_mode, compile=False)
    try:
        with zipfile.ZipFile(file) as archive:  # (the compile config Keras' load reads)
            config = json.loads(archive.read("config.json")).get("compile_config")
        if not config or type(network).compile is not keras.Model.compile:
            raise TypeError("not compiled, or by a compile of its own")  # (as Keras does it)
        settings = keras.saving.deserialize_keras_object(config, safe_mode=safe_mode)
        network.compile(**settings, auto_scale_loss=False)
        network.optimizer.build(network.trainable_variables)
        network.load_weights(file)  # (its optimizer's variables with the layers')
    except (TypeError, ValueError, KeyError):
        return keras.saving.load_model(file, safe_mode=safe_mode)  # as Keras loads it
    return network


class PickledUnscaled:
    """A network pickled (or deep-copied) so that it loads without loss
    scaling where it was not scaled: its ``.keras`` file's bytes, loaded as
    Keras unpickles a network (its pickle is not safe either way)."""

    def __init__(self, network):
        self.network = network

    def __reduce__(self):
        with tempfile.TemporaryDirectory(prefix="keraslearn-pickle-") as tmp:
            file = Path(tmp, "network.keras")
            with numpy_reads_of_variables():
                self.network.save(file)
            return _unpickled, (file.read_bytes(),)


def _unpickled(data):
    with tempfile.TemporaryDirectory(prefix="keraslearn-unpickle-") as tmp:
        file = Path(tmp, "network.keras")
        file.write_bytes(data)
        return load_file(file, safe_mode=False, scaled=False)
