# Copyright (c) mmista contributors. All rights reserved.
from .digits import DigitsDataset, load_digit_images

__all__ = ['DigitsDataset', 'load_digit_images']
