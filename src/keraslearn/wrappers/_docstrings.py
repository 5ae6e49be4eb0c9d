"""Parameter descriptions shared by the wrappers, written once and
substituted into their docstrings (``{name}`` on a line of its own)."""

from .._engine._distribute import PLACEMENT_DOC
from ..utils import substitute

_ENTRIES = {}

_ENTRIES["model"] = """\
    model : keras.Model or callable, default=None
        The network, or a function that builds and returns it. A function
        receives the arguments it declares: estimator parameters by name
        (``KerasClassifier(build, hidden=64)``; one it gives a default of its
        own keeps it where the estimator's parameter of that name, as
        ``loss`` or ``random_state``, is left at None), ``model__``-prefixed
        parameters, ``meta`` (a dict describing the data:
        ``n_features_in_``, ``X_shape_``, ``classes_``, ``n_classes_``,
        ``target_type_``, ...), ``compile_kwargs`` and ``params``; one taking
        ``**kwargs`` gets the others there too, but a ``keras.Model`` class,
        whose ``**kwargs`` go to Keras (``name``, ``trainable``), gets only the
        parameters given there. A model returned uncompiled is compiled with
        ``optimizer``, ``loss`` and ``metrics``; a compiled one trains as
        compiled (a ``loss``, ``optimizer`` or ``optimizer__`` value it was
        not compiled with is refused). A ``keras.Model`` instance is copied (weights and
        trainable flags included) at every fit and never changed by it;
        ``initialize`` takes the instance itself (a pretrained network,
        predicting as it is), as scikeras does. Keras copies a subclassed
        model from its config (its ``__init__`` arguments): other attributes
        set on the instance are not carried; give a function building it
        then.

    build_fn : callable, default=None
        Alias of ``model`` kept for scikeras users."""

_ENTRIES["fit_parameters"] = """\
    warm_start : bool, default=False
        Continue training the fitted model at the next ``fit``, as it was
        built and compiled (as in scikeras): builder, ``optimizer``, ``loss``
        or ``compile`` parameters changed since do not reach it, and the fit
        warns naming them.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling for reproducible
        fits, in one thread or several (see below for what other threads may
        disturb). An int must be a valid NumPy seed, 0 to 2**32 - 1. Python's
        and NumPy's global generators are seeded while the model is built,
        then restored as they were: a thread of yours drawing from them at
        that moment changes what a builder without seeded initializers and
        random layers (``Dropout(0.3, seed=2)``) draws, as Dask's own threads
        do in a worker (seed them there).
        TensorFlow's global seed is set (``keras.utils.set_random_seed``,
        which also starts Keras' global seed generator again) when it holds
        another value, or when the model has layers of its own (whose random
        ops may keep state in TensorFlow), and stays set: unseeded TensorFlow
        code of your own run after the fit repeats from run to run. Randomness
        a builder draws should come from Keras initializers, NumPy or ``random``:
        a function of yours drawing from TensorFlow's unseeded random ops while
        the model is built (``tf.random.normal`` as a ``kernel_initializer``,
        ``keras.random`` without a seed) goes on from where the last fit in the
        process left it, so such fits repeat from process to process, not one
        after another in one process.
        Layers of your own drawing from TensorFlow's global random ops share
        that one state with fits running at the same time in other threads:
        such fits repeat one at a time, or in processes (joblib's default).

    optimizer : str, keras.optimizers.Optimizer class or instance, default="rmsprop"
        Its parameters can be routed: ``optimizer__learning_rate=1e-3``. An
        instance is made again from its config at every fit, as Keras copies
        one (``copy.deepcopy``, saving): settings its config does not hold,
        such as ``exclude_from_weight_decay``, are not kept: create such an
        optimizer in the model builder, a new one at each call, and compile
        the model with it (an optimizer serves the one model it was built for).

    loss : str, keras.losses.Loss or callable, default=None
        Routed parameters: ``loss__from_logits=True``."""

