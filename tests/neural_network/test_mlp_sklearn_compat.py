"""Code written for scikit-learn's MLP runs unchanged on keraslearn's.

Each test runs the same function with scikit-learn's class and with ours, then
compares what a user of scikit-learn's MLP reads: shapes, types, attributes
and, roughly, the scores.
"""

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn.neural_network as sk
from scipy.special import xlogy
from sklearn.datasets import load_diabetes, load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import keraslearn

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def both(fn, *args):
    """(scikit-learn's result, ours) of ``fn(module, *args)``."""
    return fn(sk, *args), fn(keraslearn, *args)


def _classify(lib, data):
    X_train, X_test, y_train, y_test = data
    clf = lib.MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=100,
                            random_state=0)
    clf.fit(X_train, y_train)
    return {
        "score": clf.score(X_test, y_test),
        "predict": clf.predict(X_test),
        "proba": clf.predict_proba(X_test),
        "classes": clf.classes_,
        "loss_curve": clf.loss_curve_,
        "n_iter": clf.n_iter_,
        "best_loss": clf.best_loss_,
        "coef_shapes": [c.shape for c in clf.coefs_],
        "intercept_shapes": [b.shape for b in clf.intercepts_],
        "layers": (clf.n_layers_, clf.n_outputs_, clf.out_activation_, clf.n_features_in_),
    }


def test_classifier_usage(iris):
    theirs, ours = both(_classify, iris)
    assert ours["score"] >= theirs["score"] - 0.05 and ours["score"] > 0.9
    assert ours["predict"].shape == theirs["predict"].shape
    assert ours["predict"].dtype == theirs["predict"].dtype
    assert ours["proba"].shape == theirs["proba"].shape
    np.testing.assert_allclose(ours["proba"].sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(ours["classes"], theirs["classes"])
    assert isinstance(ours["loss_curve"], list) and len(ours["loss_curve"]) == ours["n_iter"]
    assert all(isinstance(v, float) for v in ours["loss_curve"])
    assert isinstance(ours["best_loss"], float)
    assert ours["coef_shapes"] == theirs["coef_shapes"]
    assert ours["intercept_shapes"] == theirs["intercept_shapes"]
    assert ours["layers"] == theirs["layers"]


def _string_labels(lib, data):
    X_train, X_test, y_train, _ = data
    names = np.array(["setosa", "versicolor", "virginica"])
    clf = lib.MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    return clf.fit(X_train, names[y_train]).predict(X_test[:5])


def test_string_labels(iris):
    theirs, ours = both(_string_labels, iris)
    assert ours.dtype == theirs.dtype and set(ours) <= {"setosa", "versicolor", "virginica"}


@pytest.mark.parametrize("labels", [
    lambda y: np.array(["ab"[i] for i in y], dtype=object),
    lambda y: pd.Series(["ab"[i] for i in y], dtype="category"),
    lambda y: pd.Series(["ab"[i] for i in y], dtype="string"),
    lambda y: pd.Series(y + 3, dtype="category"),
])
def test_labels_given_as_objects_come_back_as_scikit_learn_gives_them(labels):
    # They came back as Python objects (object arrays), where scikit-learn's
    # MLP gives NumPy values: str_, int64, bool.
    X = np.random.RandomState(0).randn(40, 3)
    y = labels(np.arange(40) % 2)

    def fitted(lib, partial):
        clf = lib.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
        if partial:
            return clf.partial_fit(X, y, classes=list(np.unique(np.asarray(y))))
        return clf.fit(X, y)

    for partial in (False, True):
        theirs, ours = both(fitted, partial)
        assert ours.classes_.dtype == theirs.classes_.dtype != object
        np.testing.assert_array_equal(ours.classes_, theirs.classes_)
        assert ours.predict(X).dtype == theirs.predict(X).dtype
        assert 0 <= ours.score(X, y) <= 1


def _partial_fit(lib, data):
    X_train, X_test, y_train, y_test = data
    clf = lib.MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.05, random_state=0)
    classes = np.unique(y_train)
    for start in range(0, len(X_train), 28):
        clf.partial_fit(X_train[start:start + 28], y_train[start:start + 28], classes=classes)
    for _ in range(30):
        clf.partial_fit(X_train, y_train)
    return clf.score(X_test, y_test), clf.n_iter_, len(clf.loss_curve_)


def test_partial_fit_loop(iris):
    (their_score, their_iter, their_len), (score, n_iter, length) = both(_partial_fit, iris)
    assert (n_iter, length) == (their_iter, their_len) == (1, 34)
    assert score > 0.85 and score >= their_score - 0.1


