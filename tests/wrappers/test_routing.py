"""Routed parameters (``model__``, ``optimizer__``, ``loss__``, ``metrics__``,
``callbacks__``, ``fit__``, ``predict__``, ``compile__``): where each goes,
``set_params``/``GridSearchCV`` over them, and errors for misspelt names."""

import re
import warnings

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

import keraslearn
from builders import ScaledSquares, output_layer, tiny_mlp
from keraslearn import KerasClassifier

X, y = make_classification(n_samples=80, n_features=4, n_informative=3, n_redundant=0,
                           class_sep=2.0, random_state=0)


def _units(clf):
    return clf.model_.layers[0].units


def _recording_builder():
    """A builder that records its calls (to prove errors come before building)."""
    calls = []

    def build(meta, hidden=8):
        calls.append(hidden)
        return tiny_mlp(meta, hidden=hidden)

    return build, calls


# ------------------------------------------------------------------ model__
def test_plain_keyword_reaches_builder():
    clf = KerasClassifier(tiny_mlp, hidden=3, random_state=0).fit(X, y)
    assert _units(clf) == 3
    assert clf.hidden == 3
    assert clf.get_params()["hidden"] == 3


def test_model_prefix_wins_over_plain_keyword():
    clf = KerasClassifier(tiny_mlp, hidden=3, model__hidden=5, random_state=0).fit(X, y)
    assert _units(clf) == 5


# --------------------------------------------------------------- optimizer__
def test_optimizer_learning_rate_is_routed():
    clf = KerasClassifier(tiny_mlp, optimizer="sgd", optimizer__learning_rate=0.05,
                          optimizer__momentum=0.5, random_state=0).fit(X, y)
    opt = clf.model_.optimizer
    assert isinstance(opt, keras.optimizers.SGD)
    assert float(np.asarray(opt.learning_rate)) == pytest.approx(0.05)
    assert opt.momentum == pytest.approx(0.5)


def test_optimizer_class_with_routed_parameters():
    clf = KerasClassifier(tiny_mlp, optimizer=keras.optimizers.Adam,
                          optimizer__beta_1=0.5, random_state=0).fit(X, y)
    assert isinstance(clf.model_.optimizer, keras.optimizers.Adam)
    assert clf.model_.optimizer.beta_1 == pytest.approx(0.5)


def test_optimizer_instance_is_not_shared_or_changed():
    opt = keras.optimizers.Adam(learning_rate=0.01)
    clf = KerasClassifier(tiny_mlp, optimizer=opt, optimizer__learning_rate=0.2,
                          random_state=0).fit(X, y)
    assert clf.model_.optimizer is not opt
    assert float(np.asarray(clf.model_.optimizer.learning_rate)) == pytest.approx(0.2)
    assert float(np.asarray(opt.learning_rate)) == pytest.approx(0.01)


def test_an_inner_optimizer_instance_is_copied_too():
    # LossScaleOptimizer with its inner optimizer routed as an instance: the
    # user's SGD was built and stepped by the first fit, and a second fit
    # failed with Keras' "Unknown variable".
    inner = keras.optimizers.SGD(0.05)
    clf = KerasClassifier(tiny_mlp, optimizer=keras.optimizers.LossScaleOptimizer,
                          optimizer__inner_optimizer=inner, epochs=2, random_state=0)
    first = clf.fit(X, y).predict_proba(X)
    assert not inner.built and int(inner.iterations.numpy()) == 0
    np.testing.assert_array_equal(clf.fit(X, y).predict_proba(X), first)
    assert clf.model_.optimizer.inner_optimizer is not inner
    assert float(np.asarray(clf.model_.optimizer.inner_optimizer.learning_rate)) == (
        pytest.approx(0.05))


