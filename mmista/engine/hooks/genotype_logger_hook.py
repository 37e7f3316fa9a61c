# Copyright (c) mmista contributors. All rights reserved.
"""The genotype a relaxed super-net derives, after every search epoch."""
from typing import Optional

from mmista.registry import HOOKS
from mmista.structures import CELL_TYPES, Genotype, changed_nodes, count_ops
from ..utils import backbone_with
from .genotype_files import GenotypeWriterHook


@HOOKS.register_module()
class GenotypeLoggerHook(GenotypeWriterHook):
    """Logs and saves the genotype of a relaxed super-net every epoch.

    For search backbones whose architecture is read off continuous
    variables at any time, such as :class:`DenseSuperNet` (DARTS: the
    strongest softmax weights): after every ``interval`` epochs it logs the
    backbone's ``genotype()``, which nodes changed since the last one and
    its op counts per cell type, sends ``arch/changed_nodes`` and the op
    counts ``arch/ops_<cell>_<group or op>`` to the visualizer
    (TensorBoard when configured) and writes the genotype files and drawings as
    :class:`ArchitectureRecoveryHook` does (``genotype.json``,
    ``genotypes/epoch_<e>.json``, PNGs). ISTA super-nets use
    :class:`ArchitectureRecoveryHook` instead, which also moves their
    supports.

    Args:
        interval (int): Every ``interval`` epochs. Defaults to 1.
        genotype_dir (str): Sub-directory of the work dir for the per-epoch
            genotypes. Defaults to ``'genotypes'``.
        draw (bool): Also draw the cells to PNG files. Defaults to True.
    """

    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 1,
                 genotype_dir: str = 'genotypes',
                 draw: bool = True):
        super().__init__(interval, genotype_dir, draw)
        self._previous: Optional[Genotype] = None

    def after_train_epoch(self, runner) -> None:
        """Reports the genotype of the epochs trained so far."""
        epoch = runner.epoch + 1
        if epoch % self.interval == 0:
            self.report(runner, epoch)

    def report(self, runner, epoch: int) -> None:
        """Logs, visualises and saves the current genotype.

        Args:
            runner (Runner): The runner.
            epoch (int): Epochs trained so far.
        """
        backbone = backbone_with(runner, 'genotype', type(self).__name__)
        genotype = backbone.genotype()
        scalars = {}
        if self._previous is None:
            changed = None
        else:
            changed = changed_nodes(self._previous, genotype)
            scalars['arch/changed_nodes'] = sum(map(len, changed.values()))
        changes = 'n/a (first genotype of this run)' if changed is None \
            else '; '.join(f'{cell} {changed[cell] or "none"}'
                           for cell in CELL_TYPES)
        runner.logger.info(f'Genotype (epoch {epoch}; changed nodes: '
                           f'{changes}): {genotype}')
        scalars.update(
            self.report_op_counts(runner, count_ops(genotype), epoch))
        runner.visualizer.add_scalars(scalars, step=epoch)
        self.save(runner, genotype, epoch)
        self._previous = genotype
