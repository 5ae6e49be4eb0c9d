"""Image data sets: read folder-per-class trees and write a bundled demo."""

from ._digits_images import make_digits_image_folder
from ._image_folder import IMAGE_EXTENSIONS, load_image_folder

__all__ = ["IMAGE_EXTENSIONS", "load_image_folder", "make_digits_image_folder"]
