# Copyright (c) mmista contributors. All rights reserved.
"""Absorb and export the searched network when training ends."""
import json
import os.path as osp
from typing import Dict

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmista.analysis.latency_record import (LATENCY_FILE,
                                            describe_latency_record,
                                            export_latency_record)
from mmista.apis import export_search_model
from mmista.architecture import LatencyTableError
from mmista.errors import UserError
from mmista.fileio import atomic_write_text
from mmista.registry import HOOKS
from mmista.structures import get_genotype
from ..learning_check import chance_accuracy_bound, num_classes_of
from ..search_state import SearchState
from ..utils import unwrapped_model
from .architecture_recovery_hook import ArchitectureRecoveryHook

#: The message-hub scalar of the last validation's top-1 accuracy.
VAL_TOP1 = 'val/accuracy/top1'


class NotLearnedError(UserError):
    """The exported network is no better than guessing."""


@HOOKS.register_module()
class ExportHook(Hook):
    """Writes ``work_dir/<out_dir>/`` at the end of a one-stage run.

    The ``export`` stage of :class:`~mmista.engine.OneStageSearchLoop`.

    Folds every active op's weight into its final BatchNorm and writes the
    genotype, an mmpretrain config whose backbone is the derived network,
    and the absorbed checkpoint, whose meta names the training set's classes
    (``dataset_meta``, read by mmpretrain's inferencers) (see
    :func:`mmista.apis.export_search_model`). ``tools/export_backbone.py``
    does the same for any checkpoint.

    When the run's :class:`ArchitectureRecoveryHook` has a budget with a
    latency table (``budget=dict(latency_ms=..., latency_table=...)``), the
    export also gets ``latency.json``: the latency the table predicts for
    the exported network and, where this machine is the table's device,
    the one measured here, against the bound (see
    :func:`~mmista.analysis.latency_record.export_latency_record`); one log
    line says it, a warning when the measured latency exceeds the bound.

    A network that has learned nothing is not reported as a success: when
    the last validation's top-1 accuracy is not clearly above chance (see
    :func:`~mmista.engine.learning_check.chance_accuracy_bound`), the
    export is still written, for inspection, and then the run fails with
    a message that says so.

    Args:
        out_dir (str): Folder under the work dir. Defaults to ``'export'``.
        check_learned (bool): Fail a run whose exported network validates
            at chance accuracy. Defaults to True.
        latency_warmup (int): Untimed runs before the exported network's
            latency is measured. Defaults to 10.
        latency_repeats (int): Timed runs of it. Defaults to 50.
    """

    priority = 'LOW'

    def __init__(self,
                 out_dir: str = 'export',
                 check_learned: bool = True,
                 latency_warmup: int = 10,
                 latency_repeats: int = 50):
        self.out_dir = out_dir
        self.check_learned = check_learned
        self.latency_warmup = latency_warmup
        self.latency_repeats = latency_repeats

    def after_train(self, runner) -> None:
        """Exports the final network (main process only)."""
        if not is_main_process():
            return
        model = unwrapped_model(runner)
        out_dir = osp.join(runner.work_dir, self.out_dir)
        state = SearchState(runner, type(self).__name__)
        meta = dict(epoch=runner.epoch, fixed_epoch=state.fixed_epoch)
        # class names for mmpretrain's inferencers (get_model reads them)
        classes = getattr(runner.train_dataloader.dataset, 'metainfo',
                          {}).get('classes')
        if classes:
            meta['dataset_meta'] = dict(classes=[str(c) for c in classes])
        paths = export_search_model(model, runner.cfg, out_dir, meta=meta)
        runner.logger.info(
            f'Exported the absorbed derived network to {out_dir}: '
            f'{", ".join(osp.basename(p) for p in paths.values())}. '
            f'Test it with: python tools/test.py {paths["config.py"]} '
            f'{paths["model.pth"]}')
        self._write_latency(runner, out_dir, paths)
        if self.check_learned:
            self._check_learned(runner, out_dir)

    def _write_latency(self, runner, out_dir: str,
                       paths: Dict[str, str]) -> None:
        """Writes ``latency.json`` when the budget has a latency table."""
        budget = next((hook.budget for hook in runner.hooks
                       if isinstance(hook, ArchitectureRecoveryHook)), None)
        table = getattr(
            getattr(budget, 'edge_costs', None), 'latency_table', None)
        if table is None:
            return
        try:
            record = export_latency_record(
                Config.fromfile(paths['config.py']).model.to_dict(),
                get_genotype(paths['genotype.json']),
                table,
                budget_ms=budget.limit('latency_ms'),
                warmup=self.latency_warmup,
                repeats=self.latency_repeats,
                export_dir=out_dir)
        except LatencyTableError as error:
            runner.logger.warning(f'No {LATENCY_FILE} in {out_dir}: {error}')
            return
        atomic_write_text(
            osp.join(out_dir, LATENCY_FILE),
            json.dumps(record, indent=2) + '\n')
        line = describe_latency_record(record)
        if record['within_budget'] is False:
            runner.logger.warning(line)
        else:
            runner.logger.info(line)

    @staticmethod
    def _check_learned(runner, out_dir: str) -> None:
        """Fails when the last validation accuracy is at chance."""
        hub = runner.message_hub
        num_classes = num_classes_of(runner)
        if VAL_TOP1 not in hub.log_scalars or num_classes is None:
            return
        top1 = float(hub.get_scalar(VAL_TOP1).current())
        num_images = len(runner.val_dataloader.dataset)
        bound = chance_accuracy_bound(num_classes, num_images)
        if top1 > bound:
            return
        raise NotLearnedError(
            f'the exported network has not learned: validation top-1 '
            f'{top1:.4g}% on {num_images} images of {num_classes} classes is '
            f'not clearly above chance ({100 / num_classes:.3g}%; above '
            f'{bound:.3g}% would be). The export in {out_dir} is kept for '
            'inspection only. See the warnings of the log (training loss '
            "near chance, b's learning rate) for what to change; "
            'train_cfg.stages.export.check_learned=False accepts it')
