"""Whether two models holding the same state compute the same thing: the probe
that lets a warm copy (``_trace_cache``) train in place of a model."""

import numpy as np

from .._tf import tf

PROBE_RTOL, PROBE_ATOL = 1e-5, 1e-7


def same_computation(model, other, probe):
    """Whether ``model`` and ``other`` (holding the same state) give equal
    outputs, loss gradients and metrics on the probe batch ``(x, y)`` (a copy
    compiled from the config of ``CosineSimilarity(axis=0)`` computed the metric
    over the last axis).

    ``model``'s variables are left as they were: layers drawing random
    numbers at inference too (recurrent dropout, some image augmentations)
    move their seed generators' state, which the fit would start from."""
    saved = [(v, v.numpy()) for v in model.variables]
    try:
        names, a = _computed(model, *probe)
        other_names, b = _computed(other, *probe)
    except Exception:  # noqa: BLE001 - a model the probe cannot run is not shared
        return False
    finally:
        for variable, value in saved:
            variable.assign(value)
    return names == other_names and len(a) == len(b) and all(map(_same_values, a, b))


def _computed(model, x, y):
    """The names of ``model``'s metrics, and its outputs, loss gradients and
    metrics on ``(x, y)`` (its metrics reset after)."""
    with tf.GradientTape() as tape:
        y_pred = model(x, training=False)
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
    grads = tape.gradient(loss, model.trainable_variables)
    try:
        metrics = model.compute_metrics(x, y, y_pred)
    finally:
        model.reset_metrics()
    flat = [y_pred] if not isinstance(y_pred, (list, tuple, dict)) else tf.nest.flatten(y_pred)
    names = sorted(metrics)
    return names, [np.asarray(t) for t in flat] + [
        None if g is None else np.asarray(tf.convert_to_tensor(g)) for g in grads
    ] + [np.asarray(metrics[name]) for name in names]


def _same_values(u, v):
    if u is None or v is None:
        return u is None and v is None
    # bfloat16 (ml_dtypes') as float32: NumPy 1 finds no common type for allclose
    u, v = (a.astype(np.float32) if a.dtype.name == "bfloat16" else a for a in (u, v))
    return u.shape == v.shape and np.allclose(u, v, rtol=PROBE_RTOL, atol=PROBE_ATOL,
                                              equal_nan=True)
