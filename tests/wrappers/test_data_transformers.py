"""scikeras' data-transformer interface: ``target_encoder`` and
``feature_encoder`` overridden in a subclass, for models with several
outputs and several inputs; ``get_metadata`` in ``meta``; ``scorer``."""

import keras
import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import PCA
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import FunctionTransformer, LabelEncoder, StandardScaler

from builders import ColumnTargets, tiny_mlp
from keraslearn import KerasClassifier, KerasRegressor
from keraslearn.neural_network import MLPClassifier, MLPRegressor

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 4))
Y = np.column_stack([(X[:, 0] > 0).astype(int), np.digitize(X[:, 1], [-0.5, 0.5])])


class TwoTargets(BaseEstimator, TransformerMixin):
    """Column 0 binary, column 1 multiclass -> a list of two targets."""

    def fit(self, y):
        self.bin_ = LabelEncoder().fit(y[:, 0])
        self.cat_ = LabelEncoder().fit(y[:, 1])
        self.n_classes_ = [self.bin_.classes_.size, self.cat_.classes_.size]
        self.n_outputs_expected_ = 2
        return self

    def transform(self, y):
        return [self.bin_.transform(y[:, 0]), self.cat_.transform(y[:, 1])]

    def inverse_transform(self, y, return_proba=False):
        if return_proba:
            return np.column_stack(y)
        labels_bin = (y[0] > 0.5).astype(int).reshape(-1)
        labels_cat = np.argmax(y[1], axis=1)
        return np.column_stack([self.bin_.inverse_transform(labels_bin),
                                self.cat_.inverse_transform(labels_cat)])

    def get_metadata(self):
        return {"n_classes_": self.n_classes_, "n_outputs_expected_": 2, "my_param_": "two"}


def two_headed(meta):
    assert meta["my_param_"] == "two"  # the transformer's metadata reaches the builder
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    out_bin = keras.layers.Dense(1, activation="sigmoid", name="out_bin")(hidden)
    out_cat = keras.layers.Dense(meta["n_classes_"][1], activation="softmax",
                                 name="out_cat")(hidden)
    return keras.Model(inputs, [out_bin, out_cat])


class TwoHeadClassifier(KerasClassifier):
    @property
    def target_encoder(self):
        return TwoTargets()

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        return np.mean([accuracy_score(y_true[:, i], y_pred[:, i]) for i in range(2)])


class _LabelsOnly(TwoTargets):
    """scikeras' documented encoder shape: inverse_transform(y), no return_proba."""

    def inverse_transform(self, y):
        return super().inverse_transform(y)


class _LabelsOnlyClassifier(TwoHeadClassifier):
    @property
    def target_encoder(self):
        return _LabelsOnly()


def test_an_encoder_without_return_proba_leaves_the_estimator_without_predict_proba():
    # predict_proba was always there, and failed when called: scikit-learn's tools
    # asking hasattr (keraslearn's evaluate, soft voting, scorers) crashed.
    from keraslearn.evaluation import evaluate

    clf = _LabelsOnlyClassifier(two_headed, loss=["binary_crossentropy",
                                                  "sparse_categorical_crossentropy"],
                                epochs=2, random_state=0)
    assert hasattr(clf, "predict_proba")  # not fitted: not known yet, as scikit-learn's
    Y2 = np.column_stack([Y[:, 0], X[:, 1] > 0]).astype(int)  # two labels: a report's targets
    clf.fit(X, Y2)
    assert not hasattr(clf, "predict_proba") and not hasattr(clf, "predict_log_proba")
    with pytest.raises(AttributeError) as refused:
        clf.predict_proba(X[:2])
    # scikit-learn's available_if says "has no attribute", caused by the reason
    assert str(refused.value.__cause__).startswith(
        "predict_proba needs the target encoder (_LabelsOnly) to implement inverse_transform")
    report = evaluate(clf, X, Y2)
    assert report.metrics["accuracy"] == accuracy_score(Y2, clf.predict(X))
    assert any(note.startswith("ROC AUC skipped: the estimator has neither")
               for note in report.notes)
    with_proba = TwoHeadClassifier(two_headed, loss=["binary_crossentropy",
                                                     "sparse_categorical_crossentropy"],
                                   epochs=2, random_state=0).fit(X, Y)
    assert hasattr(with_proba, "predict_proba") and hasattr(with_proba, "predict_log_proba")


def test_a_model_with_two_outputs_trains_through_its_target_encoder():
    clf = TwoHeadClassifier(two_headed, loss=["binary_crossentropy",
                                              "sparse_categorical_crossentropy"],
                            optimizer="adam", optimizer__learning_rate=0.02, epochs=30,
                            random_state=0).fit(X, Y)
    assert isinstance(clf.target_encoder_, TwoTargets)
    assert clf.n_classes_ == [2, 3] and clf.my_param_ == "two"
    assert clf.classes_ is None  # no one set of classes, as scikeras says (it raised)
    pred = clf.predict(X)
    assert pred.shape == Y.shape
    score = clf.score(X, Y)  # the subclass's scorer
    assert score == pytest.approx(np.mean([accuracy_score(Y[:, i], pred[:, i]) for i in range(2)]))
    assert score > 0.8
    assert clf.predict_proba(X[:5]).shape == (5, 4)  # inverse_transform(return_proba=True)
    assert {"out_bin_loss", "out_cat_loss"} <= clf.history_.keys()


def test_losses_per_output_are_compared_with_those_the_builder_compiled():
    # A builder compiling its own losses per output trained with them, and
    # the estimator's went unused: a search over them searched nothing.
    def compiled(meta):
        model = two_headed(meta)
        model.compile(optimizer="adam", loss=["binary_crossentropy",
                                              "sparse_categorical_crossentropy"])
        return model

    for given in (["binary_crossentropy", "mse"],
                  {"out_bin": "binary_crossentropy", "out_cat": "mse"}):
        clf = TwoHeadClassifier(compiled, loss=given, epochs=1)
        with pytest.raises(ValueError, match=r"per output, 'mean_squared_error' where it has "
                                             r"'sparse_categorical_crossentropy'"):
            clf.fit(X, Y)
        assert not hasattr(clf, "model_")
    smoothed = TwoHeadClassifier(compiled, loss=[keras.losses.BinaryCrossentropy(
        label_smoothing=0.1), "sparse_categorical_crossentropy"], epochs=1)
    with pytest.raises(ValueError, match=r"^loss=\[BinaryCrossentropy\(\.\.\.\), "
                                         r"'sparse_categorical_crossentropy'\] was given.*"
                                         r"per output, 'binary_crossentropy' given with "
                                         r"label_smoothing=0.1 where it has 0\)"):
        smoothed.fit(X, Y)
    same = TwoHeadClassifier(compiled, loss=["binary_crossentropy",
                                             keras.losses.SparseCategoricalCrossentropy()],
                             epochs=1, random_state=0).fit(X, Y)
    assert {"out_bin_loss", "out_cat_loss"} <= same.history_.keys()
    # found in an audit: one loss against losses per output (either way), and a
    # dict naming some of the outputs, were not compared

    def compiled_once(meta):
        model = two_headed(meta)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model

    # (a dict agreeing on the outputs it names: found in review, it was read as
    # one loss for every output)
    dict_compiled = TwoHeadClassifier(compiled, loss={"out_bin": "binary_crossentropy"},
                                      epochs=1).fit(X, Y)
    assert dict_compiled.model_.loss == ["binary_crossentropy",
                                         "sparse_categorical_crossentropy"]
    for build, given in [(compiled, "binary_crossentropy"),
                         (compiled_once, ["binary_crossentropy", "mse"]),
                         (compiled_once, {"out_bin": "binary_crossentropy", "out_cat": "mse"}),
                         (compiled, {"out_cat": "mse"})]:
        clf = TwoHeadClassifier(build, loss=given, epochs=1)
        with pytest.raises(ValueError, match=r"was given, but the model was compiled with"):
            clf.fit(X, Y)
        assert not hasattr(clf, "model_")


