"""What a saved estimator holds in place of what skops must not store.

skops stores data, not code, and cannot store a Keras network. So, while
``keraslearn.save`` writes, an estimator's state (``KerasEstimator.__getstate__``)
holds instead:

- :class:`NetworkReference` for each ``keras.Model`` (the fitted ``model_``, or a
  model given as the ``model`` parameter): the network itself is written beside
  the skops file in Keras' ``.keras`` format and loaded with ``safe_mode=True``;
- :class:`CodeReference` for a function or class (a model builder, a loss
  function, a callback class): its module and qualified name, imported only
  when a fit needs it, and only when the user trusted that name;
- :class:`KerasObjectConfig` for a Keras object with a config (an optimizer,
  loss or metric instance, a learning-rate schedule), rebuilt by Keras with
  ``safe_mode=True``;
- :class:`UnstoredObject` for a parameter that has neither (a callback instance,
  a lambda): it describes the value, and a fit asks for it again.

Only fitting needs the parameters: a loaded estimator predicts without them.
"""

import importlib
import json
import sys


class NetworkReference:
    """A network stored in the archive as ``member`` (a ``.keras`` file).

    Parameters
    ----------
    member : str
        The archive member holding the network.
    """

    def __init__(self, member):
        self.member = member

    def __repr__(self):
        return f"NetworkReference({self.member!r})"


class SavedParameter:
    """A parameter stored as a description, made real again when a fit needs it."""

    def resolve(self, owner, param):
        """The value this stands for, or a ValueError naming ``owner``'s
        parameter ``param`` and saying how to give it again."""
        raise NotImplementedError


class CodeReference(SavedParameter):
    """A function or class stored by name, imported only when a fit needs it.

    Loading a file never imports the module it names: the name is imported by
    :meth:`resolve`, at fit, and only when it was given in ``trusted`` to
    ``keraslearn.load`` (importing and calling it runs its code). Copies
    (``clone``, pickle: a search's workers) keep that trust; a file cannot
    grant it, since the trust is not part of the state skops stores.

    Parameters
    ----------
    module : str
        The module the function or class is defined in (``__main__`` for the
        training script).

    qualname : str
        Its qualified name within the module.
    """

    def __init__(self, module, qualname):
        self.module = module
        self.qualname = qualname
        self.trusted = False

    @property
    def name(self):
        """``module.qualname``, the name to give in ``trusted``."""
        return f"{self.module}.{self.qualname}"

    @classmethod
    def of(cls, obj):
        """A reference to ``obj``, or None when ``obj`` cannot be found again by a
        name (a lambda, a nested function, a bound method)."""
        module = getattr(obj, "__module__", None)
        if not isinstance(module, str) or module not in sys.modules:
            return None
        qualname = getattr(obj, "__qualname__", None)
        if isinstance(qualname, str) and "<" not in qualname:
            if _follow(sys.modules[module], qualname) is obj:
                return cls(module, qualname)
        # A callable object (a decorated builder) bound to a module-level name.
        for name, value in list(vars(sys.modules[module]).items()):
            if value is obj and not name.startswith("__"):
                return cls(module, name)
        return None

    def trusted_in(self, names):
        """Whether ``names`` (``keraslearn.load``'s ``trusted``) name this: by
        its own name, or by another name of the same object in modules already
        imported (``keras.callbacks.EarlyStopping`` for Keras' class, defined in
        ``keras.src.callbacks.early_stopping``). Nothing is imported."""
        if self.name in names:
            return True
        obj = _imported(self.name)
        return obj is not None and any(_imported(name) is obj for name in names)

    def resolve(self, owner, param):
        where, again = _words(owner, param)
        if not self.trusted:
            raise ValueError(
                f"{where} was saved as a reference to {self.name}, which keraslearn.load "
                "does not import unless it is trusted (importing and calling it runs "
                f"code the file names). It is needed only to fit again: {again}, or "
                f"load with keraslearn.load(path, trusted=[{self.name!r}])."
            )
        try:
            return _follow(importlib.import_module(self.module), self.qualname, strict=True)
        except (ImportError, AttributeError) as exc:
            main = (" A function defined in the training script (__main__) exists only "
                    "in that script's process." if self.module == "__main__" else "")
            raise ValueError(
                f"{where} was saved as a reference to {self.name}, which cannot be found "
                f"in this process ({type(exc).__name__}: {exc}).{main} It is needed only "
                f"to fit again (predict, predict_proba and score work without it): {again}."
            ) from None

    def __getstate__(self):
        # The trust belongs to the loading process, never to the file.
        return {"module": self.module, "qualname": self.qualname}

    def __reduce__(self):
        # Pickle (a search's workers, n_jobs > 1) keeps the trust, as clone
        # does: pickle runs code anyway. skops, which rebuilds objects only
        # through their own class or their state, stores the state above.
        return _unpickled_reference, (self.module, self.qualname, self.trusted)

    def __setstate__(self, state):
        self.module = str(state["module"])
        self.qualname = str(state["qualname"])
        self.trusted = False

    def __deepcopy__(self, memo):
        twin = type(self)(self.module, self.qualname)
        twin.trusted = self.trusted
        return twin

    def __repr__(self):
        return f"CodeReference({self.name!r})"


