# Copyright (c) mmista contributors. All rights reserved.
"""A latency bound in the resource budget: the costs a table adds, exact
selection with latency alone and with params, the config keys and their
errors."""
import json

import numpy as np
import pytest
from mmengine.config import Config

from mmista.analysis import measure_edge_costs
from mmista.analysis.latency_measurement import build_latency_table
from mmista.architecture import (METRICS, DeviceRecord, LatencyTable,
                                 LatencyTableError, ResourceBudget, Timing,
                                 edges_of_supports)
from mmista.engine.budget_builder import build_resource_budget
from mmista.errors import ConfigError
from mmista.registry import MODELS
from mmista.structures import CANDIDATE_OPS, CELL_TYPES
from ..utils import REPO_ROOT
from .test_resource_budget import (_Runner, architecture_with_b, supports_of,
                                   unconstrained_cost)

TWOSTAGE = f'{REPO_ROOT}/configs/ista/twostage_digits.py'
TWOSTAGE_NET = f'{REPO_ROOT}/configs/nets/ista_twostage_digits.py'


def tiny_net_cfg() -> dict:
    model = Config.fromfile(TWOSTAGE_NET).model.to_dict()
    model['backbone'].update(channels=4, layers=3)
    model['head'].update(in_channels=64, aux_in_channels=64)
    return model


def table_for(edge_costs, seed=0) -> LatencyTable:
    """A table of the costs' network with distinct, known entries."""
    rng = np.random.default_rng(seed)
    edges = {
        cell: {(op, s): Timing(float(rng.random() * 2), 0., 0., 3)
               for op in CANDIDATE_OPS for s in (0, 1)}
        for cell in CELL_TYPES
    }
    return LatencyTable(
        DeviceRecord('onnxruntime', 'cpu', 'some CPU', 1, 1),
        edge_costs.network, (1, *edge_costs.input_shape[1:]),
        Timing(1.5, 1.5, 0., 3), edges)


@pytest.fixture(scope='module')
def edge_costs():
    return measure_edge_costs(
        Config.fromfile(f'{REPO_ROOT}/configs/nets/ista_onestage_digits.py')
        .model.to_dict())


def test_with_latency_predicts_what_the_table_predicts(edge_costs):
    table = table_for(edge_costs)
    timed = edge_costs.with_latency(table)
    assert timed.metrics == METRICS and timed.has_latency
    assert not edge_costs.has_latency
    arch = architecture_with_b(1)
    arch.recover()
    supports = supports_of(arch)
    cost = timed.network_cost(supports)
    # params and flops unchanged, latency as the table adds it up
    np.testing.assert_array_equal(cost[:2], edge_costs.network_cost(supports))
    assert cost[2] == pytest.approx(
        table.predict(edges_of_supports(supports)), rel=1e-12)


def test_a_table_of_another_network_is_refused(edge_costs):
    table = table_for(edge_costs)
    table.network = table.network.replace('channels=8', 'channels=16')
    with pytest.raises(LatencyTableError, match='build a table for this'):
        edge_costs.with_latency(table)
    with pytest.raises(ValueError, match='needs a latency table'):
        ResourceBudget(edge_costs, latency_ms=3.)


@pytest.mark.parametrize('with_params', [False, True])
def test_latency_budget_selects_within_it(edge_costs, with_params):
    timed = edge_costs.with_latency(table_for(edge_costs, seed=2))
    arch = architecture_with_b(0)
    free = unconstrained_cost(arch, timed)
    latency = float(free[2] * .8)
    params = float(free[0] * .9) if with_params else None
    budget = ResourceBudget(timed, params=params, latency_ms=latency)
    assert budget.limit('latency_ms') == latency
    assert budget.limit('flops') is None
    decision = arch.recover(budget=budget).budget
    assert decision.proposed_cost[2] > latency
    cost = timed.network_cost(supports_of(arch))
    assert cost[2] <= latency * (1 + 1e-12)
    if with_params:
        assert cost[0] <= params
    assert any(decision.changed.values())
    described = budget.describe(cost)
    assert f'latency_ms {cost[2]:.3f} / {latency:.3f}' in described
    assert isinstance(budget.cost(supports_of(arch))['params'], int)


def test_config_measures_a_table_here_and_resume_reads_it(tmp_path):
    """``latency_table=dict(...)`` measures on this machine and saves the
    table; a resumed run reads the saved table instead of measuring."""
    cfg = Config.fromfile(TWOSTAGE)
    supernet = MODELS.build(dict(cfg.model.backbone, channels=4, layers=3))
    runner = _Runner(cfg)
    runner.work_dir = str(tmp_path)
    spec = dict(
        latency_ms=1e6,
        network=tiny_net_cfg(),
        latency_table=dict(runtime='pytorch', warmup=1, repeats=2))
    budget = build_resource_budget(runner, supernet, spec)
    saved = tmp_path / 'latency_table.json'
    table = LatencyTable.load(str(saved))
    assert budget.edge_costs.latency_table.to_dict() == table.to_dict()
    assert table.device.runtime == 'pytorch'
    # resumed: the saved table (edited, to tell it apart) is read back
    data = json.loads(saved.read_text())
    data['fixed']['median_ms'] = 123.
    saved.write_text(json.dumps(data))
    cfg.resume = True
    again = build_resource_budget(runner, supernet, spec)
    assert again.edge_costs.fixed[2] == 123.
    # a table file, relative to the search config
    (tmp_path / 'table.json').write_text(json.dumps(data))
    from_file = build_resource_budget(
        runner, supernet,
        dict(spec, latency_table=str(tmp_path / 'table.json')))
    assert from_file.edge_costs.fixed[2] == 123.


def test_latency_config_errors_are_actionable(tmp_path):
    cfg = Config.fromfile(TWOSTAGE)
    supernet = MODELS.build(dict(cfg.model.backbone, channels=4, layers=3))
    runner = _Runner(cfg)
    runner.work_dir = str(tmp_path)
    net = tiny_net_cfg()
    with pytest.raises(ValueError, match='needs a latency table'):
        build_resource_budget(runner, supernet,
                              dict(latency_ms=3., network=net))
    with pytest.raises(LatencyTableError, match='latency_table.py CONFIG'):
        build_resource_budget(
            runner, supernet,
            dict(latency_ms=3., network=net, latency_table='missing.json'))
    with pytest.raises(ConfigError, match=r"unknown budget.latency_table "
                       r"keys \['thread'\]"):
        build_resource_budget(
            runner, supernet,
            dict(latency_ms=3., network=net,
                 latency_table=dict(thread=1)))
    # a table measured for the other size of the network
    other = dict(net)
    other['backbone'] = dict(net['backbone'], channels=6)
    other['head'] = dict(net['head'], in_channels=96, aux_in_channels=96)
    path = tmp_path / 'other.json'
    build_latency_table(other, runtime='pytorch', warmup=1,
                        repeats=2).save(str(path))
    with pytest.raises(LatencyTableError, match='channels=6'):
        build_resource_budget(
            runner, supernet,
            dict(latency_ms=3., network=net, latency_table=str(path)))
