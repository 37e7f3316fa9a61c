# Copyright (c) mmista contributors. All rights reserved.
"""Choosing every node's support under a resource budget.

See docs/en/method/resource_budget.md.

The cost of a derived network is a fixed part plus, for every node, the
cost of the ``s`` edges it keeps. Keeping the most ``|z|`` in total while
the network stays within the budget is a multiple-choice knapsack: each
node picks exactly one of its ``C(n_j, s)`` edge sets. It is solved exactly
by dynamic programming over the nodes on Pareto frontiers:

1. per node, among the edge sets of equal cost only the one of largest
   value can be optimal (it takes the best edges of each cost class), and
   an edge set that costs at least as much as another in every constrained
   metric while keeping less ``|z|`` cannot be either (dominance); both
   are dropped;
2. the nodes are added one at a time; a partial choice is dropped when even
   the cheapest choice for the remaining nodes would exceed the budget, or
   when another partial choice costs no more in every metric and keeps at
   least as much (it can be completed the same way, at least as well);
3. the best complete choice that fits is read back.

Every dropped partial choice has a kept one that is at least as good under
every completion, so the result is optimal. A feasible choice found by a
Lagrangian sweep (every node maximising value less a multiple of its
scaled cost, for many multiples at once) gives a value the optimum
reaches at least; partial choices that cannot reach it
even with every remaining node's best edges are dropped early, which keeps
the frontiers small. Ties go to the cheaper choice, then to a fixed order
of the frontier, so the selection is deterministic.
"""
import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmista.errors import UserError
from mmista.structures import check_positive_int
from .arrays import ArrayLike, as_float64
from .projection import select_support


class BudgetInfeasibleError(UserError, ValueError):
    """Raised when no choice of supports fits the budget."""


@dataclass
class BudgetedSupports:
    """The supports chosen by :func:`select_supports_within_budget`.

    Attributes:
        supports (list[np.ndarray]): Per node, the ``s`` kept edge indices,
            sorted increasingly (int64).
        cost (np.ndarray): ``(d,)`` total cost, fixed part included.
        value (float): The total ``|z|`` kept.
        unconstrained (bool): Whether the top-``s`` supports fitted, so the
            budget changed nothing.
    """

    supports: List[np.ndarray]
    cost: np.ndarray
    value: float
    unconstrained: bool


@lru_cache(maxsize=64)
def _class_multisets(classes: int,
                     sparsity: int) -> Tuple[np.ndarray, np.ndarray]:
    """Every multiset of ``sparsity`` cost classes (non-decreasing rows)
    and, per entry, how many equal entries precede it in its row."""
    sets = np.array(
        list(itertools.combinations_with_replacement(range(classes),
                                                     sparsity)),
        dtype=np.int64).reshape(-1, sparsity)
    first = np.zeros_like(sets)
    for i in range(1, sparsity):
        same = sets[:, i] == sets[:, i - 1]
        first[:, i] = np.where(same, first[:, i - 1], i)
    return sets, np.arange(sparsity)[None] - first


@lru_cache(maxsize=256)
def _cost_classes(cost_bytes: bytes, n: int, c: int, sparsity: int) -> tuple:
    """The cost classes of a node's edges (what depends on the costs only,
    the same at every recovery, so it is computed once).

    Returns:
        tuple: Each edge's class ``(n,)``, the class multisets that the
        node's edges can fill ``(k, s)``, each entry's rank within its
        class ``(k, s)``, and each multiset's cost ``(k, c)``.
    """
    cost = np.frombuffer(cost_bytes, dtype=np.float64).reshape(n, c)
    by_cost = np.lexsort(cost.T[::-1])
    sorted_cost = cost[by_cost]
    new = np.concatenate([[True], (np.diff(sorted_cost, axis=0) != 0).any(1)])
    classes = sorted_cost[new]
    label = np.empty(n, dtype=np.int64)
    label[by_cost] = np.cumsum(new) - 1
    sizes = np.bincount(label, minlength=len(classes))
    sets, ranks = _class_multisets(len(classes), sparsity)
    possible = (ranks < sizes[sets]).all(1)
    sets, ranks = sets[possible], ranks[possible]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return label, starts[sets] + ranks, classes[sets].sum(1)


