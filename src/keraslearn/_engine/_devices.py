"""The ``device`` parameter: which TensorFlow device fits and predicts.

Every estimator takes ``device``:

- ``"auto"`` (the default; ``None`` means the same): the first GPU when
  TensorFlow sees one, else the CPU -- what TensorFlow itself would choose;
- ``"cpu"``, ``"gpu"``, ``"cpu:N"``, ``"gpu:N"`` (any case);
- a TensorFlow device name (``"/GPU:1"``, ``"/device:CPU:0"``,
  ``"/job:localhost/replica:0/task:0/device:GPU:0"``).

``fit`` checks it before any data is read: a device this process does not
have is a ValueError that lists the ones it has. The network is built,
compiled and trained inside ``tf.device(...)`` of that device, and
``predict`` runs there too.

The fitted state does not depend on the device: ``model_`` is an ordinary
Keras model whose weights Keras' own pickling and saving write as arrays, and
prediction reads the parameter as it is at predict time. So a model fitted on
``"gpu:1"`` predicts on ``"cpu"`` after ``set_params(device="cpu")``, and
after being pickled and loaded on a machine without that GPU: there, where
the device does not exist, ``predict`` runs on the ``"auto"`` device instead
of failing (only ``fit`` insists on the device it is given).

Listing the devices starts TensorFlow's runtime, which fixes its thread pools:
they are sized for the process first (``_tf.configure_threads``), as a fit does.
"""

import re

from .. import _tf
from .._tf import tf

AUTO = "auto"
DEVICE_FORMS = "'auto', 'cpu', 'gpu', 'gpu:N' or a TensorFlow device name such as '/GPU:0'"
_SHORT = re.compile(r"^(cpu|gpu)(?::(\d+))?$", re.IGNORECASE)

_devices = None  # the process's logical devices, read once (they cannot change after start)


def available_devices():
    """Names of the logical devices of this process (``/device:CPU:0``, ...)."""
    global _devices
    if _devices is None:
        _tf.configure_threads()
        _devices = tuple(d.name for d in tf.config.list_logical_devices())
    return _devices


def _name(device_type, index):
    return f"/device:{device_type.upper()}:{index}"


def _parse(device, what="device"):
    """(device type, index) that ``device`` names, or raise."""
    if not isinstance(device, str):
        raise TypeError(f"{what} must be a str ({DEVICE_FORMS})"
                        f"{' or None' if what == 'device' else ''}, got {device!r}.")
    short = _SHORT.match(device.strip())
    if short:
        return short.group(1).upper(), int(short.group(2) or 0)
    try:
        spec = tf.DeviceSpec.from_string(device)
    except (ValueError, TypeError):
        spec = None
    if spec is None or spec.device_type is None or (
            spec.job not in (None, "localhost") or spec.task not in (None, 0)
            or spec.replica not in (None, 0)):
        raise ValueError(
            f"{what}={device!r} is not a TensorFlow device name of this process: use "
            f"{DEVICE_FORMS}."
        )
    return spec.device_type.upper(), spec.device_index or 0


def _auto():
    devices = available_devices()
    gpu = _name("GPU", 0)
    return gpu if gpu in devices else _name("CPU", 0)


def resolve_device(device, *, strict=True, what="device"):
    """The canonical name (``/device:GPU:0``) of the device ``device`` names.

    ``strict``: a device this process does not have raises a ValueError
    listing those it has; otherwise the ``"auto"`` device is used instead.
    """
    if device is None or (isinstance(device, str) and device.strip().lower() == AUTO):
        return _auto()
    name = _name(*_parse(device, what))
    devices = available_devices()
    if name in devices:
        return name
    if not strict:
        return _auto()
    no_gpu = (" TensorFlow sees no GPU in this process (is a CUDA build of TensorFlow "
              "installed, and CUDA_VISIBLE_DEVICES unset?);"
              if name.startswith("/device:GPU") and not any("GPU" in d for d in devices)
              else "")
    raise ValueError(
        f"{what}={device!r} is not available here;{no_gpu} devices: {list(devices)}."
    )


def device_scope(device, *, strict=True):
    """``tf.device`` of the device ``device`` names (see :func:`resolve_device`)."""
    return tf.device(resolve_device(device, strict=strict))
