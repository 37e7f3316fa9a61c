# Copyright (c) mmista contributors. All rights reserved.
"""Rank correlation between search-time and evaluation accuracies."""
import math
from typing import Dict, Sequence


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> Dict[str, float]:
    """Kendall's tau-b between two paired sequences.

    Over all pairs of runs ``(i, j)``: concordant when ``x`` and ``y``
    order them the same way, discordant when opposite; pairs tied in
    either sequence count in neither, and tau-b corrects the denominator
    for those ties. 1 means the search ranks runs exactly as evaluation
    does, -1 the reverse, 0 no relation (supplement section 2 of the
    paper).

    Args:
        x (Sequence[float]): E.g. the super-net accuracy of each run.
        y (Sequence[float]): E.g. the evaluated accuracy of the same runs.

    Returns:
        dict: ``tau``, ``n`` (runs), ``concordant`` and ``discordant``
        (pairs).

    Raises:
        ValueError: Fewer than two runs, sequences of different lengths, or
            a sequence that is constant (tau is undefined).
    """
    if len(x) != len(y):
        raise ValueError(f'{len(x)} values against {len(y)}: give one pair '
                         'per run')
    n = len(x)
    if n < 2:
        raise ValueError('Kendall tau needs at least two runs')
    concordant = discordant = ties_x = ties_y = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 or dy == 0:
                ties_x += dx == 0
                ties_y += dy == 0
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    pairs = n * (n - 1) // 2
    denominator = math.sqrt((pairs - ties_x) * (pairs - ties_y))
    if denominator == 0:
        raise ValueError('a sequence is constant: Kendall tau is undefined')
    return dict(
        tau=(concordant - discordant) / denominator,
        n=n,
        concordant=concordant,
        discordant=discordant)
