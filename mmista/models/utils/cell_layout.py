# Copyright (c) mmista contributors. All rights reserved.
"""Where the reduction cells go and how many channels each cell sees."""
from typing import List, NamedTuple, Tuple


class CellSpec(NamedTuple):
    """Shape of one cell of a DARTS-space network.

    Attributes:
        index (int): Position of the cell in the network.
        prev_prev_channels (int): Channels of the input ``s0``.
        prev_channels (int): Channels of the input ``s1``.
        channels (int): Channels ``C`` of each node inside the cell.
        reduction (bool): Whether this is a reduction cell.
        reduction_prev (bool): Whether ``s0`` has twice ``s1``'s resolution
            (the previous cell reduced), so ``s0`` goes through a
            FactorizedReduce.
        out_channels (int): Channels of the cell output (concatenated nodes).
    """

    index: int
    prev_prev_channels: int
    prev_channels: int
    channels: int
    reduction: bool
    reduction_prev: bool
    out_channels: int


def reduction_indices(layers: int) -> Tuple[int, int]:
    """Indices of the two reduction cells: ``layers//3`` and ``2*layers//3``.

    Args:
        layers (int): Number of cells.

    Returns:
        tuple[int, int]: The reduction cell indices.
    """
    return layers // 3, 2 * layers // 3


def cell_layout(layers: int, channels: int,
                stem_out_channels: Tuple[int, int], stem_reduction: bool,
                concat_nodes: int) -> List[CellSpec]:
    """Computes every cell's shape (docs/en/method/search_space.md).

    Args:
        layers (int): Number of cells.
        channels (int): Initial channels ``C``; doubled at each reduction.
        stem_out_channels (tuple[int, int]): Channels of the stem's
            ``(s0, s1)``.
        stem_reduction (bool): Whether the stem's ``s0`` has twice ``s1``'s
            resolution (ImageNet stem).
        concat_nodes (int): Number of nodes concatenated into a cell output.

    Returns:
        list[CellSpec]: One spec per cell.
    """
    if layers < 1:
        raise ValueError(f'layers must be >= 1, got {layers}')
    reductions = reduction_indices(layers)
    prev_prev, prev = stem_out_channels
    current = channels
    reduction_prev = stem_reduction
    specs = []
    for index in range(layers):
        reduction = index in reductions
        if reduction:
            current *= 2
        out = concat_nodes * current
        specs.append(
            CellSpec(index, prev_prev, prev, current, reduction,
                     reduction_prev, out))
        prev_prev, prev = prev, out
        reduction_prev = reduction
    return specs
