"""keraslearn's helpers: validation (on public NumPy / scikit-learn only), name
suggestions and signature reading shared across sub-packages, and the utilities
scikeras documents (``loss_name``, ``metric_name``, ``transformers``,
``random_state``) under the same names."""

from ._introspection import accepted_kwargs, check_kwargs, substitute, suggest
from ._names import loss_name, metric_name
from ._validation import (
    Interval,
    InvalidParameterError,
    OneOf,
    check_sample_weight,
    validate_parameters,
)

__all__ = [
    "Interval",
    "InvalidParameterError",
    "OneOf",
    "accepted_kwargs",
    "check_kwargs",
    "check_sample_weight",
    "loss_name",
    "metric_name",
    "substitute",
    "suggest",
    "validate_parameters",
]
