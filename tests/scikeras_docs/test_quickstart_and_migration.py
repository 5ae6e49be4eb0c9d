"""scikeras' Quickstart and migration pages, their code with only the import
changed (sizes reduced so that the suite stays fast)."""

import keras
import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from keraslearn import KerasClassifier, KerasRegressor


def get_model(hidden_layer_dim, meta):
    n_features_in_ = meta["n_features_in_"]
    X_shape_ = meta["X_shape_"]
    n_classes_ = meta["n_classes_"]
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=X_shape_[1:]))
    model.add(keras.layers.Dense(n_features_in_))
    model.add(keras.layers.Activation("relu"))
    model.add(keras.layers.Dense(hidden_layer_dim))
    model.add(keras.layers.Activation("relu"))
    model.add(keras.layers.Dense(n_classes_))
    model.add(keras.layers.Activation("softmax"))
    return model


X, y = make_classification(300, 20, n_informative=10, random_state=0)
X = X.astype(np.float32)
y = y.astype(np.int64)


def test_quickstart():
    clf = KerasClassifier(get_model, loss="sparse_categorical_crossentropy",
                          hidden_layer_dim=32, epochs=5, random_state=0)
    clf.fit(X, y)
    y_proba = clf.predict_proba(X)
    assert y_proba.shape == (300, 2)
    np.testing.assert_allclose(y_proba.sum(axis=1), 1.0, rtol=1e-6)

    pipe = Pipeline([("scale", StandardScaler()), ("clf", clf)])
    pipe.fit(X, y)
    assert pipe.predict_proba(X).shape == (300, 2)

    params = {
        "hidden_layer_dim": [16, 32],
        "loss": ["sparse_categorical_crossentropy"],
        "optimizer": ["adam", "sgd"],
        "optimizer__learning_rate": [0.001, 0.1],
    }
    gs = GridSearchCV(clf, params, refit=False, cv=2, scoring="accuracy").fit(X, y)
    assert gs.best_score_ > 0.6 and set(gs.best_params_) == set(params)


def test_migration_page():
    def get_regressor():
        model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(1)])
        model.compile(loss="mse", metrics=["mae"])
        return model

    reg = KerasRegressor(get_regressor, epochs=2)
    hist = reg.fit(X, X[:, 0]).history_  # fit returns the estimator
    assert len(hist["mean_absolute_error"]) == 2  # keys normalised, as scikeras does
    assert reg.score(X, X[:, 0]) <= 1.0  # R², not the Keras loss

    onehot = KerasClassifier(get_model, hidden_layer_dim=8, loss="categorical_crossentropy",
                             epochs=1).fit(X, y)
    assert onehot.target_encoder_.mode_ == "onehot"  # one-hot targets from the loss

    clf = KerasClassifier(get_model, hidden_layer_dim=8, loss="sparse_categorical_crossentropy",
                          fit__batch_size=32, predict__batch_size=10000)
    clf.set_params(fit__batch_size=16, predict__batch_size=1000)
    clf.fit(X, y)
    assert clf.predict(X).shape == y.shape
    renamed = KerasClassifier(build_fn=get_model, hidden_layer_dim=8,  # build_fn still works
                              loss="sparse_categorical_crossentropy").fit(X, y)
    assert renamed.model_ is not None
