# Copyright (c) mmista contributors. All rights reserved.
from .search_classifier import SearchClassifier

__all__ = ['SearchClassifier']
