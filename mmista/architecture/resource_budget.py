# Copyright (c) mmista contributors. All rights reserved.
"""A budget on the derived network's parameters, multiply-adds and latency.

See docs/en/method/resource_budget.md and
docs/en/user_guides/latency_budget.md.

The cost of a derived network is additive over its edges: a fixed part
(stem, cell pre-processing, classifier) plus, for every cell, the cost of
the op on each kept edge, which depends only on the op, on the cell type
and on whether the edge leaves one of the cell's two inputs (stride 2 in a
reduction cell) or an intermediate node. :class:`EdgeCosts` holds those
numbers (counted once, by :func:`mmista.analysis.measure_edge_costs`;
the latency on a device comes from a :class:`LatencyTable` of the same
structure); :class:`ResourceBudget` turns a recovery's ``z`` into supports
that keep the network within the budget.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from mmista.sparse_coding import (ArchitectureRecovery,
                                  select_supports_within_budget)
from mmista.structures import (CANDIDATE_OPS, CELL_TYPES, NUM_OPS,
                               num_candidates)
from .latency_table import LatencyTable, LatencyTableError

#: The metrics counted on the network itself, in the order of every cost
#: array.
COUNTED_METRICS = ('params', 'flops')
#: The metrics a budget can bound: the counted ones, then the latency that a
#: :class:`LatencyTable` predicts (milliseconds on the table's device).
METRICS = COUNTED_METRICS + ('latency_ms', )
#: How an exceeding recovery is handled.
POLICIES = ('select', 'reject')

Supports = Mapping[str, Sequence[Sequence[int]]]


@dataclass
class EdgeCosts:
    """The cost of a derived network, split into a fixed part and edges.

    Attributes:
        fixed (np.ndarray): ``(m,)`` cost of everything but the cell edges
            (auxiliary head excluded), one entry per metric of
            :attr:`metrics`.
        edges (dict[str, np.ndarray]): Per cell type, ``(NUM_OPS, 2, m)``:
            ``[op, source, metric]`` is the cost of op ``op`` on one edge of
            every cell of that type together, ``source`` 0 for an edge
            from a cell input and 1 from an intermediate node.
        input_shape (tuple[int, ...]): The ``(1, C, H, W)`` input counted.
        network (str): A one-line description of the counted network.
        metrics (tuple[str, ...]): The metrics of the cost arrays:
            :data:`COUNTED_METRICS`, or :data:`METRICS` once
            :meth:`with_latency` added a latency table's predictions.
        latency_table (LatencyTable, optional): The table the latency
            column comes from.
    """

    fixed: np.ndarray
    edges: Dict[str, np.ndarray]
    input_shape: tuple = ()
    network: str = ''
    metrics: Tuple[str, ...] = COUNTED_METRICS
    latency_table: Optional[LatencyTable] = None
    _candidate_costs: dict = field(
        default_factory=dict, init=False, repr=False, compare=False)

    @property
    def has_latency(self) -> bool:
        """Whether the costs include the latency on a table's device."""
        return 'latency_ms' in self.metrics

    def with_latency(self, table: LatencyTable,
                     where: str = 'the latency table') -> 'EdgeCosts':
        """These costs with the latency a table predicts as a third metric.

        Args:
            table (LatencyTable): Measured for the same network at the same
                input size (its batch may differ: a latency is a latency of
                the table's batch).
            where (str): What the table is, for the message.

        Returns:
            EdgeCosts: Metrics :data:`METRICS`; the latency column is the
            table's median milliseconds.

        Raises:
            LatencyTableError: The table was measured for another network
                or input size.
        """
        if (table.network != self.network
                or tuple(table.input_shape[1:]) != tuple(
                    self.input_shape[1:])):
            raise LatencyTableError(
                f'{where} was measured for {table.network}, the budget '
                f'counts {self.network}; build a table for this network '
                'with tools/analysis_tools/latency_table.py (same config '
                'and --input-size)')
        counted = [self.metrics.index(m) for m in COUNTED_METRICS]
        fixed = np.append(
            np.asarray(self.fixed, dtype=np.float64)[counted],
            table.fixed.median_ms)
        edges = {}
        for cell in CELL_TYPES:
            latency = table.edge_array(cell)
            assert latency.shape == (len(CANDIDATE_OPS), 2)
            edges[cell] = np.concatenate([
                np.asarray(self.edges[cell], dtype=np.float64)[..., counted],
                latency[..., None]
            ], axis=-1)
        return EdgeCosts(fixed, edges, self.input_shape, self.network,
                         METRICS, table)

    def candidate_costs(self, cell: str, node: int) -> np.ndarray:
        """The ``(n_j, m)`` cost of each candidate edge of a node.

        Args:
            cell (str): ``'normal'`` or ``'reduce'``.
            node (int): Intermediate node ``j``.

        Returns:
            np.ndarray: Row ``k`` is candidate ``k``'s cost in every metric
            (op ``k % NUM_OPS`` from input ``k // NUM_OPS``); read-only,
            computed once per node.
        """
        key = (cell, node)
        if key not in self._candidate_costs:
            index = np.arange(num_candidates(node, NUM_OPS))
            source = (index // NUM_OPS >= 2).astype(np.int64)
            costs = self.edges[cell][index % NUM_OPS, source]
            costs = costs.astype(np.float64)
            costs.flags.writeable = False
            self._candidate_costs[key] = costs
        return self._candidate_costs[key]

    def network_cost(self, supports: Supports) -> np.ndarray:
        """The ``(m,)`` cost of a derived network in every metric.

        Args:
            supports (Mapping): Per cell type, every node's edge indices.

        Returns:
            np.ndarray: float64, in the order of :attr:`metrics` (params
            and multiply-adds are whole numbers, exact in float64).
        """
        total = np.asarray(self.fixed, dtype=np.float64).copy()
        for cell in CELL_TYPES:
            for node, support in enumerate(supports[cell]):
                costs = self.candidate_costs(cell, node)
                total += costs[np.asarray(support, dtype=np.int64)].sum(0)
        return total


@dataclass
class BudgetDecision:
    """What a budget did to one recovery.

    Attributes:
        supports (dict[str, list[np.ndarray]]): Every node's support after
            the decision (the kept ones of nodes that did not recover).
        cost (np.ndarray): ``(m,)`` cost of those supports.
        proposed_cost (np.ndarray): ``(m,)`` cost of the recovery's own
            top-``s`` supports.
        changed (dict[str, list[int]]): Nodes whose support differs from
            the recovery's top-``s`` because of the budget.
        rejected (bool): Whether the recovered architecture was rejected
            (policy ``'reject'``) and the previous one kept.
    """

    supports: Dict[str, List[np.ndarray]]
    cost: np.ndarray
    proposed_cost: np.ndarray
    changed: Dict[str, List[int]] = field(default_factory=dict)
    rejected: bool = False


class ResourceBudget:
    """Keeps the derived network within a budget after every recovery.

    Args:
        edge_costs (EdgeCosts): The derived network's costs.
        params (float, optional): Most parameters (auxiliary head
            excluded). Defaults to None (unbounded).
        flops (float, optional): Most multiply-adds of one image at the
            counted input size. Defaults to None (unbounded).
        latency_ms (float, optional): Most milliseconds of a forward on the
            device of ``edge_costs``' latency table (see
            :meth:`EdgeCosts.with_latency`), as the table predicts it.
            Defaults to None (unbounded).
        policy (str): When the recovered top-``s`` supports exceed the
            budget: ``'select'`` chooses each recovering node's edges to
            keep the most ``|z|`` within the budget (a multiple-choice
            knapsack, solved exactly); ``'reject'`` keeps the previous
            architecture, as the reference code does with its 3.7M
            parameter cap (the first recovery, which has no previous
            architecture, selects). Defaults to ``'select'``.

    Raises:
        ValueError: Without a bound, with a bound that is not a positive
            number, with a latency bound on costs without a latency table,
            or with an unknown policy.
    """

    def __init__(self,
                 edge_costs: EdgeCosts,
                 params: Optional[float] = None,
                 flops: Optional[float] = None,
                 latency_ms: Optional[float] = None,
                 policy: str = 'select'):
        limits = dict(params=params, flops=flops, latency_ms=latency_ms)
        if all(limit is None for limit in limits.values()):
            raise ValueError('a budget needs params, flops and/or latency_ms')
        for name, limit in limits.items():
            if limit is not None and (isinstance(limit, bool)
                                      or not isinstance(limit, (int, float))
                                      or not 0 < limit < np.inf):
                raise ValueError(f'budget {name} must be a positive number, '
                                 f'got {limit!r}')
        if latency_ms is not None and not edge_costs.has_latency:
            raise ValueError(
                'a latency_ms budget needs a latency table: give '
                'budget.latency_table (a file from '
                'tools/analysis_tools/latency_table.py, or a dict of its '
                'settings to measure one on this machine)')
        if policy not in POLICIES:
            raise ValueError(f'budget policy must be one of {POLICIES}, got '
                             f'{policy!r}')
        self.edge_costs = edge_costs
        self.policy = policy
        self.limits = np.array([
            np.inf if limits[m] is None else float(limits[m])
            for m in edge_costs.metrics
        ])

    @property
    def metrics(self) -> Tuple[str, ...]:
        """The metrics of every cost array, in order."""
        return self.edge_costs.metrics

    def limit(self, metric: str) -> Optional[float]:
        """The bound on one metric (None when it is not bounded)."""
        if metric not in self.metrics:
            return None
        bound = self.limits[self.metrics.index(metric)]
        return None if np.isinf(bound) else float(bound)

    def describe(self, cost: Optional[np.ndarray] = None) -> str:
        """``params 3,210,000 / 3,700,000, latency_ms 3.215 / 4.000`` (cost
        over bound; the bounds alone without ``cost``)."""
        parts = []
        for i, metric in enumerate(self.metrics):
            bound = ('' if np.isinf(self.limits[i]) else _format(
                metric, self.limits[i]))
            if cost is None:
                if bound:
                    parts.append(f'{metric} <= {bound}')
                continue
            parts.append(f'{metric} {_format(metric, cost[i])}' +
                         (f' / {bound}' if bound else ''))
        return ', '.join(parts)

    def fits(self, cost: np.ndarray) -> bool:
        """Whether a ``(m,)`` cost is within the budget (bounds
        inclusive)."""
        return bool((np.asarray(cost) <= self.limits).all())

    def cost(self, supports: Supports) -> Dict[str, float]:
        """The derived network's cost per metric (params and flops as
        ints, the latency in milliseconds)."""
        return {
            metric: int(round(value)) if metric in COUNTED_METRICS else
            float(value)
            for metric, value in zip(self.metrics,
                                     self.edge_costs.network_cost(supports))
        }

    def constrain(self, recovery: ArchitectureRecovery, current: Supports,
                  update: Mapping[str, Sequence[bool]], initial: bool,
                  sparsity: int) -> BudgetDecision:
        """Decides the supports of a recovery under the budget.

        Args:
            recovery (ArchitectureRecovery): The recovered ``z`` and
                top-``s`` supports of every node.
            current (Mapping): The supports installed now.
            update (Mapping[str, Sequence[bool]]): Per cell type, the nodes
                that take the recovery (the others keep theirs: terminated
                nodes count as fixed cost).
            initial (bool): Whether this is the first recovery (nothing to
                keep under ``'reject'``).
            sparsity (int): Edges ``s`` per node.

        Returns:
            BudgetDecision: The supports to install.

        Raises:
            BudgetInfeasibleError: No choice of the updated nodes' supports
                fits; the message names the cheapest reachable cost.
        """
        proposed = {
            cell: [
                recovery.supports[cell][j].numpy() if update[cell][j] else
                np.asarray(current[cell][j], dtype=np.int64)
                for j in range(len(current[cell]))
            ]
            for cell in CELL_TYPES
        }
        proposed_cost = self.edge_costs.network_cost(proposed)
        if self.fits(proposed_cost):
            return BudgetDecision(proposed, proposed_cost, proposed_cost)
        if self.policy == 'reject' and not initial:
            kept = {
                cell: [np.asarray(s, dtype=np.int64) for s in current[cell]]
                for cell in CELL_TYPES
            }
            return BudgetDecision(
                kept,
                self.edge_costs.network_cost(kept),
                proposed_cost,
                rejected=True)
        return self._select(recovery, proposed, proposed_cost, update,
                            sparsity)

    def _select(self, recovery: ArchitectureRecovery,
                proposed: Dict[str, List[np.ndarray]],
                proposed_cost: np.ndarray, update: Mapping[str,
                                                           Sequence[bool]],
                sparsity: int) -> BudgetDecision:
        """Solves the knapsack over the updated nodes' edge sets."""
        fixed = self.edge_costs.fixed.astype(np.float64).copy()
        values, costs, owners = [], [], []
        for cell in CELL_TYPES:
            for j, support in enumerate(proposed[cell]):
                node_costs = self.edge_costs.candidate_costs(cell, j)
                if update[cell][j]:
                    values.append(np.abs(recovery.z[cell][j].numpy()))
                    costs.append(node_costs)
                    owners.append((cell, j))
                else:
                    fixed += node_costs[support].sum(0)
        chosen = select_supports_within_budget(
            values,
            costs,
            self.limits,
            fixed,
            sparsity=sparsity,
            metric_names=self.metrics)
        supports = {cell: list(proposed[cell]) for cell in CELL_TYPES}
        changed: Dict[str, List[int]] = {cell: [] for cell in CELL_TYPES}
        for (cell, j), support in zip(owners, chosen.supports):
            if not np.array_equal(support, np.sort(proposed[cell][j])):
                changed[cell].append(j)
            supports[cell][j] = support
        return BudgetDecision(supports, self.edge_costs.network_cost(supports),
                              proposed_cost, changed)


def _format(metric: str, value: float) -> str:
    """``3,210,000`` for a count, ``3.215`` for milliseconds."""
    if metric in COUNTED_METRICS:
        return f'{int(round(value)):,}'
    return f'{value:.3f}'
