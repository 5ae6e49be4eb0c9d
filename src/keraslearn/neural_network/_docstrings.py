"""Parameter and attribute descriptions shared by the ready networks.

Written once and substituted into the class docstrings (as imbalanced-learn's
``Substitution`` does): a class docstring names an entry as ``{name}`` on a
line of its own.
"""

from .._engine._distribute import PLACEMENT_DOC
from ..utils import substitute

_ENTRIES = {}

_ENTRIES["mlp_parameters"] = """\
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units of the ith hidden layer.

    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers: ``"identity"`` (Keras' ``"linear"``),
        ``"logistic"`` (``"sigmoid"``), ``"tanh"`` or ``"relu"``. The Keras
        names ``"linear"``, ``"sigmoid"``, ``"elu"``, ``"selu"``, ``"gelu"``,
        ``"silu"``, ``"softplus"`` and ``"leaky_relu"`` are accepted too.

    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        ``"adam"`` or ``"sgd"`` (with ``momentum``) train with the Keras
        optimizer of that name. ``"lbfgs"`` has no Keras equivalent and raises
        a ValueError at fit. ``optimizer``, when set, takes precedence.

    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights (not the biases), with
        scikit-learn's meaning: each batch's loss is increased by
        ``0.5 * alpha * ||W||^2`` divided by ``batch_size`` times the mean
        sample weight. scikit-learn divides by each batch's own total sample
        weight: the same for full batches of unweighted rows, while here an
        epoch's last, shorter batch (and a batch of unevenly weighted rows)
        is penalised as a full batch of average weight.

    batch_size : int or "auto", default="auto"
        Samples per gradient step; ``"auto"`` means ``min(200, n_samples)``.
        Larger values are clipped to the number of samples, with a warning.

    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Learning-rate schedule, used with ``solver="sgd"`` only, as in
        scikit-learn: ``"invscaling"`` sets it to ``learning_rate_init /
        (t + 1) ** power_t`` after each epoch (t counts samples seen);
        ``"adaptive"`` divides it by 5 whenever the stopping rule below would
        stop while it is above 1e-6, and stops when the rule fires with it at
        or under 1e-6.

    learning_rate_init : float, default=0.001
        Initial learning rate of the optimizer.

    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.

    max_iter : int, default=200
        Maximum number of epochs (passes over the training data) per ``fit``.

    shuffle : bool, default=True
        Reshuffle the training data at every epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the
        early-stopping split, for reproducible fits on one machine. None
        draws as Keras does, not from NumPy's global generator as
        scikit-learn's MLP does: ``np.random.seed`` does not make such fits
        repeat (seeding every fit from it would set TensorFlow's global seed
        at every fit, emptying its kernel caches); give an int. Weights
        are drawn as scikit-learn's MLP draws them (Glorot's uniform bound);
        biases start at zero, as in Keras (scikit-learn draws them too).
        Python's and NumPy's global generators are restored after the fit;
        TensorFlow's global seed is left set to the seed (through
        ``keras.utils.set_random_seed``, which also starts Keras' global
        seed generator again) when it held another value: unseeded
        TensorFlow and Keras code of your own run after a seeded fit draws
        the same numbers in every run. Setting that seed clears TensorFlow's
        kernel caches, which would slow every later fit if it were put back.

    tol : float, default=1e-4
        Training stops when the training loss (or, with ``early_stopping``,
        the validation score) does not improve by at least ``tol`` for more
        than ``n_iter_no_change`` consecutive epochs.

    verbose : bool, default=False
        Print the loss after every epoch.

    warm_start : bool, default=False
        Continue training the fitted network at the next ``fit``, with the
        current parameters (a new optimizer and penalty, as scikit-learn's
        MLP); the layer sizes must stay the same.

    momentum : float, default=0.9
        Momentum of ``solver="sgd"``, in [0, 1].

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with ``solver="sgd"``.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified: by
        class for single-output classification, as scikit-learn stratifies
        binary targets, and by target decile for single-output regression, so
        that a few dozen rows do not all come from one end of y; a plain random
        split where a class has too few rows to be shared, as for
        scikit-learn's multiclass targets), score it after every epoch with
        scikit-learn's score function (accuracy, or R² for regression), stop
        when that score has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs, and restore the weights of the best
        epoch: scikit-learn's rule. The epoch's logs (``history_``, and what
        callbacks see) hold the score and the validation loss.

    validation_fraction : float, default=0.1
        Fraction of the training data held out by ``early_stopping``, in [0, 1)
        (used only with ``early_stopping``, where it must hold out 2 rows or more).

    beta_1 : float, default=0.9
        Decay of the first moment estimates of ``solver="adam"``, in [0, 1).

    beta_2 : float, default=0.999
        Decay of the second moment estimates of ``solver="adam"``, in [0, 1).

    epsilon : float, default=1e-8
        Numerical stability constant of ``solver="adam"``.

    n_iter_no_change : int, default=10
        Epochs without improvement by ``tol`` tolerated before stopping.

    max_fun : int, default=15000
        Used only by scikit-learn's ``"lbfgs"`` solver; accepted so that
        scikit-learn parameter sets carry over, and ignored.

    dropout : float, default=0.0
        Fraction of each hidden layer's outputs dropped during training, in
        [0, 1). Dropout is active only while training.

    batch_normalization : bool, default=False
        Add a ``BatchNormalization`` layer before each hidden activation
        (under ``distribute``, synchronized: it normalises by the statistics of
        the global batch, as on one device). Its batch statistics are Keras'
        own, unweighted: with ``sample_weight``, a weight of 2 is then not the
        same as the row given twice (nor with ``dropout``, whose masks differ).

    optimizer : str, keras.optimizers.Optimizer class or instance, default=None
        A Keras optimizer used instead of ``solver``. A name or class is
        created with ``learning_rate=learning_rate_init``; an instance is
        copied with its own settings (``learning_rate_init`` is not applied),
        made again from its config as Keras copies one (``copy.deepcopy``,
        saving): ``exclude_from_weight_decay`` is not kept.

    reduce_lr_on_plateau : bool or dict, default=False
        Add ``keras.callbacks.ReduceLROnPlateau`` monitoring the training loss
        (the validation loss with ``early_stopping``), halving the learning
        rate after ``n_iter_no_change // 2`` epochs without an improvement
        of more than ``tol`` (``min_delta``), down to 1e-6 (``min_lr``); a
        dict overrides its arguments (``{"factor": 0.2, "patience": 3}``).
        As Keras' callback, it counts within one ``fit``: ``partial_fit``
        calls (one epoch each) never reach its patience; there,
        ``learning_rate="adaptive"`` carries its count across calls."""

