# Copyright (c) mmista contributors. All rights reserved.
from .cross_entropy import CrossEntropyMetric

__all__ = ['CrossEntropyMetric']
