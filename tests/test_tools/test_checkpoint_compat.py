# Copyright (c) mmista contributors. All rights reserved.
"""Safe loading keeps what should load loading: the checkpoint of a plain
mmengine run (HistoryBuffer and numpy values in it) loads as ``load_from``
and resumes. And what must not load does not: a network whose genotype
differs only by pool type, a truncated or foreign file in every tool."""
import json

import pytest
import torch
from mmengine.config import Config

from mmista.structures import Genotype, get_genotype
from ..crafted_checkpoints import assert_one_error_line, pool_swapped
from ..utils import DIGITS_EVAL_CONFIG, REPO_ROOT, TINY_TRAIN_OPTIONS, run_tool

ONESTAGE_DIGITS = f'{REPO_ROOT}/configs/ista/onestage_digits.py'

ONE_EPOCH = [
    option for option in TINY_TRAIN_OPTIONS
    if not option.startswith('train_cfg.max_epochs')
] + ['train_cfg.max_epochs=1']

# mmengine's own default hooks only: no WeightsOnlyCheckpointHook, so the
# checkpoint holds what any mmengine/mmpretrain run's does.
PLAIN_RUNTIME = f"""_base_ = [{DIGITS_EVAL_CONFIG!r}]
default_hooks = dict(
    _delete_=True,
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False))
"""


@pytest.fixture(scope='module')
def plain_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp('plain_run')
    config = folder / 'plain.py'
    config.write_text(PLAIN_RUNTIME)
    run_tool('tools/train.py', str(config), '--work-dir', str(folder),
             '--cfg-options', *ONE_EPOCH)
    return folder / 'epoch_1.pth'


@pytest.fixture(scope='module')
def resumed(plain_checkpoint, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('resumed')
    proc = run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
                    str(work_dir), '--resume', str(plain_checkpoint),
                    '--no-validate', '--cfg-options', *TINY_TRAIN_OPTIONS)
    return work_dir, proc


def test_plain_checkpoint_is_what_torch_refuses(plain_checkpoint):
    unsafe = set(
        torch.serialization.get_unsafe_globals_in_checkpoint(
            str(plain_checkpoint)))
    assert {
        'mmengine.logging.history_buffer.HistoryBuffer', 'builtins.getattr',
        'numpy.ndarray'
    } <= unsafe


def test_plain_checkpoint_loads_as_load_from(plain_checkpoint, tmp_path,
                                             monkeypatch):
    # tools/test.py evaluates through the runner's load_from
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    metrics = tmp_path / 'metrics.json'
    proc = run_tool('tools/test.py', DIGITS_EVAL_CONFIG,
                    str(plain_checkpoint), '--work-dir', str(tmp_path),
                    '--out', str(metrics), '--cfg-options',
                    *TINY_TRAIN_OPTIONS, 'test_dataloader.dataset.indices=32')
    assert f'Load checkpoint from {plain_checkpoint}' in proc.stdout + \
        proc.stderr
    assert 0. <= json.loads(metrics.read_text())['accuracy/top1'] <= 100.


def test_plain_checkpoint_resumes(resumed):
    work_dir, proc = resumed
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    checkpoint = torch.load(str(work_dir / 'epoch_2.pth'), weights_only=True)
    assert checkpoint['meta']['epoch'] == 2
    # mmista's own checkpoints record the genotype they were saved from
    assert Genotype.from_dict(checkpoint['meta']['genotype']) == \
        get_genotype('ista_onestage_cifar10')


def test_pool_swapped_config_refuses_the_checkpoint(resumed, tmp_path):
    work_dir, _ = resumed
    swapped = pool_swapped(get_genotype('ista_onestage_cifar10'))
    config = tmp_path / 'swapped.py'
    config.write_text(f'_base_ = [{DIGITS_EVAL_CONFIG!r}]\n'
                      f'model = dict(backbone=dict(genotype={str(swapped)!r}))'
                      '\n')
    proc = run_tool('tools/test.py', str(config), str(work_dir /
                                                      'epoch_2.pth'),
                    '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                    *TINY_TRAIN_OPTIONS, check=False)
    assert_one_error_line(proc, 'the checkpoint')
    assert f'has the genotype {swapped}' in proc.stderr
    assert 'they differ at normal node' in proc.stderr


def test_convert_refuses_an_export_of_another_genotype(tiny_export,
                                                       tmp_path):
    export = tiny_export
    cfg = Config.fromfile(str(export / 'config.py'))
    swapped = pool_swapped(get_genotype(cfg.model.backbone.genotype))
    cfg.model.backbone.genotype = swapped.to_dict()
    config = tmp_path / 'config.py'
    cfg.dump(str(config))
    proc = run_tool('tools/deployment/convert.py', '--config', str(config),
                    '--checkpoint', str(export / 'model.pth'), '--out',
                    str(tmp_path / 'out'), '--formats', 'torch_export',
                    check=False)
    assert_one_error_line(proc, f'the checkpoint {export / "model.pth"} '
                          'was saved from the genotype')
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('tool, problem', [
    ('convert', 'truncated'),
    ('convert', 'foreign'),
    ('export_backbone', 'truncated'),
])
def test_bad_checkpoint_is_one_line(tool, problem, tiny_export, tmp_path):
    export = tiny_export
    checkpoint = tmp_path / 'model.pth'
    data = (export / 'model.pth').read_bytes()
    checkpoint.write_bytes(data[:len(data) // 2] if problem ==
                           'truncated' else data)
    if tool == 'convert':
        # the export's weights against the config's C = 8 network
        config = DIGITS_EVAL_CONFIG if problem == 'foreign' else str(
            export / 'config.py')
        args = ('tools/deployment/convert.py', '--config', config,
                '--checkpoint', str(checkpoint), '--formats', 'torch_export')
    else:
        args = ('tools/export_backbone.py', ONESTAGE_DIGITS, str(checkpoint),
                '--out', str(tmp_path / 'out'))
    proc = run_tool(*args, check=False)
    expected = {
        'truncated': f'cannot read the checkpoint {checkpoint}',
        'foreign': f'the checkpoint {checkpoint} does not fit the model'
    }[problem]
    assert_one_error_line(proc, expected)
