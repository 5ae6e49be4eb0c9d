"""scikit-learn's estimator checks over MLPClassifier and MLPRegressor.

No check is skipped or marked as an expected failure.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from keraslearn import MLPClassifier, MLPRegressor

# float64 and SGD on whole batches, for the reason given in test_common_wrappers.py
# (MLP's "auto" batches hold up to 200 rows, so the weighted and the repeated data
# of the sample-weight checks each train in one batch). The learning rate and epochs
# give check_classifiers_train / check_regressors_train a wide margin over their floors.
_READY = dict(solver="sgd", learning_rate_init=0.1, max_iter=40, random_state=0, dtype="float64")


# The regression checks' targets are in the hundreds: a learning rate of 0.1
# diverges on them (and a diverging fit is an error).
@parametrize_with_checks([MLPClassifier(hidden_layer_sizes=(16,), **_READY),
                          MLPRegressor(hidden_layer_sizes=(16,), **{**_READY,
                                                                    "learning_rate_init": 0.01})])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