def _compiling_builder(meta, optimizer="rmsprop"):
    """A builder that compiles with the optimizer it declares (scikeras' habit)."""
    model = keras.Sequential([keras.Input((meta["n_features_in_"],)),
                              keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model


def test_a_builder_declaring_optimizer_gets_a_copy_with_the_routed_values():
    # Found in an audit: the builder was handed the user's Adam itself: it was
    # trained by the fit, and a second fit failed inside Keras ("Unknown variable");
    # a name with routed optimizer__ values came as the bare name, so the builder
    # compiled Keras' defaults and the routed rate was refused.
    Xb, yb = X[:60], (y[:60] == y[0]).astype(int)
    opt = keras.optimizers.Adam(0.05)
    clf = KerasClassifier(_compiling_builder, optimizer=opt, epochs=2, random_state=0)
    first = clf.fit(Xb, yb).predict_proba(Xb)
    assert clf.model_.optimizer is not opt
    assert not opt.built and int(opt.iterations.numpy()) == 0
    assert float(np.asarray(clf.model_.optimizer.learning_rate)) == pytest.approx(0.05)
    np.testing.assert_allclose(clf.fit(Xb, yb).predict_proba(Xb), first, rtol=1e-6)
    routed = KerasClassifier(_compiling_builder, optimizer="sgd", optimizer__learning_rate=0.3,
                             epochs=1, random_state=0).fit(Xb, yb)
    assert isinstance(routed.model_.optimizer, keras.optimizers.SGD)
    assert float(np.asarray(routed.model_.optimizer.learning_rate)) == pytest.approx(0.3)
    named = []  # a name or a class alone stays as given (found in review: a class came
    # as an instance, and builders calling it, optimizer(learning_rate=...), failed)
    for given in ("adam", keras.optimizers.SGD):
        KerasClassifier(lambda meta, optimizer: named.append(optimizer) or _compiling_builder(
            meta, optimizer() if isinstance(optimizer, type) else optimizer), optimizer=given,
            epochs=1).fit(Xb, yb)
    assert named == ["adam", keras.optimizers.SGD]


class _Nothing(keras.callbacks.Callback):
    """A callback of the user's (a fit then runs through Keras' own fit)."""


@pytest.mark.parametrize("callbacks", [[], [_Nothing()]])
def test_metric_instance_is_copied_never_updated(callbacks):
    # The user's instance held the fit's state (with a callback of theirs).
    auc = keras.metrics.AUC(name="my_auc")
    clf = KerasClassifier(tiny_mlp, metrics=[auc], epochs=2, random_state=0,
                          callbacks=callbacks).fit(X, y)
    assert all(not np.asarray(v).any() for v in auc.variables)
    assert len(clf.history_["my_auc"]) == 2 and 0.5 < clf.history_["my_auc"][-1] <= 1
    again = KerasClassifier(tiny_mlp, metrics=[auc], epochs=2, random_state=0,
                            callbacks=callbacks).fit(X, y)
    assert again.history_["my_auc"] == clf.history_["my_auc"]


def test_zero_learning_rate_leaves_weights_unchanged():
    params = dict(optimizer="sgd", epochs=2, random_state=0)
    # A first fit with a learning rate leaves a warm training template behind:
    # the zero rate must still reach the fit that reuses it.
    moved = KerasClassifier(tiny_mlp, optimizer__learning_rate=0.1, **params).fit(X, y)
    frozen = KerasClassifier(tiny_mlp, optimizer__learning_rate=0.0, **params).fit(X, y)
    initial = KerasClassifier(tiny_mlp, **params).initialize(X, y)
    for a, b in zip(frozen.model_.get_weights(), initial.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(moved.model_.get_weights(), initial.model_.get_weights())
    )


# -------------------------------------------------------------------- loss__
def test_loss_parameters_are_routed():
    clf = KerasClassifier(tiny_mlp, loss="binary_crossentropy", loss__label_smoothing=0.1,
                          random_state=0).fit(X, y)
    assert clf.model_.loss.get_config()["label_smoothing"] == pytest.approx(0.1)


class _Options(keras.callbacks.Callback):
    seen = []

    def __init__(self, **options):
        super().__init__()
        self.options = options

    def on_train_begin(self, logs=None):
        self.seen.append(self.options)


def test_a_users_class_taking_kwargs_takes_routed_names_as_scikeras_routes_them():
    # They were refused as names its __init__ "does not accept": the base
    # Loss's name and reduction, and a callback's own options.
    from keraslearn import KerasRegressor

    reg = KerasRegressor(tiny_mlp, loss=ScaledSquares, loss__scale=2.0,
                         loss__reduction="sum", loss__name="scaled",
                         callbacks={"options": _Options}, callbacks__options__patience=3,
                         epochs=1, random_state=0).fit(X, X.sum(axis=1))
    loss = reg.model_.loss
    assert (type(loss), loss.scale, loss.reduction, loss.name) == (ScaledSquares, 2.0, "sum",
                                                                   "scaled")
    assert _Options.seen == [{"patience": 3}]
    # A name no class in the chain takes is still refused, by the base, when made.
    with pytest.raises(TypeError, match="reductoin"):
        KerasRegressor(tiny_mlp, loss=ScaledSquares, loss__reductoin="sum",
                       epochs=1).fit(X, X.sum(axis=1))
    # Keras' own constructors are checked by name before anything is made, also
    # where a subclass of the user's keeps one.
    with pytest.raises(ValueError, match="MeanSquaredError.__init__ does not accept"):
        KerasRegressor(tiny_mlp, loss=keras.losses.MeanSquaredError,
                       loss__reductoin="sum").fit(X, X.sum(axis=1))

    class MyAdam(keras.optimizers.Adam):
        pass

    with pytest.raises(ValueError, match="Adam.__init__ does not accept 'learning_rat'.*"
                                         "Did you mean 'learning_rate'"):
        KerasRegressor(tiny_mlp, optimizer=MyAdam, optimizer__learning_rat=0.1).fit(
            X, X.sum(axis=1))
    # An instance is made again from what it keeps: a name its constructor takes by
    # **kwargs alone would not reach it, and is refused.
    with pytest.raises(ValueError, match="_Options.__init__ does not accept 'patience'"):
        KerasRegressor(tiny_mlp, callbacks=[_Options(every=5)], callbacks__patience=3,
                       epochs=1).fit(X, X.sum(axis=1))


def _linear(meta):
    n_units = 1 if meta["target_type_"] == "binary" else meta["n_classes_"]
    return keras.Sequential([
        keras.Input(meta["X_shape_"][1:]),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(n_units),
    ])


@pytest.mark.parametrize("loss, n_classes", [
    ("binary_crossentropy", 2),
    ("sparse_categorical_crossentropy", 3),
])
def test_from_logits_loss_gives_probabilities(loss, n_classes):
    Xm, ym = make_classification(n_samples=90, n_features=4, n_informative=3, n_redundant=0,
                                 n_classes=n_classes, class_sep=2.0, random_state=1)
    clf = KerasClassifier(_linear, loss=loss, loss__from_logits=True, optimizer="adam",
                          optimizer__learning_rate=0.05, epochs=10, random_state=0)
    proba = clf.fit(Xm, ym).predict_proba(Xm)
    raw = clf.model_(Xm.astype("float32")).numpy()
    assert raw.min() < 0 or raw.max() > 1  # the model really outputs logits
    assert proba.shape == (len(Xm), n_classes)
    assert (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(Xm), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(Xm, ym) > 0.8


@pytest.mark.parametrize("form", ["list", "dict", "compiled list"])
@pytest.mark.parametrize("loss, n_classes", [
    (keras.losses.BinaryCrossentropy, 2),
    (keras.losses.SparseCategoricalCrossentropy, 3),
])
def test_a_one_output_models_loss_given_per_output_is_read_as_that_loss(form, loss, n_classes):
    # Keras and scikeras take [loss] or {output name: loss} for one output: it
    # was refused as a loss of unknown targets ("ListWrapper"), and, with
    # target_encoding given, its from_logits unread (logits taken as probabilities).
    Xm, ym = make_classification(n_samples=90, n_features=4, n_informative=3, n_redundant=0,
                                 n_classes=n_classes, class_sep=2.0, random_state=1)
    per_output = {"list": [loss(from_logits=True)], "compiled list": [loss(from_logits=True)],
                  "dict": {"out": loss(from_logits=True)}}[form]

    def build(meta):
        inputs = keras.Input((4,))
        units = 1 if n_classes == 2 else n_classes
        model = keras.Model(inputs, [keras.layers.Dense(units, name="out")(inputs)])
        if form == "compiled list":
            model.compile(optimizer=keras.optimizers.Adam(0.05), loss=per_output)
        return model

    given = {} if form == "compiled list" else {"loss": per_output}
    clf = KerasClassifier(build, optimizer__learning_rate=0.05, epochs=10, random_state=0,
                          **given).fit(Xm, ym)
    raw = clf.model_(Xm.astype("float32")).numpy().astype("float64")
    if n_classes == 2:
        positive = 1 / (1 + np.exp(-raw[:, 0]))
        expected = np.column_stack([1 - positive, positive])
    else:
        expected = np.exp(raw) / np.exp(raw).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(Xm), expected, rtol=1e-5, atol=1e-6)
    assert clf.score(Xm, ym) > 0.8


# ----------------------------------------------------------------- metrics__
def test_metrics_index_form():
    clf = KerasClassifier(tiny_mlp, metrics=[keras.metrics.AUC, keras.metrics.Precision],
                          metrics__0__name="auc_a", metrics__1__name="prec_b",
                          metrics__1__thresholds=0.3, epochs=2, random_state=0).fit(X, y)
    assert len(clf.history_["auc_a"]) == 2
    assert len(clf.history_["prec_b"]) == 2


def test_metric_name_routed_by_position():
    # BinaryAccuracy's first argument is its name: given by position, it is
    # not given again by keyword ("got multiple values for argument 'name'").
    clf = KerasClassifier(tiny_mlp, metrics=[keras.metrics.BinaryAccuracy, keras.metrics.AUC],
                          metrics__0__0="mine", metrics__1__0=50, epochs=2,
                          random_state=0).fit(X, y)
    assert len(clf.history_["mine"]) == 2
    assert len(clf.history_["auc"]) == 2  # (AUC's first argument is num_thresholds)


def test_metrics_global_form():
    clf = KerasClassifier(tiny_mlp, metrics=[keras.metrics.Recall], metrics__name="rec",
                          epochs=2, random_state=0).fit(X, y)
    assert len(clf.history_["rec"]) == 2


def test_metric_strings_still_resolved_by_keras():
    clf = KerasClassifier(tiny_mlp, metrics=["accuracy"], optimizer="adam",
                          optimizer__learning_rate=0.05, epochs=5, random_state=0).fit(X, y)
    # Keras picks binary accuracy from the loss: a meaningful value, not 0.
    assert clf.history_["accuracy"][-1] > 0.8


def test_routed_parameter_to_context_dependent_metric_string_is_an_error():
    # "accuracy" means binary/sparse/categorical accuracy depending on the loss;
    # routing parameters to it would silently pick exact-match Accuracy.
    build, calls = _recording_builder()
    clf = KerasClassifier(build, metrics=["accuracy"], metrics__name="acc")
    with pytest.raises(ValueError, match="'accuracy' to be given as a class or an instance"):
        clf.fit(X, y)
    assert calls == []


# --------------------------------------------------------------- callbacks__
def _stops_early(clf):
    clf.fit(X, y)
    return len(clf.history_["loss"])


@pytest.mark.parametrize("kwargs", [
    dict(callbacks=[keras.callbacks.EarlyStopping], callbacks__0__monitor="loss",
         callbacks__0__min_delta=10.0, callbacks__0__patience=0),
    dict(callbacks={"stop": keras.callbacks.EarlyStopping}, callbacks__stop__monitor="loss",
         callbacks__stop__min_delta=10.0, callbacks__stop__patience=0),
    dict(callbacks=[keras.callbacks.EarlyStopping], callbacks__monitor="loss",
         callbacks__min_delta=10.0, callbacks__patience=0),
], ids=["index", "dict", "global"])
def test_callback_class_with_routed_parameters(kwargs):
    clf = KerasClassifier(tiny_mlp, epochs=20, random_state=0, **kwargs)
    # No epoch improves the loss by 10: EarlyStopping stops after the second.
    assert _stops_early(clf) == 2


def test_callback_instance_with_routed_parameters_is_copied():
    stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=10.0, patience=15)
    clf = KerasClassifier(tiny_mlp, callbacks=[stop], callbacks__0__patience=0, epochs=20,
                          random_state=0)
    assert _stops_early(clf) == 2
    assert stop.patience == 15


# --------------------------------------------------------------------- fit__
def test_fit_epochs_overrides_epochs():
    # As in scikeras; beside an epochs of another value than the default it is
    # warned (found in an audit: a halving search over epochs, fit__epochs set,
    # trained fit__epochs at every candidate and reported the epochs it chose).
    with pytest.warns(UserWarning, match=r"fit__epochs=3 overrides epochs=10 \(a routed fit__ "
                                         r"parameter takes precedence.*Set one of them"):
        clf = KerasClassifier(tiny_mlp, epochs=10, fit__epochs=3, random_state=0).fit(X, y)
    assert len(clf.history_["loss"]) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.fit(X, y, epochs=2)  # a fit() keyword beats both, unwarned
        assert len(clf.history_["loss"]) == 2
        KerasClassifier(tiny_mlp, fit__epochs=3, fit__batch_size=8, random_state=0).fit(X, y)
        KerasClassifier(tiny_mlp, batch_size=8, fit__batch_size=8, random_state=0).fit(X, y)
        # (found in review) a routed None batch size leaves the estimator's, unwarned
        KerasClassifier(tiny_mlp, batch_size=8, fit__batch_size=None, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match=r"fit__batch_size=16 overrides batch_size=8"):
        KerasClassifier(tiny_mlp, batch_size=8, fit__batch_size=16, random_state=0).fit(X, y)


@pytest.mark.parametrize("freq", [2, np.int64(2)])
def test_fit_validation_freq(freq):
    # found in an audit: NumPy's int (a search over np.arange(1, 3)) was refused
    clf = KerasClassifier(tiny_mlp, epochs=4, validation_split=0.25, fit__validation_freq=freq,
                          random_state=0).fit(X, y)
    assert len(clf.history_["loss"]) == 4
    assert len(clf.history_["val_loss"]) == 2
    from keraslearn._keras_fit import validated_epochs

    assert validated_epochs(None, clf.history_, {"validation_freq": freq})["val_loss"] == [1, 3]
    # (found in review) a fit of an earlier version, placed by its validation_freq
    earlier = {"history_": clf.history_, "_validation_freq": freq}
    assert validated_epochs(earlier, {"loss": [0.1]}, {})["val_loss"] == [1, 3]


@pytest.mark.parametrize("where", ["fit__", "fit()"])
def test_validation_data_is_encoded_like_y(where):
    from sklearn.metrics import log_loss

    labels = np.array(["no", "yes"])[y]
    X_val, y_val = X[:30] + 0.1, labels[:30]
    routed_kw = {"fit__validation_data": (X_val, y_val)} if where == "fit__" else {}
    clf = KerasClassifier(tiny_mlp, epochs=2, random_state=0, **routed_kw)
    clf.fit(X, labels, **({} if routed_kw else {"validation_data": (X_val, y_val)}))
    assert len(clf.history_["val_loss"]) == 2
    expected = log_loss(y_val, clf.predict_proba(X_val), labels=clf.classes_)
    assert clf.history_["val_loss"][-1] == pytest.approx(expected, rel=1e-4)


def test_validation_data_overrides_validation_split():
    # Keras' rule: with validation_data, validation_split is ignored and every row trains.
    from sklearn.metrics import log_loss

    X_val, y_val = X[:30] + 0.1, 1 - y[:30]
    params = dict(epochs=2, validation_split=0.3, shuffle=False, random_state=0)
    clf = KerasClassifier(tiny_mlp, **params).fit(X, y, validation_data=(X_val, y_val))
    expected = log_loss(y_val, clf.predict_proba(X_val))
    assert clf.history_["val_loss"][-1] == pytest.approx(expected, rel=1e-4)
    everything = KerasClassifier(tiny_mlp, **{**params, "validation_split": 0.0}).fit(
        X, y, validation_data=(X_val, y_val))
    np.testing.assert_array_equal(clf.predict_proba(X), everything.predict_proba(X))


def test_X_val_and_y_val_are_validation_data_under_scikit_learn_s_names():
    X_val, y_val = X[:20] + 0.5, y[:20]
    weights = np.linspace(0.5, 2.0, 20)
    params = dict(epochs=3, random_state=0, optimizer="adam")
    for extra, given in [({}, (X_val, y_val)),
                         ({"sample_weight_val": weights}, (X_val, y_val, weights))]:
        clf = KerasClassifier(tiny_mlp, **params).fit(X, y, X_val=X_val, y_val=y_val, **extra)
        same = KerasClassifier(tiny_mlp, **params).fit(X, y, validation_data=given)
        assert clf.history_ == same.history_ and len(clf.history_["val_loss"]) == 3
    assert {"X_val", "y_val", "sample_weight_val"} <= set(
        KerasClassifier(tiny_mlp).get_metadata_routing().fit.requests)


@pytest.mark.parametrize("kwargs, match", [
    (dict(y_val=y[:5]), "y_val and sample_weight_val are given without X_val"),
    (dict(sample_weight_val=np.ones(5)), "without X_val"),
    (dict(X_val=X[:5]), "X_val is given without y_val"),
    (dict(X_val=X[:5], y_val=y[:5], validation_data=(X[:5], y[:5])), "given twice"),
])
def test_validation_arrays_given_wrongly_are_named_before_training(kwargs, match):
    clf = KerasClassifier(tiny_mlp, random_state=0)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y, **kwargs)
    assert not hasattr(clf, "model_")