@pytest.mark.parametrize("activation, loss, message", [
    (None, "binary_crossentropy", r"output 'out_bin' has activation='linear', whose outputs are "
     r"not probabilities, but its loss 'binary_crossentropy' takes probabilities"),
    ("softmax", "binary_crossentropy", r"output 'out_bin' ends in a softmax over 1 unit"),
    ("softmax", keras.losses.BinaryCrossentropy(from_logits=True), r"softmax over 1 unit"),
])
def test_each_output_of_several_is_checked_as_one_output_is(activation, loss, message):
    # found in an audit: the refusals of a one-output network were not made on
    # each output of several (a linear output under binary_crossentropy trained)
    def heads(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        hidden = keras.layers.Dense(8, activation="relu")(inputs)
        return keras.Model(inputs, [
            keras.layers.Dense(1, activation=activation, name="out_bin")(hidden),
            keras.layers.Dense(meta["n_classes_"][1], activation="softmax", name="out_cat")(
                hidden)])

    clf = TwoHeadClassifier(heads, loss=[loss, "sparse_categorical_crossentropy"], epochs=1)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, Y)
    assert not hasattr(clf, "model_")
    if activation is None:  # logits under a loss taking them train
        TwoHeadClassifier(heads, loss=[keras.losses.BinaryCrossentropy(from_logits=True),
                                       "sparse_categorical_crossentropy"], epochs=1).fit(X, Y)


LOSSES = ["binary_crossentropy", "sparse_categorical_crossentropy"]


@pytest.mark.parametrize("compile_kwargs, message", [
    # class indices of out_cat read as one-hot rows: the share of rows predicted class 0
    ({"metrics": {"out_cat": ["categorical_accuracy"]}},
     r"metric 'categorical_accuracy' of the output 'out_cat' compares targets with outputs "
     r"of the same shape, but the loss 'sparse_categorical_crossentropy' trains on class "
     r"indices. Measure 'sparse_categorical_accuracy', which reads them, or train on one-hot "
     r"rows: loss='categorical_crossentropy' \(your target encoder then giving it one-hot "
     r"rows\)\.$"),
    # one unit's argmax, always 0 (a list per output, as Keras reads it)
    ({"metrics": [["top_k_categorical_accuracy"], []]},
     r"metric 'top_k_categorical_accuracy' of the output 'out_bin' reads one class per row"),
    ({"metrics": [[], []], "weighted_metrics": {"out_cat": [keras.metrics.AUC()]}},
     r"metric 'AUC' of the output 'out_cat' compares targets"),
])
def test_metrics_of_each_output_must_read_its_targets(compile_kwargs, message):
    # found in review: the refusal of a one-output network's metric that
    # cannot read the targets its loss trains on was not made per output, and
    # categorical_accuracy of an output trained on class indices logged a
    # wrong value silently; as compiled by the estimator and by a builder
    def compiled(meta):
        model = two_headed(meta)
        model.compile(optimizer="adam", loss=LOSSES, **compile_kwargs)
        return model

    routed = {f"compile__{key}": value for key, value in compile_kwargs.items()}
    for clf in (TwoHeadClassifier(two_headed, loss=LOSSES, epochs=1, **routed),
                TwoHeadClassifier(compiled, epochs=1)):
        with pytest.raises(ValueError, match=message):
            clf.fit(X, Y)
        assert not hasattr(clf, "model_")


def test_metrics_reading_each_outputs_targets_train():
    metrics = {"out_bin": ["accuracy", "auc"], "out_cat": ["sparse_categorical_accuracy"]}
    clf = TwoHeadClassifier(two_headed, loss=LOSSES, compile__metrics=metrics, epochs=2,
                            random_state=0).fit(X, Y)
    assert {"out_bin_accuracy", "out_bin_auc", "out_cat_sparse_categorical_accuracy"} <= (
        clf.history_.keys())
    # the compiled metric reads the class indices: it is the predictions' accuracy
    targets = clf.target_encoder_.transform(Y)
    logged = clf.model_.evaluate(X, targets, verbose=0, return_dict=True)
    predicted = clf.model_.predict(X, verbose=0)
    np.testing.assert_allclose(logged["out_cat_sparse_categorical_accuracy"],
                               np.mean(predicted[1].argmax(axis=1) == targets[1]), atol=1e-6)
    np.testing.assert_allclose(logged["out_bin_accuracy"],
                               np.mean((predicted[0][:, 0] > 0.5) == targets[0]), atol=1e-6)


class Slices(BaseEstimator, TransformerMixin):
    """y's columns in slices, one target per output (2-D), or y whole for one."""

    def __init__(self, bounds=((0, 1), (1, 2))):
        self.bounds = bounds

    def fit(self, y):
        return self

    def transform(self, y):
        parts = [y[:, a:b] for a, b in self.bounds]
        return parts if len(parts) > 1 else parts[0]

    def inverse_transform(self, y):
        return np.column_stack(y if isinstance(y, list) else [y])


