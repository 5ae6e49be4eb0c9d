"""The engine: how every keraslearn estimator trains and predicts.

Which code path trains my model, and why?
-----------------------------------------
Every estimator -- ``KerasClassifier``, ``KerasRegressor``, ``BaseWrapper``,
``MLPClassifier``, ``MLPRegressor``, ``ImageClassifier`` -- trains through one
method, :meth:`KerasEstimator._fit` (``_estimator.py``), in this order:

1. **Parameters** are checked before TensorFlow runs (``_check_parameters``)
   and read in Keras' words (``_training_settings``: epochs, batch size,
   validation, callbacks, seed). The wrappers take them from their routed
   parameters, the ready networks translate scikit-learn's names.
2. **Data** is validated (``_inputs.py``) and the targets encoded for the
   network (``_targets.py``: labels to class indices, one-hot rows or 0/1
   columns, chosen from the loss in ``_losses.py``); sample and class weights
   become one weight per row.
3. **The plan** (``_plan.py``): one immutable :class:`FitPlan` holds every
   decision of the fit -- new, continued or rebuilt network, batch size,
   held-out rows, callbacks, seed.
4. **The network** is built by the family's ``_build_network`` (the user's
   builder, or the ready network) under the fit's seed (``_random.py``),
   compiled, and checked against the target (``_build.py``); a warm start
   continues ``model_``. Building and training run on the ``device``
   parameter's device (``_devices.py``), or under the ``distribute``
   parameter's strategy, which does not use the trace cache and whose
   network is copied out into a plain ``model_`` (``_distribute.py``).
5. **Training** (``_train.py``) feeds a ``tf.data`` pipeline (``_feed.py``:
   tensors for small data, batches gathered from the array for large data)
   to Keras' own ``Model.fit``. By default it runs on a warm copy of the
   model from the trace cache (``_trace_cache.py``), so that fits of the same
   architecture do not trace Keras' train function again; the copy is
   verified to compute the same outputs and gradients as the model, and the
   trained state is copied back. A *plain dense chain* (Keras' ``Dense``
   layers only, with at most an L2 penalty; Adam, SGD or RMSprop; one of
   Keras' losses; metrics by name, means over samples ("accuracy", "mae",
   ...); and a fit with no callbacks but the ready MLPs' own and Keras'
   EarlyStopping, ReduceLROnPlateau or LearningRateScheduler, no validation
   data and no progress output: the ready MLPs' fits, and a wrapper's plain
   stack) skips Keras' train function: ``_dense_chain.py`` trains it through
   one traced function per depth (``_chain_functions.py``; which networks and
   settings qualify: ``_plain_networks.py``) whose weight shapes are left open, so that
   a search over layer widths traces once; its updates are Keras' own, those
   callbacks run between epochs, and it ends where Keras' fit ends. Turn
   sharing off (both ways) with
   ``keraslearn.set_config(share_traced_functions=False)``; it is off for
   seeded fits of models with layers of their own.
6. **Commit**: the fitted attributes are set at the end, all at once; any
   failure or interruption before that restores the estimator
   (``_transaction.py``). Every 64 networks built, the end of a fit also
   empties TensorFlow's eager kernel cache, which would otherwise grow with
   every new variable name and shape for the life of the process
   (``_kernel_cache.py``).

Prediction validates X (with a cheap path for float rows, ``_inputs.py``) and
calls the network directly, not through ``Model.predict`` (``_predict.py``).
"""

from ._classification import ClassifierBehaviour, classifier_tags
from ._data import TrainingData
from ._estimator import KerasEstimator
from ._plan import FitPlan, TrainingSettings
from ._regression import RegressorBehaviour

__all__ = [
    "ClassifierBehaviour", "FitPlan", "KerasEstimator", "RegressorBehaviour",
    "TrainingData", "TrainingSettings", "classifier_tags",
]
