"""scikeras' Basic Usage tutorial with only the import changed."""

import pickle

import keras
import numpy as np
from sklearn.datasets import make_classification, make_moons, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from keraslearn import KerasClassifier, KerasRegressor


def get_clf(meta, hidden_layer_sizes, dropout):
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(meta["n_features_in_"],)))
    for hidden_layer_size in hidden_layer_sizes:
        model.add(keras.layers.Dense(hidden_layer_size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    return model


def get_reg(meta, hidden_layer_sizes, dropout):
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(meta["n_features_in_"],)))
    for hidden_layer_size in hidden_layer_sizes:
        model.add(keras.layers.Dense(hidden_layer_size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(1))
    return model


class MaxValLoss(keras.callbacks.Callback):
    """The tutorial's threshold callback (it does not call super().__init__)."""

    def __init__(self, monitor, threashold):
        self.monitor = monitor
        self.threashold = threashold

    def on_epoch_end(self, epoch, logs=None):
        if logs[self.monitor] > self.threashold:
            self.model.stop_training = True


def test_classifier_regressor_saving_pipeline(tmp_path):
    X, y = make_classification(300, 20, n_informative=10, random_state=0)
    clf = KerasClassifier(model=get_clf, loss="binary_crossentropy", hidden_layer_sizes=(32,),
                          dropout=0.5, epochs=3, random_state=0)
    clf.fit(X, y)
    assert set(clf.predict(X[:5])) <= {0, 1} and clf.predict_proba(X[:5]).shape == (5, 2)

    X_regr, y_regr = make_regression(300, 20, n_informative=10, random_state=0)
    reg = KerasRegressor(model=get_reg, loss="mse", metrics=[keras.metrics.R2Score],
                         hidden_layer_sizes=(32,), dropout=0.5, epochs=3, random_state=0)
    reg.fit(X_regr, y_regr)
    assert "r2_score" in reg.history_

    new_reg = pickle.loads(pickle.dumps(reg))
    np.testing.assert_allclose(new_reg.predict(X_regr[:5]), reg.predict(X_regr[:5]))

    pred_old = reg.predict(X_regr)
    path = str(tmp_path / "my_model.keras")
    reg.model_.save(path)
    reg_new = KerasRegressor(keras.saving.load_model(path))
    reg_new.initialize(X_regr, y_regr)  # no refit
    np.testing.assert_allclose(pred_old, reg_new.predict(X_regr))

    pipe = Pipeline([("scale", StandardScaler()), ("clf", clf)])
    assert pipe.fit(X, y).predict(X).shape == y.shape


def test_callbacks_and_grid_search():
    X, y = make_moons(n_samples=100, noise=0.2, random_state=0)
    kwargs = dict(model=get_clf, loss="binary_crossentropy", dropout=0.5,
                  hidden_layer_sizes=(32,), metrics=["binary_accuracy"],
                  fit__validation_split=0.2, epochs=20, verbose=False, random_state=0)
    plain = KerasClassifier(**kwargs).fit(X, y)
    assert len(plain.history_["loss"]) == 20
    assert 0 <= plain.history_["val_binary_accuracy"][-1] <= 1
    stopped = KerasClassifier(**kwargs, callbacks=[
        MaxValLoss(monitor="val_binary_accuracy", threashold=0.75)]).fit(X, y)
    accuracies = stopped.history_["val_binary_accuracy"]
    assert len(accuracies) < 20 and accuracies[-1] > 0.75

    clf = KerasClassifier(model=get_clf, loss="binary_crossentropy", optimizer="adam",
                          optimizer__learning_rate=0.1, model__hidden_layer_sizes=(32,),
                          model__dropout=0.5, verbose=False, epochs=2)
    params = {"optimizer__learning_rate": [0.05, 0.1],
              "model__hidden_layer_sizes": [(16,), (8, 8)], "model__dropout": [0, 0.5]}
    gs = GridSearchCV(clf, params, scoring="accuracy", cv=2, n_jobs=1).fit(X, y)
    assert gs.best_params_.keys() == params.keys() and 0.5 < gs.best_score_ <= 1
