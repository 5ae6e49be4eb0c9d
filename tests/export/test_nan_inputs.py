"""Which inputs of an exported graph take NaN, probed in calls of bounded size."""

import numpy as np
import tensorflow as tf

from keraslearn._export import _nan_inputs


class _Imputing:
    """A graph's preprocessing that imputes the even columns, passing the odd ones on."""

    def __init__(self):
        self.shapes = []

    def preprocess(self, x):
        self.shapes.append(tuple(x.shape))
        even = np.arange(x.shape[1]) % 2 == 0
        return tf.where(tf.math.is_nan(x) & even, tf.zeros_like(x), x)


def test_a_wide_graph_is_probed_in_calls_of_bounded_size():
    # Found in an audit: one call of d rows of d columns (and a float64 copy of
    # its result): 2 GB at 8,000 columns, 40 GB at 50,000.
    width = 3000
    probe = np.ones((1, width), dtype=np.float32)

    def rows(start, stop):
        feed = np.repeat(probe, stop - start, axis=0)
        feed[np.arange(stop - start), np.arange(start, stop)] = np.nan
        return {"inputs": feed}

    model = _Imputing()
    taken = _nan_inputs._finite_with_nan(model, rows, width, width)
    assert [bool(ok) for ok in taken] == [j % 2 == 0 for j in range(width)]
    assert len(model.shapes) > 2
    assert max(n * d for n, d in model.shapes) <= _nan_inputs._CELLS
    # every call probes columns (no call of one row made to learn the width)
    assert sum(n for n, _ in model.shapes) == width
    assert _nan_inputs._finite_with_nan(model, rows, 0, width) == []
