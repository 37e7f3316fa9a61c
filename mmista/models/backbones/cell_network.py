# Copyright (c) mmista contributors. All rights reserved.
"""The skeleton every DARTS-space backbone shares: stem, cells, outputs."""
from typing import Any, Sequence, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.backbones.base_backbone import BaseBackbone

from ..utils import build_stem, cell_layout


def normalize_out_indices(out_indices: Sequence[int],
                          layers: int) -> Tuple[int, ...]:
    """Maps negative cell indices to positive ones and validates them."""
    if isinstance(out_indices, int):
        out_indices = (out_indices, )
    normalized = []
    for index in out_indices:
        positive = index + layers if index < 0 else index
        if not 0 <= positive < layers:
            raise ValueError(
                f'out_indices entry {index} is out of range for {layers} '
                'cells')
        normalized.append(positive)
    return tuple(sorted(set(normalized)))


class CellNetwork(BaseBackbone):
    """A stem followed by ``layers`` cells, returning chosen cell outputs.

    Subclasses build ``self.cells`` (one module per entry of
    ``self.cell_specs``) and define :meth:`forward_cell`.

    Args:
        channels (int): Initial channels ``C``.
        layers (int): Number of cells.
        stem (str): ``'cifar'`` or ``'imagenet'``.
        in_channels (int): Image channels.
        concat_nodes (int): Nodes concatenated into a cell output.
        drop_path_prob (float): Drop-path probability on cell edges.
        out_indices (Sequence[int]): Cells whose outputs are returned.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self, channels: int, layers: int, stem: str,
                 in_channels: int, concat_nodes: int, drop_path_prob: float,
                 out_indices: Sequence[int], init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.layers = layers
        self.drop_path_prob = drop_path_prob
        self.out_indices = normalize_out_indices(out_indices, layers)
        self.stem = build_stem(stem, channels, in_channels=in_channels)
        self.cell_specs = cell_layout(layers, channels,
                                      self.stem.out_channels,
                                      self.stem.reduction_prev, concat_nodes)
        self.cells = nn.ModuleList()

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """tuple[int]: Channels of each returned feature map."""
        return tuple(self.cell_specs[i].out_channels
                     for i in self.out_indices)

    def prepare_forward(self) -> Any:
        """Computes what every cell of one forward pass shares."""
        return None

    def forward_cell(self, cell: nn.Module, s0: torch.Tensor,
                     s1: torch.Tensor, shared: Any) -> torch.Tensor:
        """Runs one cell on its two inputs."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Returns the feature maps of the cells in ``out_indices``."""
        shared = self.prepare_forward()
        s0, s1 = self.stem(x)
        outs = []
        for index, cell in enumerate(self.cells):
            s0, s1 = s1, self.forward_cell(cell, s0, s1, shared)
            if index in self.out_indices:
                outs.append(s1)
        return tuple(outs)
