# Copyright (c) mmista contributors. All rights reserved.
"""Folding the support weights of a super-net into a derived network.

In a one-stage super-net every op ends in a BatchNorm, and a supported
op's output is ``w * BN(op(x))``. With ``gamma' = w * gamma`` and
``beta' = w * beta`` that is ``BN'(op(x))``, so the active ops, copied
into a :class:`DerivedNet` of the current genotype with their final
BatchNorms rescaled, compute what the super-net computes in eval mode
(docs/en/method/absorption.md).
"""
import re
from collections import OrderedDict
from typing import Dict, Tuple

import torch

from mmista.structures import CELL_TYPES
from ..utils import folded_affine, output_bn

_EDGE_KEY = re.compile(r'^cells\.(\d+)\.nodes\.(\d+)\.(\d+)\.(.+)$')


def _derived_op_index(node: int, support, edge: int) -> int:
    """Position of edge ``edge`` of node ``node`` in a derived cell, whose
    ops list every node's edges in increasing index order."""
    return node * len(support) + sorted(support).index(edge)


@torch.no_grad()
def absorb_supernet(supernet) -> Tuple[dict, Dict[str, torch.Tensor]]:
    """The derived backbone of a super-net, with the weights absorbed.

    Args:
        supernet (ISTASuperNet): A super-net whose ops all end in a
            BatchNorm with affine parameters (``bn_append=True``,
            ``affine=True``: one-stage search).

    Returns:
        tuple[dict, dict[str, Tensor]]: The ``DerivedNet`` config of the
        current genotype and its state dict (detached copies).

    Raises:
        ValueError: An active op does not end in an affine BatchNorm.
    """
    architecture = supernet.architecture
    supports = {cell: architecture.supports(cell) for cell in CELL_TYPES}
    weights = {
        cell: architecture.weights(cell).detach()
        for cell in CELL_TYPES
    }
    state = OrderedDict()
    for key, value in supernet.state_dict().items():
        if key.startswith('architecture.'):
            continue
        match = _EDGE_KEY.match(key)
        if match is None:
            state[key] = value.detach().clone()
            continue
        cell_index, node, edge = (int(g) for g in match.groups()[:3])
        support = supports[supernet.cells[cell_index].cell_type][node]
        if edge in support:
            index = _derived_op_index(node, support, edge)
            state[f'cells.{cell_index}.ops.{index}.{match.group(4)}'] = \
                value.detach().clone()

    for cell_index, cell in enumerate(supernet.cells):
        cell_type = cell.cell_type
        for node, support in enumerate(supports[cell_type]):
            for i, edge in enumerate(support):
                op = cell.nodes[node][edge]
                bn = output_bn(op)
                if bn is None or not bn.affine:
                    raise ValueError(
                        f'cannot absorb the weight of {cell_type} node '
                        f'{node} edge {edge} ({type(op).__name__}): its op '
                        'does not end in an affine BatchNorm; absorption '
                        'needs ISTASuperNet(affine=True, bn_append=True)')
                bn_name = next(name for name, module in op.named_modules()
                               if module is bn)
                prefix = (f'cells.{cell_index}.ops.'
                          f'{_derived_op_index(node, support, edge)}.'
                          f'{bn_name}')
                state[f'{prefix}.weight'], state[f'{prefix}.bias'] = \
                    folded_affine(bn, weights[cell_type][node, i])

    return exported_backbone_cfg(supernet), state


def exported_backbone_cfg(supernet) -> dict:
    """The ``DerivedNet`` config an export of the super-net has (the
    current genotype, affine BatchNorms, the super-net's outputs: its
    stages and auxiliary map).

    Args:
        supernet (ISTASuperNet): A one-stage super-net.

    Returns:
        dict: The backbone config.
    """
    return supernet.derived_backbone_cfg(
        affine=True,
        out_indices=tuple(supernet.out_indices),
        with_aux_feature=supernet.with_aux_feature)
