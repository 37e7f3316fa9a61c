# Copyright (c) mmista contributors. All rights reserved.
"""Config values that cannot work are refused, with their full key, before
a run builds anything (tests/test_tools/test_bad_inputs.py runs the tools
on one value of each kind; here every value)."""
import copy

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.cli import (check_batch_sizes, check_num_classes,
                        check_test_classes, check_train_config,
                        dataset_classes)
from mmista.engine.hooks import PhaseSwitchHook, TerminationHook
from mmista.errors import ConfigError
from ..utils import DIGITS_EVAL_CONFIG, REPO_ROOT

ONESTAGE = f'{REPO_ROOT}/configs/ista/onestage_digits.py'
TWOSTAGE = f'{REPO_ROOT}/configs/ista/twostage_digits.py'
BAD_COUNTS = [0, -1, 2.5, 2.0, '8', True, None]


@pytest.fixture(scope='module')
def configs():
    return {
        path: Config.fromfile(path)
        for path in (DIGITS_EVAL_CONFIG, ONESTAGE, TWOSTAGE)
    }


def test_the_shipped_configs_pass(configs):
    for cfg in configs.values():
        check_train_config(cfg)


@pytest.mark.parametrize('value', BAD_COUNTS)
@pytest.mark.parametrize('config, key', [
    (ONESTAGE, 'train_cfg.max_epochs'),
    (DIGITS_EVAL_CONFIG, 'train_cfg.max_epochs'),
    (DIGITS_EVAL_CONFIG, 'train_dataloader.batch_size'),
    (ONESTAGE, 'val_dataloader.batch_size'),
    (TWOSTAGE, 'arch_dataloader.batch_size'),
])
def test_bad_counts_are_named(configs, config, key, value):
    cfg = copy.deepcopy(configs[config])
    cfg.merge_from_dict({key: value})
    with pytest.raises(ConfigError) as error:
        check_train_config(cfg)
    message = str(error.value)
    assert message.startswith(f'{key} must be an integer >= 1')
    assert message.endswith(f'got {type(value).__name__} {value!r}')


def test_max_iters_is_checked_too(configs):
    cfg = copy.deepcopy(configs[DIGITS_EVAL_CONFIG])
    cfg.train_cfg = dict(by_epoch=False, max_iters=0)
    with pytest.raises(ConfigError, match='train_cfg.max_iters must be'):
        check_train_config(cfg)


@pytest.mark.parametrize('value', BAD_COUNTS[:-1])
def test_phase_switch_eval_epochs(value):
    with pytest.raises(ConfigError, match=r'^train_cfg\.stages\.phase_switch'
                       r'\.eval_epochs must be an integer >= 1'):
        PhaseSwitchHook(eval_epochs=value, param_scheduler=[])


@pytest.mark.parametrize('value', BAD_COUNTS[:-1])
def test_termination_max_search_epochs(value):
    with pytest.raises(ConfigError, match=r'^train_cfg\.stages\.termination'
                       r'\.max_search_epochs must be an integer >= 1'):
        TerminationHook(max_search_epochs=value)


@pytest.mark.parametrize('name, value, message', [
    ('min_search_epochs', -1, 'min_search_epochs must be an integer >= 0'),
    ('min_search_iters', 1.5, 'min_search_iters must be an integer >= 0'),
    ('eps', 0, 'eps must be a positive number'),
    ('eps', '1e-3', "eps must be a positive number .* got str '1e-3'"),
    ('eps', float('nan'), 'eps must be a positive number'),
])
def test_other_termination_arguments(name, value, message):
    with pytest.raises(ConfigError,
                       match=f'^train_cfg.stages.termination.{message}'):
        TerminationHook(**{name: value})


def test_termination_defaults_and_no_cap_still_work():
    hook = TerminationHook(max_search_epochs=None, min_search_epochs=0)
    assert hook.max_search_epochs is None and hook.eps == 1e-3


