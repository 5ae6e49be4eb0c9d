"""keraslearn's own validation helpers (built on public NumPy / scikit-learn only)."""

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
    "check_sample_weight",
    "validate_parameters",
]
