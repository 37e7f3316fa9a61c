# Copyright (c) mmista contributors. All rights reserved.
"""The derived (searched) network: a stack of cells built from a genotype."""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn

from mmista.registry import MODELS
from mmista.structures import Genotype, GenotypeError, get_genotype
from ..utils import CellInputs, CellSpec, build_edge, run_edge
from .cell_network import CellNetwork


class DerivedCell(nn.Module):
    """A cell whose edges are fixed by a genotype.

    Args:
        genotype (Genotype): The architecture.
        spec (CellSpec): The cell's shape.
        affine (bool): Whether BatchNorms have affine parameters.
        bn_append (bool): Append a BatchNorm to parameter-free ops.
        pool_bn (bool): Follow pools by a non-affine BatchNorm.
        norm_cfg (dict, optional): Norm config of every normalization
            layer. Defaults to None: BatchNorm.
    """

    def __init__(self,
                 genotype: Genotype,
                 spec: CellSpec,
                 affine: bool = True,
                 bn_append: bool = False,
                 pool_bn: bool = False,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        cell_type = 'reduce' if spec.reduction else 'normal'
        edges = getattr(genotype, cell_type)
        self.concat = list(getattr(genotype, f'{cell_type}_concat'))
        self.edges_per_node = genotype.edges_per_node
        self.inputs = CellInputs(spec, affine=affine, norm_cfg=norm_cfg)
        self.ops = nn.ModuleList()
        self.input_indices: List[int] = []
        for op_name, index in edges:
            self.ops.append(
                build_edge(op_name, spec, index, affine, bn_append,
                           pool_bn, norm_cfg))
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
class DerivedNet(CellNetwork):
    """A DARTS-space network built from a genotype (the searched backbone).

    A stem, ``layers`` cells (reduction cells at ``layers//3`` and
    ``2*layers//3``, channels doubled there). It follows mmpretrain's
    backbone contract (as ``ResNet`` does): ``out_indices`` choose stages,
    stage 0 being the stem's map and stages 1-3 the groups of cells between
    reductions, each returning its last cell's output:

    ======  =============================  ==========  ============
    stage   maps                           CIFAR stem  ImageNet stem
    ======  =============================  ==========  ============
    0       the stem (ImageNet: ``s0``)    stride 1    stride 4
    1       cells ``0 .. layers//3 - 1``   stride 1    stride 8
    2       cells ``layers//3 ..``         stride 2    stride 16
    3       cells ``2*layers//3 ..``       stride 4    stride 32
    ======  =============================  ==========  ============

    so ``out_indices=(0, 1, 2, 3)`` feed a 4-level FPN. :attr:`out_channels`
    gives the channels of the returned maps. Combine it with mmpretrain's
    ``GlobalAveragePooling`` neck and ``LinearClsHead``, or with
    :class:`mmista.models.DartsClsHead` and ``with_aux_feature=True`` for
    the auxiliary loss.

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
        pool_bn (bool): Follow pools by a non-affine BatchNorm, as two-stage
            super-nets do; evaluation networks have none (the reference's
            and DARTS's). Defaults to False.
        drop_path_prob (float): Drop-path probability on cell edges; usually
            ramped during training by ``DropPathRampHook``. Defaults to 0.
        out_indices (Sequence[int]): Stages (0-3, negative values count
            from the end) whose outputs are returned, in increasing order.
            Defaults to ``(-1, )``: the last cell's output.
        with_aux_feature (bool): Also return the output of cell
            ``2*layers//3`` (the second reduction cell) first, for
            ``DartsClsHead``'s auxiliary head. Defaults to False.
        frozen_stages (int): Stages ``0..frozen_stages`` stay in eval mode
            with ``requires_grad=False`` (kept across ``train()`` calls);
            -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Keep every BatchNorm in eval mode during training
            (running statistics frozen, as when fine-tuning with small
            batches). Defaults to False.
        norm_cfg (dict): Config of every normalization layer (stem, cell
            inputs, ops), built by mmcv's ``build_norm_layer``: ``BN``,
            ``SyncBN`` or ``GN`` (``dict(type='GN', num_groups=...)``).
            The default BatchNorm keeps the state-dict keys of every
            checkpoint and export. Defaults to ``dict(type='BN')``.
        with_cp (bool): Checkpoint each cell's activations in training
            (``torch.utils.checkpoint``, non-reentrant): the backward pass
            recomputes the cell, saving memory for time. Drop path still
            applies (the recomputation restores the RNG state, so it drops
            the same paths); loss and gradients are those without
            checkpointing, but the recomputation runs each BatchNorm
            forward once more in training mode, so running statistics
            take two momentum updates per step (use ``norm_eval`` or GN
            where that matters). Defaults to False.
        init_cfg (dict, optional): Initialization config, e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``
            to load an export's backbone.

    Raises:
        GenotypeError: The genotype is unknown, missing or malformed (the
            message names ``model.backbone.genotype`` and the field).
        ConfigError: ``out_indices`` or ``frozen_stages`` is not a stage
            (the message says that out_indices count stages, not cells).
    """

    def __init__(self,
                 genotype: Union[str, dict, Genotype],
                 channels: int = 36,
                 layers: int = 20,
                 stem: str = 'cifar',
                 in_channels: int = 3,
                 bn_append: bool = False,
                 affine: bool = True,
                 pool_bn: bool = False,
                 drop_path_prob: float = 0.,
                 out_indices: Sequence[int] = (-1, ),
                 with_aux_feature: bool = False,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 with_cp: bool = False,
                 init_cfg=None):
        try:
            self.genotype = get_genotype(genotype)
        except (GenotypeError, KeyError, FileNotFoundError) as error:
            text = error.args[0] if error.args else type(error).__name__
            raise GenotypeError(
                f'model.backbone.genotype (DerivedNet): {text}') from error
        super().__init__(
            channels,
            layers,
            stem,
            in_channels,
            concat_nodes=len(self.genotype.normal_concat),
            drop_path_prob=drop_path_prob,
            out_indices=out_indices,
            with_aux_feature=with_aux_feature,
            frozen_stages=frozen_stages,
            norm_eval=norm_eval,
            with_cp=with_cp,
            norm_cfg=norm_cfg,
            init_cfg=init_cfg)
        self.cells.extend(
            DerivedCell(
                self.genotype,
                spec,
                affine=affine,
                bn_append=bn_append,
                pool_bn=pool_bn,
                norm_cfg=norm_cfg) for spec in self.cell_specs)
        self._freeze_stages()

    def forward_cell(self, cell: DerivedCell, s0: torch.Tensor,
                     s1: torch.Tensor, shared: None) -> torch.Tensor:
        """Runs one cell with the current drop-path probability."""
        return cell(s0, s1, self.drop_path_prob)
