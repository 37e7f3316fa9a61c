# Copyright (c) mmista contributors. All rights reserved.
"""An export's config.py is a plain mmpretrain classifier run: no type or
key of the search anywhere in it, and mmpretrain's ``get_model`` on it
gives the search's validation accuracy."""
import json
import logging

import mmengine.registry
import mmpretrain.registry
import pytest
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.registry import Registry, init_default_scope
from mmengine.runner import Runner
from mmpretrain import get_model

import mmista.registry
from mmista.apis import exported_config
from ..utils import REPO_ROOT, logged_records

#: The mmista types a classifier run of a derived network may build; any
#: other type must be one of mmpretrain's or mmengine's.
ALLOWED_MMISTA_TYPES = {
    'DerivedNet', 'DartsClsHead', 'DigitsDataset', 'SafeColorJitter',
    'GreyInkOnBlack', 'CutoutClsDataPreprocessor',
    'FiniteOptimWrapper', 'DropPathRampHook', 'CrashSafeCheckpointHook',
    'WeightsOnlyCheckpointHook', 'GenotypeCheckpointHook', 'EpochSeedHook',
    'FiniteLossHook', 'BNStatsBroadcastHook', 'DurationEstimateHook'
}

#: Every top-level key of the digits search's export.
EXPORT_KEYS = {
    'model', 'data_preprocessor', 'dataset_type', 'train_pipeline',
    'test_pipeline', 'val_dataloader', 'val_evaluator', 'val_cfg',
    'test_dataloader', 'test_evaluator', 'test_cfg', 'default_scope',
    'custom_imports', 'env_cfg', 'log_level', 'visualizer', 'vis_backends',
    'default_hooks', 'custom_hooks', 'randomness'
}

#: Settings of a search, refused at any depth of the export.
SEARCH_KEYS = {
    'model_wrapper_cfg', 'runner_type', 'arch_dataloader', 'optim_wrapper',
    'auto_scale_lr', 'stages', 'budget', 'max_search_epochs',
    'min_search_epochs', 'min_search_iters', 'eval_epochs'
}

#: Top-level keys of the search's training, refused in the export (a
#: fine-tune config gives its own).
TRAINING_KEYS = {
    'train_cfg', 'train_dataloader', 'param_scheduler', 'load_from', 'resume',
    'work_dir', 'launcher'
}


def _registries(module):
    return [v for v in vars(module).values() if isinstance(v, Registry)]


OPENMMLAB_REGISTRIES = _registries(mmpretrain.registry) + _registries(
    mmengine.registry)
MMISTA_REGISTRIES = _registries(mmista.registry)


