# Copyright (c) mmista contributors. All rights reserved.
"""Sparse-coding recovery of the architecture after every search epoch."""
import os.path as osp
import time
from typing import Dict, List

from mmengine.dist import is_main_process

from mmista.registry import HOOKS
from mmista.structures import CELL_TYPES
from mmista.visualization import plot_z_convergence
from ..utils import architecture_of, backbone_with
from .genotype_files import GenotypeWriterHook
from .termination_hook import TerminationHook

CONVERGENCE_FILE = 'z_convergence.png'
HISTORY_KEY = 'architecture_z_shifts'


def changed_nodes(before: Dict[str, List[List[int]]],
                  after: Dict[str, List[List[int]]]) -> Dict[str, List[int]]:
    """Per cell type, the nodes whose set of supported edges changed.

    Args:
        before (dict[str, list[list[int]]]): Supports per cell type.
        after (dict[str, list[list[int]]]): Supports per cell type.

    Returns:
        dict[str, list[int]]: Indices of the nodes that changed.
    """
    return {
        cell: [
            j for j, (old, new) in enumerate(zip(before[cell], after[cell]))
            if set(old) != set(new)
        ]
        for cell in before
    }


@HOOKS.register_module()
class ArchitectureRecoveryHook(GenotypeWriterHook):
    """Recovers the super-net's architecture from ``b`` (SPEC sections 3-4).

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
            and epochs (from :class:`TerminationHook`, if present).
            Defaults to True.
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        """Recovers the initial architecture unless it was restored."""
        supernet = backbone_with(runner, 'architecture', type(self).__name__)
        if bool(supernet.architecture.recovered):
            runner.logger.info(
                'Architecture state restored from the checkpoint '
                '(dictionaries of seed '
                f'{int(supernet.architecture.dictionary_seed)}); genotype: '
                f'{supernet.genotype()}')
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
        history = runner.message_hub.get_info(HISTORY_KEY)
        if self.draw and history and is_main_process():
            architecture = architecture_of(runner, type(self).__name__)
            termination = next((hook for hook in runner.hooks
                                if isinstance(hook, TerminationHook)), None)
            path = plot_z_convergence(
                history,
                osp.join(runner.work_dir, CONVERGENCE_FILE),
                threshold=getattr(termination, 'eps', None),
                terminated={
                    cell: architecture.terminated_epochs(cell)
                    for cell in CELL_TYPES
                })
            runner.logger.info(f'Plotted ||z_t - z_(t-1)|| per node: {path}')

    def _due(self, runner) -> bool:
        """Whether a recovery is due now: every ``interval`` epochs while
        some node still searches (one-stage search terminates nodes)."""
        architecture = architecture_of(runner, type(self).__name__)
        return (runner.epoch > 0 and runner.epoch % self.interval == 0
                and not architecture.all_terminated)

    def recover(self, runner, epoch: int) -> Dict[str, List[int]]:
        """Runs one recovery and reports it.

        Args:
            runner (Runner): The runner.
            epoch (int): Epochs trained so far (0 for the initial recovery).

        Returns:
            dict[str, list[int]]: Per cell type, the nodes that changed.
        """
        supernet = backbone_with(runner, 'architecture', type(self).__name__)
        architecture = supernet.architecture
        before = {cell: architecture.supports(cell) for cell in CELL_TYPES}
        searching = {
            cell: architecture.active_nodes(cell)
            for cell in CELL_TYPES
        }
        start = time.perf_counter()
        supernet.recover()  # the nodes still searching
        architecture.broadcast()  # rank 0's result on every rank
        elapsed_ms = 1e3 * (time.perf_counter() - start)
        after = {cell: architecture.supports(cell) for cell in CELL_TYPES}
        changed = changed_nodes(before, after)
        b_norms = {
            cell: float(architecture.compressed_vectors(cell).detach().norm())
            for cell in CELL_TYPES
        }
        genotype = supernet.genotype()

        changes = '; '.join(f'{cell} {changed[cell] or "none"}'
                            for cell in CELL_TYPES)
        norms = ', '.join(f'{cell} {b_norms[cell]:.4g}'
                          for cell in CELL_TYPES)
        shifts = ', '.join(
            f'{cell} ' + ' '.join(f'{shift:.2g}'
                                  for shift in architecture.z_shifts(cell))
            for cell in CELL_TYPES)
        runner.logger.info(
            f'Architecture recovery after epoch {epoch} '
            f'({elapsed_ms:.1f} ms): changed nodes: {changes}; '
            f'||b||: {norms}; ||z_new - z_prev|| per node: {shifts}')
        runner.logger.info(f'Genotype (epoch {epoch}): {genotype}')
        scalars = {'arch/changed_nodes': sum(map(len, changed.values()))}
        scalars.update(
            {f'arch/b_norm_{cell}': norm
             for cell, norm in b_norms.items()})
        runner.visualizer.add_scalars(scalars, step=epoch)
        # The z shifts of this recovery's nodes, kept (and checkpointed) in
        # the message hub for the convergence plot.
        record = dict(epoch=epoch)
        record.update({
            cell: [
                shift if active else None for shift, active in zip(
                    architecture.z_shifts(cell), searching[cell])
            ]
            for cell in CELL_TYPES
        })
        history = list(runner.message_hub.get_info(HISTORY_KEY) or [])
        runner.message_hub.update_info(HISTORY_KEY, history + [record])

        self.save(runner, genotype, epoch)
        return changed