def test_errors_of_validation_arrays_name_them():
    # They were named as validation_data, which the user did not give.
    clf = KerasClassifier(tiny_mlp, epochs=1, random_state=0)
    with pytest.raises(ValueError, match=r"^X_val, y_val, sample_weight_val: sample_weight has "
                                         r"5 weights"):
        clf.fit(X, y, X_val=X[:20], y_val=y[:20], sample_weight_val=np.ones(5))
    with pytest.raises(ValueError, match=r"^X_val, y_val: .*features.*\(in a Pipeline, X_val "
                                         r"reaches the estimator as given unless the "
                                         r"pipeline's transform_input names it; an "
                                         r"ensemble fitting its members on some of the "
                                         r"columns, .* cannot route it\)"):
        clf.fit(X, y, X_val=X[:20, :2], y_val=y[:20])
    with pytest.raises(ValueError, match=r"^X_val, y_val: y contains labels not in classes") \
            as refused:
        clf.fit(X, y, X_val=X[:20], y_val=np.full(20, 7))
    assert "transform_input" not in str(refused.value)  # (X_val's pipeline is not why)
    with pytest.raises(ValueError, match=r"^validation_data: sample_weight has 5 weights"):
        clf.fit(X, y, validation_data=(X[:20], y[:20], np.ones(5)))
    assert not hasattr(clf, "model_")


