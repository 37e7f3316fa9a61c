# Copyright (c) mmista contributors. All rights reserved.
"""The encoding of the DARTS cell search space as vectors.

Intermediate node ``j`` of a cell has ``n_j = (2 + j) * |O|`` candidate
edges, one per (input, op) pair, flattened input-major: index ``k`` is op
``CANDIDATE_OPS[k % |O|]`` applied to input ``k // |O|``. A support (a set
of indices per node) therefore names a genotype. Every search backbone
reads its genotype through :func:`genotype_from_supports`; see
docs/en/method/search_space.md.
"""
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .genotype import CANDIDATE_OPS, CELL_TYPES, Genotype

ArrayLike = Union[np.ndarray, torch.Tensor]

#: The number of candidate operations ``|O|``.
NUM_OPS = len(CANDIDATE_OPS)


def check_positive_int(value, name: str) -> int:
    """Checks that ``value`` is an int >= 1 and returns it as an int."""
    if isinstance(value,
                  (bool, np.bool_)) or not isinstance(value,
                                                      (int, np.integer)):
        raise TypeError(f'{name} must be an int, got {type(value).__name__} '
                        f'{value!r}')
    if value < 1:
        raise ValueError(f'{name} must be >= 1, got {value}')
    return int(value)


def num_candidates(node: int, num_ops: int = NUM_OPS) -> int:
    """Number of candidate edges ``n_j = (2 + j) * num_ops`` of node ``j``.

    Args:
        node (int): The intermediate node index ``j`` (0-based).
        num_ops (int): Candidate operations per input. Defaults to 7.

    Returns:
        int: ``(2 + node) * num_ops``.
    """
    if isinstance(node, bool) or not isinstance(node, (int, np.integer)):
        raise TypeError(f'node must be an int, got {type(node).__name__}')
    if node < 0:
        raise ValueError(f'node must be >= 0, got {node}')
    return (2 + int(node)) * check_positive_int(num_ops, 'num_ops')


def support_indices(support: ArrayLike,
                    n: int,
                    name: str = 'support') -> np.ndarray:
    """Validates a 1-D support against ``n`` and returns it as int64."""
    if isinstance(support, torch.Tensor):
        support = support.detach().cpu().numpy()
    support = np.asarray(support)
    if support.ndim != 1 or not (np.issubdtype(support.dtype, np.integer)
                                 or support.size == 0):
        raise ValueError(f'{name} must be a 1-D array of int indices, got '
                         f'shape {support.shape} and dtype {support.dtype}')
    if support.size and (support.min() < 0 or support.max() >= n):
        raise ValueError(f'{name} {support.tolist()} has indices outside '
                         f'[0, {n})')
    if len(np.unique(support)) != len(support):
        raise ValueError(f'{name} {support.tolist()} has repeated indices')
    return support.astype(np.int64)


def decode_index(index: int, num_ops: int = NUM_OPS) -> Tuple[str, int]:
    """Maps a candidate index to its ``(op, input)`` pair.

    Args:
        index (int): ``k``, in input-major order.
        num_ops (int): Candidate operations per input; must equal
            ``len(CANDIDATE_OPS)`` to name the op. Defaults to 7.

    Returns:
        tuple[str, int]: ``(CANDIDATE_OPS[k % num_ops], k // num_ops)``.
    """
    if num_ops != NUM_OPS:
        raise ValueError(f'num_ops must be {NUM_OPS} (the candidate ops '
                         f'{", ".join(CANDIDATE_OPS)}) to name ops, got '
                         f'{num_ops}')
    index = int(index)
    if index < 0:
        raise ValueError(f'candidate index must be >= 0, got {index}')
    return CANDIDATE_OPS[index % num_ops], index // num_ops


def encode_edge(op: str, input_index: int, num_ops: int = NUM_OPS) -> int:
    """Maps an ``(op, input)`` pair to its candidate index (the inverse of
    :func:`decode_index`).

    Args:
        op (str): One of ``CANDIDATE_OPS``.
        input_index (int): The input node (0 and 1: the cell inputs).
        num_ops (int): Candidate operations per input. Defaults to 7.

    Returns:
        int: ``input_index * num_ops + CANDIDATE_OPS.index(op)``.
    """
    if op not in CANDIDATE_OPS:
        raise ValueError(f'unknown op {op!r}; the candidate ops are '
                         f'{", ".join(CANDIDATE_OPS)}')
    return int(input_index) * num_ops + CANDIDATE_OPS.index(op)


def genotype_from_supports(supports: Mapping[str, Sequence[ArrayLike]],
                           num_ops: int = NUM_OPS,
                           concat: Optional[Sequence[int]] = None) -> Genotype:
    """Reads the genotype directly from the supports of every node.

    Index ``k`` of node ``j`` becomes the edge
    ``(CANDIDATE_OPS[k % num_ops], k // num_ops)``; the edges of a node are
    listed in increasing index order. No top-k projection is applied: every
    support index is one edge.

    Args:
        supports (Mapping[str, Sequence]): For ``'normal'`` and
            ``'reduce'``, one support per intermediate node (node ``j``'s
            indices must be below ``(2 + j) * num_ops``); all supports have
            the same size ``s``.
        num_ops (int): Candidate operations per input. Defaults to 7.
        concat (Sequence[int], optional): Nodes concatenated into the cell
            output. Defaults to all intermediate nodes, ``2 .. steps + 1``.

    Returns:
        Genotype: With ``edges_per_node = s``.

    Raises:
        ValueError: If a cell type is missing, the cells have different
            numbers of nodes, supports differ in size, or an index is out
            of range for its node.
    """
    missing = [cell for cell in CELL_TYPES if cell not in supports]
    if missing:
        raise ValueError(f'supports must have the keys {list(CELL_TYPES)}, '
                         f'missing {missing}')
    steps = {cell: len(supports[cell]) for cell in CELL_TYPES}
    if len(set(steps.values())) != 1 or 0 in steps.values():
        raise ValueError(f'every cell type needs the same (non-zero) number '
                         f'of node supports, got {steps}')
    edges: Dict[str, list] = {}
    sizes = set()
    for cell in CELL_TYPES:
        edges[cell] = []
        for j, support in enumerate(supports[cell]):
            n_j = num_candidates(j, num_ops)
            indices = np.sort(
                support_indices(support, n_j, f'{cell} node {j} support'))
            sizes.add(len(indices))
            edges[cell].extend(decode_index(k, num_ops) for k in indices)
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f'all supports must have the same non-zero size, '
                         f'got sizes {sorted(sizes)}')
    num_nodes = steps[CELL_TYPES[0]]
    concat = list(range(2, 2 + num_nodes)) if concat is None else list(concat)
    return Genotype(
        normal=edges['normal'],
        normal_concat=concat,
        reduce=edges['reduce'],
        reduce_concat=concat,
        edges_per_node=sizes.pop())