def _regress(lib):
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=1)
    reg = make_pipeline(StandardScaler(), lib.MLPRegressor(
        hidden_layer_sizes=(8,), learning_rate_init=0.05, max_iter=100, random_state=0))
    reg.fit(X_train, y_train)
    mlp = reg[-1]
    return (reg.score(X_test, y_test), reg.predict(X_test).shape, mlp.out_activation_,
            mlp.n_outputs_, [c.shape for c in mlp.coefs_])


def test_regressor_usage():
    theirs, ours = both(_regress)
    assert ours[0] > 0.4 and ours[0] >= theirs[0] - 0.1
    assert ours[1:] == theirs[1:]


def _early_stopping(lib, data):
    X_train, _, y_train, _ = data
    clf = lib.MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=200,
                            early_stopping=True, validation_fraction=0.2, n_iter_no_change=5,
                            random_state=0).fit(X_train, y_train)
    return clf.validation_scores_, clf.best_validation_score_, clf.best_loss_, clf.n_iter_


def test_early_stopping_attributes(iris):
    for scores, best, best_loss, n_iter in both(_early_stopping, iris):
        assert len(scores) == n_iter < 200
        assert best == max(scores) and best_loss is None
        assert all(0.0 <= s <= 1.0 for s in scores)


def test_without_shuffling_early_stopping_trains_in_the_split_s_order():
    # As scikit-learn's MLP, which trains on train_test_split's random order: the
    # held-in rows were put back in the data's order, and on rows sorted by class
    # (load_iris as it comes) each batch held one class.
    X, y = load_iris(return_X_y=True)
    common = dict(hidden_layer_sizes=(8,), max_iter=5, shuffle=False, random_state=0,
                  batch_size=16, alpha=0.0)
    stopping = keraslearn.MLPClassifier(early_stopping=True, n_iter_no_change=50,
                                        validation_fraction=0.2, **common).fit(X, y)
    held_in, _ = train_test_split(np.arange(len(X)), test_size=0.2, random_state=0, stratify=y)
    plain = keraslearn.MLPClassifier(**common).fit(X[held_in], y[held_in])
    np.testing.assert_allclose(stopping.loss_curve_, plain.loss_curve_, rtol=1e-6)


def _early_stopping_on_few_rows(lib, X, y):
    clf = lib.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, early_stopping=True,
                            random_state=0).fit(X, y)
    return clf.n_iter_, len(clf.validation_scores_)


@pytest.mark.parametrize("case", ["a class of one row", "fewer held-out rows than classes"])
def test_early_stopping_holds_out_rows_where_a_class_cannot_be_shared(iris, case):
    """scikit-learn's MLP splits multiclass targets without stratifying; ours
    stratifies where every class can be shared, else splits as it does."""
    X, y = iris[0], iris[2].copy()
    if case == "a class of one row":
        y[0] = 3
    else:
        X, y = X[:20], y[:20]  # 2 held-out rows, 3 classes
    theirs, ours = both(_early_stopping_on_few_rows, X, y)
    assert ours == theirs == (3, 3)


def _grid_search(lib, data):
    X_train, X_test, y_train, y_test = data
    search = GridSearchCV(
        lib.MLPClassifier(max_iter=20, learning_rate_init=0.01, random_state=0),
        {"hidden_layer_sizes": [(4,), (16,)], "alpha": [1e-4, 1e-1]}, cv=2,
    ).fit(X_train, y_train)
    return sorted(search.best_params_), search.cv_results_["mean_test_score"].shape


def test_grid_search_over_sklearn_names(iris):
    theirs, ours = both(_grid_search, iris)
    assert ours == theirs


def _multilabel(lib):
    X, Y = make_multilabel_classification(n_samples=80, n_classes=3, random_state=0)
    clf = lib.MLPClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0).fit(X, Y)
    return clf.predict(X).shape, clf.predict_proba(X).shape, clf.out_activation_, clf.n_outputs_


def test_multilabel_targets():
    theirs, ours = both(_multilabel)
    assert ours == theirs


