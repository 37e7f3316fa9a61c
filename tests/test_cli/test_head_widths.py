# Copyright (c) mmista contributors. All rights reserved.
"""The head's input widths follow the backbone: changing the backbone
(``--cfg-options model.backbone.channels=16``) gives a model that runs, and
the change is said in one line (tests/test_docs_commands.py runs every
documented command's model through a step)."""
import copy
import json
import re

import pytest
import torch
from mmengine.config import Config

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.cli import fit_head_to_backbone
from mmista.errors import ConfigError
from ..utils import DIGITS_EVAL_CONFIG, REPO_ROOT, run_tool

ONESTAGE = f'{REPO_ROOT}/configs/ista/onestage_digits.py'
TWOSTAGE = f'{REPO_ROOT}/configs/ista/twostage_digits.py'


@pytest.fixture(scope='module')
def configs():
    return {
        path: Config.fromfile(path)
        for path in (DIGITS_EVAL_CONFIG, ONESTAGE, TWOSTAGE)
    }


def changed(config: Config, **options) -> Config:
    cfg = copy.deepcopy(config)
    cfg.merge_from_dict(options)
    return cfg


@pytest.mark.parametrize('path', [DIGITS_EVAL_CONFIG, ONESTAGE, TWOSTAGE])
def test_the_shipped_widths_already_fit(configs, path):
    cfg = copy.deepcopy(configs[path])
    assert fit_head_to_backbone(cfg) == []
    assert cfg.model.head == configs[path].model.head


def test_wider_cells_widen_both_heads(configs):
    # 5 cells of C = 16: 4 nodes of 4 * 16 channels after two reductions
    cfg = changed(configs[ONESTAGE], **{'model.backbone.channels': 16})
    assert fit_head_to_backbone(cfg) == [
        'model.head.in_channels follows the backbone: 128 -> 256',
        'model.head.aux_in_channels follows the backbone: 128 -> 256',
    ]
    assert (cfg.model.head.in_channels, cfg.model.head.aux_in_channels) == \
        (256, 256)


def test_an_auxiliary_head_without_its_map_is_refused(configs):
    """A config written when out_indices counted cells (the auxiliary map
    then came from out_indices[0]) would feed the auxiliary head a stage
    output: refused, naming the key to set."""
    cfg = changed(configs[DIGITS_EVAL_CONFIG],
                  **{'model.backbone.with_aux_feature': False,
                     'model.backbone.out_indices': [2, 3]})
    with pytest.raises(ConfigError,
                       match=r'^model\.head\.aux_weight > 0 reads the output '
                       r'of cell 2\*layers//3, .*'
                       r'model\.backbone\.with_aux_feature=True'):
        fit_head_to_backbone(cfg)
    cfg.model.head.aux_weight = 0.
    assert fit_head_to_backbone(cfg) == []


def test_no_auxiliary_head_leaves_its_width_alone(configs):
    cfg = changed(configs[TWOSTAGE], **{'model.backbone.channels': 4})
    assert fit_head_to_backbone(cfg) == [
        'model.head.in_channels follows the backbone: 128 -> 64'
    ]
    assert 'aux_in_channels' not in cfg.model.head


def test_mmpretrain_linear_head_behind_pooling(configs):
    cfg = changed(configs[DIGITS_EVAL_CONFIG],
                  **{'model.backbone.channels': 4})
    cfg.model.neck = dict(type='GlobalAveragePooling')
    cfg.model.head = dict(
        type='mmpretrain.LinearClsHead', num_classes=10, in_channels=2048)
    assert fit_head_to_backbone(cfg) == [
        'model.head.in_channels follows the backbone: 2048 -> 64'
    ]


@pytest.mark.parametrize('neck, head', [
    (dict(type='GlobalAveragePooling'),
     dict(type='VisionTransformerClsHead', num_classes=10, in_channels=9)),
    (dict(type='LinearNeck', in_channels=128, out_channels=9),
     dict(type='LinearClsHead', num_classes=10, in_channels=9)),
])
def test_unknown_heads_and_necks_are_left_alone(configs, neck, head):
    cfg = changed(configs[DIGITS_EVAL_CONFIG],
                  **{'model.backbone.channels': 4})
    cfg.model.neck, cfg.model.head = neck, head
    assert fit_head_to_backbone(cfg) == []
    assert cfg.model.head.in_channels == 9


def test_a_backbone_that_cannot_be_built_names_the_key(configs):
    cfg = changed(configs[DIGITS_EVAL_CONFIG],
                  **{'model.backbone.chanels': 4})
    with pytest.raises(
            ConfigError,
            match=r"^model\.backbone cannot be built: .*unexpected "
            r"keyword argument 'chanels'"):
        fit_head_to_backbone(cfg)
    # the backbone's own config errors pass through as they are
    cfg = changed(configs[DIGITS_EVAL_CONFIG],
                  **{'model.backbone.out_indices': [40]})
    with pytest.raises(
            ConfigError,
            match=r'^model\.backbone\.out_indices: entry 40 is out of '
            r'range: out_indices now count stages'):
        fit_head_to_backbone(cfg)


def test_fitting_draws_no_random_numbers(configs):
    cfg = changed(configs[ONESTAGE], **{'model.backbone.channels': 4})
    before = torch.get_rng_state()
    fit_head_to_backbone(cfg)
    assert torch.equal(torch.get_rng_state(), before)


def test_the_width_change_example_trains_and_is_logged(tmp_path):
    """The documented width change, as a user types it, on a tiny run."""
    proc = run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
                    str(tmp_path), '--cfg-options',
                    'model.backbone.channels=4',
                    'train_dataloader.dataset.indices=64',
                    'val_dataloader.dataset.indices=32',
                    'train_cfg.max_epochs=1', 'param_scheduler.T_max=1')
    lines = re.findall(r'model\.head\.\S+ follows the backbone: .*',
                       proc.stdout + proc.stderr)
    assert lines == [
        'model.head.in_channels follows the backbone: 128 -> 64',
        'model.head.aux_in_channels follows the backbone: 128 -> 64',
    ]
    # the run's own copy of the config holds the widths it ran with
    dumped = Config.fromfile(tmp_path / 'ista_onestage_digits.py')
    assert (dumped.model.head.in_channels,
            dumped.model.head.aux_in_channels) == (64, 64)
    scalars = next(tmp_path.glob('*/vis_data/scalars.json')).read_text()
    assert 'accuracy/top1' in json.loads(scalars.splitlines()[-1])
