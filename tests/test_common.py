"""scikit-learn's estimator checks over every public estimator.

No check is skipped or marked as an expected failure.
"""

from functools import partial

from conftest import tiny_mlp
from sklearn.utils.estimator_checks import parametrize_with_checks

from keraslearn import ImageClassifier, KerasClassifier, KerasRegressor, MLPClassifier, MLPRegressor

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

# The ready networks on the same footing: float64 and SGD on whole batches
# (MLP's "auto" batches hold up to 200 rows, so the weighted and the repeated data
# of the sample-weight checks each train in one batch; ImageClassifier's
# batch_size is clipped to the data). The learning rates and epochs give
# check_classifiers_train / check_regressors_train a wide margin over their floors.
_READY = dict(solver="sgd", learning_rate_init=0.1, max_iter=40, random_state=0, dtype="float64")
_IMAGE = dict(
    conv_filters=(8,), dense_units=16, dropout=0.0, epochs=30, batch_size=1024,
    optimizer="sgd", learning_rate=0.2, random_state=0, dtype="float64",
)


def _estimators():
    return [
        KerasClassifier(tiny_mlp, **_COMMON),
        KerasRegressor(tiny_mlp, **_COMMON),
        MLPClassifier(hidden_layer_sizes=(16,), **_READY),
        MLPRegressor(hidden_layer_sizes=(16,), **_READY),
        ImageClassifier(**_IMAGE),
    ]


@parametrize_with_checks(_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
