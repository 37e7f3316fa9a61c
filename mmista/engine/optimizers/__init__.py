# Copyright (c) mmista contributors. All rights reserved.
from .finite_optim_wrapper import FiniteOptimWrapper
from .mixed_precision_optim_wrapper import MixedPrecisionOptimWrapper
from .search_optim_wrapper_constructor import SearchOptimWrapperConstructor

__all__ = [
    'FiniteOptimWrapper', 'MixedPrecisionOptimWrapper',
    'SearchOptimWrapperConstructor'
]