def test_documents_as_validation_data_past_a_vectorizer_are_pointed_to_x_val():
    # found in an audit: told to put a vectorizer in a Pipeline, which it was in
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    documents = np.array(["good fun", "bad day", "fun day", "bad fun"] * 10)
    labels = np.arange(40) % 2
    pipe = make_pipeline(TfidfVectorizer(), KerasClassifier(tiny_mlp, epochs=1, random_state=0))
    with pytest.raises(ValueError, match=r"^validation_data: X holds text .*\(in a Pipeline, "
                                         r"validation_data reaches the estimator as given, past "
                                         r"the steps before it: give fit X_val and y_val"):
        pipe.fit(documents, labels,
                 kerasclassifier__validation_data=(documents[:8], labels[:8]))


def test_a_model_trained_without_targets_takes_X_val_alone():
    from keraslearn.wrappers import BaseWrapper

    def with_own_loss(meta):  # a model computing its own loss from X
        inputs = keras.Input((meta["n_features_in_"],))
        code = keras.layers.Dense(3)(inputs)
        return keras.Model(inputs, keras.layers.ActivityRegularization(l2=1.0)(code))

    est = BaseWrapper(with_own_loss, optimizer="sgd", epochs=2, random_state=0)
    with pytest.raises(ValueError, match="y_val is given, but y is not"):
        est.fit(X, X_val=X[:10], y_val=y[:10])
    assert len(est.fit(X, X_val=X[:10]).history_["val_loss"]) == 2


