# Copyright (c) mmista contributors. All rights reserved.
"""The state the search hooks share, and the one place that changes it.

The searched architecture lives in the super-net's
:class:`~mmista.architecture.CompressedArchitecture` (``b``, the
dictionaries, ``z``, the supports, the termination epochs, the epoch the
architecture was fixed at), so it travels with the model's ``state_dict``
into checkpoints. What else the hooks share goes through the runner's
message hub (checkpointed with it) under the keys below. No hook reads
another hook's attributes: each reaches the state through
:class:`SearchState`, whose changing methods end with one broadcast from
rank 0, so every process holds the state rank 0 decided.
"""
import time
from typing import Dict, List, Optional, Tuple

from mmista.architecture import BudgetDecision, ResourceBudget
from mmista.structures import (CELL_TYPES, Genotype, OpCounts, changed_nodes,
                               count_ops)
from .utils import backbone_with

#: Message-hub info: one record per recovery, ``dict(epoch=e, normal=[...],
#: reduce=[...])`` with each node's ``||z_new - z_prev||`` (None for nodes
#: that no longer search), for the convergence plot.
Z_SHIFT_HISTORY = 'architecture_z_shifts'
#: Message-hub info: one record per recovery, ``dict(epoch=e, normal={op:
#: count}, reduce={...})`` with the recovered genotype's op counts
#: (:func:`~mmista.structures.count_ops`), for the op-count plot.
OP_COUNT_HISTORY = 'architecture_op_counts'
#: Message-hub info: the termination threshold of a one-stage search, set
#: by :class:`~mmista.engine.hooks.TerminationHook`.
TERMINATION_EPS = 'search/termination_eps'
#: Message-hub scalar: the nodes still searching, in the iteration log.
SEARCHING_NODES = 'train/searching_nodes'
#: Message-hub info: how many recoveries in a row were degenerate (some
#: node's z with fewer than ``sparsity`` non-zeros), checkpointed.
DEGENERATE_STREAK = 'search/degenerate_recoveries'

#: ``(cell type, node)`` of one intermediate node.
Node = Tuple[str, int]


class RecoveryReport:
    """What one recovery changed.

    Args:
        genotype (Genotype): The architecture after the recovery.
        changed (dict[str, list[int]]): Per cell type, the nodes whose
            support changed.
        elapsed_ms (float): Wall time of the LASSO solves, the budget's
            selection and the broadcast.
        budget (BudgetDecision, optional): What the resource budget
            decided (None without a budget).
        cost (dict[str, int], optional): The derived network's params and
            flops after the recovery (None without a budget).
        degenerate (dict[str, list[int]], optional): Per cell type, the
            recovered nodes whose ``z`` has fewer than ``sparsity``
            non-zeros. Defaults to none.
        op_counts (OpCounts, optional): The genotype's op counts
            (:func:`~mmista.structures.count_ops`). Defaults to counting
            them.
    """

    def __init__(self,
                 genotype: Genotype,
                 changed: Dict[str, List[int]],
                 elapsed_ms: float,
                 budget: Optional[BudgetDecision] = None,
                 cost: Optional[Dict[str, int]] = None,
                 degenerate: Optional[Dict[str, List[int]]] = None,
                 op_counts: Optional[OpCounts] = None):
        self.genotype = genotype
        self.op_counts = op_counts or count_ops(genotype)
        self.changed = changed
        self.elapsed_ms = elapsed_ms
        self.budget = budget
        self.cost = cost
        self.degenerate = degenerate or {cell: [] for cell in CELL_TYPES}

    @property
    def num_changed(self) -> int:
        """How many nodes changed, over both cell types."""
        return sum(map(len, self.changed.values()))


