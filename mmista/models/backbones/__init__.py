# Copyright (c) mmista contributors. All rights reserved.
from .derived_net import DerivedCell, DerivedNet

__all__ = ['DerivedCell', 'DerivedNet']