def test_partial_fit_points_validation_arrays_to_validation_data():
    # It said "Invalid parameter fit__X_val", a parameter nobody gave.
    clf = KerasClassifier(tiny_mlp, random_state=0)
    with pytest.raises(ValueError, match=r"partial_fit does not take X_val: give validation "
                                         r"rows as validation_data=\(X_val, y_val\)"):
        clf.partial_fit(X, y, classes=[0, 1], X_val=X[:5], y_val=y[:5])
    assert not hasattr(clf, "model_")
    clf.partial_fit(X, y, classes=[0, 1], validation_data=(X[:5], y[:5]))
    assert len(clf.history_["val_loss"]) == 1


# ----------------------------------------------------------------- predict__
def test_predict_batch_size_is_routed():
    clf = KerasClassifier(tiny_mlp, random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    clf.set_params(predict__batch_size=7)
    seen = []
    predictor = clf._predictor
    clf._predictor = lambda data, batch_size: seen.append(batch_size) or predictor(data, batch_size)
    # TensorFlow's path (a few rows are otherwise computed in NumPy, in one block)
    with keraslearn.config_context(fast_small_predictions=False):
        np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-6, atol=1e-7)
    assert seen == [7]


@pytest.mark.parametrize("rows", [20, 3000], ids=["numpy-path", "tensorflow-path"])
@pytest.mark.parametrize("batch_size", [0, -5, 2.5, "8", True, -1.0])
def test_a_bad_batch_size_given_to_predict_is_refused_as_the_routed_one(rows, batch_size):
    # It was ignored (0, and any value on few rows), or failed inside the
    # predictor (an IndexError for -5, a TypeError for 2.5 on many rows).
    clf = KerasClassifier(tiny_mlp, random_state=0).fit(X, y)
    rng = np.random.default_rng(0)
    X_many = rng.normal(size=(rows, X.shape[1])).astype(X.dtype)
    for method in (clf.predict, clf.predict_proba):
        with pytest.raises(ValueError, match=r"^batch_size must be a positive int or -1, got"):
            method(X_many, batch_size=batch_size)
    with pytest.raises(ValueError, match="^predict__batch_size must be a positive int or -1"):
        KerasClassifier(tiny_mlp, predict__batch_size=batch_size).fit(X, y)
    # Routed after the fit (found in an audit: ignored on few rows, failing on many).
    routed = clone(clf).fit(X, y).set_params(predict__batch_size=batch_size)
    with pytest.raises(ValueError, match="^predict__batch_size must be a positive int or -1"):
        routed.predict(X_many)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):  # (not fitted: said first, found in review)
        clone(routed).predict(X_many)
    whole = clf.predict_proba(X_many, batch_size=-1)  # -1: every row in one batch
    np.testing.assert_allclose(whole, clf.predict_proba(X_many), rtol=1e-5, atol=1e-6)


