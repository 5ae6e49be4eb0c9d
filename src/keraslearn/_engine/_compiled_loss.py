"""The loss a fitted network was compiled with, carried across pickle and
``keraslearn.save``.

Keras stores a network's compile settings through the loss's config, which may
leave settings out (``Huber``'s ``delta``, ``CosineSimilarity``'s ``axis``): a
network unpickled or loaded continues, at a warm start or ``partial_fit``, with
the loss's defaults. So the estimator's state carries what the config leaves out:

- pickle (joblib, ``copy``) carries the loss object itself beside the network
  (:func:`carried`), and the copy is compiled again with it (:func:`restore`);
  so is a loss object given as the ``loss`` parameter;
- ``keraslearn.save`` stores data, not objects: when the estimator's own loss
  parameters make the loss the network was compiled with, the file says so and
  the loaded network is compiled again with the loss those parameters make, at
  load (:func:`compile_loaded`) or, where they hold a reference to code not yet
  made, by the first fit that continues it (:func:`before_continuing`); when
  they do not (a builder that compiled its own ``Huber(delta=5)``), that fit is refused rather
  than continued with another loss; a loss whose config leaves out only its
  dtype (a float64 network's) is marked with that dtype, and compiled again in it.
"""

from collections.abc import Mapping

from .._tf import keras
from . import _keras_objects as objects
from . import _nested as nested

# The state key pickle carries the loss object under, and the one a saved file
# marks the loss with (the value: _FROM_PARAMETERS, or what the loss was).
_PICKLED = "_compiled_loss"
SAVED = "_compiled_loss_saved"
_FROM_PARAMETERS = "made by the estimator's loss parameters"
_IN_DTYPE = "as its config says, in "  # + the dtype the config leaves out


def _plain_containers(loss):
    """``loss`` with Keras' tracked dicts and lists (a compiled model's loss per
    output) as plain ones, whose leaves :func:`objects.exact_losses` reaches."""
    if isinstance(loss, Mapping):
        return {key: _plain_containers(value) for key, value in loss.items()}
    if isinstance(loss, (list, tuple)):
        return [_plain_containers(value) for value in loss]
    return loss


def _inexact(loss):
    """Whether Keras' config of ``loss`` (a loss, or a list or dict of them)
    leaves out settings it holds."""
    return not all(objects.copies_exactly(leaf) for leaf in nested.leaves(loss))


def carried(estimator, state, *, saving):
    """``state`` (the estimator's, being pickled or saved) with the compiled loss
    of its network carried beside it where Keras' config would lose settings,
    and, for pickle, its ``loss`` parameter carried as it is too."""
    if "loss" in state and not saving:
        state = {**state, "loss": objects.exact_losses(state["loss"], objects.ExactLoss.of)}
    model = state.get("model_")
    if SAVED in state or model is None or not getattr(model, "compiled", False):
        return state  # a loaded network's mark is kept until a fit continues it
    if not saving:
        exact = objects.exact_losses(_plain_containers(model.loss), objects.ExactLoss.of)
        if not any(isinstance(leaf, objects.ExactLoss) for leaf in nested.leaves(exact)):
            return state  # exact already, or pickle cannot carry it either: Keras' way
        return {**state, _PICKLED: exact}
    if not _inexact(model.loss):
        return state
    dtype = _only_dtype_left_out(model.loss)
    if dtype is not None:  # a float64 network's loss: its config drops the dtype only
        return {**state, SAVED: _IN_DTYPE + dtype}
    try:
        made = estimator._loss_from_parameters()
    except Exception:  # noqa: BLE001 - parameters that make no loss: not the compiled one
        made = None
    same = made is not None and objects.loss_key(made) == objects.loss_key(model.loss)
    return {**state, SAVED: _FROM_PARAMETERS if same else _described(model.loss)}


def _only_dtype_left_out(loss):
    """The dtype every loss of ``loss`` computes in, where their configs leave
    out that alone (Keras' losses do: a float64 network's loss, made so by
    the estimator, comes back from its config in float32); None otherwise."""
    leaves = list(nested.leaves(loss))
    dtypes = {str(getattr(leaf, "dtype", None)) for leaf in leaves}
    if len(dtypes) == 1 and all(map(_copies_in_its_dtype, leaves)):
        return next(iter(dtypes))
    return None


