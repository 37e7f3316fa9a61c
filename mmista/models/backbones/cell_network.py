# Copyright (c) mmista contributors. All rights reserved.
"""The skeleton every DARTS-space backbone shares: stem, cells, outputs.

The network is divided into stages as mmpretrain's ResNet is: stage 0 is
the stem, stages 1-3 are the groups of cells between the two reduction
cells (docs/en/method/search_space.md). ``out_indices`` choose stages,
``frozen_stages`` freezes the first ones.
"""
from typing import Any, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

from mmista.errors import ConfigError
from ..utils import build_stem, cell_layout, reduction_indices

#: Stage 0 (the stem) and the three groups of cells.
NUM_STAGES = 4


def stage_cells(layers: int) -> List[range]:
    """The cells of stages 1-3: before the first reduction cell, from it to
    before the second, from the second to the end.

    Args:
        layers (int): Number of cells.

    Returns:
        list[range]: Cell indices of stages 1, 2 and 3 (a stage may be
        empty in networks of fewer than 3 cells).
    """
    first, second = reduction_indices(layers)
    return [range(0, first), range(first, second), range(second, layers)]


def normalize_out_indices(out_indices: Sequence[int],
                          layers: int) -> Tuple[int, ...]:
    """Maps negative stage indices to positive ones and validates them.

    Args:
        out_indices (int | Sequence[int]): Stage indices (0-3, or -4 to -1
            counting from the end).
        layers (int): Number of cells (a stage without cells cannot be
            returned).

    Returns:
        tuple[int]: The sorted, distinct stage indices.

    Raises:
        ConfigError: An index is not a stage (e.g. a cell index of an old
            config) or names an empty stage.
    """
    if isinstance(out_indices, int):
        out_indices = (out_indices, )
    groups = stage_cells(layers)
    normalized = []
    for index in out_indices:
        positive = index + NUM_STAGES if index < 0 else index
        if not 0 <= positive < NUM_STAGES:
            raise ConfigError(
                f'model.backbone.out_indices: entry {index} is out of range: '
                'out_indices now count stages (0 = the stem, 1-3 = the cells '
                'between reductions; -1 = the last), not cells. Use e.g. '
                '(0, 1, 2, 3) for a feature pyramid or the default (-1, ); '
                'for the auxiliary head\'s map (the output of cell '
                '2*layers//3) set model.backbone.with_aux_feature=True')
        if positive > 0 and not groups[positive - 1]:
            raise ConfigError(
                f'model.backbone.out_indices: stage {positive} has no cells '
                f'in a network of {layers} cells (stages end before the '
                'reduction cells at layers//3 and 2*layers//3); use more '
                'layers or another stage')
        normalized.append(positive)
    return tuple(sorted(set(normalized)))


