"""Preprocessing transformers that prepare raw data for Keras models."""

from ._image import ImageLoader

__all__ = ["ImageLoader"]
