# Copyright (c) mmista contributors. All rights reserved.
from .cell_network import CellNetwork
from .derived_net import DerivedCell, DerivedNet
from .ista_supernet import ISTASuperNet, SuperCell

__all__ = [
    'CellNetwork', 'DerivedCell', 'DerivedNet', 'ISTASuperNet', 'SuperCell'
]
