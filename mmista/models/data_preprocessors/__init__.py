# Copyright (c) mmista contributors. All rights reserved.
from .normalized_cutout import CutoutClsDataPreprocessor

__all__ = ['CutoutClsDataPreprocessor']
