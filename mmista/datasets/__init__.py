# Copyright (c) mmista contributors. All rights reserved.
from .digits import DigitsDataset, load_digit_images
from .transforms import SafeColorJitter, rotate_hue

__all__ = [
    'DigitsDataset', 'load_digit_images', 'SafeColorJitter', 'rotate_hue'
]
