"""The loss given to an estimator against the one its model was compiled with."""

import numpy as np

from .._tf import keras
from ._layers import defined_by_keras, output_keys
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
    ranks = {len(output.shape) for output in getattr(model, "outputs", None) or []}
    rank = ranks.pop() if len(ranks) == 1 else None  # (an axis counted from the front)
    for one, other in pairs:
        if isinstance(one, _PER_OUTPUT) or isinstance(other, _PER_OUTPUT):
            continue  # (nested deeper: not compared)
        named = _loss_names(one, other)
        settings = _other_settings(one, other, rank) if named and named[0] == named[1] else ""
        if named is not None and (named[0] != named[1] or settings):
            where = "" if len(pairs) == 1 and one is given else (
                f" (per output, {named[0]!r} " + (settings or f"where it has {named[1]!r}") + ")")
            where = f" ({settings})" if settings and not where else where
            raise ValueError(
                f"loss={_shown_given(loss)} was given, but the model was compiled with the loss "
                f"{_shown_loss(model.loss)!r}{where}, which would train instead: give the "
                "estimator the loss the model is compiled with, or leave loss=None, or "
                "build the model uncompiled (the estimator then compiles it with loss), or "
                "compile it in the builder with compile_kwargs['loss'].")


def _other_settings(given, compiled, rank=None):
    """Where a loss object of Keras' own given to the estimator has settings
    the compiled loss of its name lacks (found in an audit: Huber(delta=2.0) or
    BinaryCrossentropy(label_smoothing=0.1) beside a compiled "huber" or
    "binary_crossentropy" went unused silently), those settings (a message's
    words); "" else. A loss given by name takes the compiled one's. ``rank``:
    the outputs', where one (an axis counted from the front is the same as one
    counted from the end: found in review)."""
    cls = type(given)
    if not isinstance(given, keras.losses.Loss) or not defined_by_keras(cls):
        return ""
    try:  # (a name or function of the same loss: the class's defaults)
        other = compiled if isinstance(compiled, keras.losses.Loss) else cls()
    except TypeError:
        return ""
    if type(other) is not cls:
        return ""
    mine, theirs = _settings(given, rank), _settings(other, rank)
    differ = [f"{key}={_shown_setting(value)} where it has {_shown_setting(theirs.get(key))}"
              for key, value in mine.items()
              if not _alike(theirs.get(key), value) and not (  # (an axis of unknown rank)
                  key == "axis" and rank is None and isinstance(value, int))]
    return f"given with {', '.join(differ)}" if differ else ""


def _shown_setting(value):
    return f"{value:.7g}" if isinstance(value, float) else repr(value)


def _alike(one, other):
    """Equal, numbers to float32's precision (np.float32(0.1) is 0.1 to Keras)."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (one, other))
    return np.isclose(one, other, rtol=1e-6, atol=0) if numbers else one == other


def _settings(loss, rank):
    """A loss object's settings of plain values as it holds them (Huber's
    config leaves its delta out), its name and dtype aside; NumPy's numbers
    as Python's, reductions alike in Keras spelled alike (found in review:
    "mean" is "sum_over_batch_size"), an axis counted from the end."""
    def plain(value):
        return value is None or isinstance(value, (bool, int, float, str, np.generic))

    found = {}
    for key, value in vars(loss).items():
        if isinstance(value, dict):  # (a function's keyword arguments)
            found.update({k: v for k, v in value.items() if plain(v)})
        elif key not in ("name", "_dtype") and plain(value):
            found[key.lstrip("_")] = value
    found = {k: v.item() if isinstance(v, np.generic) else v for k, v in found.items()}
    if found.get("reduction") in ("mean", "none", None):
        found["reduction"] = {"mean": "sum_over_batch_size"}.get(found["reduction"], "none")
    axis = found.get("axis")
    if type(axis) is int and axis >= 0 and rank is not None:
        found["axis"] = axis - rank
    return found


def _shown_given(loss):
    """A loss given, loss objects as ClassName(...) (their repr is Keras'
    LossFunctionWrapper(<function ...>)), per output too (messages)."""
    if isinstance(loss, (list, tuple)):
        return "[" + ", ".join(map(_shown_given, loss)) + "]"
    if isinstance(loss, dict) and "class_name" not in loss:
        return "{" + ", ".join(f"{k!r}: {_shown_given(v)}" for k, v in loss.items()) + "}"
    return f"{type(loss).__name__}(...)" if isinstance(loss, keras.losses.Loss) else repr(loss)


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
