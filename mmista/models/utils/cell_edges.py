# Copyright (c) mmista contributors. All rights reserved.
"""Building and running one edge of a cell, shared by every cell kind."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn.bricks.drop import drop_path

from .candidate_ops import build_candidate_op, is_identity
from .cell_layout import CellSpec
from .scaled_op import run_scaled_op


def build_edge(op_name: str,
               spec: CellSpec,
               source: int,
               affine: bool,
               bn_append: bool,
               pool_bn: bool = False,
               norm_cfg: Optional[dict] = None) -> nn.Module:
    """Builds the op of an edge from node ``source`` of a cell.

    Edges leaving a reduction cell's two input nodes have stride 2.

    Args:
        op_name (str): A candidate op name.
        spec (CellSpec): The cell's shape.
        source (int): Index of the edge's input node.
        affine (bool): Whether the op's BatchNorms are affine.
        bn_append (bool): Append a BatchNorm to parameter-free ops.
        pool_bn (bool): Follow pools by a non-affine BatchNorm (two-stage
            super-nets). Defaults to False.
        norm_cfg (dict, optional): Norm config of the op. Defaults to None:
            BatchNorm.

    Returns:
        nn.Module: The op.
    """
    stride = 2 if spec.reduction and source < 2 else 1
    return build_candidate_op(
        op_name,
        spec.channels,
        stride,
        affine=affine,
        bn_append=bn_append,
        pool_bn=pool_bn,
        norm_cfg=norm_cfg)


def run_edge(op: nn.Module,
             x: torch.Tensor,
             drop_prob: float,
             training: bool,
             scale: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Applies an edge op, with drop-path in training (not on identities).

    Args:
        op (nn.Module): The edge's op.
        x (Tensor): The source node.
        drop_prob (float): Drop-path probability.
        training (bool): Whether the cell is in training mode.
        scale (Tensor, optional): A 0-dim weight of the edge (a super-net's
            support weight), folded into the op's final BatchNorm where
            there is one (see :func:`run_scaled_op`).

    Returns:
        Tensor: The (weighted) edge output.
    """
    out = op(x) if scale is None else run_scaled_op(op, x, scale)
    if drop_prob > 0. and not is_identity(op):
        out = drop_path(out, drop_prob, training)
    return out
