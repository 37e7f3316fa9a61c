# Copyright (c) mmista contributors. All rights reserved.
from .derived_net import DerivedCell, DerivedNet
from .ista_supernet import ISTASuperNet, SuperCell

__all__ = ['DerivedCell', 'DerivedNet', 'ISTASuperNet', 'SuperCell']