class _Epochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def test_callbacks_given_to_fit_replace_the_estimator_s_warned_and_none_is_not_given():
    # Found in an audit: replaced in silence (a search over callbacks__0__patience
    # with routed callbacks searched nothing), and callbacks=None dropped them.
    own, given = _Epochs(), _Epochs()
    clf = KerasClassifier(tiny_mlp, epochs=2, callbacks=[own], random_state=0)
    with pytest.warns(UserWarning, match=r"The callbacks given to this call replace "
                                         r"KerasClassifier's own callbacks \['_Epochs'\]"):
        clf.fit(X, y, callbacks=[given])
    with pytest.warns(UserWarning, match=r"own callbacks \['_Epochs', 'TerminateOnNaN'\]"):
        clone(clf).set_params(fit__callbacks=[keras.callbacks.TerminateOnNaN]).fit(
            X, y, callbacks=[_Epochs()])
    assert (own.epochs, given.epochs) == (0, 2)
    clf.fit(X, y, callbacks=None)
    assert (own.epochs, given.epochs) == (2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KerasClassifier(tiny_mlp, epochs=1).fit(X, y, callbacks=[given])  # (none replaced)
        with pytest.raises(TypeError, match="callbacks must hold keras.callbacks.Callback"):
            clf.fit(X, y, callbacks=["x"])  # (refused, not warned of first)


def test_other_predict_parameters_go_to_model_predict(capfd):
    clf = KerasClassifier(tiny_mlp, random_state=0, predict__steps=None).fit(X, y)
    expected = clf.model_.predict(X, verbose=0)
    capfd.readouterr()
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], expected[:, 0], rtol=1e-5, atol=1e-6)
    assert capfd.readouterr().out == ""  # still no progress bar


# ----------------------------------------------------------------- compile__
def test_compile_parameters_are_routed():
    clf = KerasClassifier(tiny_mlp, compile__steps_per_execution=2, compile__jit_compile=False,
                          epochs=2, random_state=0).fit(X, y)
    assert clf.model_.steps_per_execution == 2
    assert clf.model_.jit_compile is False
    assert len(clf.history_["loss"]) == 2


