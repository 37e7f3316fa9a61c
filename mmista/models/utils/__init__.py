# Copyright (c) mmista contributors. All rights reserved.
from .candidate_ops import (POOL_OPS, DilConv, FactorizedReduce, ReLUConvBN,
                            SepConv, WithBN, build_candidate_op, is_identity,
                            output_bn, output_norm)
from .cell_edges import build_edge, run_edge
from .cell_inputs import CellInputs
from .cell_layout import CellSpec, cell_layout, reduction_indices
from .norm_layers import DEFAULT_NORM_CFG, NORM_TYPES, build_norm
from .scaled_op import folded_affine, run_scaled_op, scaled_batch_norm
from .stems import CifarStem, ImageNetStem, build_stem

__all__ = [
    'POOL_OPS', 'DilConv', 'FactorizedReduce', 'ReLUConvBN', 'SepConv',
    'WithBN', 'build_candidate_op', 'is_identity', 'output_bn', 'build_edge',
    'run_edge', 'CellInputs',
    'CellSpec', 'cell_layout', 'reduction_indices', 'CifarStem',
    'ImageNetStem', 'build_stem', 'run_scaled_op', 'scaled_batch_norm',
    'folded_affine', 'output_norm', 'DEFAULT_NORM_CFG', 'NORM_TYPES',
    'build_norm'
]
