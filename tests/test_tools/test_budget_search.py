# Copyright (c) mmista contributors. All rights reserved.
"""Searches under a resource budget, end to end: what they export is what
tools/analysis_tools/complexity.py measures within the budget."""
import json
import re

import numpy as np
import pytest
from mmengine.config import Config

from mmista.analysis import measure_edge_costs
from mmista.structures import CELL_TYPES, Genotype
from ..utils import REPO_ROOT, run_tool
from .test_onestage_imagenet import imagenet_root  # noqa: F401

DIGITS_BUDGET = f'{REPO_ROOT}/configs/ista/onestage_digits_budget.py'
MOBILE = f'{REPO_ROOT}/configs/ista/onestage_imagenet_mobile.py'
TWOSTAGE_DIGITS = f'{REPO_ROOT}/configs/ista/twostage_digits.py'
# A 4-cell, C = 4 network on 96 digits: 2 search epochs, 1 of evaluation
# training.
TINY_NET = dict(channels=4, layers=4)
DIGITS_OPTIONS = [
    'model.backbone.channels=4', 'model.backbone.layers=4',
    'model.head.in_channels=64',
    'model.head.aux_in_channels=64', 'train_dataloader.batch_size=32',
    'train_dataloader.dataset.indices=96', 'val_dataloader.dataset.indices=64',
    'train_cfg.max_epochs=3', 'train_cfg.val_interval=3',
    'train_cfg.stages.termination.max_search_epochs=2',
    'train_cfg.stages.export.check_learned=False',
    'train_cfg.stages.phase_switch.eval_epochs=1',
    'default_hooks.logger.interval=1'
]
BUDGET_LINE = re.compile(r'Resource budget after epoch (\d+): derived network '
                         r'params ([\d,]+)(?: / ([\d,]+))?, flops ([\d,]+)')


def complexity(config):
    return json.loads(
        run_tool('tools/analysis_tools/complexity.py',
                 str(config)).stdout.strip().splitlines()[-1])


def budget_lines(log):
    return [(int(m[0]), int(m[1].replace(',', '')), int(m[3].replace(',', '')))
            for m in BUDGET_LINE.findall(log)]


def reachable_ends(costs, metric):
    """The cheapest and the most expensive reachable network's cost in one
    metric of ``costs`` (an EdgeCosts)."""
    column = costs.metrics.index(metric)
    ends = []
    for pick in (slice(None, 2), slice(-2, None)):
        ends.append(costs.fixed[column] + sum(
            np.sort(costs.candidate_costs(c, j)[:, column])[pick].sum()
            for c in CELL_TYPES for j in range(4)))
    return ends


def binding_bound(model_cfg, metric, shape=None, at=.2):
    """A bound ``at`` of the way from the cheapest reachable network to the
    most expensive one: most searches' top-2 edges exceed it."""
    ends = reachable_ends(measure_edge_costs(model_cfg, shape=shape), metric)
    return int(ends[0] + at * (ends[1] - ends[0]))


def exported_cfg(config, backbone, head):
    """The classifier a one-stage search of ``config`` exports."""
    cfg = Config.fromfile(config).model.to_dict()
    cfg['head'].update(head)
    cfg['head'].pop('cal_acc', None)
    return dict(
        type='ImageClassifier',
        backbone=dict(
            type='DerivedNet',
            stem=cfg['backbone']['stem'],
            bn_append=True,
            genotype='ista_onestage_cifar10',
            **backbone),
        head=cfg['head'])


@pytest.fixture(scope='module')
def digits_bound():
    return binding_bound(
        exported_cfg(DIGITS_BUDGET, TINY_NET,
                     dict(in_channels=64, aux_in_channels=64)), 'params')


@pytest.fixture(scope='module')
def digits_search(tmp_path_factory, digits_bound):
    work_dir = tmp_path_factory.mktemp('budget') / 'full'
    proc = run_tool('tools/train.py', DIGITS_BUDGET, '--work-dir',
                    str(work_dir), '--cfg-options', *DIGITS_OPTIONS,
                    f'train_cfg.stages.recovery.budget.params={digits_bound}')
    return work_dir, proc.stdout + proc.stderr


def test_digits_export_is_within_the_budget(digits_search, digits_bound):
    work_dir, log = digits_search
    assert f'Resource budget (select): params <= {digits_bound:,}' in log
    lines = budget_lines(log)
    assert [epoch for epoch, _, _ in lines] == [0, 1, 2]
    assert all(params <= digits_bound for _, params, _ in lines)
    # the budget changed the search (the top-2 edges would not fit)
    assert 'nodes changed by the budget' in log
    measured = complexity(work_dir / 'export' / 'config.py')
    assert measured['params'] <= digits_bound
    # what the search promised after its last recovery is what the tool
    # measures on the export
    assert (measured['params'], measured['flops']) == lines[-1][1:]
    scalars = next(work_dir.glob('*/vis_data/scalars.json')).read_text()
    records = [json.loads(line) for line in scalars.splitlines()]
    params = [r['arch/params'] for r in records if 'arch/params' in r]
    assert len(params) == 3 and max(params) <= digits_bound
    assert any('arch/flops' in r for r in records)


def test_digits_budget_survives_resume(digits_search, digits_bound, tmp_path):
    full, _ = digits_search
    parts = tmp_path / 'parts'
    options = [
        *DIGITS_OPTIONS,
        f'train_cfg.stages.recovery.budget.params={digits_bound}'
    ]
    run_tool('tools/train.py', DIGITS_BUDGET, '--work-dir', str(parts),
             '--cfg-options', *options, 'train_cfg.max_epochs=1')
    proc = run_tool('tools/train.py', DIGITS_BUDGET, '--work-dir', str(parts),
                    '--resume', '--cfg-options', *options)
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 1' in log
    restored = re.search(
        r'Architecture state restored .* derived network: '
        rf'params ([\d,]+) / {digits_bound:,}', log)
    assert restored and int(restored[1].replace(',', '')) <= digits_bound
    assert Genotype.from_json(parts / 'export' / 'genotype.json') == \
        Genotype.from_json(full / 'export' / 'genotype.json')


