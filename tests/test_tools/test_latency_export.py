# Copyright (c) mmista contributors. All rights reserved.
"""A one-stage search under a latency bound exports ``latency.json``: the
table's prediction for the exported network and, the table being measured
on this machine, the network measured here against the bound."""
import json
import re

import pytest
from mmengine.config import Config

from mmista.analysis.edge_costs import network_description
from mmista.architecture import LatencyTable, edges_of_genotype
from mmista.structures import Genotype
from ..utils import REPO_ROOT, run_tool
from .test_budget_search import DIGITS_OPTIONS

DIGITS_BUDGET = f'{REPO_ROOT}/configs/ista/onestage_digits_budget.py'
BUDGET = 'train_cfg.stages.recovery.budget'
LINE = re.compile(r'Exported network latency: predicted ([\d.]+) ms, '
                  r'measured ([\d.]+) ms \(median, p90 ([\d.]+)\) on '
                  r'pytorch on cpu .*; budget 1000.00 ms: within')


def test_search_exports_its_latency(tmp_path):
    work_dir = tmp_path / 'work'
    proc = run_tool('tools/train.py', DIGITS_BUDGET, '--work-dir',
                    str(work_dir), '--cfg-options', *DIGITS_OPTIONS,
                    f'{BUDGET}.latency_ms=1000',
                    f'{BUDGET}.latency_table.runtime=pytorch',
                    f'{BUDGET}.latency_table.warmup=0',
                    f'{BUDGET}.latency_table.repeats=1',
                    'train_cfg.stages.export.latency_warmup=1',
                    'train_cfg.stages.export.latency_repeats=3')
    log = proc.stdout + proc.stderr
    export = work_dir / 'export'
    record = json.loads((export / 'latency.json').read_text())
    table = LatencyTable.load(str(work_dir / 'latency_table.json'))
    genotype = Genotype.from_json(str(export / 'genotype.json'))
    assert record['predicted_ms'] == table.predict(edges_of_genotype(genotype))
    exported = Config.fromfile(str(export / 'config.py')).model.to_dict()
    assert record['network'] == table.network == network_description(
        exported, table.input_shape)
    assert 'bn_append' in record['network']
    assert record['budget_ms'] == 1000.
    assert record['measured']['count'] == 3
    assert record['within_budget'] is True and record['not_measured'] is None
    line = LINE.search(log)
    assert line, log[-3000:]
    assert float(line[1]) == round(record['predicted_ms'], 2)
    assert float(line[2]) == round(record['measured']['median_ms'], 2)

    # the converted file, timed as the table's device times, against the
    # search's budget
    proc = run_tool('tools/deployment/convert.py', str(export),
                    '--formats', 'torch_export', '--time', '--warmup', '1',
                    '--repeats', '3')
    timing = json.loads(proc.stdout.strip().splitlines()[-1])['timings']
    check = timing['torch_export']['budget']
    assert check == dict(budget_ms=1000., median_ms=pytest.approx(
        timing['torch_export']['median_ms']), within_budget=True)
    assert ("torch_export: the search's latency budget 1000.000 ms "
            '(latency.json: predicted') in proc.stdout
    # and again in turn with the network as the table times it
    pair = timing['torch_export']['beside_network']
    assert pair['file']['count'] == pair['network']['count'] == 3
    assert pair['file']['median_ms'] > 0 and pair['network']['median_ms'] > 0
    assert ('torch_export: timed in turn with the network as the latency '
            'table times it: this file ') in proc.stdout