def heads(units, activation=None):
    def network(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        return keras.Model(inputs, [keras.layers.Dense(n, activation=activation, name=f"o{i}")(
            inputs) for i, n in enumerate(units)])

    return network


@pytest.mark.parametrize("bounds, units, loss, message", [
    # one column for an output of 3 units: every unit trained towards it, silently
    (((0, 1), (1, 2)), (1, 3), "mse", r"gives the output 'o1' targets of shape \(1,\) per "
     r"sample, but its loss 'mse' takes targets of the output's shape, \(3,\)"),
    (((0, 3),), (2,), "mae", r"output 'o0' targets of shape \(3,\)"),
    # one-hot rows under a loss taking class indices
    (((0, 1), (1, 4)), (1, 3), ["mse", keras.losses.SparseCategoricalCrossentropy(
        from_logits=True)],
     r"output 'o1' targets of shape \(3,\) per sample, but its loss "
     r"SparseCategoricalCrossentropy takes class indices \(shape \(\) per sample"),
])
def test_targets_of_a_users_encoder_must_fit_their_outputs(bounds, units, loss, message):
    class Sliced(KerasRegressor):
        @property
        def target_encoder(self):
            return Slices(bounds)

    Y4 = np.c_[X[:, :2], X[:, 1:3]]
    reg = Sliced(heads(units), loss=loss, epochs=1)
    with pytest.raises(ValueError, match=message):
        reg.fit(X, Y4)
    assert not hasattr(reg, "model_")


def test_targets_of_their_outputs_shape_train():
    class Sliced(KerasRegressor):
        @property
        def target_encoder(self):
            return Slices(((0, 1), (1, 4), (4, 5)))

    # a column for one unit, 3 columns for 3 units, class indices for a softmax
    Y5 = np.c_[X[:, :4], rng.integers(0, 3, len(X))]
    reg = Sliced(heads((1, 3, 3)), loss=["mse", "mae", keras.losses.SparseCategoricalCrossentropy(
        from_logits=True)], epochs=1).fit(X, Y5)
    assert {"o0_loss", "o1_loss", "o2_loss"} <= reg.history_.keys()


class OneHotsItsTargets(keras.Model):
    """Computes Keras' loss on class indices it makes one-hot itself."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        y = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y, (-1,)), "int32"), 3)
        return super().compute_loss(x, y, y_pred, sample_weight, training)


def test_a_model_computing_its_own_loss_takes_the_targets_it_reads():
    # found in review: the targets of a model computing its own loss were held
    # against the shape of its compiled loss's (one-hot rows), and refused
    class AsGiven(KerasRegressor):
        @property
        def target_encoder(self):
            return Slices(((0, 1),))

    def network(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        return OneHotsItsTargets(inputs, keras.layers.Dense(3, activation="softmax")(inputs))

    classes = (np.arange(len(X)) % 3).reshape(-1, 1).astype(float)
    reg = AsGiven(network, loss="categorical_crossentropy", epochs=2, random_state=0)
    assert np.isfinite(reg.fit(X, classes).history_["loss"]).all()


def reshaping(shape):
    """A regressor whose target encoder of the user's gives each row of y as
    ``shape`` (labels or values per pixel; y as a list too), and flattens
    outputs back."""
    class Reshaped(KerasRegressor):
        @property
        def target_encoder(self):
            return FunctionTransformer(lambda y: np.reshape(y, (-1, *shape)),
                                       lambda y: y.reshape(len(y), -1))

    return Reshaped


def assert_trained_as_keras(fitted, plain, X, y, weights, axes, **fit_kwargs):
    """``fitted``'s network holds what Keras' fit of ``plain`` (compiled, with
    the same initial weights) on the same batches leaves, the weights scaled to
    a mean of 1 as keraslearn scales them and shaped for the loss's ``axes``."""
    plain.fit(X, y, shuffle=False, verbose=0, **fit_kwargs, sample_weight=None if (
        weights is None) else (weights / weights.mean()).reshape(-1, *[1] * axes))
    for mine, theirs in zip(fitted.model_.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(mine, theirs, atol=1e-6)


@pytest.mark.parametrize("activation, compile_kwargs, message", [
    # found in an audit: a network of one output trained through a target
    # encoder of the user's had neither its output nor its metrics checked (a
    # segmentation head of logits under a loss taking probabilities trained
    # silently; categorical_accuracy of class indices per pixel failed in
    # TensorFlow's graph), where the same output among several was refused
    (None, {}, r"output 'mask' has activation='linear', whose outputs are not probabilities"),
    ("softmax", {"metrics": ["categorical_accuracy"]},
     r"metric 'categorical_accuracy' of the output 'mask' compares targets with outputs of "
     r"the same shape, but the loss 'sparse_categorical_crossentropy' trains on class indices"),
    ("softmax", {"metrics": ["sparse_categorical_accuracy"]}, None),
])
def test_one_output_of_a_users_encoder_is_checked_as_each_of_several(activation, compile_kwargs,
                                                                      message):
    def network(meta):
        inputs = keras.Input((6, 6, 1))
        return keras.Model(inputs, keras.layers.Conv2D(3, 1, activation=activation,
                                                       name="mask")(inputs))

    images = rng.normal(size=(30, 6, 6, 1)).astype("float32")
    masks = np.digitize(images[..., 0], [-0.5, 0.5]).reshape(30, -1)
    reg = reshaping((6, 6))(network, loss="sparse_categorical_crossentropy", epochs=1,
                            **{f"compile__{key}": value for key, value in compile_kwargs.items()})
    if message is None:
        assert "sparse_categorical_accuracy" in reg.fit(images, masks).history_
        return
    with pytest.raises(ValueError, match=message):
        reg.fit(images, masks)
    assert not hasattr(reg, "model_")


class PixelLabels(BaseEstimator, TransformerMixin):
    """Labels per pixel of 4 x 4 images, y flattened to (n, 16)."""

    def fit(self, y):
        self.classes_ = np.array([0, 1])
        return self

    def transform(self, y):
        return np.asarray(y).reshape(-1, 4, 4)

    def inverse_transform(self, y, return_proba=False):
        y = np.asarray(y)
        return y.reshape(len(y), -1) if return_proba else y.argmax(-1).reshape(len(y), -1)


@pytest.mark.parametrize("class_weight", ["balanced", [{0: 1.0, 1: 3.0}] * 16])
def test_class_weight_over_labels_per_pixel_is_refused(class_weight):
    # found in an audit: weights per column of y multiplied per sample (as
    # scikit-learn's compute_sample_weight does for several outputs) over 256
    # pixels' labels made per-image weights from 1e-20 to 49, silently
    class Segmenter(KerasClassifier):
        @property
        def target_encoder(self):
            return PixelLabels()

    def network(meta=None):
        inputs = keras.Input((4, 4, 1))
        return keras.Model(inputs, keras.layers.Conv2D(2, 1, activation="softmax")(inputs))

    images = rng.normal(size=(20, 4, 4, 1)).astype("float32")
    labels = (images[..., 0] > 0.5).astype(int).reshape(20, -1)
    clf = Segmenter(network, loss="sparse_categorical_crossentropy", epochs=1,
                    class_weight=class_weight)
    # (a subclassed network too, whose outputs are read from a call: found in review)
    for refused in (clf, clone(clf).set_params(model=lambda: PixelClasses())):
        with pytest.raises(ValueError, match=r"the 16 columns of y .* but the target encoder "
                                             r"makes the model's 1 output\(s\) of them"):
            refused.fit(images, labels)
        assert not hasattr(refused, "model_")
    weights = np.where(labels.mean(axis=1) > 0.2, 3.0, 1.0)  # (what it advises)
    assert clf.set_params(class_weight=None).fit(images, labels, sample_weight=weights).model_
    # (found in review: labels of one output of a unit each, multilabel, keep
    # their weights per column, as keraslearn's own encoder gives them)

    class Labels(KerasClassifier):
        @property
        def target_encoder(self):
            return FunctionTransformer(lambda y: y.astype("float32"), lambda y: y)

    def sigmoids(meta):
        inputs = keras.Input((4,))
        return keras.Model(inputs, keras.layers.Dense(3, activation="sigmoid")(inputs))

    multilabel = (X[:, :3] > 0).astype(int)
    assert Labels(sigmoids, loss="binary_crossentropy", epochs=1, class_weight=class_weight if (
        class_weight == "balanced") else [{0: 1.0, 1: 3.0}] * 3).fit(X, multilabel).model_
    # (several columns for as many outputs keep their weights per column)
    two = TwoHeadClassifier(two_headed, loss=LOSSES, epochs=1, class_weight="balanced").fit(X, Y)
    assert {"out_bin_loss", "out_cat_loss"} <= two.history_.keys()


def pixel_mse(y_true, y_pred):
    return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


class PixelMSE:
    """A loss of the user's as a class (not Keras'), which Keras' compile makes."""

    def __call__(self, y_true, y_pred):
        return pixel_mse(y_true, y_pred)


class PixelNet(keras.Model):
    """A subclassed network of one value per pixel."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(
            1, 3, padding="same", kernel_initializer=keras.initializers.GlorotUniform(seed=1))

    def call(self, inputs):
        return self.conv(inputs)


class PixelClasses(keras.Model):
    """A subclassed network of two classes' probabilities per pixel."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(2, 1, activation="softmax")

    def call(self, inputs):
        return self.conv(inputs)


def test_a_subclassed_network_of_values_per_pixel_trains_as_keras_trains_it():
    # found in review: without output tensors to read, its weights per sample
    # were shaped for no axis of the loss's (n, 6, 6) values, and its fit
    # failed inside TensorFlow, weights given or not
    images = rng.normal(size=(24, 6, 6, 1)).astype("float32")
    weights = np.r_[np.full(12, 3.0), np.full(12, 0.5)]
    ours = reshaping((6, 6, 1))(lambda: PixelNet(), loss="mse", optimizer="adam", batch_size=8,
                                shuffle=False, epochs=1).fit(
        images, images.reshape(24, -1) ** 2, sample_weight=weights)
    plain = PixelNet()
    plain.compile(optimizer="adam", loss="mse")
    assert_trained_as_keras(ours, plain, images, images ** 2, weights, 2, batch_size=8)


def test_a_loss_class_a_builder_compiles_is_measured_as_keras_makes_it():
    # found in review: a callable class compiled uncalled was not measured, its
    # weights shaped for one axis against values of (n, 6, 6): Keras failed
    def network(meta=None):
        inputs = keras.Input((6, 6, 1))
        model = keras.Model(inputs, keras.layers.Conv2D(
            1, 3, padding="same", kernel_initializer=keras.initializers.GlorotUniform(seed=1))(
                inputs))
        model.compile(optimizer="adam", loss=PixelMSE)
        return model

    images = rng.normal(size=(24, 6, 6, 1)).astype("float32")
    weights = np.r_[np.full(12, 3.0), np.full(12, 0.5)]
    ours = reshaping((6, 6, 1))(network, batch_size=8, shuffle=False, epochs=1).fit(
        images, images.reshape(24, -1) ** 2, sample_weight=weights)
    assert_trained_as_keras(ours, network(), images, images ** 2, weights, 2, batch_size=8)


@pytest.mark.parametrize("loss, units, shape, kept", [
    # found in review: a segmentation head's class indices per pixel, (n, 6, 6)
    # under sparse_categorical_crossentropy, failed inside TensorFlow against
    # the per-sample weights of shape (n, 1) ("crossentropy": Keras picks it)
    ("sparse_categorical_crossentropy", 2, (6, 6), 2),
    ("crossentropy", 2, (6, 6), 2),
    # (found in review of that mend: a loss of one value a sample, as Dice over
    # the image's axes, had its weights broadcast to (n, 1, n): each batch's mean)
    (keras.losses.Dice(axis=(1, 2, 3)), 1, (6, 6, 1), 0),
    ("mse", 1, (6, 6, 1), 2),
    # (found in review of that mend: a function of the user's on float64 targets,
    # and Keras' pick of 'crossentropy' for indices of shape (h, w, 1), failed
    # to be measured, their weights then shaped for one axis)
    (pixel_mse, 1, (6, 6, 1), 2),
    ("crossentropy", 2, (6, 6, 1), 2),
    (keras.losses.MeanSquaredError, 1, (6, 6, 1), 2),
])
def test_losses_per_pixel_train_as_keras_trains_them(loss, units, shape, kept):
    images = rng.normal(size=(40, 6, 6, 1)).astype("float32")
    masks = (images[..., 0] > 0).astype("float32").reshape(-1, *shape)

    def network(meta=None):
        inputs = keras.Input((6, 6, 1))
        return keras.Model(inputs, keras.layers.Conv2D(
            units, 3, padding="same", activation="softmax" if units > 1 else "sigmoid",
            kernel_initializer=keras.initializers.GlorotUniform(seed=1))(inputs))

    # weights per sample reach each of its pixels' losses (scaled to a mean of 1)
    for weights in (None, np.r_[np.full(20, 3.0), np.full(20, 0.5)]):
        ours = reshaping(shape)(network, loss=loss, optimizer="adam", batch_size=16,
                                shuffle=False, epochs=2).fit(
            images, masks.reshape(40, -1).astype("float64"), sample_weight=weights)
        plain = network()
        plain.compile(optimizer="adam", loss=loss() if isinstance(loss, type) else loss)
        assert_trained_as_keras(ours, plain, images, masks, weights, kept, batch_size=16,
                                epochs=2)


def test_targets_by_name_must_name_the_outputs():
    # found in an audit: an encoder giving targets by names the outputs lack
    # failed inside Keras ("Expected float32, but got a of type 'str'")
    class Named(KerasRegressor):
        @property
        def target_encoder(self):
            return ColumnTargets("ab")

    def build(names):
        def network(meta):
            inputs = keras.Input((X.shape[1],))
            return keras.Model(inputs, [keras.layers.Dense(1, name=n)(inputs) for n in names])

        return network

    Y2 = np.c_[X[:, 0], X[:, 1]]
    reg = Named(build("xy"), loss="mse", epochs=1)
    with pytest.raises(ValueError, match=r"targets named \['a', 'b'\], but the model's outputs "
                                         r"are named \['x', 'y'\]"):
        reg.fit(X, Y2)
    assert not hasattr(reg, "model_")
    assert {"a_loss", "b_loss"} <= Named(build("ba"), loss="mse", epochs=1).fit(
        X, Y2).history_.keys()

    # outputs given as a dict are named by its keys (found in review: refused by
    # their layers' names, which Keras gives output_names)
    def by_keys(meta):
        inputs = keras.Input((X.shape[1],))
        return keras.Model(inputs, {key: keras.layers.Dense(1, name=f"layer_{key}")(inputs)
                                    for key in "ab"})

    assert {"a_loss", "b_loss"} <= Named(by_keys, loss="mse", epochs=1).fit(
        X, Y2).history_.keys()


def test_outputs_given_as_a_dict_are_named_by_its_keys():
    # found in review: losses and targets keyed as Keras keys a dict of outputs
    # (not by their layers' names, which Keras gives output_names) were refused,
    # or checked against the wrong output
    class Named(KerasRegressor):
        @property
        def target_encoder(self):
            return ColumnTargets("ab")

    Y2 = np.c_[X[:, 0] > 0, X[:, 1]].astype("float32")

    def swapped(meta):  # "a" is the sigmoid of layer "b", and "b" the linear "a"
        inputs = keras.Input((X.shape[1],))
        return keras.Model(inputs, {
            "a": keras.layers.Dense(1, activation="sigmoid", name="b")(inputs),
            "b": keras.layers.Dense(1, name="a")(inputs)})

    fitted = Named(swapped, loss={"a": "binary_crossentropy", "b": "mse"}, epochs=1).fit(X, Y2)
    assert {"a_loss", "b_loss"} <= fitted.history_.keys()

    def twice(meta):  # one tensor, two outputs
        inputs = keras.Input((X.shape[1],))
        out = keras.layers.Dense(1)(inputs)
        return keras.Model(inputs, {"a": out, "b": out})

    def by_numbers(meta):  # keys Keras takes as they are (found in review: refused as text)
        inputs = keras.Input((X.shape[1],))
        return keras.Model(inputs, {i: keras.layers.Dense(1)(inputs) for i in range(2)})

    class Numbered(KerasRegressor):
        @property
        def target_encoder(self):
            return ColumnTargets()

    Numbered(by_numbers, loss={0: "mse", 1: "mae"}, epochs=1).fit(X, Y2)
    # (metrics by shorthand named in full, as for outputs given in a list)
    assert {"a_loss", "b_loss", "b_mean_absolute_error"} <= Named(
        twice, loss="mse", metrics={"b": ["mae"]}, epochs=1).fit(X, Y2).history_.keys()

    def compiled(meta):
        model = swapped(meta)
        model.compile(optimizer="adam", loss={"a": "binary_crossentropy", "b": "mse"})
        return model

    for given, message in [(["binary_crossentropy"], "a list of 1 losses, one per output"),
                           ({"x": "mse"}, r"keys \['x'\] that name no output")]:
        with pytest.raises(ValueError, match=message):
            Named(compiled, loss=given, epochs=1).fit(X, Y2)


def test_partial_fit_classes_need_keraslearn_s_encoder_on_every_call():
    # A later call given classes failed with an AttributeError of None (the
    # estimator's classes_, which a target_encoder of the user's own leaves None).
    clf = TwoHeadClassifier(two_headed, loss=["binary_crossentropy",
                                              "sparse_categorical_crossentropy"], epochs=1,
                            random_state=0)
    message = r"partial_fit\(classes=...\) needs keraslearn's target encoder"
    with pytest.raises(ValueError, match=message):
        clf.partial_fit(X, Y, classes=[0, 1, 2])
    clf.partial_fit(X, Y)
    weights = [w.copy() for w in clf.model_.get_weights()]
    with pytest.raises(ValueError, match=message):
        clf.partial_fit(X, Y, classes=[0, 1, 2])
    for before, after in zip(weights, clf.model_.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_losses_and_metrics_per_output_take_routed_parameters():
    clf = TwoHeadClassifier(
        two_headed, optimizer="adam", epochs=2, random_state=0,
        loss={"out_bin": keras.losses.BinaryCrossentropy,
              "out_cat": keras.losses.SparseCategoricalCrossentropy},
        loss__out_bin__label_smoothing=0.1,
        metrics={"out_bin": [keras.metrics.BinaryAccuracy], "out_cat": ["accuracy"]},
        metrics__out_bin__0__threshold=0.7,
        compile__loss_weights={"out_bin": 1.0, "out_cat": 0.5},
    ).fit(X, Y)
    losses = clf.model_.loss
    assert losses["out_bin"].label_smoothing == pytest.approx(0.1)
    assert "out_bin_binary_accuracy" in clf.history_


def test_a_model_with_fewer_outputs_than_the_encoder_expects_is_a_clear_error():
    def one_head(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))

    clf = TwoHeadClassifier(one_head, loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"produces 2 target\(s\).*model has 1 output"):
        clf.fit(X, Y)
    assert not hasattr(clf, "model_")


class TwoInputRegressor(KerasRegressor):
    @property
    def feature_encoder(self):
        return FunctionTransformer(func=lambda X: [X[:, :1], X[:, 1:2]])


def two_inputs():
    first, second = keras.Input((1,)), keras.Input((1,))
    hidden = keras.layers.Concatenate()([keras.layers.Dense(16, activation="relu")(first),
                                         keras.layers.Dense(16, activation="relu")(second)])
    return keras.Model([first, second], keras.layers.Dense(1)(hidden))


def test_a_model_with_two_inputs_gets_them_from_the_feature_encoder():
    Xr = rng.uniform(size=(300, 2))
    yr = Xr.sum(axis=1)
    reg = TwoInputRegressor(two_inputs, loss="mse", optimizer="adam",
                            optimizer__learning_rate=0.02, epochs=40, random_state=0)
    reg.fit(Xr, yr)
    assert isinstance(reg.feature_encoder_, FunctionTransformer)
    assert reg.score(Xr, yr) > 0.9
    np.testing.assert_allclose(
        reg.predict(Xr[:5]),
        reg.model_([Xr[:5, :1].astype("float32"), Xr[:5, 1:2].astype("float32")]).numpy()[:, 0],
        rtol=1e-5,
    )


def encoding(base, encoder):
    """A subclass of ``base`` whose feature encoder is a copy of ``encoder`` (a
    function: a FunctionTransformer of it)."""
    class Encoded(base):
        @property
        def feature_encoder(self):
            return clone(encoder) if hasattr(encoder, "fit") else FunctionTransformer(encoder)

    return Encoded


class TwoInputNet(keras.Model):
    """A subclassed network of two inputs (a tuple, as Keras hands a list over,
    a dict by name, or one array's first column and the rest), with no input
    shape until it is called."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.left, self.right, self.out = (
            keras.layers.Dense(units, kernel_initializer=keras.initializers.GlorotUniform(seed))
            for seed, units in enumerate((3, 3, 1)))

    def call(self, inputs):
        left, right = (inputs["left"], inputs["right"]) if isinstance(inputs, dict) else (
            inputs if isinstance(inputs, tuple) else (inputs[:, :1], inputs[:, 1:]))
        return self.out(keras.ops.concatenate([self.left(left), self.right(right)], axis=-1))


@pytest.mark.parametrize("encode", [
    lambda X: [X[:, :1], X[:, 1:3]],
    lambda X: (X[:, :1], X[:, 1:3]),
    lambda X: {"left": X[:, :1], "right": X[:, 1:3]},
    lambda X: X[:, :3],
    lambda X: keras.ops.convert_to_tensor(X[:, :3], "float32"),
])
def test_a_subclassed_network_is_called_on_what_the_feature_encoder_makes(encode):
    # found: a subclassed network behind a feature encoder was called, to read
    # its output, on a sample of X's shape: Keras refused one array for two
    # inputs, and a network called on 4 columns then trained on 3 failed (and,
    # found in review, a tensor's dtype failed, and a list was not a tuple)
    yr = X[:, 0] - X[:, 2]
    ours = encoding(KerasRegressor, encode)(lambda: TwoInputNet(), loss="mse", optimizer="adam",
                                            batch_size=50, shuffle=False, epochs=2).fit(X, yr)
    plain = TwoInputNet()
    plain.compile(optimizer="adam", loss="mse")
    assert_trained_as_keras(ours, plain, encode(X), yr, None, 0, batch_size=50, epochs=2)


def named_inputs(meta):
    left, right = keras.Input((1,), name="left"), keras.Input((2,), name="right")
    joined = keras.layers.Concatenate()([left, right])
    return keras.Model({"left": left, "right": right},
                       keras.layers.Dense(1, activation="sigmoid")(joined))


def listed_inputs(meta):
    left, right = keras.Input((1,), name="left"), keras.Input((2,), name="right")
    joined = keras.layers.Concatenate()([left, right])
    return keras.Model([left, right], keras.layers.Dense(1, activation="sigmoid")(joined))


@pytest.mark.parametrize("encoder, builder, message", [
    # a network sized by meta['n_features_in_'] (X as given) behind an encoder
    # making 2 columns of X's 4 failed inside Keras' training
    (PCA(2), tiny_mlp, r"X as the feature encoder makes it has 2 features, but the model's "
                       r"input takes 4 features. Size the model's input to the feature "
                       r"encoder's output"),
    (FunctionTransformer(lambda X: {"left": X[:, :1]}), named_inputs,
     r"X as the feature encoder makes it has the inputs \['left'\], but the model takes "
     r"\['left', 'right'\]: \['right'\] missing. Make the feature encoder give arrays by "
     r"those names\.$"),
    (FunctionTransformer(lambda X: X[:, :3]), named_inputs,
     r"X as the feature encoder makes it is one array, but the model takes 2 inputs, "
     r"\['left', 'right'\]: make the feature encoder give a list of arrays in that order, or "
     r"a dict by those names."),
    # an extra array: Keras warns, and matches the arrays to the inputs by
    # position in the keys' order, "id" to "left" and "left" to "right" here
    (FunctionTransformer(lambda X: {"left": X[:, :1], "right": X[:, 1:3], "id": X[:, 3:]}),
     named_inputs, r"has the inputs \['left', 'right', 'id'\], but the model takes \['left', "
                   r"'right'\]: \['id'\] not taken. Make the feature encoder give arrays by "
                   r"those names only \(Keras would match the arrays to the inputs by "
                   r"position\)"),
    # ... which a network of a list of named inputs matches by name (found in review)
    (FunctionTransformer(lambda X: {"left": X[:, :1], "id": X[:, 3:]}), listed_inputs,
     r"\['right'\] missing, \['id'\] not taken. Make the feature encoder give arrays by those "
     r"names\.$"),
])
def test_a_network_not_taking_the_encoded_samples_is_told_so(encoder, builder, message):
    clf = encoding(KerasClassifier, encoder)(builder, loss="binary_crossentropy", epochs=1)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, Y[:, 0])
    assert not hasattr(clf, "model_")


def test_an_encoders_extra_array_reaches_a_network_matching_inputs_by_name():
    # found in review: refused as for a network built on a dict, where Keras
    # matches a list of named inputs by name, dropping the extra one
    def encode(X):
        return {"left": X[:, :1], "right": X[:, 1:3], "id": X[:, 3:]}

    clf = encoding(KerasClassifier, encode)(listed_inputs, loss="binary_crossentropy",
                                            epochs=1).fit(X, Y[:, 0])
    proba = clf.predict_proba(X[:5])[:, 1]
    expected = clf.model_([X[:5, :1], X[:5, 1:3]], training=False)
    np.testing.assert_allclose(proba, np.ravel(expected), rtol=1e-5)


@pytest.mark.parametrize("encode, holds", [
    (lambda X: X.tolist(), "a list"),
    (lambda X: list(X), r"an array of shape \(4,\)"),
    (lambda X: [X[:, 0], X[:3, 1:]], r"an array of shape \(3, 3\)"),
    (lambda X: [row.sum() for row in X], r"an array of shape \(\)"),
])
def test_a_feature_encoders_list_of_rows_is_told_apart_from_inputs(encode, holds):
    # found in review: X.tolist() failed with "'float' object has no attribute
    # 'shape'", list(X) with Keras' "Dimensions 4 and 200 are not compatible"
    clf = encoding(KerasClassifier, encode)(tiny_mlp, loss="binary_crossentropy", epochs=1)
    with pytest.raises(ValueError, match=rf"X as the feature encoder makes it holds {holds} "
                       r"where arrays of 200 rows are needed \(a list or tuple holds one array "
                       r"per network input, as in Keras\): make it give arrays of one row a "
                       r"sample \(np.asarray\(rows\) for a list of rows\)"):
        clf.fit(X, Y[:, 0])
    assert not hasattr(clf, "model_")


def test_a_continued_fit_behind_a_feature_encoder_takes_batches_of_any_size():
    # found in review: the encoder's rows were compared with the first fit's X
    clf = encoding(KerasClassifier, StandardScaler())(tiny_mlp, loss="binary_crossentropy",
                                                      epochs=1, random_state=0)
    clf.partial_fit(X[:40], Y[:40, 0]).partial_fit(X[40:60], Y[40:60, 0])
    clf.set_params(warm_start=True).fit(X[:150], Y[:150, 0])
    assert len(clf.history_["loss"]) == 3


@pytest.mark.parametrize("empty", [[], {}])
def test_a_feature_encoder_giving_nothing_is_told_so(empty):
    clf = encoding(KerasClassifier, lambda X: empty)(tiny_mlp, loss="binary_crossentropy")
    with pytest.raises(ValueError, match=rf"X as the feature encoder makes it is an empty "
                       rf"{type(empty).__name__}: it gives the network no input."):
        clf.fit(X, Y[:, 0])


def test_validation_targets_of_a_users_encoder_may_be_a_list():
    # found in review: their rows were counted as a structure's ("'float'
    # object has no attribute 'shape'"), though fit's y may be a list
    yr = X[:, 0] * 3
    reg = reshaping((1,))(one_dense, loss="mse", epochs=2, random_state=0)
    for given in (list, tuple, lambda y: y.reshape(-1, 1).tolist(), lambda y: list(y[:, None])):
        reg.fit(X[:150], yr[:150], validation_data=(X[150:], given(yr[150:])))
        assert len(reg.history_["val_loss"]) == 2
    with pytest.raises(ValueError, match="X has 50 samples but y has 49"):
        reg.fit(X[:150], yr[:150], validation_data=(X[150:], list(yr[151:])))


@pytest.mark.parametrize("encode, made", [
    (lambda X: {"left": X[:, :1], "right": X[:, 1:]}, "a dict of arrays"),
    (lambda X: X[:, 0], r"an array of shape \(200,\)"),
])
def test_a_ready_mlp_takes_one_array_from_a_feature_encoder(encode, made):
    # found in review: Keras' "Cannot convert ... to a shape"
    clf = encoding(MLPClassifier, encode)(hidden_layer_sizes=(3,), max_iter=1)
    with pytest.raises(ValueError, match=rf"Encoded builds a network of one input, but its "
                       rf"feature encoder made {made}: make it give one array of shape "):
        clf.fit(X, Y[:, 0])
    assert not hasattr(clf, "model_")


def test_a_ready_mlp_behind_a_feature_encoder_is_built_for_its_output():
    # found: MLPClassifier's network was built for X's 4 columns whatever the
    # encoder made of them (a PCA's 2: a Keras error in training)
    labels = Y[:, 0]
    ours = encoding(MLPClassifier, PCA(2, random_state=0))(hidden_layer_sizes=(5,), max_iter=3,
                                                           random_state=0).fit(X, labels)
    reduced = PCA(2, random_state=0).fit_transform(X)
    theirs = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(
        reduced, labels)
    assert ours.model_.input_shape == (None, 2) and ours.n_features_in_ == 4
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(reduced), atol=1e-6)
    ours.set_params(warm_start=True).fit(X, labels)  # continued, as its network was built
    theirs.set_params(warm_start=True).fit(reduced, labels)
    np.testing.assert_allclose(ours.predict_proba(X[:1]), theirs.predict_proba(reduced[:1]),
                               atol=1e-6)


def beyond_10(made):
    """An encoder leaving values up to 10 as they are and making ``made`` of larger ones."""
    return lambda X: np.where(np.abs(X) > 10, made, X)


@pytest.mark.parametrize("base, made, message", [
    (KerasRegressor, 1e300, "holds values beyond the range of float32, the network's input "
                            r"type \(largest \|x\| = 1e\+300 > 3.4e\+38\): they become infinite "
                            "in the network. Scale them"),
    (MLPRegressor, np.inf, "holds NaN or infinity: the network cannot learn from them or "
                           r"predict with them\."),
])
def test_what_a_feature_encoder_makes_beyond_the_network_s_float_is_told_as_its_own(
        base, made, message):
    # found: told as X's ("X holds values beyond the range of float32 ... Scale X", where X
    # as given holds none), a NaN or infinity the encoder made as scikit-learn's check
    # being off (assume_finite) though it was on
    ours = r"X as the feature encoder makes it " + message
    params = ({"model": one_dense, "loss": "mse", "epochs": 1} if base is KerasRegressor
              else {"hidden_layer_sizes": (3,), "max_iter": 1})
    reg = encoding(base, beyond_10(made))(**params, random_state=0)
    far = X.copy()
    far[3, 1] = 100.0
    with pytest.raises(ValueError, match=rf"^The training loss became .*: {ours}.* Encoded "
                                         "was left as it was before this fit"):
        reg.fit(far, X[:, 0])
    assert not hasattr(reg, "model_")
    reg.fit(X, X[:, 0])
    with pytest.raises(ValueError, match=rf"^{ours}"):
        reg.predict(far)
    if base is KerasRegressor:
        with pytest.raises(ValueError, match=rf"^X_val, y_val: {ours}"):
            reg.fit(X, X[:, 0], X_val=far, y_val=X[:, 0])
    else:  # the rows held out for early stopping
        with pytest.raises(ValueError, match=rf"^The rows held out for early stopping: {ours}"):
            far[::2, 1] = 100.0  # (held-out rows are checked before training)
            reg.set_params(early_stopping=True).fit(far, X[:, 0])


def test_non_finite_x_unchecked_is_told_so_behind_a_feature_encoder():
    # found in review: with scikit-learn's check off, X's own NaN passed on by the
    # encoder was told as the encoder's, without the setting that let it through
    reg = encoding(MLPRegressor, lambda X: X * 1.0)(hidden_layer_sizes=(3,), max_iter=1,
                                                   random_state=0).fit(X, X[:, 0])
    odd = X.copy()
    odd[2, 2] = np.nan
    with sklearn.config_context(assume_finite=True), pytest.raises(
            ValueError, match=r"^X as the feature encoder makes it holds NaN or infinity: the "
                              r"network .* \(made by the feature encoder, or X's passed on: "
                              r".* is off: sklearn.set_config\(assume_finite=True\)\)"):
        reg.predict(odd)


def test_feature_encoder_metadata_and_scaling():
    class Scaled(KerasRegressor):
        @property
        def feature_encoder(self):
            return StandardScaler()

    reg = Scaled(lambda meta: keras.Sequential([
        keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1)]),
        loss="mse", epochs=1, random_state=0).fit(X * 100, X[:, 0])
    np.testing.assert_allclose(reg.feature_encoder_.mean_, (X * 100).mean(axis=0))


def test_an_encoder_s_metadata_may_not_redescribe_x():
    # Found in an audit: a feature encoder (PCA to 2) telling the builder its width
    # as n_features_in_ overwrote the estimator's own: the fit passed, then every
    # predict of the 4 features it took was refused as "expecting 2".
    from sklearn.decomposition import PCA

    class Reduced(PCA):
        def get_metadata(self):
            return {"n_features_in_": self.n_components_, "X_shape_": (None, 2)}

    class Reducing(KerasRegressor):
        @property
        def feature_encoder(self):
            return Reduced(2)

    reg = Reducing(lambda meta: keras.Sequential([
        keras.Input((2,)), keras.layers.Dense(1)]), loss="mse", epochs=1)
    with pytest.raises(ValueError, match=r"The feature encoder Reduced's get_metadata\(\) "
                       r"gives \['n_features_in_', 'X_shape_'\], which describe X"):
        reg.fit(X, X[:, 0])
    assert not hasattr(reg, "model_") and not hasattr(reg, "n_features_in_")

    # Metadata agreeing with X is taken (found in review: refused on the key alone).
    class Told(StandardScaler):
        def get_metadata(self):
            return {"n_features_in_": self.n_features_in_, "scale_": self.scale_}

    class Telling(KerasRegressor):
        @property
        def feature_encoder(self):
            return Told()

    told = Telling(lambda meta: keras.Sequential([
        keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1)]), loss="mse", epochs=1)
    assert told.fit(X, X[:, 0]).predict(X).shape == (len(X),)
    np.testing.assert_allclose(told.scale_, X.std(axis=0))


def test_score_routed_parameters_reach_the_scorer():
    seen = {}

    class Recording(KerasRegressor):
        @staticmethod
        def scorer(y_true, y_pred, **kwargs):
            seen.update(kwargs)
            return 0.0

    def linear(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1)])

    reg = Recording(linear, loss="mse", score__multioutput="raw_values", epochs=1).fit(X, X[:, 0])
    reg.score(X, X[:, 0], sample_weight=np.ones(len(X)))
    assert seen["multioutput"] == "raw_values" and len(seen["sample_weight"]) == len(X)
    # Without weights a scorer taking them gets sample_weight=None, as scikeras passes it
    # (GridSearchCV calls score(X, y)); one that does not take them is not given it.
    seen.clear()
    reg.score(X, X[:, 0])
    assert seen == {"multioutput": "raw_values", "sample_weight": None}

    class Required(KerasRegressor):
        @staticmethod
        def scorer(y_true, y_pred, sample_weight):
            return float(np.average(y_true == y_true, weights=sample_weight))

    class Unweighted(KerasRegressor):
        @staticmethod
        def scorer(y_true, y_pred):
            return 0.5

    assert Required(linear, loss="mse", epochs=1).fit(X, X[:, 0]).score(X, X[:, 0]) == 1.0
    assert Unweighted(linear, loss="mse", epochs=1).fit(X, X[:, 0]).score(X, X[:, 0]) == 0.5


def test_a_feature_encoder_reshapes_flat_rows_into_images():
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import MinMaxScaler

    digits = load_digits()
    flat = MinMaxScaler().fit_transform(digits.data)
    input_shape = (8, 8, 1)

    def get_model(meta):
        model = keras.Sequential([
            keras.Input(input_shape),
            keras.layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return model

    class MultiDimensionalClassifier(KerasClassifier):
        @property
        def feature_encoder(self):
            return FunctionTransformer(func=lambda X: X.reshape(X.shape[0], *input_shape))

    clf = MultiDimensionalClassifier(model=get_model, epochs=8, batch_size=32,
                                     validation_split=0.1, random_state=0)
    clf.fit(flat[:1400], digits.target[:1400])
    assert clf.n_features_in_ == 64
    assert clf.score(flat[1400:], digits.target[1400:]) > 0.8


# ------------------------------------ subclasses of keraslearn's own encoders
def one_dense(meta):
    units = meta["n_classes_"] if meta.get("n_classes_", 2) > 2 else 1
    activation = "softmax" if units > 1 else ("sigmoid" if "classes_" in meta else None)
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(units, activation=activation)])


def test_a_regressor_target_encoder_subclass_trains_and_predicts_through_its_own_methods():
    # Its transform was skipped (the network trained on raw y) while its
    # inverse_transform ran: predictions 1000 times too large, silently.
    from keraslearn.utils.transformers import RegressorTargetEncoder

    class Thousandths(RegressorTargetEncoder):
        def transform(self, y):
            return super().transform(y) / 1000.0

        def inverse_transform(self, y):
            return super().inverse_transform(y) * 1000.0

    class ScaledRegressor(KerasRegressor):
        @property
        def target_encoder(self):
            return Thousandths()

    y = 1000.0 * (X[:, 0] + 0.5 * X[:, 1]) + 5000.0
    reg = ScaledRegressor(one_dense, optimizer="adam", optimizer__learning_rate=0.05, epochs=30,
                          batch_size=32, random_state=0).fit(X, y)
    assert reg.history_["loss"][0] < 100  # trained on y / 1000 (y itself: ~2.6e7)
    np.testing.assert_allclose(reg.predict(X[:20]), y[:20], rtol=0.05)
    assert reg.score(X, y) > 0.99


def test_a_label_encoder_subclass_with_scikeras_fit_signature_is_called_as_scikeras_calls_it():
    from keraslearn.utils.transformers import ClassifierLabelEncoder

    seen = []

    class Recording(ClassifierLabelEncoder):
        def fit(self, y):  # scikeras' signature: no classes argument (it raised TypeError)
            seen.append(len(y))
            return super().fit(y)

    class RecordingClassifier(KerasClassifier):
        @property
        def target_encoder(self):
            return Recording(loss=self.loss)

    y = np.array(["a", "b", "c"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    clf = RecordingClassifier(one_dense, epochs=3, random_state=0).fit(X, y)
    assert seen == [len(y)]
    assert clf.model_.loss == "sparse_categorical_crossentropy"  # the encoder's default loss
    assert clf.predict(X[:5]).tolist() == KerasClassifier(
        one_dense, epochs=3, random_state=0).fit(X, y).predict(X[:5]).tolist()
    assert clf.predict_proba(X[:5]).shape == (5, 3)


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", None])
def test_a_label_encoder_on_its_own_reads_a_score_per_class_for_binary_labels(loss):
    # It flattened (n, 2) scores to 2n labels.
    from keraslearn.utils.transformers import ClassifierLabelEncoder

    encoder = ClassifierLabelEncoder(loss=loss).fit(np.array(["no", "yes", "no"]))
    scores = np.array([[1.0, 0.0], [0.49, 0.51], [0.55, 0.45]])
    assert encoder.inverse_transform(scores).tolist() == ["no", "yes", "no"]
    np.testing.assert_allclose(encoder.inverse_transform(scores, return_proba=True), scores)
    cce = ClassifierLabelEncoder(loss="categorical_crossentropy").fit(np.array([0, 1, 0]))
    assert cce.inverse_transform(np.array([0.2, 0.7])).tolist() == [0, 1]  # one column


@pytest.mark.parametrize("fitted, given", [(np.int64, np.uint64), (np.uint64, np.int64)])
def test_labels_past_2_53_of_another_integer_dtype_keep_their_classes(fitted, given):
    # int64 classes and uint64 labels were compared as floats, where 2**62 + 1
    # is 2**62: every label was encoded as the first class, in silence.
    from keraslearn.utils.transformers import ClassifierLabelEncoder

    classes = np.array([2**62, 2**62 + 1, 2**62 + 2], dtype=fitted)
    labels = np.array([2**62 + 1, 2**62 + 2, 2**62], dtype=given)
    for loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        encoded = ClassifierLabelEncoder(loss=loss).fit(classes).transform(labels)
        codes = encoded if encoded.ndim == 1 else encoded.argmax(axis=1)
        assert codes.tolist() == [1, 2, 0]
    X = np.random.RandomState(0).normal(size=(30, 2))
    y = classes[np.arange(30) % 3]
    fits = [KerasClassifier(tiny_mlp, epochs=1, random_state=0).fit(
        X, y, validation_data=(X, labels_as))
        .partial_fit(X, labels_as)  # (a later batch's labels: the same classes)
        for labels_as in (y, y.astype(given))]
    assert fits[0].history_["val_loss"] == fits[1].history_["val_loss"]
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))


def test_one_hot_targets_of_many_classes_are_made_row_by_row():
    # np.eye(n_classes)[codes] made an n_classes x n_classes matrix first: 1.5 GiB
    # for each partial_fit of 64 rows among 20,000 classes.
    import tracemalloc

    from keraslearn.utils.transformers import ClassifierLabelEncoder

    encoder = ClassifierLabelEncoder(loss="categorical_crossentropy").fit(np.arange(5000))
    tracemalloc.start()
    try:
        rows = encoder.transform(np.array([4999, 0, 17]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rows.shape == (3, 5000) and rows.argmax(axis=1).tolist() == [4999, 0, 17]
    assert rows.sum() == 3 and peak < 5_000_000  # (the identity matrix: 100 MB)
    labels = np.eye(5000, dtype=int)[[3, 4998]]  # (one-hot y, and its inverse)
    onehot = ClassifierLabelEncoder().fit(labels)
    np.testing.assert_array_equal(onehot.inverse_transform(labels.astype("float32")), labels)


def test_a_label_encoder_subclass_takes_partial_fit_classes_as_keraslearns_does():
    # Refused ("a target_encoder of your own must know every class") once its
    # own inverse_transform made it the user's.
    from keraslearn.utils.transformers import ClassifierLabelEncoder

    class Upper(ClassifierLabelEncoder):
        def inverse_transform(self, y, return_proba=False):
            out = super().inverse_transform(y, return_proba=return_proba)
            return out if return_proba else np.char.upper(out.astype(str))

    class UpperClassifier(KerasClassifier):
        @property
        def target_encoder(self):
            return Upper(loss=self.loss)

    y = np.where(X[:, 0] > 0, "a", "b")
    clf = UpperClassifier(one_dense, random_state=0).partial_fit(X, y, classes=["a", "b", "c"])
    assert clf.classes_.tolist() == ["a", "b", "c"]
    clf.partial_fit(X[:5], np.full(5, "c"))  # a class the first batch lacked
    assert set(clf.predict(X)) <= {"A", "B", "C"} and clf.predict_proba(X).shape == (len(X), 3)

    class Passing(Upper):  # a fit passing what it is given on
        def fit(self, y, **kwargs):
            return super().fit(y, **kwargs)

    class PassingClassifier(KerasClassifier):
        @property
        def target_encoder(self):
            return Passing(loss=self.loss)

    passing = PassingClassifier(one_dense, random_state=0).partial_fit(X, y, classes=list("abc"))
    assert passing.classes_.tolist() == ["a", "b", "c"]


def _one_output(meta):
    inputs = keras.Input((meta["n_features_in_"],))
    return keras.Model(inputs, keras.layers.Dense(1)(inputs))


class _Slip(KerasRegressor):
    @property
    def target_encoder(self):
        return StandardScaler(with_mean=self.centre)  # a parameter never stored


@pytest.mark.parametrize("read", [lambda est: est.target_encoder,
                                  lambda est: est.fit(X, X[:, 0])])
def test_an_attribute_error_inside_an_encoder_property_is_told_as_raised(read):
    # It was reported as the property missing: "no attribute 'target_encoder'".
    with pytest.raises(AttributeError, match="no attribute 'centre'"):
        read(_Slip(_one_output, epochs=1))


def test_a_label_encoder_refit_refused_keeps_its_last_fit():
    # classes_ was set before the one-class check of one-hot rows: after the
    # refusal the encoder held classes [0, 1] beside 3 classes, and its
    # inverse_transform failed with an IndexError.
    from keraslearn.utils.transformers import ClassifierLabelEncoder

    encoder = ClassifierLabelEncoder().fit(["cat", "dog", "eel"])
    for one_class in ([[1, 0], [1, 0], [1, 0]], ["cat", "cat"]):
        with pytest.raises(ValueError, match="only one class"):
            encoder.fit(np.asarray(one_class))
        assert encoder.classes_.tolist() == ["cat", "dog", "eel"]
        assert encoder.n_classes_ == 3 and encoder.target_type_ == "multiclass"
        assert encoder.transform(["dog"]).ravel().tolist() == [1]
        assert encoder.inverse_transform(np.array([[0.1, 0.2, 0.7]])).tolist() == ["eel"]


def test_a_label_encoder_on_its_own_keeps_one_hot_rows_and_sorts_its_categories():
    # As scikeras' encoder: one-hot y with no loss was turned into class indices.
    # Categories are sorted (scikeras keeps their order), as scikit-learn's
    # classes_ are: its scorers read the last class as the positive one (found
    # in review: an ROC AUC of 0 for a classifier of classes_ ['b', 'a']).
    from keraslearn.utils.transformers import ClassifierLabelEncoder

    encoder = ClassifierLabelEncoder(categories=[["b", "a", "c"]]).fit(["a", "b"])
    assert encoder.classes_.tolist() == ["a", "b", "c"]
    assert encoder.transform(["b", "c", "a"]).ravel().tolist() == [1, 2, 0]
    with pytest.raises(ValueError, match=r"labels not in classes: \['d'\]"):
        encoder.transform(["d"])
    onehot = np.eye(3)[[0, 1, 2, 1]]
    rows = ClassifierLabelEncoder().fit(onehot)
    assert rows.mode_ == "onehot"
    np.testing.assert_array_equal(rows.transform(onehot[[2, 0]]), onehot[[2, 0]])

    class Categories(KerasClassifier):
        @property
        def target_encoder(self):
            return ClassifierLabelEncoder(loss=self.loss, categories=[["z", "y", "x"]])

    labels = np.array(["x", "y", "z"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    clf = Categories(one_dense, loss="sparse_categorical_crossentropy", epochs=40,
                  optimizer__learning_rate=0.1, random_state=0).fit(X, labels)
    assert clf.classes_.tolist() == ["x", "y", "z"]
    proba = clf.predict_proba(X)
    assert (clf.predict(X) == clf.classes_[proba.argmax(axis=1)]).all()
    assert accuracy_score(labels, clf.predict(X)) > 0.9


@pytest.mark.parametrize("params, match", [
    # taken for "multilabel" in silence: one-hot rows were read as labels
    ({"indicator_rows": "multi_label"}, "The 'indicator_rows' parameter of "
                                        "ClassifierLabelEncoder must be a str among"),
    # (told "classes must be a 1-D array of class labels; got shape ()")
    ({"categories": ["a", "b", "c"]}, r"categories must be 'auto' or a list of one array "
                                      r"of the classes \(\[\['a', 'b', 'c'\]\]\), got "
                                      r"\['a', 'b', 'c'\]"),
    ({"categories": "all"}, "categories must be 'auto' or a list of one array"),
])
def test_a_label_encoder_refuses_parameters_it_cannot_read(params, match):
    from keraslearn.utils.transformers import ClassifierLabelEncoder

    with pytest.raises(ValueError, match=match):
        ClassifierLabelEncoder(**params).fit(np.eye(3)[[0, 1, 2, 1]])
    encoder = ClassifierLabelEncoder(categories=np.array([["b", "a", "c"]])).fit(["a", "b"])
    assert encoder.classes_.tolist() == ["a", "b", "c"]  # (a 2-D array of one row too)


def test_the_target_encoders_on_their_own_shape_targets_as_the_readme_says():
    # README, "Documented differences from scikeras": the shapes they give.
    from keraslearn.utils.transformers import ClassifierLabelEncoder, RegressorTargetEncoder

    indices = ClassifierLabelEncoder().fit_transform(["a", "b", "c", "a"])
    assert indices.shape == (4,) and indices.dtype == np.int32
    column = RegressorTargetEncoder().fit_transform([1.0, 2.0])
    assert column.shape == (2, 1) and column.dtype == np.float32


class ScaledBy(KerasRegressor):
    """scikeras' pattern with the encoders given as parameters (to search them)."""

    def __init__(self, model=None, scaler=None, targets=None, **kwargs):
        super().__init__(model=model, **kwargs)
        self.scaler, self.targets = scaler, targets

    @property
    def feature_encoder(self):
        return self.scaler

    @property
    def target_encoder(self):
        return self.targets


class Centred(BaseEstimator, TransformerMixin):
    """y less its mean (a target encoder of the user's with a fitted state)."""

    def fit(self, y):
        self.mean_ = float(np.mean(y))
        return self

    def transform(self, y):
        return np.asarray(y, dtype="float32").reshape(-1, 1) - self.mean_

    def inverse_transform(self, y):
        return np.ravel(y) + self.mean_


def test_encoders_given_as_parameters_are_fitted_as_copies():
    # found in an audit: the encoders a property gave were fitted in place: the
    # user's parameters were changed, and a failed refit left the fitted
    # estimator's encoders fitted on its data (predictions of the last fit changed)
    calls = {"n": 0}

    def network(meta):
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("the builder failed")
        return one_dense(meta)

    scaler, targets = StandardScaler(), Centred()
    reg = ScaledBy(network, scaler=scaler, targets=targets, loss="mse", epochs=1,
                   random_state=0).fit(X, X[:, 0])
    assert not hasattr(scaler, "mean_") and not hasattr(targets, "mean_")  # (as given)
    before = reg.predict(X[:5])
    with pytest.raises(RuntimeError, match="the builder failed"):
        reg.fit(X * 50 + 100, X[:, 0] + 1000)
    np.testing.assert_array_equal(reg.predict(X[:5]), before)
    np.testing.assert_allclose(reg.feature_encoder_.mean_, X.mean(axis=0))


class SplitByMethod(KerasRegressor):
    """A feature encoder of one of the estimator's own methods."""

    @property
    def feature_encoder(self):
        return FunctionTransformer(self._scaled)

    def _scaled(self, X):
        return np.asarray(X) / 2


def test_an_encoder_of_the_estimator_s_own_method_does_not_copy_the_estimator():
    # found in review: copying the encoders copied the estimator its method
    # holds, fitted network and all, and each refit the last copy: the pickle
    # grew 570 kB to 4.5 MB over 8 refits, and the method wrote to a copy
    import pickle

    reg = SplitByMethod(one_dense, loss="mse", epochs=1, random_state=0)
    sizes = [len(pickle.dumps(reg.fit(X, X[:, 0]))) for _ in range(3)]
    assert reg.feature_encoder_.func.__self__ is reg
    assert max(sizes) - min(sizes) < 2000, sizes


class Halved(BaseEstimator, TransformerMixin):
    """One encoder of the features and the targets alike (halves what it fitted)."""

    def fit(self, values):
        self.shape_ = np.shape(values)[1:]
        return self

    def transform(self, values):
        assert np.shape(values)[1:] == self.shape_, "fitted on other values"
        return np.asarray(values, dtype="float32") / 2

    def inverse_transform(self, values):
        return np.ravel(values) * 2


class OneEncoderForBoth(ScaledBy):
    @property
    def target_encoder(self):
        return self.scaler


def test_one_encoder_given_for_targets_and_features_is_fitted_as_two():
    # found in review: the pair copied as one kept one object for both, fitted
    # on X after y: the targets were then transformed by the features' fit
    reg = OneEncoderForBoth(one_dense, scaler=Halved(), loss="mse", epochs=1).fit(X, X[:, 0])
    assert reg.target_encoder_ is not reg.feature_encoder_
    assert reg.target_encoder_.shape_ == () and reg.feature_encoder_.shape_ == (X.shape[1],)
