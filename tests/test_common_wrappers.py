"""scikit-learn's estimator checks over KerasClassifier and KerasRegressor.

The exact configuration passes every check; the everyday one may fail only the
checks listed in common_checks.py. (The ready estimators' checks are in
test_common_mlp.py and test_common_image.py: one file per family, so that the
test workers share them out.)
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from builders import tiny_mlp
from common_checks import everyday_expected_failures
from keraslearn import KerasClassifier, KerasRegressor

# Full-batch SGD on a float64 network: the sample-weight checks compare a weighted
# fit with a fit on repeated rows and ask for equality to 1e-7. Both see the same
# weighted-mean gradient; float64 keeps the summation-order differences far below
# that tolerance (Adam's per-weight normalisation would amplify them).
_EXACT = dict(
    optimizer="sgd",
    optimizer__learning_rate=0.1,
    optimizer__momentum=0.9,
    batch_size=1024,
    epochs=60,
    random_state=0,
    hidden=16,
    dtype="float64",
)


# The regression checks' targets are in the hundreds: a learning rate of 0.1
# diverges on them (and a diverging fit is an error).
@parametrize_with_checks([KerasClassifier(tiny_mlp, **_EXACT),
                          KerasRegressor(tiny_mlp, **{**_EXACT,
                                                      "optimizer__learning_rate": 0.003})])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# What users run: a float32 network, Adam, batches of 32, the default loss.
_EVERYDAY = dict(hidden=16, optimizer="adam", optimizer__learning_rate=0.01, epochs=20,
                 random_state=0)


@parametrize_with_checks([KerasClassifier(tiny_mlp, **_EVERYDAY),
                          KerasRegressor(tiny_mlp, **_EVERYDAY)],
                         expected_failed_checks=everyday_expected_failures)
def test_sklearn_compatible_everyday_estimator(estimator, check):
    check(estimator)
