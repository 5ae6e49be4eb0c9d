"""Checks of the metrics a network is compiled with against the targets its
loss trains on, before TensorFlow runs: each metric of Keras' own must read
those targets (class indices, one-hot rows, a 0/1 target per unit), as a
one-output network's and each output's of several."""

import inspect

from .._tf import keras
from ._layers import defined_by_keras
from ._network_checks import computes_own_loss, each_output, of_output, trains_scores

# Keras metrics that compare targets with outputs of the same shape (one-hot
# rows for one unit per class): class indices fail inside the training step,
# or (categorical accuracy: the argmax of one index) are silently wrong; and
# those reading class indices, which one-hot rows fail. Each names its twin
# reading the other targets, where Keras has one.
_SHAPED_METRICS = dict.fromkeys({
    "auc", "precision", "recall", "precisionatrecall", "recallatprecision",
    "sensitivityatspecificity", "specificityatsensitivity", "truepositives",
    "falsepositives", "truenegatives", "falsenegatives", "f1score", "fbetascore",
    "kldivergence", "categoricalhinge"}) | {
    "categoricalaccuracy": "sparse_categorical_accuracy",
    "topkcategoricalaccuracy": "sparse_top_k_categorical_accuracy",
    "categoricalcrossentropy": "sparse_categorical_crossentropy"}
_INDEX_METRICS = {"sparse" + key: twin.replace("sparse_", "") for key, twin in
                  _SHAPED_METRICS.items() if twin}
# Keras metrics reading one class per row (an argmax, or class indices), which
# multilabel rows and one sigmoid unit do not give: silently wrong (one unit's
# argmax is always 0) or failing in the training step; each names its twin
# reading each unit's 0/1 target. Over several units Keras reads the name
# "accuracy" as categorical accuracy.
_PER_CLASS_METRICS = {
    key: "binary_crossentropy" if key.endswith("crossentropy") else
    "hinge" if key.endswith("hinge") else "binary_accuracy"
    for key in ("categoricalaccuracy", "sparsecategoricalaccuracy", "topkcategoricalaccuracy",
                "sparsetopkcategoricalaccuracy", "categoricalcrossentropy",
                "sparsecategoricalcrossentropy", "categoricalhinge")}
# The accuracy reading a classifier's targets, where keras.metrics.Accuracy (the
# class: exact equality) was given.
_ACCURACY_OF = {"sparse": "SparseCategoricalAccuracy", "onehot": "CategoricalAccuracy",
                "binary": "BinaryAccuracy", "multilabel": "BinaryAccuracy"}
_REFUSED = {"sparse": _SHAPED_METRICS, "onehot": _INDEX_METRICS, "binary": _PER_CLASS_METRICS,
            "multilabel": {**_PER_CLASS_METRICS, "accuracy": "binary_accuracy",
                           "acc": "binary_accuracy"}}