_ENTRIES["callbacks"] = """\
    callbacks : list of keras.callbacks.Callback instances or classes, default=None
        Keras callbacks called during every ``fit`` (a class is created with
        its default arguments), for example ``keras.callbacks.TensorBoard``
        or ``keras.callbacks.CSVLogger``. They run before the estimator's own
        stopping rule and learning-rate changes, and their logs hold the
        validation loss with ``early_stopping`` (and, for the MLPs, the
        validation score: ``val_accuracy``, ``val_r2_score``, which a Keras
        ``EarlyStopping`` or ``ModelCheckpoint`` monitors with ``mode="max"``,
        Keras knowing the direction of compiled metrics only). A
        ``partial_fit`` numbers its epoch on from those
        trained (Keras' ``initial_epoch``), so that a schedule or a log goes
        on; a ``fit`` numbers from 0.
        ``fit(X, y, callbacks=[...])`` uses its callbacks instead, for that
        fit only (warned where this parameter holds some; ``callbacks=None``
        is not given). An instance is used as given (read its state after fit);
        ``clone`` copies it."""

_ENTRIES["class_weight"] = """\
    class_weight : dict, list of dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight`` (for
        multilabel y, a list of one dict per label column, multiplied, as
        scikit-learn's ``compute_sample_weight`` takes them);
        ``"balanced"`` weighs classes inversely to their frequency, rows counted
        by their ``sample_weight``; ``partial_fit`` refuses it, as scikit-learn's
        online learners do. As scikit-learn's MLP weighs rows, each batch's
        loss is its rows' weighted mean: weights act between the rows of a
        batch, so a batch of one class learns as much whatever its weight.
        The held-out rows of ``early_stopping`` are weighed too (their
        validation score and loss)."""

