# Copyright (c) mmista contributors. All rights reserved.
"""A budget on the derived network's parameters and multiply-adds.

See docs/en/method/resource_budget.md.

The cost of a derived network is additive over its edges: a fixed part
(stem, cell pre-processing, classifier) plus, for every cell, the cost of
the op on each kept edge, which depends only on the op, on the cell type
and on whether the edge leaves one of the cell's two inputs (stride 2 in a
reduction cell) or an intermediate node. :class:`EdgeCosts` holds those
numbers (measured once, by :func:`mmista.analysis.measure_edge_costs`);
:class:`ResourceBudget` turns a recovery's ``z`` into supports that keep
the network within the budget.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from mmista.sparse_coding import (ArchitectureRecovery,
                                  select_supports_within_budget)
from mmista.structures import CELL_TYPES, NUM_OPS, num_candidates

#: The metrics a budget can bound, in the order of every cost array.
METRICS = ('params', 'flops')
#: How an exceeding recovery is handled.
POLICIES = ('select', 'reject')

Supports = Mapping[str, Sequence[Sequence[int]]]


@dataclass
class EdgeCosts:
    """The cost of a derived network, split into a fixed part and edges.

    Attributes:
        fixed (np.ndarray): ``(2,)`` params and multiply-adds of everything
            but the cell edges (auxiliary head excluded).
        edges (dict[str, np.ndarray]): Per cell type, ``(NUM_OPS, 2, 2)``:
            ``[op, source, metric]`` is the cost of op ``op`` on one edge of
            every cell of that type together, ``source`` 0 for an edge
            from a cell input and 1 from an intermediate node.
        input_shape (tuple[int, ...]): The ``(1, C, H, W)`` input counted.
        network (str): A one-line description of the counted network.
    """

    fixed: np.ndarray
    edges: Dict[str, np.ndarray]
    input_shape: tuple = ()
    network: str = ''
    _candidate_costs: dict = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def candidate_costs(self, cell: str, node: int) -> np.ndarray:
        """The ``(n_j, 2)`` cost of each candidate edge of a node.

        Args:
            cell (str): ``'normal'`` or ``'reduce'``.
            node (int): Intermediate node ``j``.

        Returns:
            np.ndarray: Row ``k`` is candidate ``k``'s params and
            multiply-adds (op ``k % NUM_OPS`` from input ``k // NUM_OPS``);
            read-only, computed once per node.
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
        """The ``(2,)`` params and multiply-adds of a derived network.

        Args:
            supports (Mapping): Per cell type, every node's edge indices.

        Returns:
            np.ndarray: int64 ``[params, flops]``.
        """
        total = self.fixed.astype(np.float64).copy()
        for cell in CELL_TYPES:
            for node, support in enumerate(supports[cell]):
                costs = self.candidate_costs(cell, node)
                total += costs[np.asarray(support, dtype=np.int64)].sum(0)
        return total.round().astype(np.int64)


@dataclass
class BudgetDecision:
    """What a budget did to one recovery.

    Attributes:
        supports (dict[str, list[np.ndarray]]): Every node's support after
            the decision (the kept ones of nodes that did not recover).
        cost (np.ndarray): ``(2,)`` cost of those supports.
        proposed_cost (np.ndarray): ``(2,)`` cost of the recovery's own
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
        policy (str): When the recovered top-``s`` supports exceed the
            budget: ``'select'`` chooses each recovering node's edges to
            keep the most ``|z|`` within the budget (a multiple-choice
            knapsack, solved exactly); ``'reject'`` keeps the previous
            architecture, as the reference code does with its 3.7M
            parameter cap (the first recovery, which has no previous
            architecture, selects). Defaults to ``'select'``.

    Raises:
        ValueError: Without a bound, with a bound that is not a positive
            number, or with an unknown policy.
    """

    def __init__(self,
                 edge_costs: EdgeCosts,
                 params: Optional[float] = None,
                 flops: Optional[float] = None,
                 policy: str = 'select'):
        limits = dict(params=params, flops=flops)
        if all(limit is None for limit in limits.values()):
            raise ValueError('a budget needs params and/or flops')
        for name, limit in limits.items():
            if limit is not None and (isinstance(limit, bool)
                                      or not isinstance(limit, (int, float))
                                      or not 0 < limit < np.inf):
                raise ValueError(f'budget {name} must be a positive number, '
                                 f'got {limit!r}')
        if policy not in POLICIES:
            raise ValueError(f'budget policy must be one of {POLICIES}, got '
                             f'{policy!r}')
        self.edge_costs = edge_costs
        self.policy = policy
        self.limits = np.array([
            np.inf if limits[m] is None else float(limits[m]) for m in METRICS
        ])

    def describe(self, cost: Optional[np.ndarray] = None) -> str:
        """``params 3,210,000 / 3,700,000, flops 412,000,000`` (cost over
        bound; the bound alone without ``cost``)."""
        parts = []
        for i, metric in enumerate(METRICS):
            bound = (''
                     if np.isinf(self.limits[i]) else f'{self.limits[i]:,.0f}')
            if cost is None:
                if bound:
                    parts.append(f'{metric} <= {bound}')
                continue
            parts.append(f'{metric} {int(cost[i]):,}' +
                         (f' / {bound}' if bound else ''))
        return ', '.join(parts)

    def fits(self, cost: np.ndarray) -> bool:
        """Whether a ``(2,)`` cost is within the budget (bounds
        inclusive)."""
        return bool((np.asarray(cost) <= self.limits).all())

    def cost(self, supports: Supports) -> Dict[str, int]:
        """The derived network's cost per metric."""
        return dict(
            zip(METRICS, map(int, self.edge_costs.network_cost(supports))))

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
            metric_names=METRICS)
        supports = {cell: list(proposed[cell]) for cell in CELL_TYPES}
        changed: Dict[str, List[int]] = {cell: [] for cell in CELL_TYPES}
        for (cell, j), support in zip(owners, chosen.supports):
            if not np.array_equal(support, np.sort(proposed[cell][j])):
                changed[cell].append(j)
            supports[cell][j] = support
        return BudgetDecision(supports, self.edge_costs.network_cost(supports),
                              proposed_cost, changed)