class CellNetwork(BaseBackbone):
    """A stem followed by ``layers`` cells, returning chosen stage outputs.

    Stage 0 is the stem's map (the CIFAR stem's output; the ImageNet stem's
    stride-4 map ``s0``), stage ``k`` (1-3) the output of the last cell of
    the ``k``-th group of cells between reductions (see
    :func:`stage_cells`). Subclasses build ``self.cells`` (one module per
    entry of ``self.cell_specs``), define :meth:`forward_cell` and call
    :meth:`_freeze_stages` once the cells exist.

    Args:
        channels (int): Initial channels ``C``.
        layers (int): Number of cells.
        stem (str): ``'cifar'`` or ``'imagenet'``.
        in_channels (int): Image channels.
        concat_nodes (int): Nodes concatenated into a cell output.
        drop_path_prob (float): Drop-path probability on cell edges.
        out_indices (Sequence[int]): Stages whose outputs are returned.
        with_aux_feature (bool): Also return the output of cell
            ``2*layers//3`` (the second reduction cell), before the stage
            outputs, for :class:`~mmista.models.DartsClsHead`'s auxiliary
            head. Defaults to False.
        frozen_stages (int): Stages ``0..frozen_stages`` are in eval mode
            and get no gradient; -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Keep every BatchNorm in eval mode (running
            statistics frozen) during training. Defaults to False.
        with_cp (bool): Checkpoint the activations of every cell in
            training (recomputed in the backward pass). Defaults to False.
        norm_cfg (dict, optional): Norm config of the stem. Defaults to
            None: BatchNorm.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 channels: int,
                 layers: int,
                 stem: str,
                 in_channels: int,
                 concat_nodes: int,
                 drop_path_prob: float,
                 out_indices: Sequence[int],
                 with_aux_feature: bool = False,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 norm_cfg: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.layers = layers
        self.drop_path_prob = drop_path_prob
        self.out_indices = normalize_out_indices(out_indices, layers)
        self.with_aux_feature = bool(with_aux_feature)
        if (isinstance(frozen_stages, bool)
                or not isinstance(frozen_stages, int)
                or not -1 <= frozen_stages < NUM_STAGES):
            raise ConfigError(
                f'model.backbone.frozen_stages: got {frozen_stages!r}; use '
                '-1 (nothing frozen) or a stage 0-3 (0 = the stem)')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.stem = build_stem(
            stem, channels, in_channels=in_channels, norm_cfg=norm_cfg)
        self.cell_specs = cell_layout(layers, channels, self.stem.out_channels,
                                      self.stem.reduction_prev, concat_nodes)
        self.cell_stages = [0] * layers
        for stage, cells in enumerate(stage_cells(layers), start=1):
            for index in cells:
                self.cell_stages[index] = stage
        self.aux_cell = reduction_indices(layers)[1]
        self.cells = nn.ModuleList()

    def stage_last_cell(self, stage: int) -> int:
        """Index of the last cell of stage ``stage`` (1-3)."""
        return stage_cells(self.layers)[stage - 1][-1]

    @property
    def out_channels(self) -> Tuple[int, ...]:
        """tuple[int]: Channels of each returned feature map, in return
        order (the auxiliary map first with ``with_aux_feature``)."""
        channels = []
        if self.with_aux_feature:
            channels.append(self.cell_specs[self.aux_cell].out_channels)
        for stage in self.out_indices:
            if stage == 0:
                channels.append(self.stem.out_channels[0])
            else:
                channels.append(
                    self.cell_specs[self.stage_last_cell(stage)].out_channels)
        return tuple(channels)

    def prepare_forward(self) -> Any:
        """Computes what every cell of one forward pass shares."""
        return None

    def forward_cell(self, cell: nn.Module, s0: torch.Tensor, s1: torch.Tensor,
                     shared: Any) -> torch.Tensor:
        """Runs one cell on its two inputs."""
        raise NotImplementedError

    def run_cell(self, cell: nn.Module, s0: torch.Tensor, s1: torch.Tensor,
                 shared: Any) -> torch.Tensor:
        """Runs one cell, under activation checkpointing with ``with_cp``
        in training (non-reentrant; the RNG state is restored for the
        recomputation, so drop-path masks agree)."""
        if self.with_cp and self.training and torch.is_grad_enabled():
            return checkpoint(
                self.forward_cell, cell, s0, s1, shared, use_reentrant=False)
        return self.forward_cell(cell, s0, s1, shared)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Returns the auxiliary map (with ``with_aux_feature``), then the
        outputs of the stages in ``out_indices``."""
        shared = self.prepare_forward()
        s0, s1 = self.stem(x)
        aux = []
        stage_outs = {0: s0}
        ends = {
            self.stage_last_cell(stage): stage
            for stage in self.out_indices if stage > 0
        }
        for index, cell in enumerate(self.cells):
            s0, s1 = s1, self.run_cell(cell, s0, s1, shared)
            if self.with_aux_feature and index == self.aux_cell:
                aux.append(s1)
            if index in ends:
                stage_outs[ends[index]] = s1
        return tuple(aux + [stage_outs[stage] for stage in self.out_indices])

    def _freeze_stages(self) -> None:
        """Puts stages ``0..frozen_stages`` in eval mode without
        gradients."""
        if self.frozen_stages < 0:
            return
        frozen = [self.stem] + [
            cell for cell, stage in zip(self.cells, self.cell_stages)
            if stage <= self.frozen_stages
        ]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        """Sets the training mode, keeping frozen stages (and, with
        ``norm_eval``, every BatchNorm) in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def get_layer_depth(self,
                        param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """The layer-wise depth of a parameter, for mmpretrain's
        ``LearningRateDecayOptimWrapperConstructor``.

        The stem is layer 0, cell ``i`` layer ``i + 1``, and what follows
        the backbone (neck, head) layer ``layers + 1``; the constructor
        scales a layer's learning rate by
        ``layer_decay_rate ** (layers + 1 - layer_id)``.

        Args:
            param_name (str): The name of the parameter.
            prefix (str): The backbone's prefix in ``param_name``
                (``'backbone.'`` from a classifier). Defaults to ''.

        Returns:
            tuple[int, int]: The layer id and the number of layer ids
            (``layers + 2``).
        """
        max_layer_id = self.layers + 2
        if not param_name.startswith(prefix):
            return max_layer_id - 1, max_layer_id
        name = param_name[len(prefix):]
        if name.startswith('stem.'):
            layer_id = 0
        elif name.startswith('cells.'):
            layer_id = int(name.split('.')[1]) + 1
        else:
            # Parameters outside the cells (a super-net's architecture).
            layer_id = max_layer_id - 1
        return layer_id, max_layer_id
