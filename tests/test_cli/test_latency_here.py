# Copyright (c) mmista contributors. All rights reserved.
"""``--measure-latency-table``: every latency budget of a config measures
its table where the search runs, with the settings of the table the config
names."""
import pytest
from mmengine.config import Config

from mmista.architecture import LatencyTable
from mmista.cli.latency_here import config_budgets, measure_latency_here
from mmista.errors import ConfigError
from ..utils import REPO_ROOT

DIGITS_LATENCY = f'{REPO_ROOT}/configs/ista/onestage_digits_latency.py'
SHIPPED_TABLE = (f'{REPO_ROOT}/configs/latency_tables/'
                 'onestage_digits_onnxruntime_1thread.json')


def test_one_stage_budget_takes_the_shipped_tables_settings():
    cfg = Config.fromfile(DIGITS_LATENCY)
    lines = measure_latency_here(cfg)
    table = LatencyTable.load(SHIPPED_TABLE)
    spec = cfg.train_cfg.stages.recovery.budget.latency_table
    assert spec == dict(
        runtime=table.device.runtime,
        device=table.device.device,
        threads=table.device.threads,
        batch=table.device.batch,
        warmup=table.notes['warmup'],
        repeats=table.notes['repeats'])
    assert spec['runtime'] == 'onnxruntime' and spec['threads'] == 1
    # the bound is the config's
    assert cfg.train_cfg.stages.recovery.budget.latency_ms == 0.51
    assert len(lines) == 1
    assert lines[0].startswith('train_cfg.stages.recovery.budget.'
                               'latency_table: measured on this machine')
    assert 'instead of reading ../latency_tables/' in lines[0]


def test_two_stage_hook_budget_and_a_table_already_measured(tmp_path):
    table = LatencyTable.load(SHIPPED_TABLE)
    (tmp_path / 'table.json').write_text(open(SHIPPED_TABLE).read())
    config = tmp_path / 'search.py'
    config.write_text(
        'custom_hooks = [\n'
        "    dict(type='mmista.ArchitectureRecoveryHook',\n"
        "         budget=dict(latency_ms=1.0, latency_table='table.json')),\n"
        "    dict(type='ArchitectureRecoveryHook',\n"
        '         budget=dict(latency_ms=1.0,\n'
        "                     latency_table=dict(runtime='pytorch'))),\n"
        "    dict(type='EMAHook'),\n"
        ']\n')
    cfg = Config.fromfile(str(config))
    lines = measure_latency_here(cfg)
    assert [key for key, _ in config_budgets(cfg)] == [
        'custom_hooks[0].budget', 'custom_hooks[1].budget'
    ]
    # found beside the config
    assert cfg.custom_hooks[0].budget.latency_table['runtime'] == \
        table.device.runtime
    assert cfg.custom_hooks[1].budget.latency_table == dict(runtime='pytorch')
    assert 'as the config says' in lines[1]


def test_config_without_a_latency_budget_is_refused():
    cfg = Config(
        dict(train_cfg=dict(
            stages=dict(recovery=dict(budget=dict(params=1000))))))
    with pytest.raises(ConfigError, match='has no latency budget'):
        measure_latency_here(cfg)


def test_missing_or_broken_table_file_says_what_to_give(tmp_path):
    config = tmp_path / 'search.py'
    config.write_text('train_cfg = dict(stages=dict(recovery=dict(budget=dict('
                      "latency_ms=1.0, latency_table='nowhere.json'))))\n")
    cfg = Config.fromfile(str(config))
    with pytest.raises(ConfigError, match="is not a file.*runtime="):
        measure_latency_here(cfg)
    (tmp_path / 'nowhere.json').write_text('{"version": ')
    with pytest.raises(ConfigError, match='--measure-latency-table'):
        measure_latency_here(cfg)
