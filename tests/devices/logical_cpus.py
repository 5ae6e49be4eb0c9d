"""Fits on several logical CPU devices, in a fresh process.

Usage: python logical_cpus.py N_CPUS SCENARIO WORKDIR

TensorFlow's logical devices must be configured before TensorFlow starts, so
these runs happen in a process of their own (the test suite's TensorFlow
keeps its one CPU device). The process splits its CPU into ``N_CPUS``
logical devices, runs ``SCENARIO`` and writes what it saw to
``WORKDIR/SCENARIO.json``, for the tests in test_logical_devices.py to judge:

- ``device``: a wrapper and a ready estimator fitted on ``/CPU:1``; where
  their variables and the trace cache's warm copies live; predictions there,
  then on ``/CPU:0``; both pickled to ``WORKDIR``.
- ``load`` (one CPU device): the pickles of ``device`` loaded and predicting.
- ``mirrored``: the same seeded fits on one device and mirrored over two,
  with the same global batch; fits inside a strategy scope of the user's own.
- ``uneven``: batches two replicas cannot share evenly, and fits of other
  widths under "mirrored" and lists of its devices.
"""

import json
import os
import pickle
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for builders

TWO = ["/CPU:0", "/CPU:1"]


def _data():
    import numpy as np
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=256, n_features=8, random_state=0)
    return X.astype(np.float32), y


def _wrapper(**params):
    from builders import tiny_mlp
    from keraslearn import KerasClassifier

    return KerasClassifier(tiny_mlp, hidden=16, optimizer="adam", epochs=4, batch_size=32,
                           random_state=0, **params)


def _ready(**params):
    from keraslearn import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=(16,), max_iter=4, batch_size=32,
                         learning_rate_init=0.01, alpha=1e-3, random_state=0, **params)


def _estimators(**params):
    return {"wrapper": _wrapper(**params), "ready": _ready(**params)}


def _proba(est, X):
    return est.predict_proba(X).tolist()


def _tensorflow_predicts():
    """Predictions by TensorFlow on the device, not by the ready networks' NumPy
    path for a few rows: these scenarios check where TensorFlow runs."""
    import keraslearn

    keraslearn.set_config(fast_small_predictions=False)


def scenario_device(workdir):
    from keraslearn._engine._dense_chain import dense_chains
    from keraslearn._engine._trace_cache import trace_cache

    _tensorflow_predicts()
    X, y = _data()
    out = {"devices": None}
    try:
        _wrapper(device="cpu:2").fit(X, y)
    except ValueError as exc:
        out["unknown_device_error"] = str(exc)
    for name, est in _estimators(device="/CPU:1").items():
        est.fit(X, y)
        on_cpu1 = _proba(est, X)
        out[name] = {
            "variables": sorted({v.value.device for v in est.model_.weights}),
            "optimizer": sorted({v.value.device for v in est.model_.optimizer.variables}),
            "on_cpu1": on_cpu1,
            "on_cpu1_again": _proba(est, X),  # the traced predictor (after eager calls)
        }
        with open(Path(workdir) / f"{name}.pkl", "wb") as f:
            pickle.dump(est, f)
        est.set_params(device="/CPU:0")
        out[name]["on_cpu0"] = _proba(est, X)
    # Warm copies of the trace cache, and the dense chain trainer's functions
    # (whose keys end with the device too).
    out["traced_devices"] = sorted({key[-1] for key in trace_cache.keys()}
                                   | {json.loads(key)[-1] for key in dense_chains._traces})
    return out


def scenario_load(workdir):
    import tensorflow as tf

    _tensorflow_predicts()
    X, _ = _data()
    out = {"devices": [d.name for d in tf.config.list_logical_devices()]}
    for name in ("wrapper", "ready"):
        with open(Path(workdir) / f"{name}.pkl", "rb") as f:
            est = pickle.load(f)
        out[name] = {"device": est.device, "proba": _proba(est, X),
                     "variables": sorted({v.value.device for v in est.model_.weights})}
    return out


STRATEGIES = []  # those two_cpus made


def two_cpus():
    """A MirroredStrategy over both logical CPUs (``distribute=two_cpus``)."""
    import tensorflow as tf

    STRATEGIES.append(tf.distribute.MirroredStrategy(TWO))
    return STRATEGIES[-1]


