"""keraslearn's helpers: validation (on public NumPy / scikit-learn only),
name suggestions and signature reading shared across sub-packages."""

from ._introspection import accepted_kwargs, check_kwargs, substitute, suggest
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
    "substitute",
    "suggest",
    "validate_parameters",
]