_ENTRIES["training_parameters"] = """\
    metrics : list, default=None
        Keras metrics to compile with (reported in ``history_``).

    batch_size : int, default=None
        Samples per gradient step; None means 32, -1 one batch of every row.

    validation_batch_size : int, default=None
        Samples per validation batch; None means ``batch_size``, -1 every row.

    verbose : int or "auto", default=0
        Keras' verbosity during ``fit``: 0 is silent, 1 a progress bar, 2 a line
        an epoch; "auto" is 1, as in Keras. Prediction is always silent.

    callbacks : list or dict of keras.callbacks.Callback, default=None
        Classes are instantiated with routed parameters
        (``callbacks__0__patience=3`` or ``callbacks__patience=3``) at every
        ``fit`` and ``partial_fit`` call (scikeras makes them once): give an
        instance for state kept across calls (a ``ModelCheckpoint``'s best
        value); instances given routed parameters are built again by their
        constructor with them. Small models train in a warm copy of
        ``model_`` kept per architecture (so that a new fit does not trace
        again): during ``fit`` the ``self.model`` of Keras' own callback
        classes is that copy, whose weights and optimizer state (learning rate
        included) are copied into ``model_`` when ``fit`` ends; callbacks of
        your own (subclasses too) make the fit train ``model_`` itself, and a
        plain stack of ``Dense`` layers trained by keraslearn's own function
        runs every callback on ``model_``. Read ``model_``, not a callback's
        ``model``, after ``fit``, or turn the copy off with
        ``keraslearn.set_config(share_traced_functions=False)``.

    validation_split : float, default=0.0
        Fraction of the training data, taken from its end, held out to
        compute ``val_*`` metrics each epoch. Ignored, as in Keras, when
        ``validation_data`` is given to ``fit``. After an oversampler in an
        imbalanced-learn pipeline (``SMOTE`` appends the rows it makes), the
        end may hold only synthetic rows.

    shuffle : bool, default=True
        Reshuffle the training data every epoch.

    run_eagerly : bool, default=False
        Run Keras' train step eagerly (for debugging).

    epochs : int, default=1
        Passes over the training data per ``fit``."""

_ENTRIES["placement"] = PLACEMENT_DOC

_ENTRIES["kwargs"] = """\
    **kwargs : dict
        Builder arguments and routed parameters (``model__``, ``optimizer__``,
        ``loss__``, ``metrics__``, ``callbacks__``, ``fit__``, ``predict__``,
        ``compile__``), all settable with ``set_params``."""

_ENTRIES["fitted_attributes"] = """\
    model_ : keras.Model
        The trained network.

    history_ : dict of list
        Per-epoch loss and metrics, accumulated over warm-started fits: floats,
        or an array an epoch for a metric of several values (Keras'
        ``F1Score(average=None)``: one per class).

    n_features_in_ : int or dict of str to int
        Number of features seen during fit; for named inputs (a dict or
        ``MultiInput``), a dict by input name, in the builder's ``meta`` too.

    feature_names_in_ : ndarray of str
        Column names, when X was a pandas DataFrame.

    X_shape_ : tuple or dict of str to tuple
        Shape of the training X; for named inputs, a dict by input name, as
        ``X_dtype_`` is.

    target_encoder_ : object
        Converts targets to what the model trains on and its outputs back."""

# A method's entry: its lines after the first are indented for a method.
_ENTRIES["predict_kwargs"] = """\
    **kwargs : dict
            ``keras.Model.predict`` arguments for this call only
            (``batch_size``, ``verbose``, ``callbacks``), as scikeras takes
            them; ``predict__`` parameters give them to every call."""

_ENTRIES["validation_arrays"] = """\
    X_val : array-like of shape (n_val, n_features) or (n_val, ...), default=None
            Validation samples, given as X is, scored at each epoch's end
            (``val_*`` in ``history_``), as ``validation_data=(X_val, y_val)``
            scores them; scikit-learn's names for them. Once requested
            (``set_fit_request(X_val=True, y_val=True)``), a pipeline built
            with ``transform_input=["X_val"]`` passes them through its earlier
            steps, where a routed ``validation_data`` reaches the model as given.
            A search splits an ``X_val`` as long as X with its folds, as it
            splits any metadata of that length. ``partial_fit`` takes
            validation rows as ``validation_data``.

        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Validation targets, given as y is; needed with ``X_val`` when y is.

        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation samples (normalised to mean 1)."""

fill_doc = substitute(_ENTRIES)
