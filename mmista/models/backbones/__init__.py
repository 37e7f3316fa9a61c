# Copyright (c) mmista contributors. All rights reserved.
from .absorption import absorb_supernet, exported_backbone_cfg
from .cell_network import CellNetwork
from .dense_supernet import DenseSuperNet
from .derived_net import DerivedCell, DerivedNet
from .ista_supernet import ISTASuperNet
from .super_cell_network import SuperCell, SuperCellNetwork

__all__ = [
    'absorb_supernet', 'exported_backbone_cfg', 'CellNetwork', 'DenseSuperNet',
    'DerivedCell', 'DerivedNet',
    'ISTASuperNet', 'SuperCell', 'SuperCellNetwork'
]
