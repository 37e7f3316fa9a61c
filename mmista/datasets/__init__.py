# Copyright (c) mmista contributors. All rights reserved.
from .digits import DigitsDataset, load_digit_images
from .grey_ink import GreyInkOnBlack, grey_ink_on_black
from .transforms import SafeColorJitter, rotate_hue

__all__ = [
    'DigitsDataset', 'load_digit_images', 'GreyInkOnBlack',
    'grey_ink_on_black', 'SafeColorJitter', 'rotate_hue'
]
