# Copyright (c) mmista contributors. All rights reserved.
"""Sparse-coding recovery of the architecture after every search epoch."""
import os.path as osp

from mmengine.dist import is_main_process

from mmista.registry import HOOKS
from mmista.structures import CELL_TYPES
from mmista.visualization import plot_z_convergence
from ..search_state import SearchState
from .genotype_files import GenotypeWriterHook

CONVERGENCE_FILE = 'z_convergence.png'


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
      ``||z_new - z_prev||`` per node and the recovery time;
    - sends ``arch/changed_nodes`` and ``arch/b_norm_<cell>`` to the
      visualizer (TensorBoard when configured);
    - writes ``work_dir/genotype.json`` (the latest) and
      ``work_dir/<genotype_dir>/epoch_<e>.json`` (``epoch_0`` is the
      initial recovery), on the main process; in distributed runs each
      rank also appends its genotype to ``<genotype_dir>/rank<r>.txt``.

    Under distributed training every rank recovers and then takes rank 0's
    result, so the architecture state is identical on all ranks.

    Args:
        interval (int): Recover every ``interval`` epochs. Defaults to 1.
        genotype_dir (str): Sub-directory of the work dir for the per-epoch
            genotypes. Defaults to ``'genotypes'``.
        draw (bool): Also draw every written genotype's cells to PNG files
            (``genotype_normal.png``, ``genotypes/epoch_<e>_reduce.png``,
            ...), and at the end ``z_convergence.png``: each node's
            ``||z_t - z_(t-1)||`` per epoch with the termination threshold
            and epochs (when the run terminates nodes; see
            :mod:`mmista.engine.search_state`).
            Defaults to True.
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        """Recovers the initial architecture unless it was restored."""
        state = self._state(runner)
        if state.recovered:
            runner.logger.info(
                'Architecture state restored from the checkpoint '
                '(dictionaries of seed '
                f'{int(state.architecture.dictionary_seed)}); genotype: '
                f'{state.genotype()}')
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
        state = self._state(runner)
        history = state.z_shift_history()
        if self.draw and history and is_main_process():
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
        report = state.recover(epoch)
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
        scalars.update(
            {f'arch/b_norm_{cell}': norm
             for cell, norm in b_norms.items()})
        runner.visualizer.add_scalars(scalars, step=epoch)
        self.save(runner, report.genotype, epoch)
