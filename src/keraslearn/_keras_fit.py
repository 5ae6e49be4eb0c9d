"""Rules of Keras' ``Model.fit`` that keraslearn follows where TensorFlow is not
imported (evaluation, tracking) as well as in the engine."""

from numbers import Integral


def validates(freq, epoch):
    """Whether Keras' fit scores the validation data after ``epoch`` (counted
    from 0) for ``validation_freq=freq``: every ``freq``-th epoch, or those a
    list names (counted from 1)."""
    return (epoch + 1) % freq == 0 if isinstance(freq, Integral) else epoch + 1 in freq


def is_validation_freq(freq):
    """Whether ``freq`` is a ``validation_freq`` Keras' fit takes: a positive
    int (NumPy's too), or a list of epochs."""
    return (isinstance(freq, Integral) and not isinstance(freq, bool) and freq > 0
            or isinstance(freq, (list, tuple)))


def validated_epochs(previous, history, fit_kwargs):
    """For each held-out curve (``val_*`` key, as ``history_`` keeps it), the
    epochs (counted from 0 over the whole ``history_``) after which it was
    logged: the earlier fits' (``previous``, the estimator's state before this
    fit; None when this fit starts the history), then this fit's, placed by
    the ``validation_freq`` and ``initial_epoch`` it ran with (Keras' logs of
    ``history``)."""
    mine = scored_epochs(history, fit_kwargs.get("validation_freq", 1),
                         fit_kwargs.get("initial_epoch", 0))
    if previous is None:
        return mine
    before = previous.get("history_", {})
    n_before = len(before.get("loss", ()))
    known = previous.get("_validated_epochs")
    if not isinstance(known, dict):  # a fit of an earlier version: its own rule
        freq = previous.get("_validation_freq")
        if freq is None:  # (earlier still: the parameter as it is now, as the curves read it)
            freq = (previous.get("_kwargs") or {}).get("fit__validation_freq")
        known = scored_epochs(before, freq if is_validation_freq(freq) else None, 0)
    keys = [*known, *(key for key in mine if key not in known)]
    return {key: [*known.get(key, ()), *(n_before + e for e in mine.get(key, ()))]
            for key in keys}


def scored_epochs(history, freq, first):
    """For each held-out curve of one fit's ``history`` shorter than or as long
    as its ``loss``, the epochs (counted from 0) it was logged at: every epoch,
    those ``validation_freq=freq`` names from epoch number ``first`` (None: no
    rule known), or else its last ones."""
    n = len(history.get("loss", ()))
    by_freq = None if freq is None else [e for e in range(n) if validates(freq, first + e)]
    scored = {}
    for key, values in history.items():
        m = len(values)
        if not str(key).startswith("val_") or m > n:
            continue
        scored[str(key)] = (list(range(n)) if m == n else by_freq
                            if by_freq is not None and len(by_freq) == m
                            else list(range(n - m, n)))
    return scored