@pytest.mark.parametrize('config', [DIGITS_EVAL_CONFIG, ONESTAGE, TWOSTAGE])
def test_num_classes_below_the_classes(configs, config):
    cfg = copy.deepcopy(configs[config])
    cfg.merge_from_dict({'model.head.num_classes': 5})
    key = 'train_dataloader.dataset' + ('.dataset' if config == TWOSTAGE
                                        else '')
    with pytest.raises(ConfigError) as error:
        check_train_config(cfg)
    assert str(error.value) == (
        f'model.head.num_classes=5 is below the 10 classes of {key}: labels '
        '5..9 have no output; set model.head.num_classes=10')
    # more outputs than classes work (some are never the target)
    cfg.merge_from_dict({'model.head.num_classes': 12})
    check_num_classes(cfg, 'train_dataloader')


def test_classes_read_without_loading_the_data(tmp_path):
    cifar = Config.fromfile(f'{REPO_ROOT}/configs/ista/onestage_cifar10.py')
    key, classes = dataset_classes(cifar, 'train_dataloader')
    assert key == 'train_dataloader.dataset' and len(classes) == 10
    assert classes[0] == 'airplane'
    names = tmp_path / 'classes.txt'
    names.write_text('cat\ndog\n')
    for given in (['cat', 'dog'], str(names)):
        cfg = Config(
            dict(test_dataloader=dict(dataset=dict(
                type='CustomDataset', ann_file='x.txt', classes=given))))
        assert dataset_classes(cfg, 'test_dataloader')[1] == ['cat', 'dog']
    # a folder: its sorted class folders, as CustomDataset labels them
    for name in ('zebra', 'ant'):
        (tmp_path / 'images' / name).mkdir(parents=True)
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(
            tmp_path / 'images' / name / '0.png')
    folder = Config(
        dict(test_dataloader=dict(dataset=dict(
            type='CustomDataset', data_root=str(tmp_path / 'images')))))
    assert dataset_classes(folder, 'test_dataloader')[1] == ['ant', 'zebra']
    # classes that only loading would tell
    unknown = Config(
        dict(test_dataloader=dict(
            dataset=dict(type='CustomDataset', ann_file='x.txt'))))
    assert dataset_classes(unknown, 'test_dataloader') is None


def test_checkpoint_classes_against_the_test_set(configs):
    cfg = configs[DIGITS_EVAL_CONFIG]
    digits = [str(i) for i in range(10)]
    for meta in ({}, dict(meta={}), dict(meta=dict(dataset_meta={})),
                 dict(meta=dict(dataset_meta=dict(classes=digits)))):
        check_test_classes(cfg, meta, 'model.pth')
    swapped = ['1', '0'] + digits[2:]
    with pytest.raises(ConfigError, match=r"another order \(label 0 is '1' "
                       r"in the checkpoint, '0' in the test set\)"):
        check_test_classes(
            cfg, dict(meta=dict(dataset_meta=dict(classes=swapped))), 'm')
    with pytest.raises(ConfigError, match="not in the checkpoint: '9'"):
        check_test_classes(
            cfg, dict(meta=dict(dataset_meta=dict(classes=digits[:9]))), 'm')


def test_test_batch_size(configs):
    cfg = copy.deepcopy(configs[DIGITS_EVAL_CONFIG])
    cfg.merge_from_dict({'test_dataloader.batch_size': 0})
    with pytest.raises(ConfigError, match='test_dataloader.batch_size'):
        check_batch_sizes(cfg, ['test_dataloader'])


def test_imagenet_subsets_are_not_refused():
    # ImageNet's METAINFO lists 1,000 classes whatever its files hold
    cfg = Config(
        dict(
            model=dict(head=dict(num_classes=100)),
            train_dataloader=dict(
                batch_size=8,
                dataset=dict(type='ImageNet', ann_file='meta/train.txt'))))
    assert dataset_classes(cfg, 'train_dataloader') is None
    check_num_classes(cfg, 'train_dataloader')
    cfg.train_dataloader.dataset.classes = [f'c{i}' for i in range(200)]
    with pytest.raises(ConfigError, match='below the 200 classes'):
        check_num_classes(cfg, 'train_dataloader')
