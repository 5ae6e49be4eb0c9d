"""scikit-learn's estimator checks over ImageClassifier.

No check is skipped or marked as an expected failure.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from keraslearn import ImageClassifier

# float64 and SGD on whole batches (batch_size is clipped to the data), for the
# reason given in test_common_wrappers.py.
_IMAGE = dict(
    conv_filters=(8,), dense_units=16, dropout=0.0, epochs=30, batch_size=1024,
    optimizer="sgd", learning_rate=0.2, random_state=0, dtype="float64",
)


@parametrize_with_checks([ImageClassifier(**_IMAGE)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
