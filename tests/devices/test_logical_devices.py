"""Fit and predict across devices, on a machine with one CPU: TensorFlow's
logical device configuration splits it in two, in fresh processes
(logical_cpus.py) so that the test suite's TensorFlow is left as it is."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("logical_cpus.py")
TIMEOUT_S = 300


def _run(n_cpus, scenario, workdir):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    for var in ("OMP_NUM_THREADS", "KERASLEARN_NUM_THREADS"):
        env.pop(var, None)
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(n_cpus), scenario, str(workdir)],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((Path(workdir) / f"{scenario}.json").read_text())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("logical_cpus")


@pytest.fixture(scope="module")
def on_cpu1(workdir):
    return _run(2, "device", workdir)


@pytest.fixture(scope="module")
def loaded(workdir, on_cpu1):  # reads the pickles on_cpu1 wrote
    return _run(1, "load", workdir)


@pytest.fixture(scope="module")
def mirrored(workdir):
    return _run(2, "mirrored", workdir)


NAMES = pytest.mark.parametrize("name", ["wrapper", "ready"])


def test_the_process_has_two_cpu_devices(on_cpu1, mirrored):
    assert on_cpu1["devices"] == mirrored["devices"] == ["/device:CPU:0", "/device:CPU:1"]


@NAMES
def test_the_network_is_built_and_trained_on_the_device(on_cpu1, name):
    fitted = on_cpu1[name]
    assert [d.rsplit("/", 1)[-1] for d in fitted["variables"]] == ["device:CPU:1"]
    assert [d.rsplit("/", 1)[-1] for d in fitted["optimizer"]] == ["device:CPU:1"]


def test_traced_training_functions_are_bound_to_the_fit_device(on_cpu1):
    assert on_cpu1["traced_devices"] == ["/device:CPU:1"]


def test_a_device_that_does_not_exist_lists_those_that_do(on_cpu1):
    assert on_cpu1["unknown_device_error"] == (
        "device='cpu:2' is not available here; devices: ['/device:CPU:0', '/device:CPU:1']."
    )


@NAMES
def test_a_model_fitted_on_one_device_predicts_on_another(on_cpu1, name):
    fitted = on_cpu1[name]
    np.testing.assert_allclose(fitted["on_cpu1_again"], fitted["on_cpu1"], rtol=1e-6)
    # Another device may sum in another order: where TensorFlow multiplies
    # through oneDNN (on by default on recent Intel CPUs), the two logical
    # devices' probabilities differ by a few float32 roundings (~6e-8 seen).
    np.testing.assert_allclose(fitted["on_cpu0"], fitted["on_cpu1"], rtol=1e-5, atol=1e-6)


@NAMES
def test_a_pickled_model_predicts_in_a_process_without_its_device(on_cpu1, loaded, name):
    assert loaded["devices"] == ["/device:CPU:0"]
    assert loaded[name]["device"] == "/CPU:1"  # the parameter is kept as given
    assert [d.rsplit("/", 1)[-1] for d in loaded[name]["variables"]] == ["device:CPU:0"]
    np.testing.assert_allclose(loaded[name]["proba"], on_cpu1[name]["on_cpu1"], rtol=1e-6)


@NAMES
def test_a_mirrored_fit_over_two_devices_matches_a_one_device_fit(mirrored, name):
    fit = mirrored[name]
    assert fit["replicas"] == [2]  # trained under a strategy of two replicas
    # The same seed and global batch (32 rows, 16 per replica): float32 rounding apart.
    np.testing.assert_allclose(fit["loss_mirrored"], fit["loss_one_device"], rtol=1e-5)
    assert fit["weight_diff"] < 1e-5
    np.testing.assert_allclose(fit["mirrored"], fit["one_device"], rtol=1e-5, atol=1e-6)


def test_a_mirrored_fit_normalises_batches_as_one_device_does(mirrored):
    # Each replica normalises by the statistics of the global batch, not of its half.
    fit = mirrored["batch_normalization"]
    np.testing.assert_allclose(fit["loss_mirrored"], fit["loss_one_device"], rtol=1e-5)
    compared = {path: diff for path, diff in fit["weight_diff"].items()
                # A bias before BatchNormalization has a zero gradient: Adam turns its
                # rounding into steps, which the moving mean follows. Neither changes
                # what the layer computes from a batch.
                if not (re.fullmatch(r".*hidden_\d+/bias", path) or path.endswith("moving_mean"))}
    assert any("gamma" in path for path in compared)
    assert max(compared.values()) < 1e-5, compared


@NAMES
def test_a_mirrored_fit_leaves_a_plain_model_that_pickles(mirrored, name):
    assert not mirrored[name]["distributed_variables"]
    np.testing.assert_array_equal(mirrored[name]["mirrored_pickled"], mirrored[name]["mirrored"])


def test_a_fit_inside_a_strategy_scope_of_ones_own_trains_as_keras_does(mirrored):
    # The shared warm copy, bound to no strategy, trained there with its
    # gradients and losses divided by the replicas (halved over two).
    fits = mirrored["ambient"]
    np.testing.assert_allclose(fits["inside"], fits["outside"], rtol=1e-5)
    # A network built outside, continued inside: Keras fails with a bare
    # AssertionError; refused, the estimator kept.
    assert "trains variables made outside it" in fits["refused"]
    assert fits["kept"]
    assert fits["frozen_base_trained"]  # frozen layers built outside train, as in Keras
    assert fits["chosen_batches"] == [1, 1]  # batch sizes keraslearn chose: split evenly
    assert fits["errors"]["distribute"].startswith(
        "This fit runs inside a tf.distribute strategy scope of your own, and distribute= "
        "gives another strategy")
    assert fits["errors"]["sparse"].startswith(
        "A sparse model input (keras.Input(sparse=True)) cannot train over several replicas")
    assert fits["sparse_kept"]


@pytest.fixture(scope="module")
def uneven(workdir):
    return _run(2, "uneven", workdir)


def test_strategies_over_the_same_devices_are_one_whatever_the_form(uneven):
    # Two strategies reducing with TensorFlow's collective ops cannot run in one
    # process: the second fit of another width aborted every later one.
    assert uneven["widths"] == {"4": "fitted", "8": "fitted", "16": "fitted", "6": "fitted"}


def test_batches_two_replicas_cannot_share_are_chosen_or_refused(uneven):
    # Keras under tf.distribute fails in TensorFlow on a first batch split unevenly.
    assert len(uneven["auto_loss"]) == 2  # "auto": 100 rows, then 1
    assert re.search(r"first training batch holds 15 rows.*2 replicas.*multiple of 2",
                     uneven["odd_batch_error"])
    assert not uneven["odd_batch_fitted"]
    # No batch size works: said so, not "give a batch_size" of one keraslearn chose.
    assert re.search(r"The 3 training rows cannot be batched so that the 2 replicas of "
                     r"distribute all train.*fewer devices", uneven["too_few_error"])
    assert len(uneven["wrapper_default"]) == 4  # fitted, its epochs all run
    for name in ("split", "data"):  # 15 held-out rows: evaluated in batches of 14 and 1
        one, two = uneven[f"val_loss_{name}"]
        np.testing.assert_allclose(two, one, rtol=1e-5)


def test_a_last_batch_that_leaves_a_replica_without_rows_is_refused(uneven):
    assert re.search(r"last training batch holds 1 row\(s\) \(batch_size=8, 17 training "
                     r"rows\), fewer than the 2 replicas", uneven["last_batch_error"])
    assert not uneven["last_batch_fitted"]
    assert len(uneven["image_loss"]) == 1  # 18 rows: batches of 8, 8 and 2
    # Found in an audit: where the held-out split made the odd count, only
    # batch_size was named; and a builder's reused layer was told to give distribute=.
    assert re.search(r"holds 1 row\(s\) \(batch_size=8, 25 training rows, those the "
                     r"held-out split leaves\).*or hold out another fraction "
                     r"\(validation_fraction, validation_split\)\.",
                     uneven["split_last_batch_error"])
    assert uneven["reused_layer_error"].startswith(
        "The network trains over the devices of distribute=, but has trainable layers made "
        "outside its builder")


def test_partial_fit_under_a_strategy_normalises_batches_as_one_device_does(mirrored):
    # Continued under a strategy, a network built on one device kept each
    # replica normalising its own half of the batch.
    for name in ("partial_batch_normalization", "partial_image_batch_normalization"):
        one, two = mirrored[name]
        assert len(one) == 2
        np.testing.assert_allclose(two, one, rtol=1e-5)


def test_a_network_continued_under_a_strategy_is_its_copy_or_refused(uneven):
    assert uneven["changed_copy_error"].endswith(
        "Keras' copy of this one computes otherwise than it (a layer of your own keeping state "
        "its get_config does not give): set warm_start=False to fit a new network.")
    assert uneven["changed_copy_kept"]
    assert uneven["sampled_continued"] == 2  # (its outputs differ from call to call)
    assert re.search(r"Keras could not copy this one \(.*doubled.*\)\. Register the functions "
                     r"and layers of your own with keras\.saving\.register_keras_serializable, "
                     r"or fit it anew\.$", uneven["uncopied_partial_error"])


def test_the_ready_networks_held_out_loss_is_not_divided_by_the_replicas(uneven):
    one, two = uneven["mlp_val_loss"]
    np.testing.assert_allclose(two, one, rtol=1e-5)