def _node_options(value: np.ndarray, cost: np.ndarray,
                  sparsity: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A node's edge sets worth considering: their edges, costs and values.

    Edges of equal cost form a class (an edge's cost depends only on its op
    and source, so a node has at most 14 classes). An edge set's cost is
    fixed by how many edges it takes from each class, and for a given
    count the most valuable set takes each class's best edges (the lower
    index among equal values). So only one set per multiset of classes can
    be optimal, ``C(K + s - 1, s)`` of them instead of ``C(n, s)``, and of
    those only the non-dominated ones are kept.

    Args:
        value (np.ndarray): ``(n,)`` edge values.
        cost (np.ndarray): ``(n, c)`` edge costs in the bounded metrics.
        sparsity (int): Edges per set.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: Edge sets ``(k, s)``
        (each sorted), their costs ``(k, c)`` and values ``(k,)``.
    """
    n, c = cost.shape
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    label, positions, set_cost = _cost_classes(cost.tobytes(), n, c,
                                               sparsity)
    # by class, then decreasing value, then index
    order = np.lexsort((np.arange(n), -value, label))
    edges = np.sort(order[positions], axis=1)
    set_value = value[edges].sum(1)
    kept = _pareto(set_cost, set_value)
    return edges[kept], set_cost[kept], set_value[kept]


def _pareto(cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows, in a deterministic order.

    A row is dropped when another row costs no more in every column and has
    at least its value (between two equal rows, the later in the input
    order is dropped).

    Args:
        cost (np.ndarray): ``(k, d)`` costs, ``d >= 1``.
        value (np.ndarray): ``(k,)`` values.

    Returns:
        np.ndarray: Kept row indices, sorted by cost.
    """
    k, d = cost.shape
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    # By cost (lexicographically), then larger value, then input order:
    # every row that could dominate a row comes before it.
    keys = [np.arange(k), -value] + [cost[:, i] for i in reversed(range(d))]
    order = np.lexsort(keys)
    value = value[order]
    if d == 1:
        best_before = np.maximum.accumulate(
            np.concatenate([[-np.inf], value[:-1]]))
        return order[value > best_before]
    if d > 2:
        return order[~_dominated_by_earlier(cost[order, 1:], value)]
    second = cost[order, 1]
    if k <= 256:  # all pairs at once: cheaper than the divide and conquer
        earlier = np.tri(k, k, -1, dtype=bool)
        dominated = (earlier & (second[None] <= second[:, None])
                     & (value[None] >= value[:, None])).any(1)
        return order[~dominated]
    return order[~_dominated_2d(second, value)]


