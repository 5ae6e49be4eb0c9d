"""Skip markers for tests whose checks need a newer release than pyproject's floor
(each says which): keraslearn runs at the floor, those checks do not apply there."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from packaging.version import Version


def _below(version, floor):
    return Version(version).release < Version(floor).release


SKLEARN_1_8 = pytest.mark.skipif(
    _below(sklearn.__version__, "1.8"),
    reason="scikit-learn 1.8's behaviour: routing requests that refer back to their "
           "estimator, the default scorer passing score metadata, method='temperature', "
           "imbalanced-learn's report through sklearn-compat")
SKLEARN_1_9 = pytest.mark.skipif(
    _below(sklearn.__version__, "1.9"),
    reason="scikit-learn's own MLP with early stopping and text labels fails before 1.9 "
           "(scikit-learn issue 33760)")
STRING_DTYPE = pytest.mark.skipif(
    not hasattr(np.dtypes, "StringDType"), reason="NumPy 2's StringDType: NumPy 1 has none")
TF_2_18 = pytest.mark.skipif(
    _below(__import__("tensorflow").__version__, "2.18"),
    reason="TensorFlow 2.16's LiteRT converter refuses the op itself (keraslearn then "
           "says the conversion failed), where later ones write a file its runtime refuses")
PANDAS_3 = pytest.mark.skipif(
    _below(pd.__version__, "3.0"),
    reason="pandas 3's str dtype holds a missing text as NaN; pandas 2's object column "
           "keeps None, which the test's own scikit-learn pipeline does not take")
