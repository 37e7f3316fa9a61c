# Copyright (c) mmista contributors. All rights reserved.
"""tools/analysis_tools/benchmark_run.py at tiny size (4 cells of C = 4,
96 digits, one search epoch and one evaluation epoch, one pair of runs):
the report's figures come from its rows, the retrain trains the exported
genotype at the search's size and length (no timing is asserted; machines
here are shared)."""
import glob
import json
import os.path as osp

import pytest
from mmengine.config import Config

from mmista.structures import get_genotype
from ..utils import ONESTAGE_DIGITS, TINY_ONESTAGE, run_tool

TOOL = 'tools/analysis_tools/benchmark_run.py'
ITER_FIGURES = ('iter_s', 'step_s', 'hooks_s', 'data_s')
# both phases validate
OPTIONS = TINY_ONESTAGE + ['train_cfg.val_interval=1']
# Four runs' worth of processes in a row: one thread each, so that a busy
# machine does not stall them (two threads on one free core wait on each
# other).
THREADS = 1


@pytest.fixture(scope='module')
def tiny_bench(tmp_path_factory):
    """The work dir and the report of one tiny pair of runs."""
    root = tmp_path_factory.mktemp('benchmark_run')
    proc = run_tool(TOOL, ONESTAGE_DIGITS, '--repeats', '1', '--work-dir',
                    str(root), '--cfg-options', *OPTIONS,
                    threads=THREADS)
    return root, json.loads(proc.stdout)


def test_rows_hold_both_phases_and_the_retrain(tiny_bench):
    root, report = tiny_bench
    assert report['config']['order'] == ['search_0', 'retrain_0']
    search, retrain = report['runs']
    assert (search['kind'], retrain['kind']) == ('search', 'retrain')
    for row in (search, retrain):
        assert 0 < row['train_s'] < row['wall_s']
        assert row['startup_s'] == row['wall_s'] - row['train_s']
        assert row['validation_s'] > 0
        assert row['iters_per_epoch'] == 3  # 96 digits, batch 32
        for phase in row['phases'].values():
            assert all(phase[key] > 0 for key in ITER_FIGURES)
            assert phase['iters'] > 0 and phase['validations'] >= 1
    # one search epoch, one evaluation epoch; the retrain trains both
    assert list(search['phases']) == ['search', 'evaluation']
    assert [p['epochs'] for p in search['phases'].values()] == [1, 1]
    assert (search['epochs'], search['fixed_epoch']) == (2, 1)
    assert list(retrain['phases']) == ['train']
    assert retrain['phases']['train']['epochs'] == retrain['epochs'] == 2
    assert search['boundary']['recovery'] > 0
    assert search['boundary']['drawings'] > 0
    assert search['boundary']['export'] > 0
    assert retrain['boundary']['recovery'] == 0
    assert retrain['boundary']['export'] == 0
    assert all(row['boundary']['checkpoint'] > 0 for row in report['runs'])
    assert report['warnings'] == []


def test_ratios_are_computed_from_the_rows(tiny_bench):
    _, report = tiny_bench
    search, retrain = report['runs']
    # exact: the tool prints these very floats; one run per kind, so the
    # medians are the rows' values
    assert report['run_over_retrain'] == search['wall_s'] / retrain['wall_s']
    assert report['run_over_retrain_pairs'] == [report['run_over_retrain']]
    base = retrain['phases']['train']
    for phase in ('search', 'evaluation'):
        row = search['phases'][phase]
        assert report[f'{phase}_iter_over_retrain'] == \
            row['iter_s'] / base['iter_s']
        assert report[f'{phase}_step_over_retrain'] == \
            row['step_s'] / base['step_s']
    targets = report['targets']
    assert set(targets) == {
        'run_over_retrain', 'evaluation_iter_over_retrain',
        'search_iter_over_retrain'
    }
    assert targets['run_over_retrain']['max'] == 1.05
    assert targets['evaluation_iter_over_retrain']['max'] == 1.02
    for key, target in targets.items():
        assert target['value'] == report[key]
        assert target['holds'] == (target['value'] <= target['max'])
    estimate = report['cifar10_estimate']
    assert estimate['epochs'] == dict(search=120, evaluation=600)
    assert estimate['iterations_only'] == pytest.approx(
        (120 * report['search_iter_over_retrain'] +
         600 * report['evaluation_iter_over_retrain']) / 720)
    assert estimate['with_epoch_boundaries'] > 0
    hooks = report['iteration_hooks']
    assert set(hooks['search']) == {'search', 'evaluation'}
    assert hooks['retrain']['train']['hooks_ms'] == \
        1e3 * base['hooks_s']
    assert 'LoggerHook.after_train_iter' in \
        hooks['search']['evaluation']['by_hook_ms']
    assert report['epoch_boundaries']['search']['by_phase']['search'][
        'termination'] > 0


def test_retrain_config_trains_the_exported_genotype(tiny_bench):
    root, report = tiny_bench
    path = report['config']['retrain_config']
    assert path == str(root / 'retrain_config.py')
    cfg = Config.fromfile(path)
    exported = get_genotype(str(root / 'search_0' / 'export' /
                                'genotype.json'))
    assert get_genotype(cfg.model.backbone.genotype) == exported
    assert report['runs'][0]['genotype'] == exported.to_dict()
    assert cfg.model.backbone.type == 'DerivedNet'
    assert (cfg.model.backbone.channels, cfg.model.backbone.layers) == (4, 4)
    assert cfg.train_cfg.max_epochs == 2  # the search run's epochs
    assert cfg.train_cfg.val_interval == 1
    assert cfg.default_hooks.logger.interval == 1
    assert cfg.param_scheduler.T_max == 2
    assert cfg.train_dataloader.dataset.indices == 96
    assert cfg.val_dataloader.dataset.indices == 64
    # the checkpoints are deleted (no --keep), the export and profiles kept
    assert glob.glob(str(root / '*' / '*.pth')) == []
    assert osp.isfile(root / 'search_0' / 'export' / 'model.pth')
    assert osp.isfile(root / 'retrain_0' / 'run_profile.json')


def test_refuses_a_config_that_is_not_a_onestage_search(tmp_path):
    proc = run_tool(TOOL, 'configs/nets/ista_onestage_digits.py',
                    '--work-dir', str(tmp_path), check=False,
                    threads=THREADS)
    assert proc.returncode != 0
    assert 'is not a one-stage search' in proc.stderr
    assert 'Traceback' not in proc.stderr
    proc = run_tool(
        TOOL, 'configs/ista/no_such.py', check=False, threads=THREADS)
    assert proc.returncode != 0
    assert 'config file not found: configs/ista/no_such.py' in proc.stderr


def test_a_failed_run_names_its_log(tmp_path):
    proc = run_tool(
        TOOL,
        ONESTAGE_DIGITS,
        '--repeats',
        '1',
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        *OPTIONS,
        'train_cfg.stages.recovery.type=NoSuchHook',
        check=False,
        threads=THREADS)
    assert proc.returncode != 0
    log = tmp_path / 'search_0.log'
    assert f'error: the search run 0 failed (exit status 1): see its log ' \
        f'{log}' in proc.stderr
    assert 'NoSuchHook' in log.read_text()
    assert 'Traceback' not in proc.stderr