@pytest.mark.parametrize("sparse", [sp.csr_matrix, sp.csr_array])
def test_sparse_multilabel_targets_are_taken_as_scikit_learn_takes_them(sparse):
    X, Y = make_multilabel_classification(n_samples=60, n_features=4, n_classes=3,
                                          random_state=0)
    params = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = sk.MLPClassifier(**params).fit(X, sparse(Y))  # accepted
        dense = keraslearn.MLPClassifier(**params).fit(X, Y)
        ours = keraslearn.MLPClassifier(**params).fit(X, sparse(Y))
    np.testing.assert_array_equal(ours.classes_, [0, 1, 2])
    np.testing.assert_array_equal(ours.predict_proba(X), dense.predict_proba(X))
    # Predicted as sparse rows, as scikit-learn's are (they were dense).
    assert sp.issparse(theirs.predict(X)) and sp.issparse(ours.predict(X))
    np.testing.assert_array_equal(ours.predict(X).toarray(), dense.predict(X))
    assert ours.score(X, sparse(Y)) == dense.score(X, Y)


def _multilabel_loss(lib):
    # A learning rate of 1e-12: loss_ is the loss of the network's first weights.
    X, Y = make_multilabel_classification(n_samples=120, n_features=6, n_classes=5,
                                          random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = lib.MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=1e-12, alpha=0.0,
                            batch_size=120, max_iter=1, random_state=0).fit(X, Y)
    P = clf.predict_proba(X)
    per_label = -(xlogy(Y, P) + xlogy(1 - Y, 1 - P)).mean(axis=0)
    return clf.loss_ / per_label.sum()


def test_multilabel_loss_sums_the_labels_log_losses():
    # As scikit-learn's: the labels' log-losses are summed (Keras averages them), so
    # that loss_, tol and alpha mean the same for 5 labels.
    theirs, ours = both(_multilabel_loss)
    assert theirs == pytest.approx(1, rel=1e-6)
    assert ours == pytest.approx(1, rel=1e-6)


def _warm_start(lib, data):
    X_train, _, y_train, _ = data
    clf = lib.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, warm_start=True, random_state=0)
    clf.fit(X_train, y_train)
    clf.fit(X_train, y_train)
    return clf.n_iter_, len(clf.loss_curve_)


def test_warm_start(iris):
    theirs, ours = both(_warm_start, iris)
    assert ours == theirs == (3, 6)


def _convergence_warning(lib, data):
    X_train, _, y_train, _ = data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X_train, y_train)
    return [w.category for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_convergence_warning(iris):
    theirs, ours = both(_convergence_warning, iris)
    assert ours == theirs == [ConvergenceWarning]


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_sklearn_parameters_carry_over(name):
    theirs = getattr(sk, name)().get_params()
    ours = getattr(keraslearn, name)(**theirs)
    assert {k: v for k, v in ours.get_params().items() if k in theirs} == theirs
    assert _positional(type(ours)) == _positional(getattr(sk, name))


def _positional(cls):
    return [p.name for p in inspect.signature(cls).parameters.values()
            if p.kind is p.POSITIONAL_OR_KEYWORD]


def _one_column_target(lib):
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X[:120])
    reg = lib.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        reg.fit(X, y[:120, None] / 100)
    return reg.predict(X[:5]).shape, reg.n_outputs_


@pytest.mark.parametrize("hidden", [(), (20,)])
@pytest.mark.parametrize("activation", ["logistic", "relu"])
def test_initial_weights_have_scikit_learns_bound(iris, hidden, activation):
    # scikit-learn's MLP draws from +-sqrt(f / (fan_in + fan_out)), f = 2 for
    # "logistic", else 6; without hidden layers, "logistic" had drawn with 6.
    X, _, y, _ = iris
    est = keraslearn.MLPClassifier(hidden_layer_sizes=hidden, activation=activation,
                                   random_state=0).initialize(X, y)
    for coef in est.coefs_:
        bound = np.sqrt((2.0 if activation == "logistic" else 6.0) / sum(coef.shape))
        assert 0.8 * bound < np.abs(coef).max() <= bound


def test_multiclass_multioutput_targets_are_refused_with_what_takes_them(iris):
    from sklearn.multioutput import MultiOutputClassifier

    X, _, y, _ = iris
    Y = np.column_stack([y, (y + 1) % 3])
    with pytest.raises(ValueError, match="Unsupported target type 'multiclass-multioutput'.*"
                                         "sklearn.multioutput.MultiOutputClassifier"):
        keraslearn.MLPClassifier(max_iter=1).fit(X, Y)
    wrapped = MultiOutputClassifier(keraslearn.MLPClassifier(max_iter=2, random_state=0))
    with pytest.warns(ConvergenceWarning):
        assert wrapped.fit(X, Y).predict(X).shape == Y.shape


def test_regressor_one_column_target_warns_and_predicts_flat():
    theirs, ours = both(_one_column_target)
    assert ours == theirs == ((5,), 1)


