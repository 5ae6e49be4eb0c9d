"""Unit tests of keraslearn.utils: check_sample_weight and the parameter checker."""

import re
from numbers import Integral, Real

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from keraslearn.utils import (
    Interval,
    InvalidParameterError,
    OneOf,
    check_sample_weight,
    validate_parameters,
)

X = np.zeros((4, 2))


# ------------------------------------------------------------- sample weights
def test_sample_weight_none_gives_float64_ones():
    sw = check_sample_weight(None, X)
    assert sw.dtype == np.float64 and sw.shape == (4,)
    np.testing.assert_array_equal(sw, 1.0)


@pytest.mark.parametrize("scalar", [3, 2.5, np.float32(2.0), np.array(2.0)])
def test_sample_weight_scalar_fills(scalar):
    sw = check_sample_weight(scalar, X)
    assert sw.dtype == np.float64 and sw.shape == (4,)
    np.testing.assert_array_equal(sw, float(scalar))


def test_sample_weight_array_and_list_converted_without_touching_input():
    given = np.array([1, 2, 3, 4], dtype=np.int32)
    sw = check_sample_weight(given, X)
    assert sw.dtype == np.float64
    sw[0] = 99
    assert given[0] == 1
    np.testing.assert_array_equal(check_sample_weight([1, 0, 2, 0], X.tolist()), [1, 0, 2, 0])


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (np.ones((4, 1)), "must be a 1D array or a scalar, got a 2D array"),
        (np.ones(3), "has 3 weights but X has 4 samples"),
        ([1.0, np.nan, 1.0, 1.0], "contains NaN"),
        ([1.0, np.inf, 1.0, 1.0], "contains infinity"),
        (np.zeros(4), "at least one non-zero"),
        ([1.0, -1.0, 1.0, 1.0], "Negative values in sample_weight"),
        (-1.0, "Negative values in sample_weight"),
        (["a", "b", "c", "d"], "must hold real numbers"),
        (np.ones(4) * 1j, "must hold real numbers"),
    ],
)
def test_sample_weight_errors(sample_weight, match):
    with pytest.raises(ValueError, match=match):
        check_sample_weight(sample_weight, X)


def test_sample_weight_negative_allowed_on_request():
    sw = check_sample_weight([1.0, -1.0, 1.0, 1.0], X, ensure_non_negative=False)
    assert sw[1] == -1.0


# ------------------------------------------------------------------ constraints
def test_interval_membership_and_text():
    assert Interval(Real, 0, None, closed="left").is_satisfied_by(0)
    assert not Interval(Real, 0, None, closed="neither").is_satisfied_by(0.0)
    assert not Interval(Real, 0, 1, closed="left").is_satisfied_by(1.0)
    assert Interval(Real, 0, 1, closed="both").is_satisfied_by(np.float32(1.0))
    assert not Interval(Real, 0, None, closed="left").is_satisfied_by(float("nan"))
    assert Interval(Integral, 1, None, closed="left").is_satisfied_by(np.int64(3))
    assert not Interval(Integral, 1, None, closed="left").is_satisfied_by(2.0)
    assert not Interval(Real, 0, 1, closed="both").is_satisfied_by("0.5")
    assert str(Interval(Real, 0, None, closed="left")) == "a float in the range [0.0, inf)"
    assert str(Interval(Integral, 1, 5, closed="right")) == "an int in the range (1, 5]"
    with pytest.raises(ValueError):
        Interval(Real, 1, 0, closed="both")
    with pytest.raises(ValueError):
        Interval(Real, 0, 1, closed="open")


def test_one_of_is_type_strict():
    options = OneOf("b", "a")
    assert options.is_satisfied_by("a") and not options.is_satisfied_by("c")
    assert str(options) == "a str among {'a', 'b'}"
    inf = OneOf(np.inf)
    assert inf.is_satisfied_by(np.inf) and inf.is_satisfied_by(float("inf"))
    assert not inf.is_satisfied_by(True) and not inf.is_satisfied_by("inf")
    assert not OneOf(1).is_satisfied_by(True)
    assert not OneOf("a").is_satisfied_by(np.array(["a", "a"]))


_FREE = object()


class Toy(BaseEstimator):
    constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "mode": [OneOf("fast", "slow"), None],
        "flag": ["boolean"],
        "sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "seed": ["random_state"],
        "verbose": ["verbose"],
        "kind": [None, str, type],
    }

    def __init__(self, alpha=1.0, mode=None, flag=False, sizes=(3,), seed=None,
                 verbose=0, kind=None, free=_FREE):
        self.alpha, self.mode, self.flag, self.sizes = alpha, mode, flag, sizes
        self.seed, self.verbose, self.kind, self.free = seed, verbose, kind, free


@pytest.mark.parametrize(
    "params",
    [{}, {"alpha": 0}, {"mode": "slow"}, {"flag": np.bool_(True)}, {"sizes": 4},
     {"sizes": [1, 2]}, {"seed": np.random.RandomState(0)}, {"seed": 2**32 - 1},
     {"verbose": True}, {"verbose": 2}, {"kind": "x"}, {"kind": dict}],
)
def test_validate_parameters_accepts(params):
    validate_parameters(Toy(**params), Toy.constraints)


def test_an_unknown_constraint_name_is_named_with_the_known_ones():
    # found in an audit: a bare KeyError: 'bolean'
    with pytest.raises(ValueError, match=r"Unknown parameter constraint 'bolean': the named "
                                         r"ones are \['array-like', 'boolean', "):
        validate_parameters(Toy(), {"flag": ["bolean"]})


@pytest.mark.parametrize(
    "params, message",
    [
        ({"alpha": -1}, "The 'alpha' parameter of Toy must be a float in the range "
                        "[0.0, inf). Got -1 instead."),
        ({"mode": "medium"}, "The 'mode' parameter of Toy must be a str among "
                             "{'fast', 'slow'} or None. Got 'medium' instead."),
        ({"flag": 1}, "The 'flag' parameter of Toy must be a bool. Got 1 instead."),
        ({"sizes": 0}, "The 'sizes' parameter of Toy must be an array-like or an int "
                       "in the range [1, inf). Got 0 instead."),
        ({"seed": -1}, "'seed' parameter of Toy must be an int in the range [0, 4294967295]"),
        ({"verbose": -1}, "'verbose' parameter of Toy must be an int in the range [0, inf)"),
        ({"kind": 3}, "The 'kind' parameter of Toy must be None, an instance of 'str' or "
                      "an instance of 'type'. Got 3 instead."),
    ],
)
def test_validate_parameters_rejects_with_clear_message(params, message):
    with pytest.raises(InvalidParameterError, match=re.escape(message)) as info:
        validate_parameters(Toy(**params), Toy.constraints)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_validate_parameters_names_module_of_non_builtin_types():
    with pytest.raises(ValueError, match=r"an instance of 'numpy.random.*RandomState'"):
        validate_parameters(Toy(kind=3), {"kind": [np.random.RandomState]})
