"""The networks of a saved file: loaded in Keras' safe mode, and a refusal
that names why Keras refused one (its message may quote a whole config)."""

import base64
import marshal
import re
import tempfile
from pathlib import Path

from .._engine import _kernel_cache
from .._engine._model_copy import REGISTER_FUNCTION, plain_function
from ..utils import _text
from ._unscaled import load_file

_REGISTER = ("keraslearn loads networks only in Keras' safe mode: custom layers, losses and "
             "metrics must be registered with keras.saving.register_keras_serializable and "
             "imported before loading, and a Lambda layer holding a Python lambda cannot be "
             "loaded (write it as a registered layer).")


def load_networks(manifest, members, path):
    """{member: keras.Model}, each loaded with Keras' safe_mode."""
    entries = manifest.get("networks")
    if not isinstance(entries, list):
        raise ValueError(f"{str(path)!r} is damaged: its manifest lists no networks.")
    versions = manifest.get("versions")
    saved_with = versions.get("keras") if isinstance(versions, dict) else None
    networks = {}
    with tempfile.TemporaryDirectory(prefix="keraslearn-load-") as tmp:
        for entry in entries:
            member = entry.get("member") if isinstance(entry, dict) else None
            if not isinstance(member, str) or member not in members:
                raise ValueError(f"{str(path)!r} is damaged: its manifest names a network it "
                                 "does not hold.")
            (file := Path(tmp) / "network.keras").write_bytes(members[member])
            networks[member] = load_network(
                file, f"{entry.get('owner')}.{entry.get('attribute')} ({member})",
                f"keraslearn.load refused {str(path)!r}", saved_with, entry.get("scaled"))
    return networks


def load_network(file, what, refusal, saved_with=None, scaled=None):
    """The network saved in ``file``; a ValueError starting with ``refusal``
    where Keras refuses it. ``saved_with``: the Keras version the file records;
    ``scaled``: whether its optimizer was loss-scaled (``_unscaled``), or None."""
    import keras

    refuse_unsafe(refusal)
    try:
        network = load_file(file, safe_mode=True, scaled=scaled)
    except Warning:  # raised by the user's filters: theirs, as it is
        raise
    except Exception as exc:
        reason, advice = _cause(exc)
        if saved_with and str(saved_with) != keras.__version__:
            advice = (f"The file was written with Keras {saved_with}; this is Keras "
                      f"{keras.__version__} (one Keras may write settings another does not "
                      f"read). {advice}")
        raise ValueError(f"{refusal}: Keras cannot load the network {what} with "
                         f"safe_mode=True ({type(exc).__name__}: {reason}). {advice}") from None
    # Its variables add kernels to TensorFlow's cache, as a built network's do: a
    # service loading (or saving) models over and over would hold them all.
    _kernel_cache.network_built()
    _kernel_cache.release_if_due()
    return network


def refuse_unsafe(refusal):
    """Raise a ValueError starting with ``refusal`` where Keras' safe mode does
    not hold: a config of the file (a network, a parameter's Keras object)
    holding a Python lambda would run its code."""
    if not _safe_mode_holds():
        raise ValueError(
            f"{refusal}: keras.config.enable_unsafe_deserialization() was called in this "
            "process, which turns Keras' safe mode off for every load, safe_mode=True "
            "included: a network or Keras object saved with a Python lambda would run its "
            "code. keraslearn loads (and checks at save) networks and Keras configs only in "
            "safe mode: do it in a process that does not call enable_unsafe_deserialization.")


def _safe_mode_holds():
    """Whether Keras' safe mode holds for a load given safe_mode=True: its
    global switch (keras.config.enable_unsafe_deserialization) wins over the
    argument. Asked of Keras by deserializing a Python function that does
    nothing, which safe mode refuses."""
    import keras

    nothing = base64.b64encode(marshal.dumps((lambda: None).__code__)).decode("ascii")
    try:
        keras.saving.deserialize_keras_object(
            {"class_name": "__lambda__", "config": {"value": nothing}}, safe_mode=True)
    except Exception:  # noqa: BLE001 - refused: safe mode holds
        return True
    return False


def _cause(exc):
    """(What names why Keras refused a network, what to do about it)."""
    text = " ".join(str(exc).split())
    function = plain_function(text)
    if function is not None:
        return f"the function {function!r} is not registered", REGISTER_FUNCTION
    located = re.search(r"Could not locate \w+ '[^']+'", text)
    if located:  # the name it was saved under ends the quoted config
        saved = re.findall(r"'registered_name': '([^']+)'", text[located.end():])
        return located.group(0) + (f" (saved as {saved[-1]!r})" if saved else ""), _REGISTER
    found = re.search(r"Cannot deserialize object of type `[^`]+`"
                      r"|Could not interpret \w+ identifier: .*?'class_name': '[^']+'", text)
    if found:
        return found.group(0), _REGISTER
    if "Exception encountered: " in text:  # a class of the config failed to make itself
        cause = _text.cut(text.rsplit("Exception encountered: ", 1)[1], 400)
        return cause, ("A layer's (or other object's) get_config must give only what its "
                       "__init__ (or from_config) takes.")
    return _text.cut(text, 600), _REGISTER


def check_networks_load(folder, networks, path):
    """Load each saved network back as load will (save refuses what load would), Python's
    and NumPy's generators kept (Keras draws unseeded layers' seeds from them)."""
    from .._random import generators_untouched

    with generators_untouched():
        for entry in networks:
            load_network(folder / entry["member"], f"{entry['owner']}.{entry['attribute']}",
                         f"keraslearn.save refused to write {str(path)!r}", None,
                         entry["scaled"])
