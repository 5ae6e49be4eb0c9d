"""The competitors, each set up to train the same network the same way.

Every library trains Dense(hidden, relu) -> output on the same data with Adam,
the same learning rate, batch size and number of epochs, and no metrics:

- ``keras``: raw Keras, ``model.fit`` / ``model.predict`` on a fresh model
  (built and compiled inside the timed fit, as a wrapper's ``fit`` does);
- ``keraslearn``: ``keraslearn.KerasClassifier`` with a builder;
- ``scikeras``: ``scikeras.wrappers.KerasClassifier`` with a builder;
- ``keras_wrappers``: ``keras.wrappers.SKLearnClassifier``. It one-hot encodes
  the target, so its network ends in Dense(2, softmax) with categorical
  cross-entropy instead of Dense(1, sigmoid): the same cost, give or take a unit;
- ``sklearn_mlp``: ``sklearn.neural_network.MLPClassifier`` (adam, alpha=0,
  ``max_iter`` epochs, no early stop).

Builders live at module level so that joblib's workers can unpickle them.
Nothing here is imported until a benchmark worker asks for a library.
"""

import warnings

LIBS = ("keraslearn", "keras", "scikeras", "keras_wrappers", "sklearn_mlp")
LABELS = {
    "keraslearn": "keraslearn",
    "keras": "raw Keras",
    "scikeras": "scikeras",
    "keras_wrappers": "Keras wrappers",
    "sklearn_mlp": "sklearn MLP",
}
HIDDEN = 64


def _mlp(n_features, hidden, n_out, activation):
    import keras

    return keras.Sequential(
        [
            keras.Input((n_features,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(n_out, activation=activation),
        ]
    )


def seed_everything(seed):
    """The global seed (Python, NumPy, TensorFlow, Keras); None leaves it alone."""
    if seed is not None:
        import keras

        keras.utils.set_random_seed(seed)


# --------------------------------------------------------------------- builders
def keraslearn_build(meta, hidden=HIDDEN):
    return _mlp(meta["n_features_in_"], hidden, 1, "sigmoid")


def scikeras_build(meta, hidden=HIDDEN):
    return _mlp(meta["n_features_in_"], hidden, 1, "sigmoid")


def keras_wrappers_build(X, y, hidden=HIDDEN, learning_rate=1e-3):
    import keras

    model = _mlp(X.shape[1], hidden, y.shape[1], "softmax")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy"
    )
    return model


# ------------------------------------------------------------------- raw Keras
class RawKeras:
    """``model.fit`` / ``model.predict`` on a freshly built model, no wrapper."""

    def __init__(self, learning_rate=1e-3, batch_size=32, epochs=5, seed=0, hidden=HIDDEN):
        self.learning_rate = learning_rate
        self.hidden = hidden
        self.batch_size = batch_size
        self.epochs = epochs
        self.seed = seed

    def fit(self, X, y):
        import keras

        seed_everything(self.seed)
        self.model = _mlp(X.shape[1], self.hidden, 1, "sigmoid")
        self.model.compile(
            optimizer=keras.optimizers.Adam(self.learning_rate), loss="binary_crossentropy"
        )
        self.model.fit(
            X, y, batch_size=self.batch_size, epochs=self.epochs, shuffle=True, verbose=0
        )
        return self

    def predict_proba(self, X):
        return self.model.predict(X, verbose=0)

    def predict(self, X):
        return (self.predict_proba(X)[:, 0] > 0.5).astype(int)


# ------------------------------------------------------------------ estimators
def make(lib, *, learning_rate=1e-3, batch_size=32, epochs=5, seed=0):
    """A fresh, unfitted classifier of ``lib`` (raw Keras gets a RawKeras)."""
    if lib == "keras":
        return RawKeras(learning_rate, batch_size, epochs, seed)
    if lib == "keraslearn":
        from keraslearn import KerasClassifier

        return KerasClassifier(
            keraslearn_build, hidden=HIDDEN, optimizer="adam", loss="binary_crossentropy",
            optimizer__learning_rate=learning_rate, batch_size=batch_size, epochs=epochs,
            random_state=seed, verbose=0,
        )
    if lib == "scikeras":
        from scikeras.wrappers import KerasClassifier

        # random_state is left None: scikeras' seeding switches TensorFlow to
        # deterministic ops through tensorflow.python; the global seed is set instead.
        seed_everything(seed)
        return KerasClassifier(
            scikeras_build, hidden=HIDDEN, optimizer="adam", loss="binary_crossentropy",
            optimizer__learning_rate=learning_rate, batch_size=batch_size, epochs=epochs,
            verbose=0,
        )
    if lib == "keras_wrappers":
        from keras.wrappers import SKLearnClassifier

        seed_everything(seed)
        return SKLearnClassifier(
            keras_wrappers_build,
            model_kwargs={"hidden": HIDDEN, "learning_rate": learning_rate},
            fit_kwargs={"batch_size": batch_size, "epochs": epochs, "verbose": 0},
        )
    if lib == "sklearn_mlp":
        from sklearn.neural_network import MLPClassifier

        warnings.filterwarnings("ignore", message=".*Stochastic Optimizer.*")
        return MLPClassifier(
            hidden_layer_sizes=(HIDDEN,), activation="relu", solver="adam", alpha=0.0,
            learning_rate_init=learning_rate, batch_size=batch_size, max_iter=epochs,
            n_iter_no_change=epochs + 1, shuffle=True, random_state=0 if seed is None else seed,
        )
    raise ValueError(f"unknown library {lib!r}")


def param_grid(lib, learning_rates, batch_sizes, epochs):
    """The same search (learning rate x batch size) in each library's parameter names."""
    if lib in ("keraslearn", "scikeras"):
        return {"optimizer__learning_rate": learning_rates, "batch_size": batch_sizes}
    if lib == "keras_wrappers":
        # Its clone() drops fit_kwargs, so epochs travel in the searched dicts.
        return {
            "model_kwargs": [{"hidden": HIDDEN, "learning_rate": lr} for lr in learning_rates],
            "fit_kwargs": [
                {"batch_size": b, "epochs": epochs, "verbose": 0} for b in batch_sizes
            ],
        }
    if lib == "sklearn_mlp":
        return {"learning_rate_init": learning_rates, "batch_size": batch_sizes}
    raise ValueError(f"{lib} is not a scikit-learn estimator")


def width_grid(lib, widths, epochs, learning_rate, batch_size):
    """A search over the hidden layer's width (one architecture per width) in each
    library's parameter names, at one learning rate and batch size."""
    if lib in ("keraslearn", "scikeras"):
        return {"hidden": widths}
    if lib == "keras_wrappers":
        return {"model_kwargs": [{"hidden": w, "learning_rate": learning_rate} for w in widths],
                "fit_kwargs": [{"batch_size": batch_size, "epochs": epochs, "verbose": 0}]}
    if lib == "sklearn_mlp":
        return {"hidden_layer_sizes": [(w,) for w in widths]}
    raise ValueError(f"{lib} is not a scikit-learn estimator")