def entries(node, path=''):
    """Every ``(path, key, value)`` of a config, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield f'{path}.{key}'.lstrip('.'), key, value
            yield from entries(value, f'{path}.{key}'.lstrip('.'))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from entries(value, f'{path}[{i}]')


def outside_mmista(name: str) -> bool:
    """Whether mmpretrain or mmengine (not mmista) registers ``name``."""
    for registry in OPENMMLAB_REGISTRIES:
        found = registry.get(name)
        if found is not None and not getattr(found, '__module__',
                                             '').startswith('mmista'):
            return True
    return False


def registered_by_mmista(name: str) -> bool:
    return any(name in registry.module_dict for registry in MMISTA_REGISTRIES)


@pytest.fixture(scope='module')
def export(onestage_search_dir):
    return onestage_search_dir / 'export'


def test_export_config_holds_no_search_part(export):
    cfg = Config.fromfile(export / 'config.py').to_dict()
    assert set(cfg) == EXPORT_KEYS
    assert not set(cfg) & TRAINING_KEYS
    found = list(entries(cfg))
    assert not [path for path, key, _ in found if key in SEARCH_KEYS]
    types = {(path, value) for path, key, value in found if key == 'type'}
    assert len(types) >= 20  # the walk reached the nested configs
    for path, name in types:
        assert isinstance(name, str), path
        scope, _, bare = name.rpartition('.')
        assert scope in ('', 'mmista'), (path, name)
        if scope == 'mmista' or not outside_mmista(bare):
            assert bare in ALLOWED_MMISTA_TYPES, (path, name)
            assert registered_by_mmista(bare), (path, name)
    # the classifier, and the one hook the search's training phase adds
    assert cfg['model']['type'] == 'ImageClassifier'
    assert cfg['model']['backbone']['type'] == 'mmista.DerivedNet'
    assert cfg['model']['backbone']['drop_path_prob'] == 0.
    assert cfg['custom_hooks'] == [
        dict(type='DropPathRampHook', drop_path_rate=0.1)
    ]
    hook_types = {hook['type'] for hook in cfg['default_hooks'].values()}
    assert 'GenotypeCheckpointHook' in hook_types
    assert not hook_types & {
        'ArchitectureRecoveryHook', 'TerminationHook', 'EdgeBNFreezeHook',
        'PhaseSwitchHook', 'ExportHook', 'GenotypeLoggerHook'
    }
    # the search's own config had them
    search = Config.fromfile(next(
        export.parent.glob('*/vis_data/config.py'))).to_dict()
    assert {
        'model_wrapper_cfg', 'max_search_epochs', 'train_dataloader',
        'optim_wrapper'
    } <= set(search)
    assert 'stages' in search['train_cfg']


@pytest.mark.numerics
def test_get_model_gives_the_search_accuracy(export):
    """mmpretrain's own loader, on the export's validation data: the
    accuracy the search logged at its last validation."""
    scalars = next(export.parent.glob('*/vis_data/scalars.json'))
    searched = [
        json.loads(line)['accuracy/top1']
        for line in scalars.read_text().splitlines() if 'accuracy/top1' in line
    ][-1]
    model = get_model(
        str(export / 'config.py'), pretrained=str(export / 'model.pth'))
    model.eval()
    cfg = Config.fromfile(export / 'config.py')
    init_default_scope(cfg.default_scope)
    loader = Runner.build_dataloader(cfg.val_dataloader)
    evaluator = Evaluator(cfg.val_evaluator)
    for batch in loader:
        evaluator.process(model.val_step(batch), batch)
    metrics = evaluator.evaluate(len(loader.dataset))
    assert len(loader.dataset) == 64
    assert metrics['accuracy/top1'] == pytest.approx(searched, abs=1e-6)


def test_keys_and_hooks_a_search_adds_stay_out():
    """Allow-lists: a setting or hook that a search config adds (here a new
    key, a new stage, a user's hook) never reaches the export."""
    run_cfg = Config.fromfile(f'{REPO_ROOT}/configs/ista/onestage_digits.py')
    run_cfg.merge_from_dict({
        'future_search_setting':
        3,
        'train_cfg.stages.future_stage':
        dict(type='TerminationHook'),
        'default_hooks.genotype_logger':
        dict(type='GenotypeLoggerHook'),
        'default_hooks.visualization':
        None,
    })
    run_cfg.custom_hooks = [dict(type='EMAHook')]
    backbone = dict(type='DerivedNet', genotype='ista_onestage_cifar10')
    with logged_records(MMLogger.get_current_instance(),
                        logging.WARNING) as records:
        cfg = exported_config(run_cfg, backbone).to_dict()
    messages = [r.getMessage() for r in records]
    assert set(cfg) == EXPORT_KEYS
    assert 'genotype_logger' not in cfg['default_hooks']
    assert cfg['default_hooks']['visualization'] is None  # still disabled
    assert cfg['custom_hooks'] == [
        dict(type='DropPathRampHook', drop_path_rate=0.1)
    ]
    assert not [path for path, key, _ in entries(cfg) if key in SEARCH_KEYS]
    assert ('leaves out hooks that are not those of a classifier run: '
            'default_hooks.genotype_logger (GenotypeLoggerHook), '
            'custom_hooks EMAHook') in ' '.join(messages)
