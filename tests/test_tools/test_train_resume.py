# Copyright (c) mmista contributors. All rights reserved.
"""tools/train.py and tools/test.py, run for real on the embedded digits."""
import glob
import json
import os.path as osp

import torch

from ..utils import DIGITS_EVAL_CONFIG, TINY_TRAIN_OPTIONS, run_tool


def _latest_log(work_dir):
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    assert logs, f'no log written under {work_dir}'
    return open(logs[-1]).read()


def test_train_resume_and_test(tmp_path):
    work_dir = str(tmp_path / 'run')
    run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir', work_dir,
             '--cfg-options', *TINY_TRAIN_OPTIONS)
    for epoch in (1, 2):
        assert osp.isfile(osp.join(work_dir, f'epoch_{epoch}.pth'))
    log = _latest_log(work_dir)
    assert 'loss_aux' in log and 'accuracy/top1' in log

    # Checkpoints load with torch's safe loader (the default since 2.6).
    checkpoint = torch.load(
        osp.join(work_dir, 'epoch_2.pth'), weights_only=True)
    assert checkpoint['meta']['epoch'] == 2
    assert any('stem' in key for key in checkpoint['state_dict'])

    # Resume from the latest checkpoint and train one more epoch.
    run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir', work_dir,
             '--resume', '--cfg-options', *TINY_TRAIN_OPTIONS,
             'train_cfg.max_epochs=3', 'param_scheduler.T_max=3')
    log = _latest_log(work_dir)
    assert 'resumed epoch: 2' in log
    assert 'Epoch(train)   [3]' in log or 'Epoch(train) [3]' in log
    assert 'Epoch(train)   [1]' not in log
    resumed = torch.load(osp.join(work_dir, 'epoch_3.pth'), weights_only=True)
    assert resumed['meta']['epoch'] == 3
    # The statistics the message hub logged before the interruption survive.
    hub = resumed['message_hub']['log_scalars']
    assert any(key.startswith('train/') for key in hub)

    # Evaluate the checkpoint with tools/test.py and dump the metrics.
    metrics_file = str(tmp_path / 'metrics.json')
    run_tool('tools/test.py', DIGITS_EVAL_CONFIG,
             osp.join(work_dir, 'epoch_3.pth'), '--work-dir',
             str(tmp_path / 'test'), '--out', metrics_file,
             '--cfg-options', *TINY_TRAIN_OPTIONS)
    metrics = json.load(open(metrics_file))
    assert 0. <= metrics['accuracy/top1'] <= 100.


def test_missing_config_and_checkpoint_are_reported(tmp_path):
    proc = run_tool('tools/train.py', 'configs/nets/no_such_config.py',
                    check=False)
    assert proc.returncode != 0
    assert 'config file not found: configs/nets/no_such_config.py' in \
        proc.stderr
    proc = run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--resume',
                    str(tmp_path / 'gone.pth'), check=False)
    assert proc.returncode != 0 and 'gone.pth' in proc.stderr
    proc = run_tool('tools/test.py', DIGITS_EVAL_CONFIG,
                    str(tmp_path / 'x.pth'), check=False)
    assert proc.returncode != 0
    assert 'checkpoint file not found' in proc.stderr