def _dominated_by_earlier(rest: np.ndarray, value: np.ndarray,
                          block_cells: int = 1 << 22) -> np.ndarray:
    """Which rows some earlier row dominates (every other cost no larger,
    value no smaller), for rows already sorted by their first cost.

    Any number of other costs (a budget on params, flops and latency
    together): each block of rows is compared with all rows before its
    end, so memory stays near ``block_cells`` booleans and the time is
    ``O(k^2 d)``, which the frontiers of a recovery keep small.

    Args:
        rest (np.ndarray): ``(k, d - 1)`` the costs after the first.
        value (np.ndarray): ``(k,)`` values.
        block_cells (int): Comparisons per block.

    Returns:
        np.ndarray: ``(k,)`` bool.
    """
    k = len(value)
    dominated = np.zeros(k, dtype=bool)
    block = max(1, block_cells // max(k, 1))
    for start in range(0, k, block):
        stop = min(k, start + block)
        rows = np.arange(start, stop)
        earlier = np.arange(stop)[None] < rows[:, None]
        earlier &= value[None, :stop] >= value[rows, None]
        for column in range(rest.shape[1]):
            earlier &= rest[None, :stop, column] <= rest[rows, None, column]
        dominated[start:stop] = earlier.any(1)
    return dominated


def _dominated_2d(second: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Which rows some earlier row dominates (``second`` cost no larger,
    value no smaller), for rows already sorted by their first cost.

    Divide and conquer over the positions, vectorised per level: at level
    ``l`` the rows are cut into groups of ``2^(l+1)``; each row of a
    group's second half is compared with the first half through a prefix
    maximum over the second cost. Every pair of rows meets at exactly one
    level, so the whole test takes ``O(k log^2 k)``.
    """
    k = len(value)
    second_rank = np.unique(second, return_inverse=True)[1].reshape(-1)
    value_rank = np.unique(value, return_inverse=True)[1].reshape(-1)
    position = np.arange(k)
    dominated = np.zeros(k, dtype=bool)
    span = k + 1  # keeps the groups apart in one integer key
    level = 0
    while (1 << level) < k:
        group = position >> (level + 1)
        left = ((position >> level) & 1) == 0
        left_key = group[left] * span + second_rank[left]
        order = np.argsort(left_key, kind='stable')
        left_key = left_key[order]
        best = np.maximum.accumulate(
            (group[left] * span + value_rank[left])[order])
        right = ~left
        right_group = group[right]
        at = np.searchsorted(
            left_key, right_group * span + second_rank[right],
            side='right') - 1
        found = best[np.maximum(at, 0)] - right_group * span
        dominated[right] |= (at >= 0) & (found >= value_rank[right])
        level += 1
    return dominated


def select_supports_within_budget(
        values: Sequence[ArrayLike],
        costs: Sequence[ArrayLike],
        budget: ArrayLike,
        fixed_cost: Optional[ArrayLike] = None,
        sparsity: int = 2,
        metric_names: Optional[Sequence[str]] = None) -> BudgetedSupports:
    """The supports keeping the most ``|z|`` within a budget.

    Args:
        values (Sequence): Per node, the ``(n_j,)`` values of its candidate
            edges (``|z_j|``; non-negative).
        costs (Sequence): Per node, the ``(n_j, d)`` cost of each candidate
            edge in ``d`` metrics.
        budget (ArrayLike): ``(d,)`` upper bounds, inclusive; ``inf`` where
            a metric is not constrained.
        fixed_cost (ArrayLike, optional): ``(d,)`` cost of everything that
            is not a chosen edge. Defaults to zeros.
        sparsity (int): Edges ``s`` per node. Defaults to 2.
        metric_names (Sequence[str], optional): Names of the ``d`` metrics,
            for the error message. Defaults to ``metric 0``, ...

    Returns:
        BudgetedSupports: The supports, their cost and value. When the
        top-``s`` supports fit, they are returned unchanged.

    Raises:
        BudgetInfeasibleError: If no choice fits; the message names the
            cheapest reachable cost of each metric.
        ValueError: On shape mismatches, negative or non-finite values.
    """
    sparsity = check_positive_int(sparsity, 'sparsity')
    if len(values) != len(costs):
        raise ValueError(f'{len(values)} value vectors but {len(costs)} '
                         f'cost tables')
    budget = np.atleast_1d(as_float64(np.asarray(budget), 'budget'))
    d = budget.shape[0]
    fixed = np.zeros(d) if fixed_cost is None else np.atleast_1d(
        as_float64(np.asarray(fixed_cost), 'fixed_cost'))
    names = list(metric_names or [f'metric {i}' for i in range(d)])
    if fixed.shape != (d, ) or len(names) != d or np.isnan(budget).any():
        raise ValueError(f'budget, fixed_cost and metric_names must have '
                         f'{d} entries and no NaN')
    nodes_value, nodes_cost = [], []
    for j, (value, cost) in enumerate(zip(values, costs)):
        value = as_float64(value, f'values[{j}]')
        cost = as_float64(cost, f'costs[{j}]')
        if value.ndim != 1 or cost.shape != (value.shape[0], d):
            raise ValueError(f'node {j}: values must be (n,) and costs '
                             f'(n, {d}), got {value.shape} and {cost.shape}')
        if not (np.isfinite(value).all() and np.isfinite(cost).all()):
            raise ValueError(f'node {j}: values and costs must be finite')
        if (value < 0).any():
            raise ValueError(f'node {j}: values must be >= 0 (|z|)')
        if sparsity > value.shape[0]:
            raise ValueError(f'node {j}: sparsity {sparsity} exceeds its '
                             f'{value.shape[0]} candidates')
        nodes_value.append(value)
        nodes_cost.append(cost)

    top = [select_support(value, sparsity) for value in nodes_value]
    top_cost = fixed + sum(
        (cost[s].sum(0) for cost, s in zip(nodes_cost, top)), np.zeros(d))
    if (top_cost <= budget).all():
        return BudgetedSupports(top, top_cost, _kept(nodes_value, top), True)

    constrained = np.flatnonzero(np.isfinite(budget))
    room = budget[constrained] - fixed[constrained]
    # per node: (edge sets (k, s), cost (k, c), value (k,))
    options = [
        _node_options(value, cost[:, constrained], sparsity)
        for value, cost in zip(nodes_value, nodes_cost)
    ]
    cheapest = np.stack([opt[1].min(0) for opt in options]) if options \
        else np.zeros((0, len(constrained)))
    # cheapest completion of the nodes after node j
    rest = np.cumsum(
        np.concatenate([cheapest, np.zeros((1, len(constrained)))])[::-1],
        0)[::-1][1:]

    # the most value the nodes after node j could add
    best_rest = np.cumsum(
        np.array([opt[2].max() for opt in options] + [0.])[::-1])[::-1][1:]
    # computed when a frontier grows large enough to be worth pruning
    floor_value = -np.inf
    floor_tried = False
    state_cost = np.zeros((1, len(constrained)))
    state_value = np.zeros(1)
    state_choice = np.zeros((1, 0), dtype=np.int64)
    for j, (_, cost, value) in enumerate(options):
        k = cost.shape[0]
        new_cost = (state_cost[:, None] + cost[None]).reshape(
            -1, cost.shape[1])
        new_value = (state_value[:, None] + value[None]).reshape(-1)
        parent = np.repeat(np.arange(state_cost.shape[0]), k)
        pick = np.tile(np.arange(k), state_cost.shape[0])
        # fits with the cheapest completion, and can still reach the value
        # of a known feasible choice (the margin keeps ties and rounding)
        fits = (new_cost + rest[j] <= room).all(1)
        if not floor_tried and fits.sum() > 256:
            floor_tried = True
            floor_value = _lagrangian_value(options, room)
        if floor_value > -np.inf:
            fits &= new_value + best_rest[j] >= floor_value - 1e-9 * (
                1. + abs(floor_value))
        index = np.flatnonzero(fits)
        # the last node only needs the best complete choice
        kept = index if j == len(options) - 1 else index[_pareto(
            new_cost[index], new_value[index])]
        state_cost, state_value = new_cost[kept], new_value[kept]
        state_choice = np.concatenate(
            [state_choice[parent[kept]], pick[kept, None]], axis=1)
    if (room < 0).any() or not len(state_value):
        floor = _floor(fixed, nodes_cost, sparsity)
        raise BudgetInfeasibleError(
            'no choice of supports fits the budget ' +
            _describe(names, budget, constrained) +
            ': the cheapest reachable network costs ' +
            ', '.join(f'{names[i]} {_amount(floor[i])}'
                      for i in constrained) +
            ' (each metric minimised on its own); raise the budget or '
            'shrink the network (channels, cells, input size)')

    # largest value, then the cheapest, then the first in order
    keys = [np.arange(len(state_value))] + [
        state_cost[:, i] for i in reversed(range(state_cost.shape[1]))
    ] + [-state_value]
    best = np.lexsort(keys)[0]
    supports = [
        np.sort(options[j][0][state_choice[best, j]])
        for j in range(len(options))
    ]
    total = fixed + sum(
        (cost[s].sum(0) for cost, s in zip(nodes_cost, supports)), np.zeros(d))
    return BudgetedSupports(supports, total, _kept(nodes_value, supports),
                            False)


def _lagrangian_value(options: List[tuple], room: np.ndarray,
                      multipliers: int = 65) -> float:
    """The best value of the feasible choices a Lagrangian sweep finds
    (-inf if none fits), a lower bound on the optimum that lets the search
    drop partial choices that cannot beat it.

    Every node takes the option of the largest ``value - lam * cost``, the
    cost being the sum over the bounded metrics of the option's cost
    scaled by the metric's room, for a geometric range of ``lam`` at once;
    of those choices, the most valuable one that fits gives the bound.
    """
    scale = np.maximum(np.abs(room), np.finfo(np.float64).tiny)
    weighted = [opt[1] @ (1. / scale) for opt in options]
    value_range = sum(float(np.ptp(opt[2])) for opt in options)
    cost_range = sum(float(np.ptp(w)) for w in weighted)
    if cost_range == 0. or value_range == 0.:
        lams = np.array([0.])
    else:
        lams = np.concatenate([[0.], value_range / cost_range * np.logspace(
            -8, 8, multipliers, base=2.)])
    total_cost = np.zeros((len(lams), len(room)))
    total_value = np.zeros(len(lams))
    for (_, cost, value), w in zip(options, weighted):
        picks = np.argmax(value[None] - lams[:, None] * w[None], axis=1)
        total_cost += cost[picks]
        total_value += value[picks]
    fits = (total_cost <= room).all(1)
    return float(total_value[fits].max()) if fits.any() else -np.inf


def _kept(values: List[np.ndarray], supports: List[np.ndarray]) -> float:
    """The total value of the supports."""
    return float(sum(value[s].sum() for value, s in zip(values, supports)))


def _floor(fixed: np.ndarray, costs: List[np.ndarray],
           sparsity: int) -> np.ndarray:
    """The smallest reachable cost of each metric on its own."""
    return fixed + sum((np.sort(cost, axis=0)[:sparsity].sum(0)
                        for cost in costs), np.zeros(fixed.shape[0]))


def _describe(names: List[str], budget: np.ndarray,
              constrained: np.ndarray) -> str:
    """``(flops <= 600,000,000)``."""
    return '(' + ', '.join(f'{names[i]} <= {_amount(budget[i])}'
                           for i in constrained) + ')'


def _amount(value: float) -> str:
    """``600,000,000`` for a whole number, ``3.215`` otherwise."""
    if float(value).is_integer():
        return f'{value:,.0f}'
    return f'{value:,.3f}'
