"""What an export refused for its last step tells the user to export instead."""

from sklearn.pipeline import Pipeline


def _exportable(obj):
    """A keraslearn estimator, or a pipeline ending in one."""
    from .._engine import ClassifierBehaviour, RegressorBehaviour

    if isinstance(obj, Pipeline):
        obj = obj.steps[-1][1]
    return isinstance(obj, (ClassifierBehaviour, RegressorBehaviour))


def refusal_hint(obj, at_end):
    """The way out for ``obj``, which export cannot take: a search (its
    best_estimator_, fitted with refit=True), an ensemble or a calibration
    (several models: keraslearn.save), a wrapper of one exportable estimator
    (that estimator, without what the wrapper adds). ``at_end``: ``obj`` ends
    a pipeline, whose other steps go with what is exported."""
    name = type(obj).__name__
    replaced = (f" the same pipeline with the {name} replaced by its {{}}" if at_end else
                " its {}")
    if hasattr(obj, "cv_results_") or hasattr(obj, "best_estimator_"):  # a search
        best = replaced.format("best_estimator_")
        return (f" Export{best}." if hasattr(obj, "best_estimator_") else
                f" Fit it with refit=True, then export{best}.")
    if hasattr(obj, "estimators_") or hasattr(obj, "calibrated_classifiers_"):
        return (" An ensemble's several models are no one graph: save it with "
                "keraslearn.save (make_app serves it), or export each of them, whose graph "
                "answers as that member does, on what the ensemble gave it: voting, stacking "
                "and bagging classifiers fit their members on positions in classes_, not "
                "on the labels, and bagging gives each member its own columns "
                "(estimators_features_).")
    for attribute in ("estimator_", "estimator"):  # (fitted by the wrapper, or given fitted)
        if _exportable(getattr(obj, attribute, None)):
            return (f" Export{replaced.format(attribute)}: the graph lacks what {name} adds;"
                    " or save it with keraslearn.save.")
    return ""
