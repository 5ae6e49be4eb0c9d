"""partial_fit on a ready network that the current parameters would build
otherwise: the network is built again, its weights and its optimizer's state
carried over, so that the fit continues as if it had been built so.

Moved under ``distribute`` after a fit on one device, a network's batch
normalisation must be synchronized across replicas (each replica would
normalise its own part of the batch); the MLPs also rebuild for another L2
strength, activation or dropout rate (see ``_dense``), ImageClassifier for
another dropout rate or augmentation (``_image_layout``); other layers are refused there.
"""

from .._engine._layers import built_optimizer
from .._engine._plan import CONTINUE, REBUILD
from .._tf import keras


def carry_optimizer_state(src, dst):
    """The optimizer state of network ``src`` (step count, learning rate,
    slots) into ``dst``'s, an optimizer of the same kind."""
    built_optimizer(dst)
    old, new = src.optimizer.variables, dst.optimizer.variables
    if type(src.optimizer) is not type(dst.optimizer) or [v.shape for v in old] != [
            v.shape for v in new]:
        raise ValueError(
            "partial_fit continues the fitted network's optimizer, but the current "
            f"parameters make another ({type(dst.optimizer).__name__} instead of "
            f"{type(src.optimizer).__name__}). Call fit to fit a new network.")
    for a, b in zip(old, new):
        b.assign(a)


def dropout_rate(model):
    """The rate of ``model``'s first Dropout layer (0.0 without one)."""
    rates = [float(layer.rate) for layer in model.layers
             if isinstance(layer, keras.layers.Dropout)]
    return rates[0] if rates else 0.0


def normalises(model):
    """Whether ``model`` holds a BatchNormalization layer."""
    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)


class RebuiltToContinue:
    """Mixin of the ready networks: :meth:`_needs_rebuild` says when
    partial_fit builds the network again."""

    def _needs_rebuild(self, model, plan):
        """Whether ``model`` differs from what the parameters build for ``plan``:
        here, batch normalisation synchronized otherwise than ``distribute`` needs."""
        synchronized = getattr(self, "distribute", None) is not None
        return any(bool(layer.synchronized) != synchronized for layer in model.layers
                   if isinstance(layer, keras.layers.BatchNormalization))

    def _network(self, plan, data, randomness, where=None):
        if plan.network == CONTINUE and plan.mode == "partial":
            current = self.__dict__["model_"]
            if self._needs_rebuild(current, plan):
                model, encoder = super()._network(plan.replace(network=REBUILD), data,
                                                  randomness, where)
                carry_optimizer_state(current, model)
                return model, encoder
        return super()._network(plan, data, randomness, where)
