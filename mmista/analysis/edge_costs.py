# Copyright (c) mmista contributors. All rights reserved.
"""Measuring the cost of every candidate op on every edge of a derived
network, with the counter of :mod:`mmista.analysis.complexity`."""
import copy
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmista.architecture import COUNTED_METRICS, EdgeCosts
from mmista.errors import ConfigError
from mmista.structures import CANDIDATE_OPS, CELL_TYPES, Genotype
from .complexity import (build_counted_model, count_flops, count_params,
                         input_shape, params_by_module)

#: ``(op, source)``: source 0 is a cell input, 1 an intermediate node.
Combination = Tuple[str, int]


class NotDerivedError(ConfigError):
    """A network config whose backbone is not a ``DerivedNet``."""


def derived_backbone(model_cfg: dict, what: str) -> dict:
    """The backbone config of a derived classifier config.

    Args:
        model_cfg (dict): The classifier config.
        what (str): What needs a derived network, for the message.

    Returns:
        dict: Its backbone config.

    Raises:
        NotDerivedError: The backbone is not a ``DerivedNet``.
    """
    backbone = model_cfg.get('backbone') or {}
    if str(backbone.get('type', '')).split('.')[-1] != 'DerivedNet':
        raise NotDerivedError(
            f'{what} counts a derived network: the network config must be '
            'a classifier whose backbone is a DerivedNet, got backbone type '
            f'{backbone.get("type")!r}')
    return backbone


def network_description(model_cfg: dict,
                        shape: Optional[Sequence[int]] = None) -> str:
    """``DerivedNet(stem=cifar, channels=8, layers=5, bn_append) at 32x32``:
    the derived network a cost table was measured for.

    Besides stem, channels and layers it names every backbone setting that
    changes the network's cost or latency when it is not the default:
    ``in_channels`` other than 3, ``bn_append`` (a BatchNorm appended to
    the parameter-free ops, as one-stage exports have), ``pool_bn`` (the
    pools followed by a BatchNorm), ``affine=False`` and a normalization
    other than BatchNorm (``norm=GN``). Settings of training only (drop
    path, the auxiliary feature, frozen stages, checkpointing) do not
    count.

    Args:
        model_cfg (dict): The classifier config.
        shape (Sequence[int], optional): Input height [and width], or the
            whole input shape ``(N, C, H, W)``. Defaults to the stem's
            usual size.
    """
    backbone = model_cfg.get('backbone') or {}
    if shape is None or len(shape) < 4:
        shape = input_shape(model_cfg, shape)
    parts = [
        f"stem={backbone.get('stem', 'cifar')}",
        f"channels={backbone.get('channels')}",
        f"layers={backbone.get('layers')}"
    ]
    if backbone.get('in_channels', 3) != 3:
        parts.append(f"in_channels={backbone['in_channels']}")
    parts += [key for key in ('bn_append', 'pool_bn') if backbone.get(key)]
    if not backbone.get('affine', True):
        parts.append('affine=False')
    norm = (backbone.get('norm_cfg') or {}).get('type', 'BN')
    if norm not in ('BN', 'SyncBN'):  # SyncBN is BatchNorm at inference
        parts.append(f'norm={norm}')
    return f"DerivedNet({', '.join(parts)}) at {shape[2]}x{shape[3]}"


def with_genotype(model_cfg: dict, genotype: Genotype) -> dict:
    """A copy of a derived classifier config with another genotype."""
    cfg = copy.deepcopy(model_cfg)
    cfg['backbone']['genotype'] = genotype.to_dict()
    return cfg


def probe_genotypes(steps: int = 4,
                    sparsity: int = 2) -> List[List[List[Tuple[str, int]]]]:
    """Cells that together place every op on both kinds of edge.

    Each probe lists, per intermediate node, ``sparsity`` distinct
    ``(op, input)`` edges; every ``(op, source)`` combination appears in at
    least one probe (intermediate-node sources need ``steps >= 2``). Two
    probes suffice for the DARTS space.

    Args:
        steps (int): Intermediate nodes per cell. Defaults to 4.
        sparsity (int): Edges per node. Defaults to 2.

    Returns:
        list: Per probe, per node, the edges.
    """
    uncovered: List[Combination] = [(op, source) for op in CANDIDATE_OPS
                                    for source in (0, 1)
                                    if source == 0 or steps >= 2]
    probes = []
    while uncovered:
        nodes = []
        for node in range(steps):
            inputs = list(range(node + 2))
            edges: List[Tuple[str, int]] = []
            for op, source in list(uncovered):
                if len(edges) == sparsity:
                    break
                allowed = inputs[:2] if source == 0 else inputs[2:]
                free = [i for i in allowed if (op, i) not in edges]
                if free:
                    edges.append((op, free[0]))
                    uncovered.remove((op, source))
            spare = ((op, i) for i in inputs for op in CANDIDATE_OPS)
            while len(edges) < sparsity:
                edge = next(spare)
                if edge not in edges:
                    edges.append(edge)
            nodes.append(edges)
        probes.append(nodes)
    return probes


