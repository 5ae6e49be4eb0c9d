"""Which fitted estimators read a model's X as it is at prediction: through
searches, ensembles and wrappers, and a pipeline's steps that read at
prediction (samplers act in fit only)."""

import numpy as np


def readers_of(model):
    """The fitted estimators ``model`` hands X to as it is at prediction: a
    search's ``best_estimator_``, a voting or stacking ensemble's estimators, a
    calibrated classifier's, a TransformedTargetRegressor's regressor, a
    one-vs-rest, multi-output, threshold, self-training or frozen model's, a
    bagging ensemble's members where each reads every column (the default
    ``max_features``); ``[model]`` for any other (a pipeline, a step, a stacking
    ensemble whose final estimator reads X too: ``passthrough``, bagging over
    subsets of the columns)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import (
        BaggingClassifier,
        BaggingRegressor,
        StackingClassifier,
        StackingRegressor,
        VotingClassifier,
        VotingRegressor,
    )
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV
    from sklearn.multiclass import OneVsOneClassifier, OneVsRestClassifier
    from sklearn.multioutput import MultiOutputClassifier, MultiOutputRegressor
    from sklearn.semi_supervised import SelfTrainingClassifier

    if hasattr(model, "best_estimator_"):
        return [model.best_estimator_]
    one = ((FrozenEstimator, "estimator"), (TransformedTargetRegressor, "regressor_"),
           (FixedThresholdClassifier, "estimator_"), (TunedThresholdClassifierCV, "estimator_"),
           (SelfTrainingClassifier, "estimator_"))
    for kind, attribute in one:
        if isinstance(model, kind) and hasattr(model, attribute):
            return [getattr(model, attribute)]
    if isinstance(model, CalibratedClassifierCV) and hasattr(model, "calibrated_classifiers_"):
        return [c.estimator for c in model.calibrated_classifiers_]
    ensembles = (VotingClassifier, VotingRegressor, StackingClassifier, StackingRegressor,
                 OneVsRestClassifier, OneVsOneClassifier, MultiOutputClassifier,
                 MultiOutputRegressor)  # each hands every column of X to its estimators_
    if isinstance(model, ensembles) and hasattr(model, "estimators_") and not getattr(
            model, "passthrough", False):  # (whose final estimator would read X too)
        inner = [e for e in model.estimators_ if not (isinstance(e, str) and e == "drop")]
        return inner or [model]
    if isinstance(model, (BaggingClassifier, BaggingRegressor)) and hasattr(
            model, "estimators_") and all(  # (imbalanced-learn's bagging ensembles too)
            np.array_equal(f, np.arange(model.n_features_in_))
            for f in model.estimators_features_):  # each member reads every column
        return list(model.estimators_)
    return [model]


def is_sampler(step):
    """imbalanced-learn samplers resample in ``fit`` only; ``predict`` skips them."""
    return hasattr(step, "fit_resample")


def reading_steps(pipeline):
    """The steps of a pipeline that read at prediction, nested pipelines flattened."""
    from sklearn.pipeline import Pipeline

    steps = []
    for _, step in pipeline.steps:
        if isinstance(step, Pipeline):
            steps += reading_steps(step)
        elif step is not None and not (isinstance(step, str) and step == "passthrough") \
                and not is_sampler(step):
            steps.append(step)
    return steps
