# Copyright (c) mmista contributors. All rights reserved.
"""Absorb and export the searched network when training ends."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmista.apis import export_search_model
from mmista.registry import HOOKS
from ..search_state import SearchState
from ..utils import unwrapped_model


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

    Args:
        out_dir (str): Folder under the work dir. Defaults to ``'export'``.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str = 'export'):
        self.out_dir = out_dir

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
