# Copyright (c) mmista contributors. All rights reserved.
"""Absorb and export the searched network when training ends."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmista.apis import export_search_model
from mmista.errors import UserError
from mmista.registry import HOOKS
from ..learning_check import chance_accuracy_bound, num_classes_of
from ..search_state import SearchState
from ..utils import unwrapped_model

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

    A network that has learned nothing is not reported as a success: when
    the last validation's top-1 accuracy is not clearly above chance (see
    :func:`~mmista.engine.learning_check.chance_accuracy_bound`), the
    export is still written, for inspection, and then the run fails with
    a message that says so.

    Args:
        out_dir (str): Folder under the work dir. Defaults to ``'export'``.
        check_learned (bool): Fail a run whose exported network validates
            at chance accuracy. Defaults to True.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str = 'export', check_learned: bool = True):
        self.out_dir = out_dir
        self.check_learned = check_learned

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
        if self.check_learned:
            self._check_learned(runner, out_dir)

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
