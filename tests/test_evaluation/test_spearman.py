# Copyright (c) mmista contributors. All rights reserved.
import numpy as np
import pytest
from scipy.stats import spearmanr

from mmista.evaluation import spearman_rho


@pytest.mark.parametrize('seed', range(4))
def test_spearman_matches_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, 15).astype(float)  # many ties
    y = x + rng.normal(size=15)
    assert spearman_rho(x, y) == pytest.approx(
        spearmanr(x, y).statistic, abs=1e-12)


def test_spearman_of_orders():
    assert spearman_rho([1, 2, 3, 4], [10, 20, 30, 40]) == 1
    assert spearman_rho([1, 2, 3, 4], [4, 3, 2, 1]) == -1
    # ranks only: a monotone but curved relation is perfect
    assert spearman_rho([1, 2, 3, 4], [1, 8, 27, 64]) == 1


@pytest.mark.parametrize('x, y, message', [
    ([1.], [1.], 'at least two'),
    ([1., 2.], [1.], 'one pair'),
    ([1., 1., 1.], [1., 2., 3.], 'constant'),
])
def test_spearman_refuses(x, y, message):
    with pytest.raises(ValueError, match=message):
        spearman_rho(x, y)