def _replicas_callback():
    import keras

    class Replicas(keras.callbacks.Callback):
        """Records the replicas of the strategy each fit trains under."""

        seen = []

        def on_train_begin(self, logs=None):
            Replicas.seen.append(self.model.distribute_strategy.num_replicas_in_sync)

        def __reduce__(self):  # pickled with the estimator: a fresh recorder
            return (_replicas_callback, ())

    return Replicas()


def scenario_mirrored(workdir):
    import numpy as np
    import tensorflow as tf

    X, y = _data()
    out = {}
    # Rows in order: under a strategy, Keras reads a batch before training,
    # which starts another pass of a shuffle (another seeded order).
    one = _estimators(shuffle=False)
    replicas = _replicas_callback()
    two = {"wrapper": _wrapper(shuffle=False, distribute=TWO, callbacks=[replicas]),
           "ready": _ready(shuffle=False, distribute=two_cpus)}
    for name in ("wrapper", "ready"):
        one[name].fit(X, y)
        two[name].fit(X, y)
        again = pickle.loads(pickle.dumps(two[name]))
        out[name] = {
            "one_device": _proba(one[name], X),
            "mirrored": _proba(two[name], X),
            "mirrored_pickled": _proba(again, X),
            "loss_one_device": [float(v) for v in one[name].history_["loss"]],
            "loss_mirrored": [float(v) for v in two[name].history_["loss"]],
            "weight_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(
                one[name].model_.get_weights(), two[name].model_.get_weights())),
            "distributed_variables": any(
                isinstance(v.value, tf.distribute.DistributedValues)
                for v in two[name].model_.weights),
        }
    out["wrapper"]["replicas"] = type(replicas).seen
    out["ready"]["replicas"] = [s.num_replicas_in_sync for s in STRATEGIES]
    normalised = [_ready(shuffle=False, batch_normalization=True, distribute=where).fit(X, y)
                  for where in (None, TWO)]
    out["batch_normalization"] = {
        "loss_one_device": normalised[0].loss_curve_,
        "loss_mirrored": normalised[1].loss_curve_,
        "weight_diff": {v.path: float(np.max(np.abs(np.array(v) - np.array(w))))
                        for v, w in zip(normalised[0].model_.weights,
                                        normalised[1].model_.weights)},
    }
    # partial_fit moved under a strategy: batch normalisation synchronized too.
    partial = []
    for where in (None, TWO):
        est = _ready(shuffle=False, batch_normalization=True)
        est.partial_fit(X, y, classes=[0, 1]).set_params(distribute=where).partial_fit(X, y)
        partial.append(est.loss_curve_)
    out["partial_batch_normalization"] = partial
    # The same for an image network, each batch all rows (shuffled alike).
    from keraslearn import ImageClassifier

    images = np.random.RandomState(0).rand(32, 8, 8, 1).astype("float32")
    partial = []
    for where in (None, TWO):
        est = ImageClassifier(conv_filters=(4,), dense_units=8, dropout=0.0, epochs=1,
                              batch_size=32, batch_normalization=True, random_state=0)
        est.partial_fit(images, y[:32], classes=[0, 1])
        est.set_params(distribute=where).partial_fit(images, y[:32])
        partial.append(est.history_["loss"])
    out["partial_image_batch_normalization"] = partial
    out["ambient"] = _in_a_scope_of_ones_own(X, y)
    return out


