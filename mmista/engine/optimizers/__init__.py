# Copyright (c) mmista contributors. All rights reserved.
from .search_optim_wrapper_constructor import SearchOptimWrapperConstructor

__all__ = ['SearchOptimWrapperConstructor']
