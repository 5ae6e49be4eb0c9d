"""A classifier network's outputs made probabilities: in one float64 copy."""

import tracemalloc

import numpy as np
import pytest

from keraslearn.utils._labels import probabilities


@pytest.mark.parametrize("mode, from_logits", [
    ("sparse", True), ("sparse", False), ("multilabel", True)])
def test_outputs_are_made_probabilities_in_one_copy_leaving_the_given_ones(mode, from_logits):
    # Found in an audit: the float64 copy, its clipped copy and their quotient
    # were held at once (about 5x a float32 output of 1,000 classes).
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(2000, 300))
    if not from_logits:
        raw = np.abs(raw)
    for given in (raw.astype("float32"), raw):  # (a float64 output is not copied by asarray)
        kept = given.copy()
        tracemalloc.start()
        try:
            proba = probabilities(given, mode, from_logits)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        np.testing.assert_array_equal(given, kept)  # the caller's outputs unchanged
        assert peak < 1.3 * given.size * 8, (peak, given.size * 8)
        wide = kept.astype("float64")
        if from_logits and mode == "sparse":
            shifted = np.exp(wide - wide.max(axis=1, keepdims=True))
            np.testing.assert_array_equal(proba, shifted / shifted.sum(axis=1, keepdims=True))
        elif from_logits:
            np.testing.assert_allclose(proba, 1.0 / (1.0 + np.exp(-wide)), rtol=1e-15)
        else:
            np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("mode", ["binary", "multilabel", "sparse"])
def test_logits_far_from_zero_give_probabilities_without_a_warning(mode):
    # Found in review: a multilabel logit below -709 made NumPy's exp overflow
    # (a RuntimeWarning, an error under -W error); a binary target's two
    # probabilities are each computed from the logit (1 - p was 0 past ~37).
    logits = np.array([[-800.0, 800.0], [-40.0, 40.0], [0.0, 1.0]])
    if mode == "binary":
        proba = probabilities(logits[:, 1:], mode, True)
        assert proba[1, 0] == pytest.approx(np.exp(-40.0), rel=1e-12) and proba[0, 0] == 0.0
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-15)
    else:
        proba = probabilities(logits, mode, True)
        assert np.isfinite(proba).all() and ((proba >= 0) & (proba <= 1)).all()
        if mode == "multilabel":
            assert proba[0].tolist() == [0.0, 1.0]
