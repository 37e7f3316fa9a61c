# Copyright (c) mmista contributors. All rights reserved.
"""Checkpoints that a killed run cannot leave half-written.

mmengine 0.10.7's ``CheckpointHook`` writes ``epoch_N.pth`` in place,
deletes the oldest checkpoint (``max_keep_ckpts``) and the previous best one
(``save_best``) *before* it saves the new one, and writes
``work_dir/last_checkpoint`` with a plain ``open``. A run killed while it
saves can therefore lose the good checkpoint it was replacing and leave
``last_checkpoint`` naming a truncated file.
"""
import glob
import hashlib
import os
import os.path as osp
import pickle
from typing import Optional

from mmengine.dist import is_main_process, master_only
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint

from mmista.fileio import (ATOMIC_LOCAL_BACKEND, TEMP_PREFIX,
                           atomic_torch_save, atomic_write_text)
from mmista.registry import HOOKS
from ..config_text import cache_config_text

#: The file in the work dir that names the last checkpoint saved.
LAST_CHECKPOINT_FILE = 'last_checkpoint'


def _is_local(path: Optional[str]) -> bool:
    """Whether a folder is on the local file system (no ``scheme://``)."""
    return path is None or '://' not in str(path)


@HOOKS.register_module()
class CrashSafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` whose files are whole or absent.

    Every checkpoint (the periodic ones, the best ones of ``save_best``, the
    published ones of ``published_keys``) and ``last_checkpoint`` are written
    to a temporary file in the same folder, flushed, fsynced and moved over
    the target with ``os.replace``; a checkpoint that ``max_keep_ckpts`` or
    ``save_best`` retires is deleted only after its successor is complete
    and ``last_checkpoint`` names the successor. Partial temporary files of
    an interrupted save are deleted when training starts again.

    Local folders only: with ``out_dir`` on another storage backend, or
    ``backend_args`` / ``file_client_args`` given, the saves go through
    that backend as in mmengine (deletions still come after the save).

    Takes mmengine's ``CheckpointHook`` arguments (``interval``,
    ``max_keep_ckpts``, ``save_best``, ``published_keys``, ...).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.file_client_args is None and _is_local(self.out_dir) and (
                not self.backend_args
                or self.backend_args == dict(backend='local')):
            self.backend_args = dict(backend=ATOMIC_LOCAL_BACKEND)

    def before_train(self, runner) -> None:
        """Sets up the output folder (see mmengine's hook), deletes the
        partial temporary files that an interrupted save left there, and
        lets the config's text, which every checkpoint records, be
        formatted once (:func:`~mmista.engine.config_text.cache_config_text`)
        instead of at every save."""
        cache_config_text(runner.cfg)
        super().before_train(runner)
        if is_main_process():
            self._remove_partial_files(runner)

    def _remove_partial_files(self, runner) -> None:
        folders = {runner.work_dir}
        if _is_local(self.out_dir):
            folders.add(self.out_dir)
        patterns = (f'{TEMP_PREFIX}*.pth.*',
                    f'{TEMP_PREFIX}{LAST_CHECKPOINT_FILE}.*')
        for folder in sorted(folders):
            for pattern in patterns:
                for path in sorted(glob.glob(osp.join(folder, pattern))):
                    if not osp.isfile(path):
                        continue
                    os.remove(path)
                    runner.logger.warning(
                        f'Removed {path}: the partial file of a save that '
                        'was interrupted')

    def _remove_checkpoint(self, path: str) -> bool:
        """Deletes a checkpoint file (or a folder: deepspeed's).

        Returns:
            bool: Whether there was one.
        """
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)
        else:
            return False
        return True

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Saves ``filename_tmpl.format(step)``, then names it in
        ``last_checkpoint``, then deletes the checkpoint it pushes out of
        ``max_keep_ckpts``.

        The kept steps are published in the message hub (``keep_ckpt_ids``)
        before the save, so that the checkpoint records them as mmengine's
        does.
        """
        retired = None
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            # _save_checkpoint and _save_best_checkpoint may both save the
            # step of one epoch
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                retired = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)

        # Model parallel-like training should involve pulling sharded states
        # from all ranks, but skip the following procedure.
        if not is_main_process():
            return

        atomic_write_text(
            osp.join(runner.work_dir, LAST_CHECKPOINT_FILE),
            self.last_ckpt)  # type: ignore
        if retired is not None and retired != step:
            self._remove_checkpoint(
                self.file_backend.join_path(
                    self.out_dir, self.filename_tmpl.format(retired)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """Saves a checkpoint for every key indicator that improved, then
        deletes the best checkpoint it replaces.

        mmengine's logic (one ``best_<key>_<epoch or iter>.pth`` per key
        indicator, the best scores and paths in the message hub), with the
        deletion moved after the save.
        """
        if not self.save_best:
            return

        if self.by_epoch:
            ckpt_filename = self.filename_tmpl.format(runner.epoch)
            cur_type, cur_time = 'epoch', runner.epoch
        else:
            ckpt_filename = self.filename_tmpl.format(runner.iter)
            cur_type, cur_time = 'iter', runner.iter

        meta = dict(epoch=runner.epoch, iter=runner.iter)

        # handle auto in self.key_indicators and self.rules before the loop
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])

        best_ckpt_updated = False
        for key_indicator, rule in zip(self.key_indicators, self.rules):
            key_score = metrics[key_indicator]

            if len(self.key_indicators) == 1:
                best_score_key = 'best_score'
                runtime_best_ckpt_key = 'best_ckpt'
                previous_best = self.best_ckpt_path
            else:
                best_score_key = f'best_score_{key_indicator}'
                runtime_best_ckpt_key = f'best_ckpt_{key_indicator}'
                previous_best = self.best_ckpt_path_dict[key_indicator]

            if best_score_key not in runner.message_hub.runtime_info:
                best_score = self.init_value_map[rule]
            else:
                best_score = runner.message_hub.get_info(best_score_key)

            if key_score is None or not self.is_better_than[key_indicator](
                    key_score, best_score):
                continue

            best_ckpt_updated = True
            best_score = key_score
            runner.message_hub.update_info(best_score_key, best_score)

            best_ckpt_name = f'best_{key_indicator}_{ckpt_filename}'
            # Replace illegal characters for filename with `_`
            best_ckpt_name = best_ckpt_name.replace('/', '_')
            best_ckpt_path = self.file_backend.join_path(
                self.out_dir, best_ckpt_name)
            if len(self.key_indicators) == 1:
                self.best_ckpt_path = best_ckpt_path
            else:
                self.best_ckpt_path_dict[key_indicator] = best_ckpt_path
            runner.message_hub.update_info(runtime_best_ckpt_key,
                                           best_ckpt_path)
            runner.save_checkpoint(
                self.out_dir,
                filename=best_ckpt_name,
                file_client_args=self.file_client_args,
                save_optimizer=False,
                save_param_scheduler=False,
                meta=meta,
                by_epoch=False,
                backend_args=self.backend_args)
            runner.logger.info(
                f'The best checkpoint with {best_score:0.4f} {key_indicator} '
                f'at {cur_time} {cur_type} is saved to {best_ckpt_name}.')

            if previous_best and previous_best != best_ckpt_path and \
                    is_main_process() and \
                    self._remove_checkpoint(previous_best):
                runner.logger.info(
                    f'The previous best checkpoint {previous_best} is '
                    'removed')

        # save checkpoint again to update the best_score and best_ckpt stored
        # in message_hub because the checkpoint saved in `after_train_epoch`
        # or `after_train_iter` stage only keep the previous best checkpoint
        # not the current best checkpoint which causes the current best
        # checkpoint can not be removed when resuming training.
        if best_ckpt_updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, cur_time, meta)

    @master_only
    def _publish_model(self, runner, ckpt_path: str) -> None:
        """Writes ``ckpt_path`` less the keys not in ``published_keys`` to
        ``<name>-<sha256[:8]>.pth`` (atomically, for a local file)."""
        if not _is_local(ckpt_path):
            super()._publish_model(runner, ckpt_path)
            return
        checkpoint = _load_checkpoint(ckpt_path)
        assert self.published_keys is not None
        removed_keys = []
        for key in list(checkpoint.keys()):
            if key not in self.published_keys:
                removed_keys.append(key)
                checkpoint.pop(key)
        if removed_keys:
            print_log(
                f'Key {removed_keys} will be removed because they are not '
                'found in published_keys. If you want to keep them, '
                f'please set `{removed_keys}` in published_keys',
                logger='current')
        sha = hashlib.sha256(pickle.dumps(checkpoint)).hexdigest()
        final_path = osp.splitext(ckpt_path)[0] + f'-{sha[:8]}.pth'
        atomic_torch_save(checkpoint, final_path)
        print_log(
            f'The checkpoint ({ckpt_path}) is published to '
            f'{final_path}.',
            logger='current')