def test_run_eagerly_reaches_compile():
    clf = KerasClassifier(tiny_mlp, run_eagerly=True, random_state=0).fit(X, y)
    assert clf.model_.run_eagerly is True


# ----------------------------------------------------- set_params, GridSearchCV
def test_every_prefix_settable_with_set_params():
    clf = KerasClassifier(tiny_mlp, optimizer="sgd", callbacks=[keras.callbacks.EarlyStopping],
                          random_state=0)
    new = dict(
        model__hidden=6, optimizer__learning_rate=0.2, loss__label_smoothing=0.05,
        metrics__name="rec", callbacks__0__monitor="loss", callbacks__0__patience=50,
        fit__epochs=3, predict__batch_size=16, compile__jit_compile=False,
    )
    clf.set_params(loss="binary_crossentropy", metrics=[keras.metrics.Recall], **new)
    params = clf.get_params()
    assert all(params[k] == v for k, v in new.items())
    clf.fit(X, y)
    assert _units(clf) == 6
    assert float(np.asarray(clf.model_.optimizer.learning_rate)) == pytest.approx(0.2)
    assert clf.model_.loss.get_config()["label_smoothing"] == pytest.approx(0.05)
    assert len(clf.history_["rec"]) == 3
    assert clf.model_.jit_compile is False


def test_grid_search_over_routed_parameters():
    clf = KerasClassifier(tiny_mlp, optimizer="adam", epochs=5, random_state=0)
    grid = {"optimizer__learning_rate": [0.0, 0.05], "model__hidden": [2, 6]}
    search = GridSearchCV(clf, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    # A learning rate of 0 learns nothing; the search must see the difference.
    assert search.best_params_["optimizer__learning_rate"] == 0.05
    best = search.best_estimator_
    assert _units(best) == search.best_params_["model__hidden"]
    lr = float(np.asarray(best.model_.optimizer.learning_rate))
    assert lr == pytest.approx(0.05)
    assert "optimizer__learning_rate" not in clf.get_params()
    assert not hasattr(clf, "model_")  # the searched estimator itself stays unfitted


# --------------------------------------------------------- misspelt names
_TYPOS = [
    (dict(optimzer__learning_rate=0.1), "Did you mean 'optimizer__learning_rate'"),
    (dict(optimizer__learnign_rate=0.1), "optimizer__learnign_rate.*Did you mean 'learning_rate'"),
    (dict(model__hiden=3), "model__hiden.*Did you mean 'hidden'"),
    (dict(hiden=3), "'hiden'.*Did you mean 'hidden'"),
    (dict(fit__epoch=3), "fit__epoch.*Did you mean 'epochs'"),
    (dict(callbacks=[keras.callbacks.EarlyStopping], callbacks__0__patiance=2),
     "patiance.*Did you mean 'patience'"),
    (dict(callbacks=[keras.callbacks.EarlyStopping], callbacks__1__patience=2),
     "no callback at position '1'"),
    (dict(callbacks={"stop": keras.callbacks.EarlyStopping}, callbacks__stpo__patience=2),
     "Did you mean 'stop'"),
    (dict(loss="binary_crossentropy", loss__from_logit=True), "Did you mean 'from_logits'"),
    (dict(metrics=[keras.metrics.AUC], metrics__0__num_threshold=5),
     "Did you mean 'num_thresholds'"),
    (dict(metrics=[keras.metrics.AUC], metrics__3__name="x"), "no metric at position '3'"),
    (dict(predict__batchsize=5), "predict__batchsize.*Did you mean 'batch_size'"),
    (dict(compile__jit_compil=False), "compile__jit_compil.*Did you mean 'jit_compile'"),
    (dict(optimizer="adamm"), "Unknown optimizer 'adamm'.*Did you mean 'adam'"),
    # A misspelt loss used to be told about loss__ parameters no one gave.
    (dict(loss="binary_crossentropyy"),
     r"Unknown loss 'binary_crossentropyy' \(loss\).*Did you mean 'binary_crossentropy'"),
    (dict(loss=["categorical_crosentropy"]), r"\(loss__0\).*'categorical_crossentropy'"),
    # A loss function given routed parameters used to be told about object.__init__.
    (dict(loss=keras.losses.binary_crossentropy, loss__label_smoothing=0.1),
     r"loss__ parameters \['label_smoothing'\] cannot be applied to the function "
     r"binary_crossentropy.*loss class"),
]


@pytest.mark.parametrize("kwargs, message", _TYPOS, ids=[
    "prefix", "optimizer-arg", "model-arg", "plain-arg", "fit-arg", "callback-arg",
    "callback-index", "callback-key", "loss-arg", "metric-arg", "metric-index", "predict-arg",
    "compile-arg", "optimizer-name", "loss-name", "loss-name-in-list", "loss-function-args",
])
def test_misspelt_name_error_before_building(kwargs, message):
    build, calls = _recording_builder()
    clf = KerasClassifier(build, **kwargs)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    assert calls == []
    assert not hasattr(clf, "model_")


@pytest.mark.parametrize("kwargs, message", [
    (dict(epoch=3), "'epoch'.*Did you mean 'epochs'"),
    (dict(optimzer__learning_rate=0.1), "Did you mean 'optimizer__learning_rate'"),
    (dict(random_stat=1), "Did you mean 'random_state'"),
])
def test_set_params_rejects_misspelt_names(kwargs, message):
    clf = KerasClassifier(tiny_mlp)
    with pytest.raises(ValueError, match=message):
        clf.set_params(**kwargs)
    assert set(kwargs).isdisjoint(clf.get_params())


def test_misspelt_name_set_later_fails_at_fit():
    build, calls = _recording_builder()
    clf = KerasClassifier(build, hidden=4).set_params(model__hiden=3)
    with pytest.raises(ValueError, match=re.escape("Did you mean 'hidden'")):
        clf.fit(X, y)
    assert calls == []


def test_builder_with_kwargs_takes_any_model_parameter():
    seen = {}

    def build(meta, **kwargs):
        seen.update(kwargs)
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]),
                                 keras.layers.Dense(kwargs["width"]), output_layer(meta)])

    clf = KerasClassifier(build, model__width=3, depth=2, random_state=0).fit(X, y)
    assert _units(clf) == 3
    assert seen["width"] == 3 and seen["depth"] == 2