_ENTRIES["device_dtype"] = PLACEMENT_DOC + """

    dtype : {"float32", "float64"} or None, default=None
        Floating-point type of the network; None means Keras' default
        (``keras.config.floatx()``, float32 unless set; float32 where it is
        float16 or bfloat16, though Keras tracks the training loss in floatx
        then: a fit warns of it). float64 is slower but exact enough for numerical
        checks. The network computes in this type whatever Keras' global
        dtype policy says (``keras.mixed_precision.set_global_policy``): a
        mixed-precision network is a wrapper's (``KerasClassifier``)."""

_ENTRIES["mlp_attributes"] = """\
    loss_ : float
        The training loss of the last epoch (with the L2 penalty).

    loss_curve_ : list of float
        The training loss of every epoch, across warm-started fits.

    best_loss_ : float or None
        The lowest training loss; None with ``early_stopping``.

    validation_scores_ : list of float or None
        The validation score of every epoch with ``early_stopping``, computed
        as scikit-learn's MLP computes it: ``accuracy_score`` for classifiers
        (of whole label rows for multilabel targets), ``r2_score`` for
        regressors, weighted by ``sample_weight``; None otherwise.

    best_validation_score_ : float or None
        The best validation score; None without ``early_stopping``.

    n_iter_ : int
        Number of epochs run by the last ``fit`` (1 after ``partial_fit``).

    t_ : int
        Number of training samples seen, across warm-started fits.

    coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
        Weight matrices of the Dense layers: read-only copies of ``model_``'s
        weights. Assigning a list of arrays of these shapes sets them, and
        assigning one item (``coefs_[i] = W``) sets that layer's.

    intercepts_ : list of ndarray of shape (n_fan_out,)
        Bias vectors of the Dense layers (read-only copies; assignable, as
        ``coefs_``).

    n_layers_ : int
        Number of layers, input and output included (as scikit-learn counts).

    n_outputs_ : int
        Number of output units.

    out_activation_ : str
        Activation of the outputs: ``"logistic"``, ``"softmax"``,
        ``"identity"`` or ``"exp"``. A classifier's network outputs logits, to
        which ``predict_proba`` applies it.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of str
        Column names, when X was a pandas DataFrame.

    model_ : keras.Model
        The trained Keras network. A classifier's outputs logits: apply
        ``out_activation_`` to them for probabilities, as ``predict_proba``
        does.

    history_ : dict of list
        Keras' per-epoch logs (``"loss"``, and ``"val_*"`` with
        ``early_stopping``), across warm-started fits."""


# In a method's docstring (indented by 8): the first line follows the 4 spaces
# the substitution leaves.
_ENTRIES["partial_fit_optimizer"] = """\
    The optimizer of the first call goes on, its settings and state, as in
        scikit-learn: ``solver``, ``momentum``, ``beta_1``... set later take
        effect at the next ``fit``. Unlike scikit-learn's, which keeps the
        first call's, ``learning_rate="invscaling"`` computes the rate it sets
        after each call (for the next one) from the current
        ``learning_rate_init`` and ``power_t``. The L2 penalty and the
        activation are the current parameters'."""

fill_doc = substitute(_ENTRIES)