def _in_a_scope_of_ones_own(X, y):
    """Fits inside a strategy scope the user entered (distribute=None), as a
    Keras user writes them: trained as Keras trains them there; a network
    built outside continued inside is refused, the estimator kept."""
    import numpy as np
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(
        TWO, cross_device_ops=tf.distribute.ReductionToOneDevice())
    import keras
    from scipy import sparse as scipy_sparse

    from builders import tiny_mlp
    from keraslearn import KerasClassifier, MLPClassifier

    outside = _ready(shuffle=False).fit(X, y)  # (its warm copy exists: not used inside)
    frozen = keras.layers.Dense(4, trainable=False)  # a pretrained base, built outside
    frozen.build((None, X.shape[1]))

    def on_a_frozen_base(meta):
        inputs = keras.Input((X.shape[1],))
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(frozen(inputs)))

    with strategy.scope():
        inside = _ready(shuffle=False).fit(X, y)
        on_base = KerasClassifier(on_a_frozen_base, epochs=1, random_state=0).fit(X, y)
        before = outside.predict_proba(X)
        try:
            outside.partial_fit(X, y)
            refused = None
        except ValueError as exc:
            refused = str(exc)
        kept = bool(np.array_equal(outside.predict_proba(X), before))
        # Batches keraslearn chooses (the MLP's "auto", all 101 rows; the
        # wrapper's 32 over 31 rows) split evenly over the scope's replicas:
        # TensorFlow failed on an odd first batch ("[51,6] != [50,6]").
        chosen = [MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(
                      X[:101], y[:101]).loss_curve_,
                  KerasClassifier(tiny_mlp, epochs=1, random_state=0).fit(
                      X[:31], y[:31]).history_["loss"]]
        errors = {}
        try:  # another strategy as distribute= inside the scope
            _ready(distribute="mirrored").fit(X, y)
        except ValueError as exc:
            errors["distribute"] = str(exc)
        sparse_input = KerasClassifier(_sparse_input_network, epochs=1)
        try:  # TensorFlow: "'SparseTensor' object has no attribute 'device'"
            sparse_input.fit(scipy_sparse.csr_matrix(X), y)
        except ValueError as exc:
            errors["sparse"] = str(exc)
    return {"outside": outside.loss_curve_, "inside": inside.loss_curve_,
            "refused": refused, "kept": kept and len(outside.loss_curve_) == 4,
            "frozen_base_trained": len(on_base.history_["loss"]) == 1,
            "chosen_batches": [len(loss) for loss in chosen], "errors": errors,
            "sparse_kept": not hasattr(sparse_input, "model_")}


def _sparse_input_network(meta):
    import keras

    inputs = keras.Input((meta["n_features_in_"],), sparse=True)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))


def scenario_uneven(workdir):
    """Fits whose batches two replicas cannot share evenly, and strategies
    over the same devices given in several forms, in one process."""
    import numpy as np

    from keraslearn import MLPClassifier, MLPRegressor

    X, y = _data()
    X, y = X[:101], y[:101]  # odd: no batch of all rows splits evenly
    out = {"widths": {}}
    # Fits of other widths under "mirrored" and lists of its devices: one strategy.
    for width, where in ((4, "mirrored"), (8, TWO), (16, ["cpu:0", "cpu:1"]), (6, "mirrored")):
        try:
            MLPClassifier(hidden_layer_sizes=(width,), max_iter=1, batch_size=16,
                          distribute=where).fit(X, y)
            out["widths"][width] = "fitted"
        except Exception as exc:  # noqa: BLE001 - recorded for the test to judge
            out["widths"][width] = f"{type(exc).__name__}: {exc}"[:300]
    # "auto" (all 101 rows) is made a multiple of the replicas; a batch_size given is not.
    auto = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, shuffle=False, random_state=0,
                         distribute=TWO).fit(X, y)
    out["auto_loss"] = auto.loss_curve_
    given = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, batch_size=15, distribute=TWO)
    try:
        given.fit(X, y)
    except ValueError as exc:
        out["odd_batch_error"] = str(exc)
    out["odd_batch_fitted"] = hasattr(given, "model_")
    # Rows too few for any batch size (3 over 2 replicas): refused as such.
    few = MLPClassifier(hidden_layer_sizes=(8,), max_iter=1, distribute=TWO)
    try:
        few.fit(X[:3], [0, 1, 0])
    except ValueError as exc:
        out["too_few_error"] = str(exc)
    # A last batch of 1 row, which left a replica without rows: an image
    # network's training aborted the process there.
    from keraslearn import ImageClassifier

    images = np.random.RandomState(0).rand(18, 8, 8, 1).astype("float32")
    labels = np.array(["a", "b"] * 9)
    image = ImageClassifier(conv_filters=(4,), dense_units=8, epochs=1, batch_size=8,
                            random_state=0, distribute=TWO)
    try:
        image.fit(images[:17], labels[:17])
    except ValueError as exc:
        out["last_batch_error"] = str(exc)
    out["last_batch_fitted"] = hasattr(image, "model_")
    # The same where the estimator's own held-out split leaves 25 of 32 rows.
    try:
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, batch_size=8, early_stopping=True,
                      validation_fraction=0.2, distribute=TWO).fit(X[:32], y[:32])
    except ValueError as exc:
        out["split_last_batch_error"] = str(exc)
    # A builder reusing a trainable layer made outside it, under distribute=.
    import keras

    from keraslearn import KerasClassifier

    shared = keras.layers.Dense(4, activation="relu")
    shared.build((None, X.shape[1]))

    def reusing(meta):
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]), shared,
                                 keras.layers.Dense(1, activation="sigmoid")])

    try:
        KerasClassifier(reusing, epochs=1, distribute=TWO).fit(X[:32], y[:32])
    except ValueError as exc:
        out["reused_layer_error"] = str(exc)
    out["image_loss"] = image.fit(images, labels).history_["loss"]
    # A wrapper's default batch (32) on 21 rows: keraslearn's choice, made 20.
    from builders import tiny_mlp
    from keraslearn import KerasClassifier

    out["wrapper_default"] = KerasClassifier(tiny_mlp, epochs=4, random_state=0,
                                             distribute=TWO).fit(X[:21], y[:21]).history_["loss"]
    # Held-out rows Keras evaluates (15 of them, batches of 16) score as on one device.
    for name, params in (("split", {"validation_split": 0.15}), ("data", {})):
        fits = [_wrapper(shuffle=False, distribute=where, **params)
                for where in (None, TWO)]
        extra = {} if params else {"validation_data": (X[:15], y[:15])}
        out[f"val_loss_{name}"] = [est.fit(X[:96], y[:96], **extra).history_["val_loss"]
                                   for est in fits]
    # The ready networks' held-out loss, which they score themselves.
    yr = X @ np.arange(8.0)
    params = dict(hidden_layer_sizes=(8,), max_iter=3, batch_size=16, shuffle=False,
                  random_state=0, early_stopping=True, validation_fraction=0.2)
    out["mlp_val_loss"] = [MLPRegressor(**params, distribute=where).fit(X[:100], yr[:100])
                           .history_["val_loss"] for where in (None, TWO)]
    out.update(_continued_copies(X[:32], y[:32]))
    return out