@pytest.mark.parametrize("loss, alpha", [("squared_error", 0.0), ("squared_error", 0.5),
                                         ("poisson", 0.0)])
def test_multi_output_regression_takes_scikit_learn_steps(loss, alpha):
    # From the same weights: scikit-learn steps along the gradient of the
    # outputs' summed loss (its squared-error curve reports their mean).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    Y = X @ rng.normal(size=(4, 3)) + rng.normal(scale=0.1, size=(120, 3))
    Y = np.exp(Y / 4) if loss == "poisson" else Y
    params = dict(loss=loss, hidden_layer_sizes=(6,), solver="sgd", momentum=0.0,
                  shuffle=False, tol=0.0, n_iter_no_change=1000, alpha=alpha, batch_size=120,
                  learning_rate_init=0.05, random_state=0)
    ours = keraslearn.MLPRegressor(**params, dtype="float64").initialize(X, Y)
    theirs = sk.MLPRegressor(**params, max_iter=1).fit(X, Y)
    theirs.coefs_ = [np.array(w) for w in ours.coefs_]
    theirs.intercepts_ = [np.array(b) for b in ours.intercepts_]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.set_params(warm_start=True, max_iter=5).fit(X, Y)
        ours.set_params(warm_start=True, max_iter=5).fit(X, Y)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6, atol=1e-8)
    if loss == "squared_error":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_[1:], rtol=1e-6)


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
@pytest.mark.parametrize("solver, batch_size", [("sgd", 40), ("sgd", 50), ("adam", 50)])
def test_weighted_batches_take_scikit_learn_steps(kind, solver, batch_size):
    """Each batch's loss is its weighted mean, as scikit-learn's MLP divides
    by the batch's total weight: uneven weights over several batches (the
    last one shorter for 50 rows a batch) give its steps, from the same
    weights."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    y = X @ rng.normal(size=4) + rng.normal(scale=0.1, size=120)
    if kind == "classifier":
        y = (y > 0).astype(int)
    w = rng.uniform(0.1, 3.0, size=120)
    params = dict(hidden_layer_sizes=(6,), solver=solver, momentum=0.0, shuffle=False,
                  tol=0.0, n_iter_no_change=1000, alpha=0.0, batch_size=batch_size,
                  learning_rate_init=0.05, random_state=0)
    name = "MLPRegressor" if kind == "regressor" else "MLPClassifier"
    ours = getattr(keraslearn, name)(**params, dtype="float64").initialize(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = getattr(sk, name)(**params, max_iter=1).fit(X, y, sample_weight=w)
        theirs.coefs_ = [np.array(c) for c in ours.coefs_]
        theirs.intercepts_ = [np.array(b) for b in ours.intercepts_]
        theirs.set_params(warm_start=True, max_iter=4).fit(X, y, sample_weight=w)
        ours.set_params(warm_start=True, max_iter=4).fit(X, y, sample_weight=w)
    out = "predict" if kind == "regressor" else "predict_proba"
    # Keras' Adam rounds beta_1 and beta_2 to float32 (ops.cast of a Python
    # float), which changes its step sizes by about 1e-5 of themselves.
    tol = dict(rtol=1e-6, atol=1e-8) if solver == "sgd" else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(getattr(ours, out)(X), getattr(theirs, out)(X), **tol)


@pytest.mark.parametrize("data", ["float64", "float32", "int64"])
@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel"])
def test_confidently_wrong_rows_cost_what_scikit_learn_reports(target, data):
    """scikit-learn clips probabilities to [eps, 1 - eps] of its float type
    (float32 for float32 data only): a confidently wrong row costs at most
    -log(eps). The same step from the same weights reports the same loss
    (and takes the same step: the gradient is the unclipped one in both)."""
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(60, 3)) * 2).astype(data)
    y = {"binary": rng.integers(0, 2, 60), "multiclass": rng.integers(0, 3, 60),
         "multilabel": rng.integers(0, 2, (60, 3))}[target]
    params = dict(hidden_layer_sizes=(6,), activation="tanh", shuffle=False, alpha=0.0,
                  solver="sgd", momentum=0.0, batch_size=60, learning_rate_init=0.25,
                  tol=0.0, n_iter_no_change=1000, random_state=0)
    ours = keraslearn.MLPClassifier(**params, dtype="float64").initialize(X, y)
    coefs = [np.asarray(ours.coefs_[0]), np.asarray(ours.coefs_[1]) * 60]  # saturated
    ours.model_.layers[-1].kernel.assign(coefs[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = sk.MLPClassifier(**params, max_iter=1).fit(X, y)
        kind = theirs.coefs_[0].dtype  # its float type: float32 for float32 data only
        theirs.coefs_ = [np.array(c, dtype=kind) for c in coefs]
        theirs.intercepts_ = [np.array(b, dtype=kind) for b in ours.intercepts_]
        theirs.set_params(warm_start=True, max_iter=1).fit(X, y)
        ours.set_params(warm_start=True, max_iter=1).fit(X, y)
    assert theirs.loss_ > 7  # rows at the clip
    # scikit-learn takes log(1 - p) from probabilities p near 1 (rounded to
    # 1e-16: 1e-3 of a tiny 1 - p), keraslearn from the logits.
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-3)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-5 if data == "float32" else 1e-9,
                                   atol=1e-6 if data == "float32" else 1e-12)


def _loss_scale(lib):
    X, y = load_diabetes(return_X_y=True)
    X, y = StandardScaler().fit_transform(X[:200]), y[:200] / 100
    reg = lib.MLPRegressor(hidden_layer_sizes=(8,), alpha=0.0, max_iter=30,
                           learning_rate_init=0.01, random_state=0).fit(X, y)
    return reg.loss_ / np.mean((reg.predict(X) - y) ** 2)


def test_regressor_loss_is_half_the_squared_error():
    # scikit-learn's MLPRegressor minimises half the MSE: loss_, tol and alpha
    # are on that scale.
    theirs, ours = both(_loss_scale)
    assert theirs == pytest.approx(0.5, abs=0.1)
    assert ours == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize("name,value,solver", [
    ("momentum", 0, "sgd"), ("momentum", np.float32(0.5), "sgd"),
    ("learning_rate_init", 1, "sgd"), ("learning_rate_init", np.float32(0.01), "adam"),
    ("alpha", np.float32(0.01), "adam"), ("beta_1", np.float32(0.5), "adam"),
    ("epsilon", np.float32(1e-7), "adam"), ("validation_fraction", np.float32(0.25), "adam"),
    ("power_t", 1, "sgd"), ("tol", np.float32(1e-3), "adam"),
])
def test_numbers_of_any_type_are_taken_as_scikit_learn_takes_them(iris, name, value, solver):
    # scikit-learn takes any real number (a grid's 0 or 1, a NumPy float); Keras'
    # optimizers take Python floats only: the value is given to them as one.
    X_train, _, y_train, _ = iris
    params = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0, solver=solver,
                  early_stopping=name == "validation_fraction",
                  learning_rate="invscaling" if name == "power_t" else "constant")
    sk.MLPClassifier(**params, **{name: value}).fit(X_train, y_train)
    given = keraslearn.MLPClassifier(**params, **{name: value}).fit(X_train, y_train)
    as_float = keraslearn.MLPClassifier(**params, **{name: float(value)}).fit(X_train, y_train)
    assert given.loss_curve_ == as_float.loss_curve_
    np.testing.assert_array_equal(given.coefs_[0], as_float.coefs_[0])


@pytest.mark.parametrize("target", ["multiclass", "multilabel"])
def test_a_first_partial_fit_needs_the_classes_as_in_scikit_learn(iris, target):
    # Taken from the first batch, a class it lacked failed only on a later batch.
    X_train, _, y_train, _ = iris
    y = y_train if target == "multiclass" else np.eye(3, dtype=int)[y_train]
    for lib in (sk, keraslearn):
        clf = lib.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
        with pytest.raises(ValueError, match="^classes must be passed on the first call to "
                                             "partial_fit.$"):
            clf.partial_fit(X_train, y)
        assert not hasattr(clf, "classes_")
        clf.partial_fit(X_train, y, classes=np.unique(y_train)).partial_fit(X_train, y)
        assert len(clf.loss_curve_) == 2
        # After fit, the classes are known.
        clf.fit(X_train, y).partial_fit(X_train, y)


@pytest.mark.parametrize("later", [[0, 1], [0, 1, 2, 3], [2, 1, 0]])
def test_partial_fit_classes_must_stay_the_same(iris, later):
    # As scikit-learn's online learners: classes given again must be the first call's
    # (in any order); fewer or more classes are refused.
    X_train, _, y_train, _ = iris

    def call(lib):
        clf = lib.MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
        clf.partial_fit(X_train, y_train, classes=[0, 1, 2])
        try:
            clf.partial_fit(X_train[:30], y_train[:30], classes=later)
        except ValueError as exc:
            return "refused", str(exc)
        return "taken", None

    theirs, ours = both(call)
    assert ours[0] == theirs[0] == ("taken" if sorted(later) == [0, 1, 2] else "refused")
    if ours[1]:
        assert f"classes={sorted(later)!r} is not the same" in ours[1]


@pytest.mark.parametrize("column", ["Int64", "Float32", "boolean", "category", "Sparse"])
def test_frames_of_pandas_extension_dtypes_fit_as_scikit_learn_fits_them(column):
    # scikit-learn reads such a frame as float64 data (float32 only when every
    # column is NumPy's float32): the same fit as on the frame's float64 values.
    X, y = load_iris(return_X_y=True)
    X = pd.DataFrame(X[::3].astype("float32"), columns=list("abcd"))
    y = y[::3]
    a = (X["a"] * 10).round().astype("int64")
    X["a"] = {"Int64": a.astype("Int64"), "Float32": X["a"].astype("Float32"),
              "boolean": (a % 2 == 0).astype("boolean"), "category": a.astype("category"),
              "Sparse": pd.arrays.SparseArray(X["a"])}[column]
    values = X.to_numpy(dtype="float64")
    params = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # scikit-learn's note that it densifies a sparse column
        warnings.filterwarnings("ignore", "pandas.DataFrame with sparse columns")
        assert sk.MLPClassifier(**params).fit(X, y).coefs_[0].dtype == np.float64
        ours = keraslearn.MLPClassifier(**params).fit(X, y)
        theirs = keraslearn.MLPClassifier(**params).fit(values, y)
        partial = keraslearn.MLPClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
        assert ours.loss_curve_ == theirs.loss_curve_
        np.testing.assert_array_equal(ours.predict_proba(X), theirs.predict_proba(values))
        assert partial.loss_curve_ == theirs.loss_curve_[:1]


def test_a_frame_of_text_is_refused_by_name():
    X = pd.DataFrame({"a": pd.array(["x", "y", "z"] * 4, dtype="string"), "b": range(12)})
    with pytest.raises(ValueError, match="X holds text"):
        keraslearn.MLPClassifier(max_iter=1).fit(X, [0, 1, 2] * 4)


@pytest.mark.parametrize("dtype", ["string", "category", "Int64"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_series_of_an_extension_dtype_is_refused_as_other_inputs_are(dtype, method):
    # fit(df["text"], y): "TypeError: object of type 'StringDtype' has no len()"
    # (a Series' dtypes is its dtype; pandas 3 gives text columns the str dtype).
    X = pd.Series(["good fun", "bad"] * 6 if dtype != "Int64" else [1, 2] * 6, dtype=dtype)
    kwargs = {"classes": [0, 1]} if method == "partial_fit" else {}
    clf = keraslearn.MLPClassifier(max_iter=1)
    with pytest.raises(ValueError, match="X holds text" if dtype != "Int64" else
                       "Expected a 2-dimensional container"):
        getattr(clf, method)(X, [0, 1] * 6, **kwargs)
    assert not hasattr(clf, "_data_float")


@pytest.mark.parametrize("cls", ["MLPClassifier", "MLPRegressor"])
def test_small_uint8_counts_are_not_taken_for_pixels(cls):
    # uint8 columns of small counts train quietly, as in scikit-learn; 8-bit
    # pixel values (up to 255) get the advice to scale them.
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 10, (30, 4)).astype(np.uint8)
    y = counts[:, 0] % 2
    est = getattr(keraslearn, cls)(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        getattr(sk, cls)(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(counts, y)
        est.fit(counts, y).predict(counts)
    pixels = (counts * 25).astype(np.uint8)
    with pytest.warns(UserWarning, match="values up to 225, as 8-bit pixel values"):
        est.fit(pixels, y)



@pytest.mark.filterwarnings("ignore:Got `batch_size` less than 1 or larger:UserWarning")
@pytest.mark.parametrize("change", ["batch", "alpha", "activation"])
def test_partial_fit_computes_with_this_calls_batches_and_parameters(change):
    # scikit-learn's partial_fit divides the L2 penalty by this call's batches
    # and computes with the current parameters: a first call on 10 rows, then
    # one on 120 (batches of 40), or one after set_params, takes its steps
    # from the same weights, its optimizer continued.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(130, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    params = dict(hidden_layer_sizes=(6,), solver="sgd", momentum=0.0, shuffle=False,
                  alpha=0.5, learning_rate_init=0.05, random_state=0)
    later = {"batch": {}, "alpha": {"alpha": 5.0}, "activation": {"activation": "tanh"}}[change]
    first = slice(0, 10) if change == "batch" else slice(0, 120)
    ours = keraslearn.MLPClassifier(**params, batch_size=40, dtype="float64")
    ours.partial_fit(X[first], y[first], classes=[0, 1])
    steps = int(ours.model_.optimizer.iterations)
    theirs = sk.MLPClassifier(**params, batch_size=40).partial_fit(X[first], y[first],
                                                                  classes=[0, 1])
    theirs.coefs_ = [np.array(c) for c in ours.coefs_]
    theirs.intercepts_ = [np.array(b) for b in ours.intercepts_]
    for est in (ours, theirs):
        est.set_params(**later).partial_fit(X[10:], y[10:])
    assert int(ours.model_.optimizer.iterations) == steps + 3
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)  # Keras averages in float32
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


@pytest.mark.filterwarnings("ignore:Got `batch_size` less than 1 or larger:UserWarning")
@pytest.mark.parametrize("solver, setting, value", [
    ("sgd", "momentum", 0.9), ("sgd", "nesterovs_momentum", False), ("adam", "beta_1", 0.1),
    ("adam", "beta_2", 0.5)])
def test_partial_fit_goes_on_with_the_fitted_optimizer_whatever_the_chunk_size(
        solver, setting, value):
    # An optimizer setting changed between partial_fit calls was ignored on a
    # chunk of the same size and applied on one of another size (another L2
    # strength rebuilds the network), or failed there (momentum 0 -> 0.9).
    # scikit-learn goes on with the optimizer of the first call.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    y = (X[:, 0] > 0).astype(int)
    params = dict(hidden_layer_sizes=(4,), solver=solver, shuffle=False, random_state=0,
                  **({"momentum": 0.0} if setting == "momentum" else {}))
    changed = keraslearn.MLPClassifier(**params).partial_fit(X[:30], y[:30], classes=[0, 1])
    kept = keraslearn.MLPClassifier(**params).partial_fit(X[:30], y[:30], classes=[0, 1])
    changed.set_params(**{setting: value})
    for chunk in (slice(30, 60), slice(60, 80), slice(80, 90)):  # 30, 20, 10 rows
        changed.partial_fit(X[chunk], y[chunk])
        kept.partial_fit(X[chunk], y[chunk])
    for a, b in zip(changed.coefs_ + changed.intercepts_, kept.coefs_ + kept.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_partial_fit_refuses_parameters_that_build_another_network(iris):
    X_train, _, y_train, _ = iris
    est = keraslearn.MLPClassifier(hidden_layer_sizes=(5,), random_state=0)
    est.partial_fit(X_train, y_train, classes=[0, 1, 2])
    before = [w.copy() for w in est.model_.get_weights()]
    est.set_params(hidden_layer_sizes=(7,), alpha=0.5)
    with pytest.raises(ValueError, match="partial_fit continues the fitted network, but the "
                                         "current parameters build another one.*Call fit"):
        est.partial_fit(X_train, y_train)
    for a, b in zip(before, est.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    # Optimizer settings: partial_fit goes on with the fitted optimizer, as
    # scikit-learn's does, also where another L2 strength rebuilds the network
    # (another solver was refused then, another momentum failed a later call).
    steps = int(est.model_.optimizer.iterations)
    est.set_params(hidden_layer_sizes=(5,), solver="sgd").partial_fit(X_train, y_train)
    assert type(est.model_.optimizer).__name__ == "Adam"
    assert int(est.model_.optimizer.iterations) == steps + 1
    # Other hidden sizes alone, batch normalisation added or removed: they were
    # ignored (the old network trained on).
    est = keraslearn.MLPClassifier(hidden_layer_sizes=(5,), random_state=0).partial_fit(
        X_train, y_train, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="current parameters build another one"):
        est.set_params(hidden_layer_sizes=(5, 5)).partial_fit(X_train, y_train)
    for flag in (True, False):
        est = keraslearn.MLPClassifier(hidden_layer_sizes=(5,), batch_normalization=flag,
                                       random_state=0).partial_fit(X_train, y_train,
                                                                   classes=[0, 1, 2])
        with pytest.raises(ValueError, match="current parameters build another one"):
            est.set_params(batch_normalization=not flag).partial_fit(X_train, y_train)


def test_a_warm_start_on_labels_lacking_a_class_is_refused_as_in_scikit_learn(iris):
    X_train, _, y_train, _ = iris
    some = y_train < 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = sk.MLPClassifier(max_iter=2, warm_start=True, random_state=0)
        theirs.fit(X_train, y_train)
        with pytest.raises(ValueError, match="warm_start can only be used where"):
            theirs.fit(X_train[some], y_train[some])
        ours = keraslearn.MLPClassifier(max_iter=2, warm_start=True, random_state=0)
        ours.fit(X_train, y_train)
        before = ours.predict_proba(X_train)
        with pytest.raises(ValueError, match=r"warm_start can only be used where y has the same "
                                             r"classes.*\[0, 1, 2\], y has \[0, 1\]"):
            ours.fit(X_train[some], y_train[some])
        np.testing.assert_array_equal(ours.predict_proba(X_train), before)
        assert ours.n_iter_ == 2
        for est in (ours, theirs):  # the refused fit counted nothing
            est.fit(X_train, y_train)
        assert (ours.n_iter_, ours.t_) == (theirs.n_iter_, theirs.t_)
        ours.partial_fit(X_train[some], y_train[some])  # a batch of some classes is fine there
        # found in an audit: a new class was told as partial_fit's unknown label
        # (classes=...), which the user never gave; now as scikit-learn tells it
        with pytest.raises(ValueError, match="warm_start can only be used where"):
            theirs.fit(X_train, y_train + (y_train == 2))
        with pytest.raises(ValueError, match=r"warm_start can only be used where y has the same "
                                             r"classes.*\[0, 1, 2\], y has \[0, 1, 3\]\. The "
                                             r"fitted network has no output for \[3\]"):
            ours.fit(X_train, y_train + (y_train == 2))
        with pytest.raises(ValueError, match="y contains labels not in classes"):
            ours.fit(X_train, y_train.astype(str))  # (labels of another type: validated)
        named = keraslearn.MLPClassifier(max_iter=2, warm_start=True, random_state=0).fit(
            X_train, np.array(["a", "b", "c"])[y_train])
        for labels in (np.array(["a", "b", "fish"], dtype=object)[y_train],  # (found in review)
                       pd.Series(np.array(["a", "b", "fish"])[y_train]),
                       pd.Series(np.array(["a", "b", "fish"])[y_train], dtype="category")):
            with pytest.raises(ValueError, match=r"no output for \['fish'\]"):
                named.fit(X_train, labels)
        # Data that are no data are named first, as scikit-learn names them: the
        # classes and partial_fit were blamed for empty X or a y of another length.
        for est in (ours, theirs):
            with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
                est.fit(X_train[:0], y_train[:0])
            with pytest.raises(ValueError, match="inconsistent numbers of samples"):
                est.fit(X_train, y_train[some])


@pytest.mark.parametrize("y, said", [
    (np.arange(30).astype(str), r"y has dtype <U2.*y.astype\(float\)"),
    (np.arange(30).astype("datetime64[D]"), r"y has dtype datetime64\[D\]")])
def test_poisson_regressor_tells_text_or_dates_as_targets_are_not_numbers(y, said):
    # Found in an audit: the negative-count check ran first, failing in NumPy's
    # "ufunc 'less' did not contain a loop" where the squared error's fit said why.
    X = np.random.RandomState(0).rand(30, 3)
    for loss in ("poisson", "squared_error"):
        with pytest.raises(ValueError, match="A regressor needs numeric targets; " + said):
            keraslearn.MLPRegressor(loss=loss, max_iter=1).fit(X, y)


def test_partial_fit_after_another_loss_or_dtype_rebuilds_the_network_it_reports():
    # partial_fit trained on the old network (a linear output under
    # loss="poisson", float32 under dtype="float64") while out_activation_
    # named the new one; poisson's output trained on negative targets.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.abs(X @ [1.0, 2.0, -1.0]) + 0.5
    params = dict(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=1e-12,
                  max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = keraslearn.MLPRegressor(**params).fit(X, y)
    linear = reg.predict(X)
    reg.set_params(loss="poisson").partial_fit(X, y)  # the weights carried over, untrained
    assert reg.out_activation_ == "exp"
    assert reg.model_.get_layer("output").activation.__name__ == "exponential"
    np.testing.assert_allclose(reg.predict(X), np.exp(linear), rtol=1e-5)
    with pytest.raises(ValueError, match="requires non-negative y"):
        reg.partial_fit(X, -y)
    reg.set_params(loss="squared_error").partial_fit(X, -y)
    assert reg.out_activation_ == "identity"
    np.testing.assert_allclose(reg.predict(X), linear, rtol=1e-5)
    reg.set_params(dtype="float64").partial_fit(X, y)
    assert reg.model_.get_layer("output").kernel.dtype == "float64"
    assert reg.predict(X).dtype == np.float64
    np.testing.assert_allclose(reg.predict(X), linear, rtol=1e-5)