def _copies_in_its_dtype(loss):
    """Whether the loss ``loss`` made again from its config in its own dtype
    (which Keras' loss configs leave out) holds what it holds."""
    dtype = getattr(loss, "dtype", None)
    try:
        return dtype is not None and objects.loss_key(_in_dtype(loss, dtype)) == (
            objects.loss_key(loss))
    except Exception:  # noqa: BLE001 - a constructor that takes no dtype
        return False


def exact_config(obj):
    """Keras' serialized config making ``obj`` (a loss, optimizer, metric, ...)
    again as it is: its own, with the dtype added for a loss whose config leaves
    out that alone (a float64 loss given as a parameter); None where none does
    (Keras' ``Huber`` drops its ``delta``)."""
    config = keras.saving.serialize_keras_object(obj)
    if objects.copies_exactly(obj):
        return config
    if not _copies_in_its_dtype(obj):
        return None
    return {**config, "config": {**config["config"], "dtype": obj.dtype}}


def _in_dtype(loss, dtype):
    """``loss`` (a loss, or a list or dict of them) made again from its config,
    in ``dtype``."""
    if isinstance(loss, dict):
        return {key: _in_dtype(value, dtype) for key, value in loss.items()}
    if isinstance(loss, (list, tuple)):
        return [_in_dtype(value, dtype) for value in loss]
    return type(loss).from_config({**loss.get_config(), "dtype": dtype})


def _described(loss):
    names = sorted({type(leaf).__name__ for leaf in nested.leaves(loss)
                    if not objects.copies_exactly(leaf)})
    return f"a {' and '.join(names)} loss compiled by the model builder"


def restore(state):
    """``state`` as unpickling sets it: its loss parameter made again, and its
    network compiled again with the loss pickle carried."""
    state = dict(state)
    if "loss" in state:
        state["loss"] = objects.made_losses(state["loss"])
    loss = state.pop(_PICKLED, None)
    if loss is not None and "model_" in state:
        objects.recompile(state["model_"], objects.made_losses(loss))
    return state


def compile_loaded(estimator):
    """Compile a network just loaded by keraslearn.load with the loss its Keras
    config lost settings of (Huber's delta) where the file says what it was,
    so that ``model_.loss`` and ``model_.evaluate`` are those it trained with;
    where the parameters cannot make it yet (code not trusted), a fit that
    continues it does (:func:`before_continuing`)."""
    from .._persistence._state import holds_saved

    model = estimator.__dict__.get("model_")
    if estimator.__dict__.get(SAVED) is None or model is None:
        return
    losses = {k: v for k, v in estimator.get_params(deep=False).items()
              if k.split("__")[0] == "loss"}
    if holds_saved(losses):
        return  # (a loss the file holds as a reference: made, or given again, at fit)
    try:
        before_continuing(estimator, model)
    except Exception:  # noqa: BLE001 - kept marked: the fit that continues it says why
        pass


def before_continuing(estimator, model):
    """Compile a loaded network again with the loss the estimator's parameters
    make, before a fit continues it; a ValueError when the file could not say
    which loss it trained with."""
    mark = estimator.__dict__.get(SAVED)
    if mark is None:
        return
    if mark.startswith(_IN_DTYPE):
        objects.recompile(model, _in_dtype(model.loss, mark[len(_IN_DTYPE):]))
    elif mark != _FROM_PARAMETERS:
        raise ValueError(
            f"This {type(estimator).__name__} was loaded from a file whose network was "
            f"compiled with {mark}, and Keras' stored config of that loss leaves out "
            "settings it holds (Huber's delta): continuing it would train with the "
            "loss's defaults. Fit with warm_start=False, or give the loss to the "
            "estimator (loss='huber', loss__delta=...) rather than compiling it in "
            "the builder, so that keraslearn.save can store it."
        )
    else:
        objects.recompile(model, estimator._loss_from_parameters())
    # Once: a failed fit puts the mark back with the rest of the estimator.
    del estimator.__dict__[SAVED]
