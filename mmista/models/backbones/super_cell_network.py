# Copyright (c) mmista contributors. All rights reserved.
"""Super-nets over the DARTS space: cells holding every candidate edge."""
from typing import Any, Optional, Sequence

import torch
import torch.nn as nn

from mmista.structures import CANDIDATE_OPS, SearchSpaceVariant, num_candidates
from ..utils import CellInputs, CellSpec, build_edge, run_edge
from .cell_network import CellNetwork


class SuperCell(nn.Module):
    """A cell holding every candidate edge of every intermediate node.

    Node ``j`` owns ``(2 + j) * |O|`` edges; edge ``k`` applies op
    ``k % |O|`` to input ``k // |O|`` (stride 2 from a reduction cell's input
    nodes).

    Args:
        spec (CellSpec): The cell's shape.
        steps (int): Intermediate nodes.
        affine (bool): Whether the ops' BatchNorms are affine.
        bn_append (bool): Append a BatchNorm to parameter-free ops.
        pool_bn (bool): Follow pools by a non-affine BatchNorm.
    """

    def __init__(self, spec: CellSpec, steps: int, affine: bool,
                 bn_append: bool, pool_bn: bool):
        super().__init__()
        self.cell_type = 'reduce' if spec.reduction else 'normal'
        self.num_ops = len(CANDIDATE_OPS)
        self.inputs = CellInputs(spec, affine=affine)
        self.nodes = nn.ModuleList()
        for j in range(steps):
            edges = nn.ModuleList()
            for k in range(num_candidates(j, self.num_ops)):
                edges.append(
                    build_edge(CANDIDATE_OPS[k % self.num_ops], spec,
                               k // self.num_ops, affine, bn_append,
                               pool_bn))
            self.nodes.append(edges)

    def forward(self,
                s0: torch.Tensor,
                s1: torch.Tensor,
                supports: Sequence[Sequence[int]],
                weights: Sequence[torch.Tensor],
                drop_prob: float = 0.) -> torch.Tensor:
        """Computes the cell with the given edges only.

        Args:
            s0 (Tensor): Output of the cell before the previous one.
            s1 (Tensor): Output of the previous cell.
            supports (Sequence[Sequence[int]]): Edge indices per node (the
                ISTA supports; every edge for the dense baseline).
            weights (Sequence[Tensor]): Per node, the weights of those
                edges (``weights[j][i]`` weighs ``supports[j][i]``), e.g. a
                ``(steps, s)`` tensor.
            drop_prob (float): Drop-path probability (training only; not on
                identity skips).

        Returns:
            Tensor: The concatenated intermediate nodes.
        """
        states = list(self.inputs(s0, s1))
        for j, support in enumerate(supports):
            node = 0
            for k, weight in zip(support, weights[j].unbind(0)):
                node = node + run_edge(self.nodes[j][k],
                                       states[k // self.num_ops], drop_prob,
                                       self.training, weight)
            states.append(node)
        return torch.cat(states[2:], dim=1)


class SuperCellNetwork(CellNetwork):
    """A stem and :class:`SuperCell` cells; subclasses choose which edges
    run and with which weights.

    Subclasses define :meth:`edges` (the edge indices of every node of a
    cell type) and :meth:`prepare_forward` (a dict of per-node edge weights
    by cell type, once per forward).

    Args:
        channels (int): Initial channels ``C``.
        layers (int): Number of cells.
        stem (str): ``'cifar'`` or ``'imagenet'``.
        in_channels (int): Image channels.
        steps (int): Intermediate nodes per cell.
        affine (bool): Whether the cells' BatchNorms are affine.
        bn_append (bool): Append a BatchNorm to parameter-free ops.
        pool_bn (bool): Follow pools by a non-affine BatchNorm.
        drop_path_prob (float): Drop-path probability.
        out_indices (Sequence[int]): Stages whose outputs are returned
            (see :class:`CellNetwork`).
        with_aux_feature (bool): Also return the output of cell
            ``2*layers//3`` first, for the auxiliary head.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 channels: int,
                 layers: int,
                 stem: str,
                 in_channels: int,
                 steps: int,
                 affine: bool,
                 bn_append: bool,
                 pool_bn: bool,
                 drop_path_prob: float,
                 out_indices: Sequence[int],
                 with_aux_feature: bool = False,
                 init_cfg=None):
        super().__init__(
            channels,
            layers,
            stem,
            in_channels,
            concat_nodes=steps,
            drop_path_prob=drop_path_prob,
            out_indices=out_indices,
            with_aux_feature=with_aux_feature,
            init_cfg=init_cfg)
        self.steps = steps
        self.variant_cfg = dict(
            bn_append=bn_append,
            pool_bn=pool_bn,
            stem=stem,
            in_channels=in_channels,
            affine=affine,
            channels=channels,
            layers=layers)
        self.cells.extend(
            SuperCell(spec, steps, affine, bn_append, pool_bn)
            for spec in self.cell_specs)

    def search_space_variant(
            self, dataset: Optional[str] = None) -> SearchSpaceVariant:
        """The variant of the search space this super-net searches, which
        ``genotype.json`` records beside the cells.

        Args:
            dataset (str, optional): The search's training dataset type.

        Returns:
            SearchSpaceVariant: The record.
        """
        return SearchSpaceVariant(
            supernet=type(self).__name__, dataset=dataset, **self.variant_cfg)

    def edges(self, cell_type: str) -> Sequence[Sequence[int]]:
        """The edge indices that run, per node of a cell type."""
        raise NotImplementedError

    def forward_cell(self, cell: SuperCell, s0: torch.Tensor,
                     s1: torch.Tensor, weights: Any) -> torch.Tensor:
        """Runs one cell on its type's edges and weights."""
        return cell(s0, s1, self.edges(cell.cell_type),
                    weights[cell.cell_type], self.drop_path_prob)
