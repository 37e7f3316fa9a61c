# Copyright (c) mmista contributors. All rights reserved.
"""Sparse-coding recovery of the architecture after every search epoch."""
import os.path as osp
from typing import Optional

import numpy as np
from mmengine.dist import is_main_process

from mmista.architecture import ResourceBudget
from mmista.errors import UserError
from mmista.registry import HOOKS
from mmista.structures import CELL_TYPES, check_positive_int
from mmista.visualization import plot_op_counts, plot_z_convergence
from ..budget_builder import build_resource_budget
from ..search_state import RecoveryReport, SearchState
from .genotype_files import GenotypeWriterHook

CONVERGENCE_FILE = 'z_convergence.png'
#: The plot of every recovery's op counts, beside :data:`CONVERGENCE_FILE`.
OP_COUNTS_FILE = 'op_counts.png'


class DegenerateRecoveryError(UserError):
    """The sparse coding gave fewer non-zeros than edges to keep, at
    several recoveries in a row."""


@HOOKS.register_module()
class ArchitectureRecoveryHook(GenotypeWriterHook):
    """Recovers the super-net's architecture from ``b``.

    See docs/en/method/sparse_coding.md and docs/en/method/twostage.md.

    Before training, unless the architecture state was restored from a
    checkpoint, the first supports come from a recovery of the initial
    ``b``. After every ``interval`` epochs the LASSO of every node is
    solved (the backbone's configured solver) and the supports and weights
    move. The recovery after epoch ``e`` runs when epoch ``e + 1`` starts
    (after the last epoch: when training ends), so that the validation and
    the checkpoint of epoch ``e`` see the architecture that epoch trained,
    and a run resumed from that checkpoint recovers from the same ``b`` as
    an uninterrupted one. Each recovery

    - logs the genotype, which nodes changed, ``||b||`` per cell type,
      ``||z_new - z_prev||`` per node, the recovery time and how many
      edges of each cell type keep each op and op group
      (:data:`~mmista.structures.OP_GROUPS`: skip, pool, sep_conv,
      dil_conv), to watch for a collapse to parameter-free ops;
    - sends ``arch/changed_nodes``, ``arch/b_norm_<cell>`` and the op
      counts ``arch/ops_<cell>_<group or op>`` to the visualizer
      (TensorBoard when configured);
    - writes ``work_dir/genotype.json`` (the latest) and
      ``work_dir/<genotype_dir>/epoch_<e>.json`` (``epoch_0`` is the
      initial recovery), on the main process; in distributed runs each
      rank also appends its genotype to ``<genotype_dir>/rank<r>.txt``.

    Under distributed training every rank recovers and then takes rank 0's
    result, so the architecture state is identical on all ranks.

    With a ``budget`` the derived network is kept within a bound on its
    parameters, multiply-adds and/or latency on a device
    (docs/en/method/resource_budget.md,
    docs/en/user_guides/latency_budget.md): the edge costs are measured
    once before training, every recovery's supports go through the budget,
    and each recovery logs the network's cost (with a latency table, its
    predicted latency) against the budget and the nodes the budget
    changed, and sends ``arch/params``, ``arch/flops`` (and
    ``arch/latency_ms``) to the visualizer.

    Args:
        interval (int): Recover every ``interval`` epochs. Defaults to 1.
        genotype_dir (str): Sub-directory of the work dir for the per-epoch
            genotypes. Defaults to ``'genotypes'``.
        draw (bool): Also draw every written genotype's cells to PNG files
            (``genotype_normal.png``, ``genotypes/epoch_<e>_reduce.png``,
            ...), and at the end ``z_convergence.png``: each node's
            ``||z_t - z_(t-1)||`` per epoch with the termination threshold
            and epochs (when the run terminates nodes; see
            :mod:`mmista.engine.search_state`), and ``op_counts.png``: the
            op groups' edge counts per cell type at every recovery.
            Defaults to True.
        budget (dict, optional): ``params``, ``flops`` and/or
            ``latency_ms`` bounds, ``latency_table``, ``policy``
            (``'select'`` or ``'reject'``), ``network`` and ``input_size``
            (see
            :func:`~mmista.engine.budget_builder.build_resource_budget`).
            Defaults to None (no budget).
        max_degenerate_recoveries (int): Stop the run when this many
            recoveries in a row (the initial one counts) are degenerate: a
            searching node's ``z`` has fewer non-zeros than the edges it
            keeps, which happens when ``lam`` is at or above
            ``max |A_j^T b_j|`` (then ``z_j = 0``) or ``b`` is zero. Its
            support is then partly a tie broken by index, and its zero z
            shift is no convergence: such a node does not terminate. Each
            degenerate recovery is logged with that bound per node.
            Defaults to 3.
    """

    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 1,
                 genotype_dir: str = 'genotypes',
                 draw: bool = True,
                 budget: Optional[dict] = None,
                 max_degenerate_recoveries: int = 3):
        super().__init__(interval, genotype_dir, draw)
        self.max_degenerate_recoveries = check_positive_int(
            max_degenerate_recoveries, 'max_degenerate_recoveries')
        if budget is not None and not isinstance(budget, dict):
            raise TypeError(f'budget must be a dict, got '
                            f'{type(budget).__name__}')
        self.budget_cfg = budget
        self.budget: Optional[ResourceBudget] = None

    def before_train(self, runner) -> None:
        """Measures the budget's costs; recovers the initial architecture
        unless it was restored."""
        state = self._state(runner)
        if self.budget_cfg is not None:
            self.budget = build_resource_budget(runner, state.supernet,
                                                self.budget_cfg)
        if state.recovered:
            cost = ''
            if self.budget is not None:
                cost = ('; derived network: ' + self.budget.describe(
                    self.budget.edge_costs.network_cost({
                        cell: state.architecture.supports(cell)
                        for cell in CELL_TYPES
                    })))
            runner.logger.info(
                'Architecture state restored from the checkpoint '
                '(dictionaries of seed '
                f'{int(state.architecture.dictionary_seed)}); genotype: '
                f'{state.genotype()}{cost}')
            return
        self.recover(runner, epoch=runner.epoch)

    def before_train_epoch(self, runner) -> None:
        """Recovers from the ``b`` of the epochs trained so far."""
        if self._due(runner):
            self.recover(runner, epoch=runner.epoch)

    def after_train(self, runner) -> None:
        """Recovers after the last epoch and plots how ``z`` settled."""
        if self._due(runner):
            self.recover(runner, epoch=runner.epoch)
        if self.draw and is_main_process():
            self.plot_convergence(runner)

    def plot_convergence(self, runner) -> None:
        """Plots every recovery's ``||z_new - z_prev||`` per node, with the
        threshold and the termination epochs, and every recovery's op
        counts per group (none before a recovery).

        Both come from the records the recoveries leave in the message
        hub, which checkpoints keep: a resumed run plots the whole
        search."""
        state = self._state(runner)
        op_counts = state.op_count_history()
        if op_counts:
            path = plot_op_counts(op_counts,
                                  osp.join(runner.work_dir, OP_COUNTS_FILE))
            runner.logger.info(f'Plotted the op counts per recovery: {path}')
        history = state.z_shift_history()
        if not history:
            return
        architecture = state.architecture
        path = plot_z_convergence(
            history,
            osp.join(runner.work_dir, CONVERGENCE_FILE),
            threshold=state.termination_eps(),
            terminated={
                cell: architecture.terminated_epochs(cell)
                for cell in CELL_TYPES
            })
        runner.logger.info(f'Plotted ||z_t - z_(t-1)|| per node: {path}')

    def _state(self, runner) -> SearchState:
        return SearchState(runner, type(self).__name__)

    def _due(self, runner) -> bool:
        """Whether a recovery is due now: every ``interval`` epochs while
        some node still searches (one-stage search terminates nodes)."""
        return (runner.epoch > 0 and runner.epoch % self.interval == 0
                and not self._state(runner).all_terminated)

    def recover(self, runner, epoch: int) -> None:
        """Runs one recovery and reports it.

        Args:
            runner (Runner): The runner.
            epoch (int): Epochs trained so far (0 for the initial recovery).
        """
        state = self._state(runner)
        report = state.recover(epoch, self.budget)
        architecture = state.architecture
        b_norms = {
            cell: float(architecture.compressed_vectors(cell).detach().norm())
            for cell in CELL_TYPES
        }
        changes = '; '.join(f'{cell} {report.changed[cell] or "none"}'
                            for cell in CELL_TYPES)
        norms = ', '.join(f'{cell} {b_norms[cell]:.4g}'
                          for cell in CELL_TYPES)
        shifts = ', '.join(
            f'{cell} ' + ' '.join(f'{shift:.2g}'
                                  for shift in architecture.z_shifts(cell))
            for cell in CELL_TYPES)
        runner.logger.info(
            f'Architecture recovery after epoch {epoch} '
            f'({report.elapsed_ms:.1f} ms): changed nodes: {changes}; '
            f'||b||: {norms}; ||z_new - z_prev|| per node: {shifts}')
        runner.logger.info(f'Genotype (epoch {epoch}): {report.genotype}')
        scalars = {'arch/changed_nodes': report.num_changed}
        scalars.update(self.report_op_counts(runner, report.op_counts, epoch))
        scalars.update(
            {f'arch/b_norm_{cell}': norm
             for cell, norm in b_norms.items()})
        if report.budget is not None:
            self._log_budget(runner, report, epoch)
            scalars.update(
                {f'arch/{metric}': value
                 for metric, value in report.cost.items()})
        runner.visualizer.add_scalars(scalars, step=epoch)
        self.save(runner, report.genotype, epoch)
        if any(report.degenerate.values()):
            self._report_degenerate(runner, state, report, epoch)

    def _report_degenerate(self, runner, state: SearchState,
                           report: RecoveryReport, epoch: int) -> None:
        """Warns of the nodes with too few non-zeros; stops the run when
        the recoveries have been degenerate too often in a row."""
        architecture = state.architecture
        lam = state.supernet.lam
        bounds = {
            cell: architecture.zero_solution_lams(cell)
            for cell in CELL_TYPES
        }
        nodes = '; '.join(
            f'{cell} ' + ', '.join(
                f'{node} (max|A^T b| {bounds[cell][node]:.3g})'
                for node in report.degenerate[cell])
            for cell in CELL_TYPES if report.degenerate[cell])
        smallest = min(bounds[cell][node] for cell in CELL_TYPES
                       for node in report.degenerate[cell])
        what = (f'nodes {nodes} have fewer than {architecture.sparsity} '
                f'non-zeros in z at lam={lam:g} (z is all zero for lam at '
                'or above max|A^T b|), so their supports are partly ties '
                'broken by index and they do not terminate')
        streak = state.degenerate_streak
        if streak < self.max_degenerate_recoveries:
            runner.logger.warning(
                f'Degenerate sparse coding after epoch {epoch} ({streak} '
                f'in a row, the run stops at '
                f'{self.max_degenerate_recoveries}): {what}')
            return
        hint = (f'set model.backbone.lam below {smallest:.3g} (the paper '
                'uses 1e-5)') if smallest > 0 else (
                    'b is zero: check the checkpoint the run started from')
        raise DegenerateRecoveryError(
            f'the sparse coding was degenerate at {streak} recoveries in a '
            f'row (up to epoch {epoch}): {what}; {hint}')

    def _log_budget(self, runner, report: RecoveryReport, epoch: int) -> None:
        """Logs the derived network's cost and what the budget did."""
        decision = report.budget
        cost = np.array(
            [report.cost[metric] for metric in self.budget.metrics])
        if decision.rejected:
            action = ('rejected: the recovered architecture would cost ' +
                      self.budget.describe(decision.proposed_cost) +
                      '; the previous one is kept')
        elif any(decision.changed.values()):
            action = ('nodes changed by the budget: ' + '; '.join(
                f'{cell} {decision.changed[cell] or "none"}'
                for cell in CELL_TYPES) + ' (the recovered top-2 would '
                      f'cost {self.budget.describe(decision.proposed_cost)})')
        else:
            action = 'within the budget, unchanged'
        runner.logger.info(
            f'Resource budget after epoch {epoch}: derived network '
            f'{self.budget.describe(cost)}; {action}')
