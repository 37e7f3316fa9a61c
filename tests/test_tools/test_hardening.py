# Copyright (c) mmista contributors. All rights reserved.
"""Bad input fails with a message that names what is at fault, and loses
no earlier checkpoint."""
import hashlib

from ..utils import DIGITS_EVAL_CONFIG, TINY_TRAIN_OPTIONS, run_tool

ONE_EPOCH = [
    option for option in TINY_TRAIN_OPTIONS
    if not option.startswith('train_cfg.max_epochs')
] + ['train_cfg.max_epochs=1']


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(tmp_path):
    run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
             str(tmp_path), '--cfg-options', *ONE_EPOCH)
    good = tmp_path / 'epoch_1.pth'
    before = digest(good)
    # A loss weight beyond float32's range: the next loss is infinite.
    proc = run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
                    str(tmp_path), '--resume', '--cfg-options',
                    *TINY_TRAIN_OPTIONS, 'model.head.loss.loss_weight=1e39',
                    check=False)
    assert proc.returncode != 0
    assert 'non-finite loss' in proc.stderr
    assert 'epoch_1.pth' in proc.stderr and '--resume' in proc.stderr
    assert digest(good) == before
    assert not (tmp_path / 'epoch_2.pth').exists()
