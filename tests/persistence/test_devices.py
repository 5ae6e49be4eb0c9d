"""Device independence: the networks are stored without placement, so an
estimator saved where it ran on a GPU predicts on a CPU-only machine."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from _saved_cases import LABELS, X

import keraslearn
from keraslearn import MLPClassifier


@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")),
                    reason="checks what a CPU-only machine does with a GPU estimator")
def test_estimator_placed_on_a_gpu_loads_and_predicts_on_a_cpu_only_machine(tmp_path):
    keras.utils.set_random_seed(0)
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0,
                        device="/CPU:0").fit(X, LABELS)
    expected = clf.predict_proba(X)
    # As fitted on a GPU machine: only the device parameter tells, the network does not.
    clf.set_params(device="/GPU:0")
    loaded = keraslearn.load(keraslearn.save(clf, tmp_path / "gpu.keraslearn"))
    assert loaded.device == "/GPU:0"
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    with pytest.raises(ValueError, match=r"device='/GPU:0' is not available here"):
        loaded.fit(X, LABELS)  # refitting there needs the device, or another device=
    loaded.set_params(device=None).fit(X, LABELS)
