# Copyright (c) mmista contributors. All rights reserved.
"""Bad input fails with a message that names what is at fault, and loses
no earlier checkpoint."""
import hashlib

import pytest

from ..utils import DIGITS_EVAL_CONFIG, TINY_TRAIN_OPTIONS, run_tool


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def one_epoch_checkpoint(one_epoch_dir):
    return one_epoch_dir / 'epoch_1.pth'


def test_truncated_checkpoint_is_named(one_epoch_checkpoint, tmp_path):
    truncated = tmp_path / 'truncated.pth'
    data = one_epoch_checkpoint.read_bytes()
    truncated.write_bytes(data[:len(data) // 2])
    for tool, extra in (('tools/test.py', [str(truncated)]),
                        ('tools/train.py', ['--resume', str(truncated)])):
        proc = run_tool(tool, DIGITS_EVAL_CONFIG, *extra, '--work-dir',
                        str(tmp_path / 'w'), '--cfg-options',
                        *TINY_TRAIN_OPTIONS, check=False)
        assert proc.returncode != 0, tool
        assert f'cannot read the checkpoint {truncated}' in proc.stderr
    assert one_epoch_checkpoint.read_bytes() == data


def test_checkpoint_of_another_architecture_is_refused(
        one_epoch_checkpoint, tmp_path):
    # The tiny C = 4 checkpoint against the config's C = 8 network.
    before = digest(one_epoch_checkpoint)
    proc = run_tool('tools/test.py', DIGITS_EVAL_CONFIG,
                    str(one_epoch_checkpoint), '--work-dir',
                    str(tmp_path / 'w'), check=False)
    assert proc.returncode != 0
    assert 'does not fit the model of this config' in proc.stderr
    assert 'shape mismatch: ' in proc.stderr
    assert digest(one_epoch_checkpoint) == before


@pytest.mark.parametrize('option, message', [
    ('trian_cfg.max_epochs=3', "did you mean 'train_cfg'"),
    ('train_cfg.max_epochs=abc', "expected an int like the config's"),
    ('model.backbone.bn_append=yes', "expected a bool like the config's"),
])
def test_bad_config_override_is_named(option, message, tmp_path):
    proc = run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
                    str(tmp_path), '--cfg-options', option, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr and option.split('=')[0] in proc.stderr


def test_unknown_model_argument_is_named(tmp_path):
    proc = run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
                    str(tmp_path), '--cfg-options', 'model.backbone.chanels=4',
                    check=False)
    assert proc.returncode != 0
    assert "unexpected keyword argument 'chanels'" in proc.stderr


@pytest.mark.parametrize('config, key', [
    ('configs/ista/onestage_cifar10.py', 'train_dataloader.dataset'),
    ('configs/ista/twostage_cifar10.py', 'train_dataloader.dataset.dataset'),
])
def test_missing_data_folder_is_named(config, key, tmp_path):
    proc = run_tool('tools/train.py', config, '--work-dir', str(tmp_path),
                    '--cfg-options', f'{key}.data_root={tmp_path}/nowhere',
                    check=False)
    assert proc.returncode != 0
    assert f'{key}.data_root: the folder {tmp_path}/nowhere' in proc.stderr
    assert 'nothing is downloaded' in proc.stderr
