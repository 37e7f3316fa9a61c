# Copyright (c) mmista contributors. All rights reserved.
"""CrashSafeCheckpointHook keeps mmengine's checkpoint features and never
deletes a checkpoint before its successor is saved."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmista.engine.hooks import CrashSafeCheckpointHook
from mmista.fileio import ATOMIC_LOCAL_BACKEND, TEMP_PREFIX

#: The validation score after each epoch: best after epochs 1, 2 and 4.
SCORES = (1., 3., 2., 4.)


class PairsDataset(Dataset):
    """Eight fixed (input, target) pairs."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return dict(inputs=torch.full((2, ), float(index)),
                    targets=torch.tensor([index % 2], dtype=torch.float32))


class LinearModel(BaseModel):
    """A linear regressor in mmengine's model interface."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, targets, mode='tensor'):
        outputs = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((outputs - targets)**2).mean())
        return [dict(output=outputs)]


class ScheduledScore(BaseMetric):
    """Reports :data:`SCORES` epoch after epoch."""

    def __init__(self):
        super().__init__()
        self.evaluations = 0

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        self.evaluations += 1
        return dict(accuracy=SCORES[self.evaluations - 1])


class FailingSave(Hook):
    """Raises in ``before_save_checkpoint`` of one epoch's periodic (or
    best) checkpoint: a save that fails before any byte is written (a full
    disk, say)."""

    def __init__(self, epoch, best=False):
        self.epoch = epoch
        self.best = best

    def before_save_checkpoint(self, runner, checkpoint):
        # best checkpoints are saved without the optimizer
        best = 'optimizer' not in checkpoint
        if checkpoint['meta']['epoch'] == self.epoch and best == self.best:
            raise OSError(f'no space left while saving epoch {self.epoch}')


def build_runner(work_dir, checkpoint, custom_hooks=(), max_epochs=4):
    loader = dict(dataset=PairsDataset(), batch_size=4,
                  collate_fn=dict(type='default_collate'),
                  sampler=dict(type='DefaultSampler', shuffle=False))
    return Runner(
        model=LinearModel(),
        work_dir=str(work_dir),
        train_dataloader=loader,
        val_dataloader=loader,
        val_evaluator=Evaluator(ScheduledScore()),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        val_cfg=dict(),
        default_hooks=dict(
            checkpoint=dict(type='CrashSafeCheckpointHook', **checkpoint)),
        custom_hooks=[
            dict(type='WeightsOnlyCheckpointHook'), *custom_hooks
        ],
        default_scope='mmista',
        experiment_name=f'crash_safe_{osp.basename(str(work_dir))}')


def saved(work_dir):
    return sorted(path.name for path in work_dir.iterdir()
                  if path.suffix == '.pth')


def test_keeps_mmengine_features(tmp_path):
    # A partial file left by an interrupted save of an earlier run.
    (tmp_path / f'{TEMP_PREFIX}epoch_1.pth.x1y2').write_bytes(b'PK\x03')
    runner = build_runner(
        tmp_path,
        dict(interval=1, max_keep_ckpts=2, save_best='accuracy',
             published_keys=['meta', 'state_dict']))
    runner.train()

    published = [name for name in saved(tmp_path) if '-' in name]
    assert len(published) == 2  # the last and the best checkpoints
    assert sorted(set(saved(tmp_path)) - set(published)) == [
        'best_accuracy_epoch_4.pth', 'epoch_3.pth', 'epoch_4.pth']
    assert not list(tmp_path.glob(f'{TEMP_PREFIX}*'))
    assert (tmp_path / 'last_checkpoint').read_text() == str(
        tmp_path / 'epoch_4.pth')
    hub = runner.message_hub
    assert hub.get_info('keep_ckpt_ids') == [3, 4]
    assert hub.get_info('best_score') == 4.
    assert hub.get_info('best_ckpt') == str(tmp_path /
                                            'best_accuracy_epoch_4.pth')
    # What the last checkpoint recorded lets a resume carry on deleting.
    last = torch.load(tmp_path / 'epoch_4.pth', weights_only=True)
    info = last['message_hub']['runtime_info']
    assert info['keep_ckpt_ids'] == [3, 4]
    assert info['best_ckpt'] == str(tmp_path / 'best_accuracy_epoch_4.pth')
    assert last['meta']['epoch'] == 4
    best = torch.load(tmp_path / 'best_accuracy_epoch_4.pth',
                      weights_only=True)
    assert 'optimizer' not in best
    for name in published:
        assert set(torch.load(tmp_path / name,
                              weights_only=True)) == {'meta', 'state_dict'}


def test_failed_save_deletes_nothing(tmp_path):
    """The save of epoch 3 fails: the checkpoint it would push out of
    max_keep_ckpts=1 (epoch 2) and the best one are still there, and
    last_checkpoint still names epoch 2."""
    runner = build_runner(
        tmp_path, dict(interval=1, max_keep_ckpts=1, save_best='accuracy'),
        custom_hooks=[FailingSave(epoch=3)])
    with pytest.raises(OSError, match='saving epoch 3'):
        runner.train()
    assert saved(tmp_path) == ['best_accuracy_epoch_2.pth', 'epoch_2.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(
        tmp_path / 'epoch_2.pth')
    assert not list(tmp_path.glob(f'{TEMP_PREFIX}*'))


def test_failed_best_save_keeps_the_previous_best(tmp_path):
    """The best checkpoint of epoch 2 fails to save: the best of epoch 1
    stays (mmengine's hook deletes it first)."""
    runner = build_runner(
        tmp_path, dict(interval=1, save_best='accuracy'),
        custom_hooks=[FailingSave(epoch=2, best=True)], max_epochs=2)
    with pytest.raises(OSError, match='saving epoch 2'):
        runner.train()
    assert saved(tmp_path) == [
        'best_accuracy_epoch_1.pth', 'epoch_1.pth', 'epoch_2.pth']
    assert not list(tmp_path.glob(f'{TEMP_PREFIX}*'))


def test_atomic_writes_for_local_folders_only():
    assert CrashSafeCheckpointHook().backend_args == dict(
        backend=ATOMIC_LOCAL_BACKEND)
    assert CrashSafeCheckpointHook(
        out_dir='/data/checkpoints',
        backend_args=dict(backend='local')).backend_args == dict(
            backend=ATOMIC_LOCAL_BACKEND)
    # another storage: its own backend, as in mmengine
    assert CrashSafeCheckpointHook(
        out_dir='s3://bucket/checkpoints').backend_args is None
    petrel = dict(backend='petrel', path_mapping={})
    assert CrashSafeCheckpointHook(backend_args=petrel).backend_args == petrel
