"""Rules of Keras' ``Model.fit`` that keraslearn follows where TensorFlow is not
imported (evaluation, tracking) as well as in the engine."""


def validates(freq, epoch):
    """Whether Keras' fit scores the validation data after ``epoch`` (counted
    from 0) for ``validation_freq=freq``: every ``freq``-th epoch, or those a
    list names (counted from 1)."""
    return (epoch + 1) % freq == 0 if isinstance(freq, int) else epoch + 1 in freq


def validated_epochs(previous, history, fit_kwargs):
    """The epochs (counted from 0 over the whole ``history_``) after which
    held-out scores were logged: the earlier fits' (``previous``, the
    estimator's state before this fit; None when this fit starts the
    history), then this fit's, placed by the ``validation_freq`` and
    ``initial_epoch`` it ran with (Keras' logs of ``history``)."""
    mine = _scored(history, fit_kwargs.get("validation_freq", 1),
                   fit_kwargs.get("initial_epoch", 0))
    if previous is None:
        return mine
    before = previous.get("history_", {})
    n_before = len(before.get("loss", ()))
    known = previous.get("_validated_epochs")
    if known is None:  # (a fit of an earlier version: its own last epochs)
        known = _scored(before, None, 0)
    return [*known, *(n_before + e for e in mine)]


def _scored(history, freq, first):
    n = len(history.get("loss", ()))
    m = max((len(v) for k, v in history.items() if str(k).startswith("val_")), default=0)
    if m == n:
        return list(range(n))
    epochs = [] if freq is None else [e for e in range(n) if validates(freq, first + e)]
    return epochs if len(epochs) == m else list(range(n - m, n))
