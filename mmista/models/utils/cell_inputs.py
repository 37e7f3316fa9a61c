# Copyright (c) mmista contributors. All rights reserved.
"""The preprocessing of a cell's two inputs, shared by every cell kind."""
from typing import Optional, Tuple

import torch
import torch.nn as nn

from .candidate_ops import FactorizedReduce, ReLUConvBN
from .cell_layout import CellSpec


class CellInputs(nn.Module):
    """Brings the outputs of the two previous cells to ``C`` channels.

    ``s1`` goes through ReLU-Conv1x1-BN; ``s0`` too, or through a
    FactorizedReduce when it has twice ``s1``'s resolution.

    Args:
        spec (CellSpec): The cell's shape.
        affine (bool): Whether the BatchNorms have affine parameters.
        norm_cfg (dict, optional): Norm config. Defaults to None: BatchNorm.
    """

    def __init__(self,
                 spec: CellSpec,
                 affine: bool = True,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        if spec.reduction_prev:
            self.preprocess0 = FactorizedReduce(
                spec.prev_prev_channels,
                spec.channels,
                affine=affine,
                norm_cfg=norm_cfg)
        else:
            self.preprocess0 = ReLUConvBN(
                spec.prev_prev_channels,
                spec.channels,
                1,
                1,
                0,
                affine=affine,
                norm_cfg=norm_cfg)
        self.preprocess1 = ReLUConvBN(
            spec.prev_channels,
            spec.channels,
            1,
            1,
            0,
            affine=affine,
            norm_cfg=norm_cfg)

    def forward(self, s0: torch.Tensor,
                s1: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns the two preprocessed input nodes."""
        return self.preprocess0(s0), self.preprocess1(s1)
