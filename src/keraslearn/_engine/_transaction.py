"""A failed or interrupted fit leaves the estimator exactly as it was."""

import contextlib

from ._layers import training_variables


@contextlib.contextmanager
def restore_on_failure(est, trained_in_place=None):
    """Restore every attribute of ``est`` if the block raises (any exception,
    ``KeyboardInterrupt`` included), and the weights and optimizer state of
    ``trained_in_place``, a fitted network the block trains further.

    A fit sets attributes as it goes (scikit-learn's ``validate_data`` records
    ``n_features_in_`` before TensorFlow runs, for example); the snapshot is
    the estimator's whole ``__dict__``, so that none of them, nor one a later
    change adds, can outlive a failed fit.
    """
    before = dict(est.__dict__)
    variables = training_variables(trained_in_place) if trained_in_place is not None else []
    saved = [v.numpy() for v in variables]
    try:
        yield
    except BaseException:
        est.__dict__.clear()
        est.__dict__.update(before)
        for variable, value in zip(variables, saved):
            variable.assign(value)
        raise
