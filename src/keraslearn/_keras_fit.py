"""Rules of Keras' ``Model.fit`` that keraslearn follows where TensorFlow is not
imported (evaluation, tracking) as well as in the engine."""


def validates(freq, epoch):
    """Whether Keras' fit scores the validation data after ``epoch`` (counted
    from 0) for ``validation_freq=freq``: every ``freq``-th epoch, or those a
    list names (counted from 1)."""
    return (epoch + 1) % freq == 0 if isinstance(freq, int) else epoch + 1 in freq
