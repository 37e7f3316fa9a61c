# Copyright (c) mmista contributors. All rights reserved.
"""The derived (searched) network: a stack of cells built from a genotype."""
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmpretrain.models.backbones.base_backbone import BaseBackbone

from mmista.registry import MODELS
from mmista.structures import Genotype, get_genotype
from ..utils import (CellInputs, CellSpec, build_edge, build_stem, cell_layout,
                     run_edge)


class DerivedCell(nn.Module):
    """A cell whose edges are fixed by a genotype.

    Args:
        genotype (Genotype): The architecture.
        spec (CellSpec): The cell's shape.
        affine (bool): Whether BatchNorms have affine parameters.
        bn_append (bool): Append a BatchNorm to parameter-free ops.
    """

    def __init__(self,
                 genotype: Genotype,
                 spec: CellSpec,
                 affine: bool = True,
                 bn_append: bool = False):
        super().__init__()
        cell_type = 'reduce' if spec.reduction else 'normal'
        edges = getattr(genotype, cell_type)
        self.concat = list(getattr(genotype, f'{cell_type}_concat'))
        self.edges_per_node = genotype.edges_per_node
        self.inputs = CellInputs(spec, affine=affine)
        self.ops = nn.ModuleList()
        self.input_indices: List[int] = []
        for op_name, index in edges:
            self.ops.append(
                build_edge(op_name, spec, index, affine, bn_append))
            self.input_indices.append(index)

    def forward(self,
                s0: torch.Tensor,
                s1: torch.Tensor,
                drop_prob: float = 0.) -> torch.Tensor:
        """Computes the cell output.

        Args:
            s0 (Tensor): Output of the cell before the previous one.
            s1 (Tensor): Output of the previous cell.
            drop_prob (float): Drop-path probability on the edges (not on
                identity skips); only applied in training mode.

        Returns:
            Tensor: The concatenated nodes.
        """
        states = list(self.inputs(s0, s1))
        per_node = self.edges_per_node
        for start in range(0, len(self.ops), per_node):
            node = 0
            for op, index in zip(self.ops[start:start + per_node],
                                 self.input_indices[start:start + per_node]):
                node = node + run_edge(op, states[index], drop_prob,
                                       self.training)
            states.append(node)
        return torch.cat([states[i] for i in self.concat], dim=1)


@MODELS.register_module()
class DerivedNet(BaseBackbone):
    """A DARTS-space network built from a genotype (the searched backbone).

    A stem, ``layers`` cells (reduction cells at ``layers//3`` and
    ``2*layers//3``, channels doubled there), returning the outputs of the
    cells in ``out_indices``. Combine it with mmpretrain's
    ``GlobalAveragePooling`` neck and ``LinearClsHead``, or with
    :class:`mmista.models.DartsClsHead` for the auxiliary loss.

    Args:
        genotype (str | dict | Genotype): The architecture: a published
            name (see :data:`mmista.structures.PUBLISHED_GENOTYPES`), a dict,
            a ``genotype.json`` path, or DARTS-style ``Genotype(...)`` text.
        channels (int): Initial channels ``C``. Defaults to 36.
        layers (int): Number of cells. Defaults to 20.
        stem (str): ``'cifar'`` or ``'imagenet'``. Defaults to ``'cifar'``.
        in_channels (int): Image channels. Defaults to 3.
        bn_append (bool): Append a BatchNorm to parameter-free ops (one-stage
            ISTA-NAS architectures). Defaults to False.
        affine (bool): Whether the cells' BatchNorms are affine.
            Defaults to True.
        drop_path_prob (float): Drop-path probability on cell edges; usually
            ramped during training by ``DropPathRampHook``. Defaults to 0.
        out_indices (Sequence[int]): Cells whose outputs are returned
            (negative values count from the end). For the auxiliary head,
            include ``2*layers//3``. Defaults to ``(-1, )``.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 genotype: Union[str, dict, Genotype],
                 channels: int = 36,
                 layers: int = 20,
                 stem: str = 'cifar',
                 in_channels: int = 3,
                 bn_append: bool = False,
                 affine: bool = True,
                 drop_path_prob: float = 0.,
                 out_indices: Sequence[int] = (-1, ),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.genotype = get_genotype(genotype)
        self.layers = layers
        self.drop_path_prob = drop_path_prob
        self.out_indices = normalize_out_indices(out_indices, layers)
        self.stem = build_stem(stem, channels, in_channels=in_channels)
        self.cell_specs = cell_layout(
            layers,
            channels,
            self.stem.out_channels,
            self.stem.reduction_prev,
            concat_nodes=len(self.genotype.normal_concat))
        self.cells = nn.ModuleList(
            DerivedCell(
                self.genotype, spec, affine=affine, bn_append=bn_append)
            for spec in self.cell_specs)

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """tuple[int]: Channels of each returned feature map."""
        return tuple(self.cell_specs[i].out_channels
                     for i in self.out_indices)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Returns the feature maps of the cells in ``out_indices``."""
        s0, s1 = self.stem(x)
        outs = []
        for index, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if index in self.out_indices:
                outs.append(s1)
        return tuple(outs)


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
