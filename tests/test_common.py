"""scikit-learn's estimator checks over every public estimator.

No check is skipped or marked as an expected failure.
"""

from functools import partial

from conftest import tiny_mlp
from sklearn.utils.estimator_checks import parametrize_with_checks

from keraslearn import KerasClassifier, KerasRegressor

# Full-batch SGD on a float64 network: the sample-weight checks compare a weighted
# fit with a fit on repeated rows and ask for equality to 1e-7. Both see the same
# weighted-mean gradient; float64 keeps the summation-order differences far below
# that tolerance (Adam's per-weight normalisation would amplify them).
_COMMON = dict(
    optimizer="sgd",
    optimizer__learning_rate=0.1,
    optimizer__momentum=0.9,
    batch_size=1024,
    epochs=60,
    random_state=0,
    hidden=16,
    dtype="float64",
)


def _estimators():
    return [
        KerasClassifier(tiny_mlp, **_COMMON),
        KerasRegressor(tiny_mlp, **_COMMON),
    ]


@parametrize_with_checks(_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