def check_metrics_read_targets(metrics, loss, mode, *, output=None):
    """Refuse, before training, metrics that cannot read the targets the loss
    trains on: class indices (``mode`` "sparse"), one-hot rows ("onehot"), a
    0/1 target per unit ("binary": one sigmoid unit; "multilabel"). ``output``
    names the output of several whose metrics and loss these are."""
    from ._losses import loss_description

    refused = _REFUSED.get(mode, {})
    of = f" of the output {output!r}" if output is not None else ""
    for metric in _each_metric(metrics):
        # Keras' own metrics only: one of the user's named Recall may read indices
        name = _keras_metric_name(metric)
        key = str(name).replace("_", "").lower()
        if key == "accuracy" and mode in _ACCURACY_OF and not isinstance(metric, str):
            raise ValueError(
                f"keras.metrics.Accuracy{of} compares the outputs (probabilities) with the "
                "targets for equality, which they are by chance only: measure 'accuracy' "
                "(the name: Keras picks the accuracy that reads the targets) or "
                f"keras.metrics.{_ACCURACY_OF[mode]}.")
        if key not in refused:
            continue
        twin, loss = refused[key], loss_description(loss)
        own = (" (or target_encoding='{}' for a loss of your own that takes them)"
               if output is None else " (your target encoder then giving it {})")
        if mode in ("binary", "multilabel"):
            what = ("one unit for the two classes" if output is not None and mode == "binary"
                    else "one output unit for the two classes" if mode == "binary" else
                    "multilabel y, a row holding any number of labels")
            has = "the model has" if output is None else f"the output {output!r} has"
            raise ValueError(
                f"The metric {name!r}{of} reads one class per row (an argmax of the outputs, "
                f"or class indices), but {has} {what}, each unit's 0/1 target trained "
                f"on by the loss {loss}: measure {twin!r}, which reads them"
                + (" (or keras.metrics.AUC(multi_label=True))." if mode == "multilabel"
                   else "."))
        if mode == "sparse":
            raise ValueError(
                f"The metric {name!r}{of} compares targets with outputs of the same shape, "
                f"but the loss {loss} trains on class indices. "
                + (f"Measure {twin!r}, which reads them, or train" if twin else "Train")
                + " on one-hot rows: loss='categorical_crossentropy'"
                + own.format("onehot" if output is None else "one-hot rows") + ".")
        raise ValueError(
            f"The metric {name!r}{of} reads class indices, but the loss {loss} trains on "
            f"one-hot rows. Measure {twin!r}, which reads them, or train on class indices: "
            "loss='sparse_categorical_crossentropy'"
            + own.format("sparse" if output is None else "class indices") + ".")


def check_metrics_of_each_output(model, loss, metrics):
    """:func:`check_metrics_read_targets` for each output of a network whose
    targets a target encoder of the user's gives (found in audits:
    categorical_accuracy of an output trained on class indices logged the
    share of rows predicted as class 0, silently, or failed in TensorFlow's
    graph for class indices per pixel): the targets an output's
    loss takes (class indices, one-hot rows, a 0/1 target for one unit) are
    those its metrics must read. ``loss`` and each of ``metrics`` (metrics,
    weighted metrics) as compiled: one for every output, or per output (a
    list in output order, or a dict by output name), as Keras reads them."""
    if computes_own_loss(model):
        return
    n_outputs = len(getattr(model, "outputs", None) or [])
    for i, name, output, own in each_output(model, loss):
        mode = _mode_of(own, output.shape[-1]) if own is not None else None
        for given in metrics:
            check_metrics_read_targets(of_output(given, i, name, n_outputs), own, mode,
                                       output=name)


def _mode_of(loss, n_units):
    """The targets a loss of Keras' own takes for an output of ``n_units``, as a
    target encoder's mode: "sparse" (class indices), "onehot", "binary" (one
    unit's 0/1 or -1/1 target); None where its loss does not say (a loss picked
    by the targets' shape, of the user's own, of regression, or a binary
    crossentropy over several units: one-hot rows or labels)."""
    from ._losses import BY_SHAPE, INDEX, reads_unit_targets, spread_over_classes, target_kind

    kind = target_kind(loss)
    if kind in (None, BY_SHAPE):
        return None
    if n_units == 1:
        return "binary" if reads_unit_targets(loss) or trains_scores(loss) else None
    if kind == INDEX:
        return "sparse"
    return "onehot" if spread_over_classes(loss, n_units) else None


def _each_metric(metrics):
    """The metrics of lists, tuples and dicts by output name, nested."""
    if isinstance(metrics, dict) and "class_name" not in metrics:  # (not a config)
        metrics = list(metrics.values())
    if isinstance(metrics, (list, tuple)):
        for inner in metrics:
            yield from _each_metric(inner)
    elif metrics is not None:
        yield metrics


def _keras_metric_name(metric):
    """The name of one of Keras' own metrics (a name, class, instance, function
    or serialized config of a class); "" for others."""
    if isinstance(metric, str):
        return metric
    if isinstance(metric, dict):  # (a function's config, Keras' or the user's, says builtins)
        return metric.get("class_name") if str(metric.get("module")).startswith(
            "keras") else ""
    if inspect.isfunction(metric):
        return metric.__name__ if defined_by_keras(metric) else ""
    cls = metric if isinstance(metric, type) else type(metric)
    return cls.__name__ if defined_by_keras(cls) and issubclass(
        cls, keras.metrics.Metric) else ""
