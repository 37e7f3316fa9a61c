# Copyright (c) mmista contributors. All rights reserved.
"""A checkpoint whose unpickling would run code runs none through any
path that reads weights, also with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1: each
tool exits non-zero with one ``error:`` line."""
import shutil

import mmpretrain
import pytest

from mmista.fileio.checkpoint_loading import CheckpointError
from ..crafted_checkpoints import (assert_one_error_line,
                                   save_code_running_checkpoint)
from ..utils import DIGITS_EVAL_CONFIG, REPO_ROOT, TINY_TRAIN_OPTIONS, run_tool

ONESTAGE_DIGITS = f'{REPO_ROOT}/configs/ista/onestage_digits.py'


@pytest.fixture
def code_running(tmp_path, monkeypatch):
    """The crafted checkpoint, and the variable users set to get past
    torch's own refusal."""
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    path, marker = tmp_path / 'evil.pth', tmp_path / 'MARKER'
    save_code_running_checkpoint(path, marker)
    return path, marker


def tool_args(path: str, evil: str, work_dir: str, export_dir: str):
    train = ('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir', work_dir)
    return {
        'load_from': (*train, '--cfg-options', *TINY_TRAIN_OPTIONS,
                      f'load_from={evil}'),
        'resume': (*train, '--resume', evil, '--cfg-options',
                   *TINY_TRAIN_OPTIONS),
        'init_cfg_pretrained':
        (*train, '--cfg-options', *TINY_TRAIN_OPTIONS,
         'model.backbone.init_cfg.type=Pretrained',
         f'model.backbone.init_cfg.checkpoint={evil}',
         'model.backbone.init_cfg.prefix=backbone.'),
        'test': ('tools/test.py', DIGITS_EVAL_CONFIG, evil, '--work-dir',
                 work_dir, '--cfg-options', *TINY_TRAIN_OPTIONS),
        'export_backbone': ('tools/export_backbone.py', ONESTAGE_DIGITS,
                            evil, '--out', work_dir),
        'convert': ('tools/deployment/convert.py', export_dir, '--formats',
                    'torch_export'),
    }[path]


@pytest.mark.parametrize('path', [
    'load_from', 'resume', 'init_cfg_pretrained', 'test', 'export_backbone',
    'convert'
])
def test_code_running_checkpoint_is_refused(path, code_running, tiny_export,
                                            tmp_path):
    evil, marker = code_running
    export_dir = tmp_path / 'export'
    export_dir.mkdir()
    shutil.copy(tiny_export / 'config.py', export_dir / 'config.py')
    shutil.copy(evil, export_dir / 'model.pth')
    proc = run_tool(
        *tool_args(path, str(evil), str(tmp_path / 'work'), str(export_dir)),
        check=False)
    assert_one_error_line(proc, 'refused to load the checkpoint')
    assert 'posix.system' in proc.stderr
    assert not marker.exists()


def test_mmpretrain_get_model_is_safe_after_import_mmista(
        code_running, tiny_export):
    evil, marker = code_running
    export = tiny_export
    with pytest.raises(CheckpointError, match='refused to load'):
        mmpretrain.get_model(str(export / 'config.py'), pretrained=str(evil))
    assert not marker.exists()
    model = mmpretrain.get_model(
        str(export / 'config.py'), pretrained=str(export / 'model.pth'))
    assert type(model.backbone).__name__ == 'DerivedNet'


def test_url_load_from_has_its_own_message(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    url = 'http://127.0.0.1:1/epoch_1.pth'  # nothing listens on port 1
    proc = run_tool(
        'tools/train.py',
        DIGITS_EVAL_CONFIG,
        '--work-dir',
        str(tmp_path / 'work'),
        '--cfg-options',
        *TINY_TRAIN_OPTIONS,
        f'load_from={url}',
        check=False)
    assert_one_error_line(proc, f'cannot download the checkpoint {url}')
    assert 'pass its local path' in proc.stderr
    assert 'truncated' not in proc.stderr
