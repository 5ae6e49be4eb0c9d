"""The examples in keraslearn.export's docstring run as written."""

import doctest
import warnings

from sklearn.exceptions import ConvergenceWarning

from keraslearn._export import _api


def test_export_docstring_examples_run():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=5 in the example
        result = doctest.testmod(_api, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8
    assert result.failed == 0
