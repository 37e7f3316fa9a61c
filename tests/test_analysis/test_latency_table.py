# Copyright (c) mmista contributors. All rights reserved.
"""Latency tables built on this machine: every entry, probes predicted as
the fixed part defines them, files, and the tool as a user types it."""
import copy
import dataclasses
import json
import math

import numpy as np
import pytest
from mmengine.config import Config

from mmista.analysis.latency_measurement import (build_latency_table,
                                                 sum_timings)
from mmista.analysis.latency_timing import (measure_network_latency,
                                            this_device, time_module)
from mmista.architecture import LatencyTable, Timing, edges_of_genotype
from mmista.errors import ConfigError
from mmista.structures import CANDIDATE_OPS, CELL_TYPES, Genotype
from ..utils import DIGITS_EVAL_CONFIG, REPO_ROOT, run_tool

try:
    import onnxruntime  # noqa: F401
    RUNTIMES = ['pytorch', 'onnxruntime']
except ImportError:  # pragma: no cover
    RUNTIMES = ['pytorch']

# 3 cells of C = 4 (reductions at 1 and 2).
TINY = [
    'model.backbone.channels=4', 'model.backbone.layers=3',
    'model.head.in_channels=64', 'model.head.aux_in_channels=64'
]


def tiny_model_cfg() -> dict:
    cfg = Config.fromfile(DIGITS_EVAL_CONFIG)
    model = cfg.model.to_dict()
    model['backbone'].update(channels=4, layers=3)
    model['head'].update(in_channels=64, aux_in_channels=64)
    return model


@pytest.fixture(scope='module', params=RUNTIMES)
def table(request):
    return build_latency_table(
        tiny_model_cfg(), runtime=request.param, warmup=1, repeats=3)


def test_every_entry_is_timed(table):
    assert table.method == 'ops'
    assert table.input_shape == (1, 3, 32, 32)
    assert table.network == ('DerivedNet(stem=cifar, channels=4, layers=3, '
                             'bn_append) at 32x32')
    assert table.device == this_device(table.device.runtime, 'cpu', 1, 1)
    for cell in CELL_TYPES:
        assert len(table.edges[cell]) == 2 * len(CANDIDATE_OPS)
        for timing in table.edges[cell].values():
            assert timing.count == 3
            assert math.isfinite(timing.median_ms) and timing.median_ms >= 0
            assert timing.std_ms >= 0
    assert math.isfinite(table.fixed.median_ms)
    assert table.fixed.count == 15
    notes = table.notes
    assert notes['warmup'] == 1 and notes['repeats'] == 3
    assert notes['network_repeats'] == 15
    assert notes['overhead_subtracted'] is True
    assert notes['overhead']['count'] == 3
    assert notes['seconds'] > 0
    # identical ops of the cells of one stage are timed once
    assert 0 < notes['ops_timed'] < 2 * 8 * 3


def test_probes_are_predicted_as_the_fixed_part_defines(table):
    probes = table.notes['probes']
    assert len(probes) == 2
    fixed = [p['measured_ms'] - p['edges_ms'] for p in probes]
    assert table.fixed.median_ms == pytest.approx(float(np.median(fixed)))
    errors = []
    for probe in probes:
        genotype = Genotype.from_dict(probe['genotype'])
        predicted = table.predict(edges_of_genotype(genotype))
        assert predicted == pytest.approx(
            probe['measured_ms'] + table.fixed.median_ms - probe['fixed_ms'])
        errors.append(predicted - probe['measured_ms'])
    # two probes: the median is their mean, the errors cancel
    assert sum(errors) == pytest.approx(0., abs=1e-9)
    # every probe cell reads both its inputs (nothing a runtime can drop)
    for probe in probes:
        for cell in CELL_TYPES:
            indices = {i for _, i in probe['genotype'][cell]}
            assert {0, 1} <= indices


