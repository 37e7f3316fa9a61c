# Copyright (c) mmista contributors. All rights reserved.
import json

import numpy as np
import pytest
from scipy import stats

from mmista.evaluation import kendall_tau
from ..utils import run_tool


def test_known_example():
    # 10 pairs: 6 concordant, 4 discordant -> (6 - 4) / 10.
    result = kendall_tau([1, 2, 3, 4, 5], [3, 4, 1, 2, 5])
    assert result == dict(tau=pytest.approx(0.2), n=5, concordant=6,
                          discordant=4)


def test_perfect_and_reversed_orders():
    assert kendall_tau([1, 2, 3], [10, 20, 30])['tau'] == 1
    assert kendall_tau([1, 2, 3], [30, 20, 10])['tau'] == -1


def test_matches_scipy_tau_b_with_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 30).astype(float)
    y = x + rng.integers(-2, 3, 30)
    expected = stats.kendalltau(x, y, variant='b').statistic
    assert kendall_tau(list(x), list(y))['tau'] == pytest.approx(expected)


@pytest.mark.parametrize('x, y, message', [
    ([1, 2], [1], 'one pair per run'),
    ([1], [1], 'at least two'),
    ([1, 1, 1], [1, 2, 3], 'constant'),
])
def test_bad_input(x, y, message):
    with pytest.raises(ValueError, match=message):
        kendall_tau(x, y)


def test_tool_on_pairs_and_csv(tmp_path):
    proc = run_tool('tools/analysis_tools/kendall_tau.py', '--pairs',
                    '71.2,97.1', '73.0,97.4', '72.1,97.0')
    assert json.loads(proc.stdout)['tau'] == pytest.approx(1 / 3)
    csv = tmp_path / 'runs.csv'
    csv.write_text('supernet,evaluated\n71.2,97.1\n# a comment\n73.0,97.4\n'
                   '72.1,97.0\n')
    proc = run_tool('tools/analysis_tools/kendall_tau.py', str(csv))
    assert json.loads(proc.stdout)['n'] == 3
    csv.write_text('71.2,97.1\n73.0\n')
    proc = run_tool('tools/analysis_tools/kendall_tau.py', str(csv),
                    check=False)
    assert proc.returncode != 0 and f'{csv}:2' in proc.stderr
