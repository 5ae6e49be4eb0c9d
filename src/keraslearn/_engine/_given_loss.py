"""The loss given to an estimator against the one its model was compiled with."""

from .._tf import keras
from ._layers import output_keys
from ._losses import sole_loss
from ._network_checks import check_losses_per_output

_PER_OUTPUT = (list, tuple, dict)


def check_compiled_loss(model, loss):
    """Refuse a ``loss`` set on the estimator that is not the one the model
    was compiled with (by its builder, or as given), as scikeras does: the
    compiled loss trains, so the estimator's would go unused (a search over
    ``loss`` would search nothing). Losses per output (a list, or a dict by
    output name) are compared output by output, one loss standing for each
    output as in Keras' compile, and dicts over the outputs both name."""
    if loss is None or model.loss is None:
        return
    names = output_keys(model)
    if len(names) > 1:  # (a list of other length, a dict naming no output: found in review)
        check_losses_per_output(model, loss, len(names))
    # One output: a list or dict of one loss is that loss. Several: losses in
    # output order are read by output name (a dict naming one output stays one:
    # found in review).
    given, compiled = (_by_name(loss, names), _by_name(model.loss, names)) if len(
        names) > 1 else (sole_loss(loss), sole_loss(model.loss))
    pairs = [(given, compiled)]
    if isinstance(given, (list, tuple)) and isinstance(compiled, (list, tuple)):
        pairs = list(zip(given, compiled)) if len(given) == len(compiled) else []
    elif isinstance(given, dict) and isinstance(compiled, dict):
        pairs = [(given[k], compiled[k]) for k in given if k in compiled]
    elif isinstance(given, _PER_OUTPUT) != isinstance(compiled, _PER_OUTPUT):
        # one loss for every output against losses per output (found in an audit:
        # loss="mae" beside a compiled ["mse", "mse"] went unused silently)
        several = given if isinstance(given, _PER_OUTPUT) else compiled
        pairs = [(one, compiled) if several is given else (given, one) for one in (
            several.values() if isinstance(several, dict) else several)]
    for one, other in pairs:
        if isinstance(one, _PER_OUTPUT) or isinstance(other, _PER_OUTPUT):
            continue  # (nested deeper: not compared)
        named = _loss_names(one, other)
        settings = _other_settings(one, other) if named and named[0] == named[1] else ""
        if named is not None and (named[0] != named[1] or settings):
            where = "" if len(pairs) == 1 and one is given else (
                f" (per output, {named[0]!r} " + (settings or f"where it has {named[1]!r}") + ")")
            where = f" ({settings})" if settings and not where else where
            raise ValueError(
                f"loss={loss!r} was given, but the model was compiled with the loss "
                f"{_shown_loss(model.loss)!r}{where}, which would train instead: give the "
                "estimator the loss the model is compiled with, or leave loss=None, or "
                "build the model uncompiled (the estimator then compiles it with loss).")


def _other_settings(given, compiled):
    """Where a loss object of Keras' own given to the estimator has settings
    the compiled loss of its name lacks (found in an audit: Huber(delta=2.0) or
    BinaryCrossentropy(label_smoothing=0.1) beside a compiled "huber" or
    "binary_crossentropy" went unused silently), those settings (a message's
    words); "" else. A loss given by name takes the compiled one's."""
    from ._layers import defined_by_keras

    cls = type(given)
    if not isinstance(given, keras.losses.Loss) or not defined_by_keras(cls):
        return ""
    try:  # (a name or function of the same loss: the class's defaults)
        other = compiled if isinstance(compiled, keras.losses.Loss) else cls()
    except TypeError:
        return ""
    if type(other) is not cls:
        return ""
    mine, theirs = _settings(given), _settings(other)
    differ = [f"{key}={value!r} where it has {theirs.get(key)!r}" for key, value in mine.items()
              if theirs.get(key) != value]
    return f"given with {', '.join(differ)}" if differ else ""


def _settings(loss):
    """A loss object's settings of plain values as it holds them (Huber's
    config leaves its delta out), its name and dtype aside."""
    def plain(value):
        return value is None or isinstance(value, (bool, int, float, str))

    found = {}
    for key, value in vars(loss).items():
        if isinstance(value, dict):  # (a function's keyword arguments)
            found.update({k: v for k, v in value.items() if plain(v)})
        elif key not in ("name", "_dtype") and plain(value):
            found[key.lstrip("_")] = value
    return found


def _by_name(loss, names):
    """Losses given in output order as a dict by output name; others as given."""
    if isinstance(loss, (list, tuple)) and len(loss) == len(names):
        return dict(zip(names, loss))
    return loss


def _shown_loss(loss):
    """A loss, or losses per output, by name where they have one (messages)."""
    if isinstance(loss, (list, tuple)):
        return [_shown_loss(one) for one in loss]
    if isinstance(loss, dict):
        return {key: _shown_loss(one) for key, one in loss.items()}
    names = _loss_names(loss)
    return names[0] if names else loss


def _loss_names(*losses):
    from ..utils import loss_name

    try:
        return [loss_name(one) for one in losses]
    except (TypeError, ValueError):  # a loss of the user's own that has no name
        return None