class SearchState:
    """The architecture state of the runner's super-net, for the hooks.

    Args:
        runner (Runner): The runner; its model (possibly wrapped) must have
            a backbone with an ``architecture``.
        user (str): The caller's name, for the error message when the
            backbone has none.
    """

    def __init__(self, runner, user: str):
        self.runner = runner
        self.supernet = backbone_with(runner, 'architecture', user)
        self.architecture = self.supernet.architecture

    # reading
    @property
    def recovered(self) -> bool:
        """Whether the architecture was recovered (or restored) already."""
        return bool(self.architecture.recovered)

    @property
    def is_fixed(self) -> bool:
        """Whether the architecture is fixed (one-stage evaluation)."""
        return self.architecture.is_fixed

    @property
    def fixed_epoch(self) -> int:
        """The epoch the architecture was fixed at (-1: not fixed)."""
        return int(self.architecture.fixed_epoch)

    @property
    def all_terminated(self) -> bool:
        """Whether no node of any cell type still searches."""
        return self.architecture.all_terminated

    def searching_nodes(self) -> List[Node]:
        """The nodes still searching."""
        return [(cell, node) for cell in CELL_TYPES for node, active in
                enumerate(self.architecture.active_nodes(cell)) if active]

    def genotype(self) -> Genotype:
        """The architecture read from the current supports."""
        return self.architecture.genotype()

    def termination_eps(self) -> Optional[float]:
        """The termination threshold, if the run terminates nodes."""
        return self.runner.message_hub.get_info(TERMINATION_EPS)

    @property
    def degenerate_streak(self) -> int:
        """How many recoveries in a row, up to the last one, had a node
        whose ``z`` has fewer than ``sparsity`` non-zeros."""
        return int(self.runner.message_hub.get_info(DEGENERATE_STREAK) or 0)

    def degenerate_nodes(self) -> List[Node]:
        """The searching nodes whose last recovered ``z`` has fewer than
        ``sparsity`` non-zeros (their support is partly a tie broken by
        index)."""
        return [(cell, node) for cell in CELL_TYPES for node, flag in
                enumerate(self.architecture.degenerate_nodes(cell))
                if flag and self.architecture.active_nodes(cell)[node]]

    def z_shift_history(self) -> List[dict]:
        """Every recovery's z shifts so far (see :data:`Z_SHIFT_HISTORY`)."""
        return list(self.runner.message_hub.get_info(Z_SHIFT_HISTORY) or [])

    def op_count_history(self) -> List[dict]:
        """Every recovery's op counts so far (see
        :data:`OP_COUNT_HISTORY`)."""
        return list(
            self.runner.message_hub.get_info(OP_COUNT_HISTORY) or [])

    # changing (each ends with the broadcast from rank 0)
    def recover(self,
                epoch: int,
                budget: Optional[ResourceBudget] = None) -> RecoveryReport:
        """Solves the LASSO of the nodes still searching and installs the
        new supports; records the z shifts and the op counts for the
        convergence plots and counts the degenerate recoveries in a row.

        Args:
            epoch (int): Epochs trained so far (0: the initial recovery).
            budget (ResourceBudget, optional): Keeps the derived network
                within a budget (rank 0's decision is what every rank
                installs).

        Returns:
            RecoveryReport: What changed.
        """
        architecture = self.architecture
        before = architecture.genotype()
        searched = {
            cell: architecture.active_nodes(cell)
            for cell in CELL_TYPES
        }
        start = time.perf_counter()
        result = self.supernet.recover(budget=budget)
        architecture.broadcast()
        elapsed_ms = 1e3 * (time.perf_counter() - start)
        record = dict(epoch=epoch)
        record.update({
            cell: [
                shift if active else None for shift, active in zip(
                    architecture.z_shifts(cell), searched[cell])
            ]
            for cell in CELL_TYPES
        })
        self.runner.message_hub.update_info(
            Z_SHIFT_HISTORY, self.z_shift_history() + [record])
        after = architecture.genotype()
        op_counts = count_ops(after)
        self.runner.message_hub.update_info(
            OP_COUNT_HISTORY,
            self.op_count_history() + [dict(epoch=epoch, **op_counts)])
        cost = None
        if budget is not None:
            cost = budget.cost(
                {cell: architecture.supports(cell)
                 for cell in CELL_TYPES})
        degenerate = {
            cell: [
                node for node, (flag, active) in enumerate(
                    zip(architecture.degenerate_nodes(cell), searched[cell]))
                if flag and active
            ]
            for cell in CELL_TYPES
        }
        streak = self.degenerate_streak + 1 if any(
            degenerate.values()) else 0
        self.runner.message_hub.update_info(DEGENERATE_STREAK, streak)
        return RecoveryReport(after, changed_nodes(before, after),
                              elapsed_ms, result.budget, cost, degenerate,
                              op_counts)

    def terminate(self, nodes: List[Node], epoch: int) -> None:
        """Terminates ``nodes`` after ``epoch`` epochs: their ``b`` stops
        training, their supports and weights stay as they are.

        Args:
            nodes (list[tuple[str, int]]): ``(cell type, node)`` pairs.
            epoch (int): Epochs trained.
        """
        for cell, node in nodes:
            self.architecture.terminate(cell, node, epoch)
        self.architecture.broadcast()

    def fix(self, epoch: int) -> None:
        """Fixes the architecture after ``epoch`` epochs (every node has
        terminated): recoveries stop, evaluation training starts."""
        self.architecture.fix(epoch)
        self.architecture.broadcast()

    def set_termination_eps(self, eps: float) -> None:
        """Records the termination threshold for the other hooks."""
        self.runner.message_hub.update_info(TERMINATION_EPS, eps)