def _continued_copies(X, y):
    """Found in an audit: a warm fit under distribute= went on from a copy
    that computes otherwise, in silence, and a partial_fit of a network Keras
    cannot copy was told to set warm_start=False."""
    import keras
    import numpy as np

    from keraslearn import KerasClassifier

    @keras.saving.register_keras_serializable(package="keraslearn_tests_devices")
    class Scale(keras.layers.Layer):  # (its config leaves out a factor set later)
        def __init__(self, factor=1.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

    def scaled(meta):
        scale = Scale()
        scale.factor = 3.0
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]), scale,
                                 keras.layers.Dense(1, activation="sigmoid")])

    def doubled(x):  # an activation Keras cannot find by name
        return keras.ops.relu(x) * 2.0

    def unnamed(meta):
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]),
                                 keras.layers.Dense(4, activation=doubled),
                                 keras.layers.Dense(1, activation="sigmoid")])

    @keras.saving.register_keras_serializable(package="keraslearn_tests_devices")
    class SampledDropout(keras.layers.Layer):  # Monte Carlo dropout: random at predict too
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dropout = keras.layers.Dropout(0.5, seed=0)

        def call(self, x):
            return self.dropout(x, training=True)

    def sampled(meta):
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]), SampledDropout(),
                                 keras.layers.Dense(1, activation="sigmoid")])

    out = {}
    sampling = KerasClassifier(sampled, epochs=1, batch_size=16, random_state=0).fit(X, y)
    try:  # (found in review: refused, its own outputs differing from call to call)
        sampling.set_params(warm_start=True, distribute=TWO).fit(X, y)
        out["sampled_continued"] = len(sampling.history_["loss"])
    except ValueError as exc:
        out["sampled_continued"] = str(exc)
    warm = KerasClassifier(scaled, epochs=1, batch_size=16, random_state=0).fit(X, y)
    before = warm.predict_proba(X)
    try:
        warm.set_params(warm_start=True, distribute=TWO).fit(X, y)
    except ValueError as exc:
        out["changed_copy_error"] = str(exc)
    out["changed_copy_kept"] = bool(np.array_equal(warm.predict_proba(X), before))
    partial = KerasClassifier(unnamed, epochs=1, batch_size=16, random_state=0).fit(X, y)
    try:
        partial.set_params(distribute=TWO).partial_fit(X, y)
    except ValueError as exc:
        out["uncopied_partial_error"] = str(exc)
    return out


def main(argv):
    n_cpus, scenario, workdir = int(argv[1]), argv[2], argv[3]
    # 4 epochs, on purpose
    warnings.filterwarnings("ignore", message="Stochastic Optimizer: Maximum iterations")
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n_cpus)]
    )
    result = globals()[f"scenario_{scenario}"](workdir)
    result["devices"] = [d.name for d in tf.config.list_logical_devices()]
    with open(Path(workdir) / f"{scenario}.json", "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv)
