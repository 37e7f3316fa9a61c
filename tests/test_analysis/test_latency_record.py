# Copyright (c) mmista contributors. All rights reserved.
"""The latency record of an export: predicted always, measured only on the
table's device, refused for a table of another network."""
import dataclasses
import json

import pytest
from mmengine.config import Config

from mmista.analysis.edge_costs import network_description
from mmista.analysis.latency_record import (deployed_against_budget,
                                            describe_latency_record,
                                            export_latency_record)
from mmista.analysis.latency_timing import this_device
from mmista.architecture import LatencyTable, LatencyTableError, Timing
from mmista.structures import CANDIDATE_OPS, CELL_TYPES, get_genotype
from ..utils import DIGITS_EVAL_CONFIG

SHAPE = (1, 3, 16, 16)


def tiny_model_cfg() -> dict:
    """3 cells of C = 4 (reductions at 1 and 2), BN-appended ops."""
    model = Config.fromfile(DIGITS_EVAL_CONFIG).model.to_dict()
    model['backbone'].update(channels=4, layers=3)
    model['head'].update(in_channels=64, aux_in_channels=64)
    return model


def tiny_table(model_cfg, device=None) -> LatencyTable:
    """A table for the tiny network whose op ``i`` costs ``0.1 (i + 1)``
    ms (no timing: the record's prediction is only the table's sum)."""
    edges = {
        cell: {
            (op, source): Timing.of([0.1 * (i + 1)])
            for i, op in enumerate(CANDIDATE_OPS)
            for source in (0, 1)
        }
        for cell in CELL_TYPES
    }
    return LatencyTable(
        device=device or this_device('pytorch', 'cpu', 1, 1),
        network=network_description(model_cfg, SHAPE),
        input_shape=SHAPE,
        fixed=Timing.of([2.0]),
        edges=edges)


def expected_prediction(genotype) -> float:
    return 2.0 + sum(0.1 * (CANDIDATE_OPS.index(op) + 1) for cell in CELL_TYPES
                     for op, _ in getattr(genotype, cell))


@pytest.mark.parametrize('budget_ms', [1e6, 1e-3])
def test_measured_on_the_tables_device(budget_ms):
    model_cfg = tiny_model_cfg()
    genotype = get_genotype(model_cfg['backbone']['genotype'])
    table = tiny_table(model_cfg)
    record = export_latency_record(
        model_cfg, genotype, table, budget_ms=budget_ms, warmup=1, repeats=3)
    assert record['predicted_ms'] == pytest.approx(
        expected_prediction(genotype))
    assert record['network'] == table.network
    assert record['table']['device_description'] == table.device.describe()
    measured = record['measured']
    assert measured['count'] == 3
    assert 0 < measured['median_ms'] <= measured['p90_ms']
    assert (measured['runtime'], measured['threads'],
            measured['batch']) == ('pytorch', 1, 1)
    assert measured['input_shape'] == list(SHAPE)
    within = budget_ms > 1
    assert record['within_budget'] is within
    assert record['predicted_within_budget'] is within
    assert record['not_measured'] is None
    json.dumps(record)  # JSON-ready
    line = describe_latency_record(record)
    assert line.startswith(
        f'Exported network latency: predicted {record["predicted_ms"]:.2f} '
        f'ms, measured {measured["median_ms"]:.2f} ms (median, p90 '
        f'{measured["p90_ms"]:.2f}) on {table.device.describe()}; budget ')
    assert line.endswith(': within') is within
    assert ('exceeds the budget by' in line) is not within


def test_other_device_is_predicted_not_measured():
    model_cfg = tiny_model_cfg()
    genotype = get_genotype(model_cfg['backbone']['genotype'])
    elsewhere = dataclasses.replace(
        this_device('pytorch', 'cpu', 1, 1), processor='another cpu')
    record = export_latency_record(
        model_cfg,
        genotype,
        tiny_table(model_cfg, elsewhere),
        budget_ms=0.5,
        export_dir='work/export')
    assert record['measured'] is None and record['within_budget'] is None
    assert record['predicted_within_budget'] is False
    assert record['predicted_ms'] == pytest.approx(
        expected_prediction(genotype))
    reason = record['not_measured']
    assert "processor 'another cpu'" in reason
    assert ('tools/deployment/convert.py work/export --time --threads 1 '
            '--time-batch 1') in reason
    assert record['table']['device']['processor'] == 'another cpu'
    line = describe_latency_record(record)
    assert 'budget 0.50 ms: predicted over it; not measured here (' in line


def test_table_of_another_network_is_refused():
    model_cfg = tiny_model_cfg()
    genotype = get_genotype(model_cfg['backbone']['genotype'])
    two_stage = dict(model_cfg, backbone=dict(model_cfg['backbone']))
    two_stage['backbone']['bn_append'] = False  # no BatchNorm appended
    with pytest.raises(LatencyTableError) as error:
        export_latency_record(model_cfg, genotype, tiny_table(two_stage))
    message = str(error.value)
    assert '\n' not in message
    assert 'layers=3) at 16x16' in message
    assert 'layers=3, bn_append) at 16x16' in message


def test_converted_file_against_the_budget():
    """A converted file timed as the table's device times compares with
    the budget (within, or over it with the excess and what to do); timed
    otherwise, or without a budget, it does not."""
    model_cfg = tiny_model_cfg()
    genotype = get_genotype(model_cfg['backbone']['genotype'])
    record = export_latency_record(
        model_cfg, genotype, tiny_table(model_cfg), budget_ms=2.0,
        measure=False)
    within = deployed_against_budget(record, 'pytorch', 1, 1, 1.5)
    assert within['within_budget'] is True
    assert (within['budget_ms'], within['median_ms']) == (2.0, 1.5)
    assert within['line'].startswith(
        "the search's latency budget 2.000 ms (latency.json: predicted "
        f'{record["predicted_ms"]:.3f} ms): this file\'s median 1.500 ms is '
        'within it')
    over = deployed_against_budget(record, 'pytorch', 1, 1, 2.5)
    assert over['within_budget'] is False
    assert 'over it by 25.0%; search again with a lower latency_ms' in \
        over['line']
    # another runtime, thread count or batch: not comparable
    assert deployed_against_budget(record, 'pytorch', 2, 1, 1.5) is None
    assert deployed_against_budget(record, 'pytorch', 1, 4, 1.5) is None
    elsewhere = dict(record, table=dict(
        record['table'],
        device=dict(record['table']['device'], processor='another cpu')))
    assert deployed_against_budget(elsewhere, 'pytorch', 1, 1, 1.5) is None
    unbounded = dict(record, budget_ms=None)
    assert deployed_against_budget(unbounded, 'pytorch', 1, 1, 1.5) is None
