# Copyright (c) mmista contributors. All rights reserved.
"""The budget's support selection against brute force."""
import itertools

import numpy as np
import pytest

from mmista.sparse_coding import (BudgetInfeasibleError,
                                  select_supports_within_budget)


def brute_force(values, costs, budget, fixed, sparsity):
    """The best total value over every choice of edge sets (None if no
    choice fits)."""
    best = None
    sets = [
        list(itertools.combinations(range(len(v)), sparsity)) for v in values
    ]
    for choice in itertools.product(*sets):
        cost = fixed + sum(costs[j][list(s)].sum(0)
                           for j, s in enumerate(choice))
        if (cost <= budget).all():
            value = sum(values[j][list(s)].sum() for j, s in enumerate(choice))
            best = value if best is None else max(best, value)
    return best


def random_instance(rng, metrics, sparsity, timed=False):
    """A few nodes whose candidates share a handful of op costs, like edges
    do, with sparse values like a LASSO's z (``timed``: the last metric is
    a latency in milliseconds, not a whole number)."""
    nodes = int(rng.integers(1, 4))
    op_costs = rng.integers(0, 6, size=(5, metrics)).astype(float)
    if timed:
        op_costs[:, -1] = rng.random(5) * 5.
    values, costs = [], []
    for _ in range(nodes):
        n = int(rng.integers(3, 8))
        values.append(np.abs(rng.standard_normal(n)) * (rng.random(n) < .6))
        costs.append(op_costs[rng.integers(0, 5, size=n)])
    fixed = rng.integers(0, 3, size=metrics).astype(float)
    budget = fixed + rng.integers(0, 7 * sparsity, size=metrics)
    if timed:
        budget[-1] = fixed[-1] + rng.random() * 3. * sparsity * nodes
    return values, costs, budget, fixed


@pytest.mark.parametrize('metrics,timed', [(1, False), (2, False),
                                           (3, False), (1, True), (2, True),
                                           (3, True)])
@pytest.mark.parametrize('sparsity', [1, 2, 3])
def test_optimal_against_brute_force(metrics, timed, sparsity):
    """Exact with params, flops and latency bounded alone or together, with
    whole-number and with millisecond costs."""
    rng = np.random.default_rng(100 * metrics + 10 * timed + sparsity)
    solved = infeasible = 0
    for _ in range(90):
        values, costs, budget, fixed = random_instance(
            rng, metrics, sparsity, timed)
        if metrics >= 2 and rng.random() < .25:
            budget[int(rng.integers(0, metrics))] = np.inf  # one unbounded
        best = brute_force(values, costs, budget, fixed, sparsity)
        if best is None:
            with pytest.raises(BudgetInfeasibleError):
                select_supports_within_budget(values, costs, budget, fixed,
                                              sparsity)
            infeasible += 1
            continue
        chosen = select_supports_within_budget(values, costs, budget, fixed,
                                               sparsity)
        # the optimum's value, summed in another order: rounding only
        assert chosen.value == pytest.approx(best, rel=1e-12, abs=1e-12)
        cost = fixed + sum(c[s].sum(0) for c, s in zip(costs, chosen.supports))
        np.testing.assert_allclose(chosen.cost, cost, rtol=1e-12)
        assert (cost <= budget * (1 + 1e-12)).all()
        assert all(
            len(s) == sparsity and (np.diff(s) > 0).all()
            for s in chosen.supports)
        solved += 1
    assert solved >= 10 and infeasible > 0  # both outcomes were exercised


def test_top_supports_that_fit_are_kept():
    values = [np.array([0., 3., 1., 2.]), np.array([5., 0., 0., 4., 1.])]
    costs = [np.ones((4, 1)), np.ones((5, 1))]
    chosen = select_supports_within_budget(values, costs, [4.], sparsity=2)
    assert chosen.unconstrained
    assert [s.tolist() for s in chosen.supports] == [[1, 3], [0, 3]]
    assert chosen.value == 14.


def test_budget_trades_the_least_value():
    # Node 0 keeps edges 0 and 1 (value 10 + 9) unconstrained, but edge 1
    # costs 10; node 1's expensive edge 0 holds less value than node 0's.
    values = [np.array([10., 9., 1., 0.]), np.array([8., 7.5, 1.])]
    costs = [
        np.array([[1.], [10.], [1.], [1.]]),
        np.array([[6.], [1.], [1.]]),
    ]
    chosen = select_supports_within_budget(values, costs, [12.], sparsity=2)
    # Keeping node 0's top pair (cost 11) leaves 1 for node 1, whose
    # cheapest pair costs 2; so node 0 gives up edge 1 instead: 10 + 1
    # (cost 2) and node 1's top pair 8 + 7.5 (cost 7) keep 26.5.
    assert not chosen.unconstrained
    assert [s.tolist() for s in chosen.supports] == [[0, 2], [0, 1]]
    assert chosen.value == 26.5
    assert chosen.cost.tolist() == [9.]


def test_fixed_cost_counts():
    values = [np.array([3., 2., 1.])]
    costs = [np.array([[5.], [5.], [1.]])]
    chosen = select_supports_within_budget(values, costs, [11.], [2.], 2)
    assert chosen.supports[0].tolist() == [0, 2]
    assert chosen.cost.tolist() == [8.]  # 3 + 2 would cost 12


def test_infeasible_names_the_cheapest_network():
    values = [np.array([1., 2., 3.]), np.array([1., 1., 1., 1.])]
    costs = [
        np.array([[4., 40.], [3., 30.], [9., 90.]]),
        np.array([[2., 5.], [8., 80.], [7., 70.], [1., 50.]]),
    ]
    with pytest.raises(BudgetInfeasibleError) as error:
        select_supports_within_budget(
            values,
            costs, [100., 100.], [90., 0.],
            metric_names=['params', 'flops'])
    # params: 90 + (3 + 4) + (1 + 2); flops: 0 + (30 + 40) + (5 + 50)
    message = str(error.value)
    assert '(params <= 100, flops <= 100)' in message
    assert 'cheapest reachable network costs params 100, flops 125' \
        in message


@pytest.mark.parametrize('values, costs, budget, match',
                         [([np.array([1., -1.])], [np.ones(
                             (2, 1))], [5.], '>= 0'),
                          ([np.array([1., 2.])], [np.ones(
                              (3, 1))], [5.], 'costs'),
                          ([np.array([1., np.nan])], [np.ones(
                              (2, 1))], [5.], 'finite'),
                          ([np.array([1.])], [np.ones(
                              (1, 1))], [5.], 'sparsity')])
def test_bad_input_is_refused(values, costs, budget, match):
    with pytest.raises(ValueError, match=match):
        select_supports_within_budget(values, costs, budget, sparsity=2)


@pytest.mark.parametrize('block_cells', [1, 97, 1 << 22])
def test_three_metric_frontier_against_all_pairs(block_cells):
    """The blocked dominance test of three bounded metrics drops exactly
    the rows that an earlier row dominates, whatever the block size."""
    from mmista.sparse_coding.budgeted_support import _dominated_by_earlier
    rng = np.random.default_rng(7)
    k = 300
    rest = rng.integers(0, 6, size=(k, 2)).astype(float)
    value = rng.integers(0, 8, size=k).astype(float)
    expected = np.array([
        any((rest[j] <= rest[i]).all() and value[j] >= value[i]
            for j in range(i)) for i in range(k)
    ])
    found = _dominated_by_earlier(rest, value, block_cells)
    np.testing.assert_array_equal(found, expected)
    assert 0 < expected.sum() < k
