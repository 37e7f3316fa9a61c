# Copyright (c) mmista contributors. All rights reserved.
"""The statistics of a search protocol
(``tools/analysis_tools/search_protocol.py``): Welch's t-test of two
methods' accuracies.

Welch's test does not assume that the two groups have the same variance
(a search method and random cells seldom do). The t statistic and its
Welch-Satterthwaite degrees of freedom are computed here; the p-value is
the two-sided tail of Student's t distribution (SciPy, a dependency of
scikit-learn and so always installed with mmista).
"""
import math
from typing import Dict, List, Sequence

from scipy import stats


def finite(values: Sequence[float]) -> List[float]:
    """The values that are numbers, neither None, NaN nor infinite."""
    return [
        float(v) for v in values if v is not None and math.isfinite(float(v))
    ]


def welch_t_test(a: Sequence[float], b: Sequence[float]) -> Dict[str, float]:
    """Welch's two-sided t-test of ``mean(a) == mean(b)``.

    ``t = (mean_a - mean_b) / sqrt(var_a / n_a + var_b / n_b)`` with the
    sample variances (n - 1), and
    ``df = (var_a / n_a + var_b / n_b)**2 / ((var_a / n_a)**2 / (n_a - 1) +
    (var_b / n_b)**2 / (n_b - 1))``.

    Args:
        a (Sequence[float]): The first group (e.g. ISTA-NAS accuracies).
        b (Sequence[float]): The second group (e.g. random genotypes').

    Returns:
        dict: ``t``, ``df``, ``p`` (two-sided), ``mean_a``, ``mean_b``,
        ``difference`` (``mean_a - mean_b``), ``n_a`` and ``n_b``.

    Raises:
        ValueError: A group has fewer than two values, a value is not
            finite, or both groups are constant (t is undefined).
    """
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f'Welch\'s t-test needs at least two values per '
                         f'group, got {len(a)} and {len(b)}')
    if len(finite(a)) != len(a) or len(finite(b)) != len(b):
        raise ValueError('Welch\'s t-test of values that are not finite')
    n_a, n_b = len(a), len(b)
    mean_a, mean_b = sum(a) / n_a, sum(b) / n_b
    var_a = sum((v - mean_a)**2 for v in a) / (n_a - 1)
    var_b = sum((v - mean_b)**2 for v in b) / (n_b - 1)
    se_a, se_b = var_a / n_a, var_b / n_b
    if se_a + se_b == 0:
        raise ValueError('both groups are constant: the t statistic is '
                         'undefined')
    t = (mean_a - mean_b) / math.sqrt(se_a + se_b)
    df = (se_a + se_b)**2 / (se_a**2 / (n_a - 1) + se_b**2 / (n_b - 1))
    p = float(2 * stats.t.sf(abs(t), df))
    return dict(
        t=t,
        df=df,
        p=p,
        mean_a=mean_a,
        mean_b=mean_b,
        difference=mean_a - mean_b,
        n_a=n_a,
        n_b=n_b)