class KerasObjectConfig(SavedParameter):
    """A Keras object (optimizer, loss, metric, schedule, ...) stored as its config.

    Parameters
    ----------
    config : str
        ``keras.saving.serialize_keras_object(obj)`` as JSON.
    """

    def __init__(self, config):
        self.config = config

    def resolve(self, owner, param):
        import keras

        from ._networks import refuse_unsafe

        where, again = _words(owner, param)
        refuse_unsafe(f"{where} was saved as a Keras config, not rebuilt")  # (loaded safely)
        try:
            return keras.saving.deserialize_keras_object(json.loads(self.config),
                                                         safe_mode=True)
        except Warning:  # raised by the user's filters: theirs, as it is
            raise
        except Exception as exc:
            raise ValueError(
                f"{where} was saved as a Keras config that Keras cannot rebuild here "
                f"({type(exc).__name__}: {exc}). Custom objects must be registered with "
                "keras.saving.register_keras_serializable and imported before loading. "
                f"It is needed only to fit again: {again}."
            ) from None

    def __repr__(self):
        try:
            name = json.loads(self.config).get("class_name", "?")
        except (ValueError, AttributeError):
            name = "?"
        return f"KerasObjectConfig({name!r})"


class UnstoredObject(SavedParameter):
    """A parameter keraslearn.save could not store: only its description is kept.

    Parameters
    ----------
    description : str
        What the value was (its ``repr``, shortened).

    reason : str
        Why it was not stored.
    """

    def __init__(self, description, reason):
        self.description = description
        self.reason = reason

    def resolve(self, owner, param):
        where, again = _words(owner, param)
        raise ValueError(
            f"{where} held {self.description}, which keraslearn.save did not store "
            f"({self.reason}). It is needed only to fit again (predict, predict_proba "
            f"and score work without it): {again}."
        )

    def __repr__(self):
        return f"UnstoredObject({self.description!r})"


def _unpickled_reference(module, qualname, trusted):
    """A :class:`CodeReference` from a pickle, trusted as it was."""
    reference = CodeReference(module, qualname)
    reference.trusted = bool(trusted)
    return reference


def _words(owner, param):
    """How errors name the parameter, and how to give it again."""
    return (f"The parameter {param!r} of this loaded {owner}",
            f"pass it again with set_params({param}=...) before fitting (through a pipeline, "
            f"search or ensemble holding the {owner}, by its path: "
            f"set_params(<step or member name>__{param}=...))")


def _imported(name):
    """What the dotted ``name`` gives in the modules already imported (its
    longest imported module, then attributes), or None."""
    parts = str(name).split(".")
    for i in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:i]))
        if module is not None:
            return _follow(module, ".".join(parts[i:]))
    return None


def _follow(module, qualname, strict=False):
    """``module.a.b`` for qualname ``"a.b"``; None (or AttributeError when
    ``strict``) when a part is missing."""
    obj = module
    for part in qualname.split("."):
        if strict:
            obj = getattr(obj, part)
        else:
            obj = getattr(obj, part, None)
            if obj is None:
                return None
    return obj
