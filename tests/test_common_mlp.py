"""scikit-learn's estimator checks over MLPClassifier and MLPRegressor.

The exact configuration passes every check; the everyday one may fail only the
checks listed in common_checks.py.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from common_checks import everyday_expected_failures
from keraslearn import MLPClassifier, MLPRegressor

# float64 and SGD on whole batches, for the reason given in test_common_wrappers.py
# (MLP's "auto" batches hold up to 200 rows, so the weighted and the repeated data
# of the sample-weight checks each train in one batch). The learning rate and epochs
# give check_classifiers_train / check_regressors_train a wide margin over their floors.
_READY = dict(solver="sgd", learning_rate_init=0.1, max_iter=40, random_state=0, dtype="float64")


# The regression checks' targets are in the hundreds, several of them in
# check_regressor_multioutput: scikit-learn's MLPRegressor, whose steps the
# regressor takes, diverges there from a learning rate of 0.003 (and a
# diverging fit is an error); at 0.001, away from that edge, it needs 200
# epochs for check_regressors_train, as scikit-learn's does.
@parametrize_with_checks([MLPClassifier(hidden_layer_sizes=(16,), **_READY),
                          MLPRegressor(hidden_layer_sizes=(16,), **{
                              **_READY, "learning_rate_init": 0.001, "max_iter": 200})])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# What users run: float32, Adam (the default solver), batches of 32.
_EVERYDAY = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, batch_size=32, max_iter=20,
                 random_state=0)


@parametrize_with_checks([MLPClassifier(**_EVERYDAY), MLPRegressor(**_EVERYDAY)],
                         expected_failed_checks=everyday_expected_failures)
def test_sklearn_compatible_everyday_estimator(estimator, check):
    check(estimator)
