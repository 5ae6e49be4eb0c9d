"""Preprocessing transformers that prepare raw data for Keras models."""

from ._column_groups import ColumnGroups
from ._image import ImageLoader

__all__ = ["ColumnGroups", "ImageLoader"]
