# Copyright (c) mmista contributors. All rights reserved.
"""How often each candidate operation occurs in a genotype's cells.

A DARTS-space search can collapse to parameter-free operations (the skip
connection and the pools): counting the ops of every recovered genotype
shows it happening. See docs/en/user_guides/onestage_search.md.
"""
from typing import Dict, Mapping, Tuple

from .genotype import CANDIDATE_OPS, CELL_TYPES, Genotype

#: The op groups, each with its candidate ops (every op is in one group).
#: ``skip`` and ``pool`` are the parameter-free ones.
OP_GROUPS: Dict[str, Tuple[str, ...]] = {
    'skip': ('skip_connect', ),
    'pool': ('max_pool_3x3', 'avg_pool_3x3'),
    'sep_conv': ('sep_conv_3x3', 'sep_conv_5x5'),
    'dil_conv': ('dil_conv_3x3', 'dil_conv_5x5'),
}

#: Op counts per cell type: ``{'normal': {op: count}, 'reduce': {...}}``.
OpCounts = Dict[str, Dict[str, int]]


def count_ops(genotype: Genotype) -> OpCounts:
    """Counts each candidate op among the kept edges of every cell type.

    Args:
        genotype (Genotype): The architecture.

    Returns:
        dict[str, dict[str, int]]: Per cell type (``'normal'``,
        ``'reduce'``), the number of edges of each op of
        :data:`~mmista.structures.CANDIDATE_OPS`, in that order, zeros
        included; each cell's counts add up to its number of edges.
    """
    counts = {}
    for cell in CELL_TYPES:
        ops = [op for op, _ in getattr(genotype, cell)]
        counts[cell] = {op: ops.count(op) for op in CANDIDATE_OPS}
    return counts


def group_op_counts(counts: Mapping[str, Mapping[str, int]]) -> OpCounts:
    """Adds up op counts by :data:`OP_GROUPS`.

    Args:
        counts (Mapping[str, Mapping[str, int]]): Per cell type, the count
            of each op (:func:`count_ops`); missing ops count 0.

    Returns:
        dict[str, dict[str, int]]: Per cell type, the count of each group,
        in the order of :data:`OP_GROUPS`.
    """
    return {
        cell: {
            group: sum(int(per_op.get(op, 0)) for op in ops)
            for group, ops in OP_GROUPS.items()
        }
        for cell, per_op in counts.items()
    }


def describe_op_counts(counts: Mapping[str, Mapping[str, int]]) -> str:
    """One line of the group counts and the ops that occur, per cell type.

    For example ``normal skip 2 pool 1 sep_conv 4 dil_conv 1
    (max_pool_3x3 1, skip_connect 2, sep_conv_3x3 4, dil_conv_5x5 1);
    reduce ...``.

    Args:
        counts (Mapping[str, Mapping[str, int]]): Per cell type, the count
            of each op (:func:`count_ops`).

    Returns:
        str: The line.
    """
    groups = group_op_counts(counts)
    cells = []
    for cell, per_op in counts.items():
        grouped = ' '.join(f'{group} {count}'
                           for group, count in groups[cell].items())
        present = ', '.join(f'{op} {count}' for op, count in per_op.items()
                            if count)
        cells.append(f'{cell} {grouped} ({present or "no edges"})')
    return '; '.join(cells)
