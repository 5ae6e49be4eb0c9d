"""keraslearn's settings: set_config, config_context, get_config."""

import os
import subprocess
import sys

import numpy as np
import pytest

import keraslearn


def test_config_context_overrides_and_restores():
    assert keraslearn.get_config()["share_traced_functions"] is True
    with keraslearn.config_context(share_traced_functions=False):
        assert keraslearn.get_config()["share_traced_functions"] is False
        with keraslearn.config_context(share_traced_functions=True):
            assert keraslearn.get_config()["share_traced_functions"] is True
        assert keraslearn.get_config()["share_traced_functions"] is False
    assert keraslearn.get_config()["share_traced_functions"] is True


def test_set_config_changes_the_process_setting():
    try:
        keraslearn.set_config(share_traced_functions=False)
        assert keraslearn.get_config()["share_traced_functions"] is False
        keraslearn.set_config()  # None leaves it as it is
        assert keraslearn.get_config()["share_traced_functions"] is False
    finally:
        keraslearn.set_config(share_traced_functions=True)


def test_set_config_inside_a_block_lasts_until_the_block_ends():
    # As scikit-learn's: it was hidden by the block's own setting, and
    # otherwise changed the process's for good.
    with keraslearn.config_context(fast_small_predictions=False):
        keraslearn.set_config(fast_small_predictions=True, release_tensorflow_caches=False)
        config = keraslearn.get_config()
        assert config["fast_small_predictions"] is True
        assert config["release_tensorflow_caches"] is False
        with keraslearn.config_context():
            keraslearn.set_config(release_tensorflow_caches=True)
            assert keraslearn.get_config()["release_tensorflow_caches"] is True
        assert keraslearn.get_config()["release_tensorflow_caches"] is False
    config = keraslearn.get_config()
    assert config["fast_small_predictions"] is True
    assert config["release_tensorflow_caches"] is True


def test_a_setting_must_be_a_bool():
    with pytest.raises(TypeError, match="share_traced_functions must be True or False"):
        keraslearn.set_config(share_traced_functions="no")
    with pytest.raises(TypeError, match="must be True or False, got 1"):
        keraslearn.set_config(fast_small_predictions=1)
    # NumPy's booleans are booleans, as scikit-learn's set_config takes them
    with keraslearn.config_context(fast_small_predictions=np.False_):
        assert keraslearn.get_config()["fast_small_predictions"] is False


@pytest.mark.parametrize("name", ["share_traced_functions", "fast_small_predictions",
                                  "release_tensorflow_caches"])
def test_worker_processes_read_the_environment(name):
    env = {**os.environ, f"KERASLEARN_{name.upper()}": "0"}
    out = subprocess.run(
        [sys.executable, "-c", f"import keraslearn; print(keraslearn.get_config()[{name!r}])"],
        capture_output=True, text=True, env=env, check=True,
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("value, expected, warned", [
    ("off", "False", False), ("Yes", "True", False), ("", "True", False),
    ("flase", "True", True), ("disabled", "True", True)])
def test_an_environment_switch_is_read_strictly(value, expected, warned):
    # A typo ("flase") meant on, silently, and an empty value off.
    env = {**os.environ, "KERASLEARN_SHARE_TRACED_FUNCTIONS": value}
    out = subprocess.run(
        [sys.executable, "-c",
         "import keraslearn; print(keraslearn.get_config()['share_traced_functions'])"],
        capture_output=True, text=True, env=env, check=True,
    )
    assert out.stdout.strip() == expected
    assert (f"KERASLEARN_SHARE_TRACED_FUNCTIONS={value!r} is not one of" in out.stderr) == warned


def test_contexts_ending_out_of_order_each_remove_their_own_setting():
    # Two generators of one thread, each inside a config_context: the first
    # to end removed the other's setting and left its own in force.
    def generator(**settings):
        with keraslearn.config_context(**settings):
            yield keraslearn.get_config()
            yield keraslearn.get_config()

    first = generator(share_traced_functions=False)
    second = generator(fast_small_predictions=False)
    next(first), next(second)
    first.close()  # ends before the context entered after it
    config = keraslearn.get_config()
    assert config["share_traced_functions"] is True and config["fast_small_predictions"] is False
    second.close()
    assert keraslearn.get_config()["fast_small_predictions"] is True


def test_fast_small_predictions_setting():
    assert keraslearn.get_config()["fast_small_predictions"] is True
    with keraslearn.config_context(fast_small_predictions=False):
        assert keraslearn.get_config()["fast_small_predictions"] is False
        assert keraslearn.get_config()["share_traced_functions"] is True
    try:
        keraslearn.set_config(fast_small_predictions=False)
        assert keraslearn.get_config()["fast_small_predictions"] is False
    finally:
        keraslearn.set_config(fast_small_predictions=True)
    with pytest.raises(TypeError, match="fast_small_predictions must be True or False"):
        keraslearn.set_config(fast_small_predictions=1)


def test_release_tensorflow_caches_setting():
    assert keraslearn.get_config()["release_tensorflow_caches"] is True
    with keraslearn.config_context(release_tensorflow_caches=False):
        assert keraslearn.get_config()["release_tensorflow_caches"] is False
    with pytest.raises(TypeError, match="release_tensorflow_caches must be True or False"):
        keraslearn.set_config(release_tensorflow_caches="off")
