"""Files written by an earlier keraslearn: an estimator pickled or saved before
one of its parameters existed loads with that parameter's default."""

import pickle

import numpy as np
import pytest
from _saved_cases import LABELS, X

import keraslearn
from builders import tiny_mlp
from keraslearn import KerasClassifier, MLPRegressor


def _as_if_written_before(est, *missing):
    """The estimator as unpickling a file written before ``missing`` existed
    leaves it: pickle calls ``__setstate__`` with the state that file held."""
    state = pickle.loads(pickle.dumps(est)).__getstate__()
    for name in missing:
        del state[name]
    older = type(est).__new__(type(est))
    older.__setstate__(state)
    return older


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make, missing", [
    (lambda: MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0),
     ("callbacks", "device")),
    (lambda: KerasClassifier(tiny_mlp, epochs=2, verbose=0, random_state=0),
     ("device", "distribute")),
])
def test_a_parameter_added_since_takes_its_default(make, missing, tmp_path):
    est = make()
    y = LABELS if isinstance(est, KerasClassifier) else np.arange(len(X), dtype=float)
    est.fit(X, y)
    older = _as_if_written_before(est, *missing)
    defaults = make().get_params()
    assert {name: older.get_params()[name] for name in missing} == {
        name: defaults[name] for name in missing}
    np.testing.assert_array_equal(older.predict(X), est.predict(X))
    assert repr(older) == repr(est)
    older.partial_fit(X, y)  # trains on, and saves as a file of today
    keraslearn.save(older, tmp_path / "again.keraslearn")
    again = keraslearn.load(tmp_path / "again.keraslearn", trusted=["builders.tiny_mlp"])
    np.testing.assert_array_equal(again.predict(X), older.predict(X))
