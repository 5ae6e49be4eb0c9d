"""scikit-learn's estimator checks over ImageClassifier.

The exact configuration passes every check; the everyday one may fail only the
checks listed in common_checks.py. The checks feed tabular rows of 1 to 30-odd
features, most of which are not square images, which ImageClassifier refuses
by default: both configurations read any row as a one-pixel-wide image with the
documented ``image_shape=(-1, 1, 1)``, so that every check runs on a network.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from common_checks import everyday_expected_failures
from keraslearn import ImageClassifier

# float64 and SGD on whole batches (batch_size is clipped to the data), for the
# reason given in test_common_wrappers.py.
_IMAGE = dict(
    image_shape=(-1, 1, 1), conv_filters=(8,), dense_units=16, dropout=0.0, epochs=30,
    batch_size=1024,
    optimizer="sgd", learning_rate=0.2, random_state=0, dtype="float64",
)


@parametrize_with_checks([ImageClassifier(**_IMAGE)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# What users run: float32, Adam (the default), batches of 32, dropout.
_EVERYDAY = dict(image_shape=(-1, 1, 1), conv_filters=(8,), dense_units=16, epochs=10,
                 learning_rate=0.01, random_state=0)


@parametrize_with_checks([ImageClassifier(**_EVERYDAY)],
                         expected_failed_checks=everyday_expected_failures)
def test_sklearn_compatible_everyday_estimator(estimator, check):
    check(estimator)
