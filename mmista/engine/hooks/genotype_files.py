# Copyright (c) mmista contributors. All rights reserved.
"""Writing a search's genotype after an epoch: the base of the search hooks."""
import os.path as osp
from typing import Dict, Mapping, Optional, Tuple

from mmengine.dist import get_rank, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.utils import mkdir_or_exist

from mmista.fileio import atomic_copy
from mmista.structures import (CELL_TYPES, Genotype, OpCounts,
                               SearchSpaceVariant, describe_op_counts,
                               group_op_counts, train_dataset_type)
from mmista.visualization import draw_cell, drawn_content
from ..utils import unwrapped_model

#: The latest genotype of a search, in the work dir.
GENOTYPE_FILE = 'genotype.json'


def op_count_scalars(counts: Mapping[str, Mapping[str, int]]
                     ) -> Dict[str, int]:
    """The visualizer scalars of a genotype's op counts.

    Args:
        counts (Mapping[str, Mapping[str, int]]): Per cell type, the count
            of each op (:func:`~mmista.structures.count_ops`).

    Returns:
        dict[str, int]: ``arch/ops_<cell>_<group>`` for every op group
        (``arch/ops_normal_skip``, ``arch/ops_reduce_pool``, ...) and
        ``arch/ops_<cell>_<op>`` for every op
        (``arch/ops_normal_sep_conv_3x3``, ...).
    """
    scalars = {}
    for cell, per_group in group_op_counts(counts).items():
        for name, count in [*per_group.items(), *counts[cell].items()]:
            scalars[f'arch/ops_{cell}_{name}'] = int(count)
    return scalars


class GenotypeWriterHook(Hook):
    """A hook that writes the search's genotype every ``interval`` epochs.

    Args:
        interval (int): Every ``interval`` epochs. Defaults to 1.
        genotype_dir (str): Sub-directory of the work dir for the per-epoch
            genotypes. Defaults to ``'genotypes'``.
        draw (bool): Also draw every written genotype's cells to PNG files
            (see :meth:`save`). Defaults to True.
    """

    def __init__(self,
                 interval: int = 1,
                 genotype_dir: str = 'genotypes',
                 draw: bool = True):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval
        self.genotype_dir = genotype_dir
        self.draw = draw
        # per cell type: (what its latest drawing shows, that file)
        self._drawings: Dict[str, Tuple[tuple, str]] = {}

    @staticmethod
    def search_space(runner) -> Optional[SearchSpaceVariant]:
        """The search-space variant of the runner's super-net.

        Args:
            runner (Runner): The runner (its model and config).

        Returns:
            SearchSpaceVariant | None: The variant its backbone searches,
            with the training dataset's type; None for a backbone that
            does not describe one.
        """
        backbone = getattr(unwrapped_model(runner), 'backbone', None)
        describe = getattr(backbone, 'search_space_variant', None)
        if describe is None:
            return None
        return describe(dataset=train_dataset_type(runner.cfg))

    def report_op_counts(self, runner, counts: OpCounts,
                         epoch: int) -> Dict[str, int]:
        """Logs the op counts of the genotype of epoch ``epoch`` in one
        line (``Op counts (epoch e): normal skip 2 pool 1 ...``).

        Args:
            runner (Runner): The runner (its logger).
            counts (OpCounts): The genotype's op counts
                (:func:`~mmista.structures.count_ops`).
            epoch (int): Epochs trained so far.

        Returns:
            dict[str, int]: Their visualizer scalars
            (:func:`op_count_scalars`), for the caller to send.
        """
        runner.logger.info(
            f'Op counts (epoch {epoch}): {describe_op_counts(counts)}')
        return op_count_scalars(counts)

    def save(self, runner, genotype: Genotype, epoch: int) -> None:
        """Writes the genotype of epoch ``epoch`` into the work dir.

        On the main process: ``work_dir/genotype.json`` (the latest) and
        ``work_dir/<genotype_dir>/epoch_<epoch>.json``, with the cell
        drawings ``<genotype_dir>/epoch_<epoch>_{normal,reduce}.png`` and
        ``genotype_{normal,reduce}.png`` when ``draw``. The JSON files
        record the search-space variant (:meth:`search_space`) beside the
        cells. In distributed runs
        every rank also appends its genotype to
        ``<genotype_dir>/rank<r>.txt``, to compare the ranks after the run.
        The main process's files are written aside and moved into place: a
        run killed meanwhile leaves each one whole.

        Args:
            runner (Runner): The runner (its work dir).
            genotype (Genotype): The architecture to write.
            epoch (int): Epochs trained so far.
        """
        directory = osp.join(runner.work_dir, self.genotype_dir)
        if get_world_size() > 1:
            mkdir_or_exist(directory)
            with open(osp.join(directory, f'rank{get_rank()}.txt'),
                      'a') as file:
                file.write(f'epoch {epoch}: {genotype}\n')
        if not is_main_process():
            return
        mkdir_or_exist(directory)
        search_space = self.search_space(runner)
        for path in (osp.join(directory, f'epoch_{epoch}.json'),
                     osp.join(runner.work_dir, GENOTYPE_FILE)):
            genotype.to_json(path, search_space=search_space)
        if self.draw:
            self._draw_cells(runner.work_dir,
                             osp.join(directory, f'epoch_{epoch}'), genotype)

    def _draw_cells(self, work_dir: str, stem: str,
                    genotype: Genotype) -> None:
        """Draws both cell types to ``<stem>_<cell>.png`` and, the latest,
        ``work_dir/genotype_<cell>.png``.

        A cell type that this hook drew earlier in the run and that has not
        changed since is copied from that drawing instead of drawn again
        (a drawing takes tens of milliseconds, a copy a fraction of one): a
        search whose cells settle pays for the drawings of the cells it
        found, not for one per epoch.

        Args:
            work_dir (str): The run's work dir.
            stem (str): Path of this save's drawings without
                ``_<cell>.png``.
            genotype (Genotype): The architecture to draw.
        """
        for cell in CELL_TYPES:
            path, latest = f'{stem}_{cell}.png', osp.join(
                work_dir, f'genotype_{cell}.png')
            content = drawn_content(genotype, cell)
            earlier = self._drawings.get(cell)
            if earlier is not None and earlier[0] == content and all(
                    map(osp.isfile, (earlier[1], latest))):
                if earlier[1] != path:
                    atomic_copy(earlier[1], path)
            else:
                draw_cell(genotype, cell, path)
                atomic_copy(path, latest)
            self._drawings[cell] = (content, path)
