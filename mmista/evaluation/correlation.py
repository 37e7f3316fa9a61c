# Copyright (c) mmista contributors. All rights reserved.
"""Rank correlations: search-time against evaluation accuracies,
predicted against measured latencies."""
import math
from typing import Dict, List, Sequence


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


def _average_ranks(values: Sequence[float]) -> List[float]:
    """Ranks from 1, ties sharing the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.] * len(values)
    start = 0
    while start < len(order):
        end = start
        while (end + 1 < len(order)
               and values[order[end + 1]] == values[order[start]]):
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman_rho(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation: Pearson's correlation of the ranks
    (tied values share their mean rank).

    Args:
        x (Sequence[float]): E.g. each network's predicted latency.
        y (Sequence[float]): E.g. the same networks' measured latency.

    Returns:
        float: In [-1, 1]; 1 when ``y`` orders the pairs as ``x`` does.

    Raises:
        ValueError: Fewer than two pairs, sequences of different lengths,
            or a sequence that is constant (rho is undefined).
    """
    if len(x) != len(y):
        raise ValueError(f'{len(x)} values against {len(y)}: give one pair '
                         'per network')
    if len(x) < 2:
        raise ValueError('Spearman rho needs at least two pairs')
    rx, ry = _average_ranks(list(x)), _average_ranks(list(y))
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx)**2 for a in rx)
    syy = sum((b - my)**2 for b in ry)
    if sxx == 0 or syy == 0:
        raise ValueError('a sequence is constant: Spearman rho is undefined')
    return sxy / math.sqrt(sxx * syy)
