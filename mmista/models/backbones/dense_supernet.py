# Copyright (c) mmista contributors. All rights reserved.
"""The DARTS relaxation of the same search space: every op runs."""
from typing import Dict, Iterator, List, Sequence

import torch
import torch.nn as nn

from mmista.registry import MODELS
from mmista.structures import (CANDIDATE_OPS, CELL_TYPES, Genotype,
                               encode_edge, genotype_from_supports,
                               num_candidates)
from .super_cell_network import SuperCellNetwork


@MODELS.register_module()
class DenseSuperNet(SuperCellNetwork):
    """DARTS's dense super-net over the ISTA-NAS search space (a baseline).

    Every candidate op of every edge runs in every forward pass, weighted
    by a softmax over the ops of each (input, node) pair; the architecture
    variables ``alpha`` (one ``(2 + j, |O|)`` parameter per node and cell
    type, initialised at ``1e-3 * N(0, 1)``) train like ``b`` does
    (``architecture_parameters()``), so it searches with the same
    :class:`SearchClassifier`, optimizers and loops. The genotype keeps
    the ``edges_per_node`` strongest (input, op) pairs per node, at most
    one per input, as DARTS derives it.

    Args:
        channels (int): Initial channels ``C``. Defaults to 16.
        layers (int): Number of cells. Defaults to 8.
        stem (str): ``'cifar'`` or ``'imagenet'``. Defaults to ``'cifar'``.
        in_channels (int): Image channels. Defaults to 3.
        steps (int): Intermediate nodes per cell. Defaults to 4.
        edges_per_node (int): Edges kept per node by :meth:`genotype`.
            Defaults to 2.
        affine (bool): Whether the cells' BatchNorms are affine.
            Defaults to False.
        pool_bn (bool): Follow each pool by a non-affine BatchNorm, as
            DARTS's ``MixedOp`` does. Defaults to True.
        drop_path_prob (float): Drop-path probability. Defaults to 0.
        out_indices (Sequence[int]): Stages whose outputs are returned (as
            :class:`DerivedNet`'s). Defaults to ``(-1, )``.
        with_aux_feature (bool): Also return the output of cell
            ``2*layers//3`` first, for the auxiliary head. Defaults to False.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 channels: int = 16,
                 layers: int = 8,
                 stem: str = 'cifar',
                 in_channels: int = 3,
                 steps: int = 4,
                 edges_per_node: int = 2,
                 affine: bool = False,
                 pool_bn: bool = True,
                 drop_path_prob: float = 0.,
                 out_indices: Sequence[int] = (-1, ),
                 with_aux_feature: bool = False,
                 init_cfg=None):
        super().__init__(
            channels,
            layers,
            stem,
            in_channels,
            steps,
            affine,
            bn_append=False,
            pool_bn=pool_bn,
            drop_path_prob=drop_path_prob,
            out_indices=out_indices,
            with_aux_feature=with_aux_feature,
            init_cfg=init_cfg)
        self.edges_per_node = edges_per_node
        num_ops = len(CANDIDATE_OPS)
        # Every edge of every node runs: the cells' "supports" are all.
        self.all_edges = [
            list(range(num_candidates(j, num_ops))) for j in range(steps)
        ]
        self.alphas = nn.ParameterDict({
            f'{cell}_{j}': nn.Parameter(1e-3 * torch.randn(
                num_candidates(j, num_ops) // num_ops, num_ops))
            for cell in CELL_TYPES for j in range(steps)
        })

    def architecture_parameters(self) -> Iterator[nn.Parameter]:
        """The ``alpha`` of every node."""
        return self.alphas.parameters()

    def prepare_forward(self) -> Dict[str, List[torch.Tensor]]:
        """The softmax op weights of every node (flattened input-major,
        like the edges), once per forward."""
        return {
            cell: [
                self.alphas[f'{cell}_{j}'].softmax(dim=-1).reshape(-1)
                for j in range(self.steps)
            ]
            for cell in CELL_TYPES
        }

    def edges(self, cell_type: str) -> List[List[int]]:
        """Every edge of every node: node ``j`` sums
        ``softmax(alpha_j[i])_o * op_o(x_i)`` over all of them."""
        return self.all_edges

    @torch.no_grad()
    def genotype(self) -> Genotype:
        """The strongest ``edges_per_node`` (input, op) pairs per node: the
        strongest op of each input, then the strongest inputs."""
        supports = {}
        for cell in CELL_TYPES:
            supports[cell] = []
            for j in range(self.steps):
                weights = self.alphas[f'{cell}_{j}'].softmax(dim=-1)
                best, op_index = weights.max(dim=-1)
                inputs = best.argsort(descending=True)[:self.edges_per_node]
                supports[cell].append([
                    encode_edge(CANDIDATE_OPS[int(op_index[i])], int(i))
                    for i in inputs.tolist()
                ])
        return genotype_from_supports(supports)