def test_set_params_accepts_a_name_the_builder_declares():
    clf = KerasClassifier(tiny_mlp, optimizer="adam", epochs=1, random_state=0)
    clf.set_params(hidden=3)
    assert clf.get_params()["hidden"] == 3
    clf.fit(X, y)
    assert clf.model_.layers[0].units == 3
    with pytest.raises(ValueError, match="Did you mean 'hidden'"):
        KerasClassifier(tiny_mlp).set_params(hiden=3)


def _wide(meta, width=2):
    return keras.Sequential([keras.Input(meta["X_shape_"][1:]),
                             keras.layers.Dense(width, activation="relu"), output_layer(meta)])


def test_set_params_takes_a_new_builder_with_its_own_arguments():
    clf = KerasClassifier(tiny_mlp, epochs=1, random_state=0)
    clf.set_params(model=_wide, width=5)  # 'width' is an argument of the new builder only
    assert clf.get_params()["width"] == 5
    assert clf.fit(X, y).model_.layers[0].units == 5


def test_grid_search_over_builders_and_their_arguments():
    grid = [{"model": [_wide], "width": [3, 5]}, {"model": [tiny_mlp], "hidden": [4]}]
    search = GridSearchCV(KerasClassifier(tiny_mlp, epochs=1, random_state=0), grid, cv=2,
                          refit=False).fit(X, y)
    assert [p.get("width", p.get("hidden")) for p in search.cv_results_["params"]] == [3, 5, 4]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("where", ["constructor", "set_params"])
def test_a_plain_optimizer_argument_is_routed_to_the_optimizer(where):
    message = ("'learning_rate'.*argument of Adam: route it there as "
               "'optimizer__learning_rate'")
    with pytest.raises(ValueError, match=message) as info:
        if where == "constructor":
            KerasClassifier(tiny_mlp, optimizer="adam", learning_rate=0.01).fit(X, y)
        else:
            KerasClassifier(tiny_mlp, optimizer="adam").set_params(learning_rate=0.01)
    assert "model__" not in str(info.value)


def test_a_plain_fit_argument_is_routed_to_fit():
    with pytest.raises(ValueError, match="route it there as 'fit__validation_freq'"):
        KerasClassifier(tiny_mlp).set_params(validation_freq=2)
    # With a model instance it was told to give a builder ("nowhere to go").
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    for key, value in (("validation_data", (X, y)), ("validation_freq", 2)):
        with pytest.raises(ValueError, match=f"route it there as 'fit__{key}'"):
            KerasClassifier(net, epochs=1, **{key: value}).fit(X, y)


def test_a_builder_argument_or_routed_parameter_set_as_an_attribute_takes_effect():
    # It was read back as set, while get_params, clone and the fit kept the old value.
    clf = KerasClassifier(tiny_mlp, hidden=3, optimizer="sgd", optimizer__learning_rate=0.1,
                          epochs=1, random_state=0)
    clf.hidden = 6
    clf.optimizer__learning_rate = 0.5
    clf.optimizer__momentum = 0.9  # a routed name not given before
    params = clf.get_params()
    assert (params["hidden"], params["optimizer__learning_rate"]) == (6, 0.5)
    assert params["optimizer__momentum"] == 0.9
    assert "hidden" not in vars(clf)
    clf.fit(X, y)
    assert clf.model_.layers[0].units == 6
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.5)
    assert clf.model_.optimizer.momentum == pytest.approx(0.9)
