"""Networks saved without loss scaling, loaded without it.

Keras' compile config does not record ``auto_scale_loss``: where the loading
process's global dtype policy is ``mixed_float16``, Keras compiles a loaded
network's optimizer wrapped in a ``LossScaleOptimizer`` and skips the saved
optimizer's variables (its step count and moments), so that a fit continued
after a load (``partial_fit``, ``warm_start``) starts its optimizer again
(found: the ready estimators compile without loss scaling whatever the
policy). A network whose optimizer was not wrapped when it was saved (or
pickled) is compiled again as it was, and its optimizer's variables are read
from its file; one that was wrapped loads as Keras loads it.
"""

import tempfile
import warnings
from pathlib import Path

from .._tf import numpy_reads_of_variables


def is_scaled(network):
    """Whether ``network``'s optimizer is Keras' LossScaleOptimizer."""
    import keras

    return isinstance(getattr(network, "optimizer", None), keras.optimizers.LossScaleOptimizer)


def load_unscaled(load, file, scaled):
    """``load()`` (Keras loading the ``.keras`` ``file``), compiled again without
    loss scaling where ``scaled`` is False (the network was saved so) and the
    load added it; the warnings of the optimizer variables it skipped are then
    left out (and those of a saved optimizer that had none), the load's others
    given as they came."""
    with warnings.catch_warnings(record=True) as caught:  # (the user's filters still apply)
        network = load()
        again = scaled is False and is_scaled(network) and _compiled_unscaled(network, file)
    for warning in caught:
        if not (again and str(warning.message).startswith("Skipping variable loading for "
                                                          "optimizer")):
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno, source=warning.source)
    return network


def _compiled_unscaled(network, file):
    """Compile ``network`` again from its compile config without loss scaling and
    read its optimizer's variables from ``file``; False where Keras cannot."""
    import keras

    try:
        config = keras.saving.deserialize_keras_object(network.get_compile_config())
        network.compile(**config, auto_scale_loss=False)
        network.optimizer.build(network.trainable_variables)
        network.load_weights(file)
    except (TypeError, ValueError, KeyError):  # (as Keras loaded it, as before)
        return False
    return True


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
    import keras

    with tempfile.TemporaryDirectory(prefix="keraslearn-unpickle-") as tmp:
        file = Path(tmp, "network.keras")
        file.write_bytes(data)
        return load_unscaled(lambda: keras.saving.load_model(file, safe_mode=False), file,
                             scaled=False)