def measure_edge_costs(model_cfg: dict,
                       steps: int = 4,
                       sparsity: int = 2,
                       shape: Optional[Sequence[int]] = None) -> EdgeCosts:
    """Measures a derived network's fixed and per-edge costs.

    The network of ``model_cfg`` (an ``ImageClassifier`` with a
    ``DerivedNet`` backbone; its genotype is replaced) is built with the
    cells of :func:`probe_genotypes` and counted like
    ``tools/analysis_tools/complexity.py`` counts it: parameters without
    the auxiliary head, multiply-adds in eval mode at the input size. Each
    edge op's share is read per module; the rest is the fixed part, which
    must come out the same in every probe (the costs are additive).

    Args:
        model_cfg (dict): The classifier config of the derived network.
        steps (int): Intermediate nodes per cell. Defaults to 4.
        sparsity (int): Edges per node. Defaults to 2.
        shape (Sequence[int], optional): Input height [and width].
            Defaults to the stem's usual size.

    Returns:
        EdgeCosts: Fixed part and per-edge costs.

    Raises:
        NotDerivedError: If the backbone is not a ``DerivedNet`` (a
            ``ValueError``).
        RuntimeError: If the counts are not additive over the edges.
    """
    derived_backbone(model_cfg, 'a resource budget')
    shape = input_shape(model_cfg, shape)
    edges: Dict[str, Dict[Combination, np.ndarray]] = {
        cell: {}
        for cell in CELL_TYPES
    }
    fixed_parts = []
    for probe in probe_genotypes(steps, sparsity):
        flat = [edge for node in probe for edge in node]
        genotype = Genotype(
            normal=flat,
            normal_concat=list(range(2, steps + 2)),
            reduce=flat,
            reduce_concat=list(range(2, steps + 2)),
            edges_per_node=sparsity)
        cfg = with_genotype(model_cfg, genotype)
        model = build_counted_model(cfg)
        flops, module_flops = count_flops(model, torch.zeros(shape))
        total = np.array([count_params(model)['params'], flops],
                         dtype=np.float64)
        fixed_parts.append(
            total - _record_edges(model, flat, sparsity, module_flops, edges))
    fixed = fixed_parts[0]
    if any((part != fixed).any() for part in fixed_parts[1:]):
        raise RuntimeError(
            'the network cost is not additive over its edges (the part '
            f'outside the edges differs between probes: {fixed_parts}); a '
            'resource budget cannot be kept exactly for this network')
    table = {
        cell: np.zeros((len(CANDIDATE_OPS), 2, len(COUNTED_METRICS)))
        for cell in CELL_TYPES
    }
    for cell in CELL_TYPES:
        for (op, source), cost in edges[cell].items():
            table[cell][CANDIDATE_OPS.index(op), source] = cost
    return EdgeCosts(
        fixed=fixed.round().astype(np.int64),
        edges={
            cell: table[cell].round().astype(np.int64)
            for cell in CELL_TYPES
        },
        input_shape=tuple(shape),
        network=network_description(model_cfg, shape))


def _record_edges(
        model, flat: List[Tuple[str, int]], sparsity: int, flops: Counter,
        edges: Dict[str, Dict[Combination, np.ndarray]]) -> np.ndarray:
    """Adds one probe's edge costs to ``edges`` (checking repeats agree)
    and returns their sum."""
    names = {id(module): name for name, module in model.named_modules()}
    cells = model.backbone.cells
    op_names = [
        names[id(cell.ops[position])] for cell in cells
        for position in range(len(flat))
    ]
    params = params_by_module(model, op_names)
    summed = np.zeros(len(COUNTED_METRICS))
    for cell_type in CELL_TYPES:
        reduction = cell_type == 'reduce'
        same_type = [
            i for i, spec in enumerate(model.backbone.cell_specs)
            if spec.reduction == reduction
        ]
        for position, (op, source) in enumerate(flat):
            cost = np.zeros(len(COUNTED_METRICS))
            for i in same_type:
                name = names[id(cells[i].ops[position])]
                cost += [params[name], flops.get(name, 0)]
            summed += cost
            key = (op, int(source >= 2))
            seen = edges[cell_type].setdefault(key, cost)
            if (seen != cost).any():
                raise RuntimeError(
                    f'{cell_type} cells: {op} from a '
                    f'{"node" if key[1] else "cell input"} costs {seen} at '
                    f'one edge and {cost} at another; a resource budget '
                    'needs edge costs that depend on the op and stride '
                    f'only (node {position // sparsity})')
    return summed