def test_reject_policy_keeps_the_export_within_the_budget(
        digits_bound, tmp_path):
    work_dir = tmp_path / 'reject'
    proc = run_tool('tools/train.py', DIGITS_BUDGET, '--work-dir',
                    str(work_dir), '--cfg-options', *DIGITS_OPTIONS,
                    f'train_cfg.stages.recovery.budget.params={digits_bound}',
                    'train_cfg.stages.recovery.budget.policy=reject')
    log = proc.stdout + proc.stderr
    assert 'Resource budget (reject)' in log
    assert all(params <= digits_bound for _, params, _ in budget_lines(log))
    measured = complexity(work_dir / 'export' / 'config.py')
    assert measured['params'] <= digits_bound


def test_unreachable_budget_stops_with_the_cheapest_cost(tmp_path):
    proc = run_tool(
        'tools/train.py',
        f'{REPO_ROOT}/configs/ista/onestage_digits.py',
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        'train_cfg.stages.recovery.budget.params=17000',
        check=False)
    assert proc.returncode != 0
    # the demo's network: 15,458 fixed plus the two cheapest edges per node
    assert ('error: no choice of supports fits the budget (params <= '
            '17,000): the cheapest reachable network costs params 17,122'
            ) in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_twostage_budget_counts_the_evaluation_network(tmp_path):
    network = f'{REPO_ROOT}/configs/nets/ista_twostage_digits.py'
    bound = binding_bound(Config.fromfile(network).model.to_dict(), 'flops')
    config = tmp_path / 'twostage_budget.py'
    config.write_text(f'_base_ = [{TWOSTAGE_DIGITS!r}]\n'
                      'model = dict(backbone=dict(channels=4, layers=3), '
                      'head=dict(in_channels=64))\n'
                      'train_dataloader = dict(batch_size=16, '
                      'dataset=dict(dataset=dict(indices=96)))\n'
                      'arch_dataloader = dict(batch_size=16, '
                      'dataset=dict(dataset=dict(indices=96)))\n'
                      'val_dataloader = dict(dataset=dict(indices=32))\n'
                      'train_cfg = dict(max_epochs=2, val_interval=2)\n'
                      "custom_hooks = [dict(type='ArchitectureRecoveryHook', "
                      f'budget=dict(flops={bound}, network={network!r}))]\n')
    work_dir = tmp_path / 'work'
    proc = run_tool('tools/train.py', str(config), '--work-dir', str(work_dir))
    log = proc.stdout + proc.stderr
    # the evaluation network (5 cells, C = 8), not the super-net (3, 4)
    assert 'DerivedNet(stem=cifar, channels=8, layers=5) at 32x32' in log
    lines = budget_lines(log)
    assert len(lines) == 3 and all(f <= bound for _, _, f in lines)
    eval_config = tmp_path / 'eval_config.py'
    run_tool('tools/genotype_to_config.py', str(work_dir / 'genotype.json'),
             '--base', network, '--out', str(eval_config))
    measured = complexity(eval_config)
    assert measured['flops'] <= bound
    assert (measured['params'], measured['flops']) == lines[-1][1:]


def test_mobile_config_bounds_the_published_network():
    cfg = Config.fromfile(MOBILE)
    assert cfg.train_cfg.stages.recovery.budget == dict(flops=600_000_000)
    published = Config.fromfile(
        f'{REPO_ROOT}/configs/nets/ista_onestage_imagenet.py')
    costs = measure_edge_costs(published.model.to_dict())
    assert costs.input_shape == (1, 3, 224, 224)
    cheapest = costs.fixed[1] + sum(
        np.sort(costs.candidate_costs(c, j)[:, 1])[:2].sum()
        for c in CELL_TYPES for j in range(4))
    # reachable, and binding for the published cell (632M)
    assert cheapest < 600_000_000 < complexity(
        'configs/nets/ista_onestage_imagenet.py')['flops']


def test_mobile_config_at_tiny_scale(imagenet_root, tmp_path):  # noqa: F811
    bound = binding_bound(
        exported_cfg(MOBILE, dict(channels=8, layers=4),
                     dict(in_channels=128, aux_in_channels=128)), 'flops')
    data = []
    for loader in ('train_dataloader', 'val_dataloader'):
        data += [
            f'{loader}.dataset.data_root={imagenet_root}',
            f'{loader}.batch_size=4', f'{loader}.num_workers=0'
        ]
    work_dir = tmp_path / 'work'
    proc = run_tool('tools/train.py', MOBILE, '--work-dir', str(work_dir),
                    '--cfg-options', *data, 'model.backbone.channels=8',
                    'model.backbone.layers=4',
                    'model.head.in_channels=128',
                    'model.head.aux_in_channels=128', 'train_cfg.max_epochs=2',
                    'train_cfg.stages.termination.max_search_epochs=1',
                    'train_cfg.stages.export.check_learned=False',
                    'train_cfg.stages.phase_switch.eval_epochs=1',
                    f'train_cfg.stages.recovery.budget.flops={bound}')
    log = proc.stdout + proc.stderr
    assert 'at 224x224' in log
    lines = budget_lines(log)
    assert lines and all(f <= bound for _, _, f in lines)
    measured = complexity(work_dir / 'export' / 'config.py')
    assert measured['input_shape'] == [1, 3, 224, 224]
    assert measured['flops'] <= bound
    assert (measured['params'], measured['flops']) == lines[-1][1:]