def test_table_file_round_trips(table, tmp_path):
    path = str(tmp_path / 'table.json')
    table.save(path)
    loaded = LatencyTable.load(path)
    assert loaded.to_dict() == json.loads(json.dumps(table.to_dict()))
    assert loaded.fixed == table.fixed
    assert loaded.edges == table.edges


def test_sum_timings():
    total = sum_timings([Timing(1., 2., 3., 5), Timing(2., 3., 4., 4)])
    assert total == Timing(3., 5., 5., 4)


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_whole_network_latency(runtime):
    model_cfg = tiny_model_cfg()
    timing = measure_network_latency(
        model_cfg, runtime, 'cpu', 1, batch=2, warmup=1, repeats=3)
    assert timing.count == 3 and timing.median_ms > 0


def test_time_module_restores_threads():
    import torch
    before = torch.get_num_threads()
    timing = time_module(
        torch.nn.ReLU(), torch.zeros(1, 4, 8, 8), 'pytorch', 'cpu',
        before + 1, 0, 2)
    assert timing.count == 2
    assert torch.get_num_threads() == before


def test_not_derived_is_refused():
    model_cfg = tiny_model_cfg()
    other = copy.deepcopy(model_cfg)
    other['backbone']['type'] = 'ResNet'
    with pytest.raises(ConfigError, match='DerivedNet'):
        build_latency_table(other, runtime='pytorch', warmup=0, repeats=1)


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_tool_writes_the_table(runtime, tmp_path):
    out = tmp_path / 'table.json'
    proc = run_tool('tools/analysis_tools/latency_table.py',
                    'configs/nets/ista_onestage_digits.py', '--out',
                    str(out), '--runtime', runtime, '--warmup', '1',
                    '--repeats', '3', '--input-size', '16', '--cfg-options',
                    *TINY)
    assert 'fixed part:' in proc.stdout
    assert f'{runtime} on cpu' in proc.stdout
    table = LatencyTable.load(str(out))
    assert table.input_shape == (1, 3, 16, 16)
    assert table.device.runtime == runtime


def test_tool_takes_a_onestage_search_config(tmp_path):
    out = tmp_path / 'table.json'
    run_tool('tools/analysis_tools/latency_table.py',
             'configs/ista/onestage_digits.py', '--out', str(out),
             '--runtime', 'pytorch', '--warmup', '0', '--repeats', '1',
             '--cfg-options', 'model.backbone.channels=4',
             'model.backbone.layers=3')
    assert LatencyTable.load(str(out)).network.startswith(
        'DerivedNet(stem=cifar, channels=4, layers=3, bn_append) at ')


@pytest.mark.parametrize('config, message', [
    ('configs/nets/missing.py', 'not found'),
    ('configs/ista/twostage_digits.py', 'pass a configs/nets config'),
    (f'{REPO_ROOT}/configs/nets/ista_onestage_digits.py', 'DerivedNet'),
])
def test_tool_errors_are_one_line(config, message, tmp_path):
    options = ['model.backbone.type=ResNet'] if 'DerivedNet' in message \
        else []
    args = ['--cfg-options', *options] if options else []
    proc = run_tool(
        'tools/analysis_tools/latency_table.py',
        config,
        '--out',
        str(tmp_path / 'table.json'),
        *args,
        check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith('error: ') and message in lines[-1]
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'table.json').exists()


def test_a_negative_fixed_part_is_doubted(table):
    """A sound table has no doubts; one whose ops add up to more than the
    whole networks says what to do."""
    sound = dataclasses.replace(
        table, fixed=dataclasses.replace(table.fixed, median_ms=.5))
    assert sound.doubts() == []
    doubtful = dataclasses.replace(
        table, fixed=dataclasses.replace(table.fixed, median_ms=-.2))
    (doubt, ) = doubtful.doubts()
    assert 'fixed part is negative (-0.200 ms)' in doubt
    assert 'latency_check.py --corrected' in doubt
