# Copyright (c) mmista contributors. All rights reserved.
"""Building a search's resource budget from its config.

See docs/en/method/resource_budget.md and
docs/en/user_guides/resource_budget.md.
"""
import copy
import time
from typing import Optional, Union

from mmengine.config import Config

from mmista.analysis import measure_edge_costs
from mmista.apis.export import exported_config
from mmista.architecture import ResourceBudget
from mmista.models import exported_backbone_cfg
from .budget_latency import budget_latency_table
from .config_paths import config_relative_candidates, first_file

#: The keys of a ``budget`` config.
BUDGET_KEYS = ('params', 'flops', 'latency_ms', 'latency_table', 'policy',
               'network', 'input_size')


def build_resource_budget(runner, supernet, cfg: dict) -> ResourceBudget:
    """Measures the derived network's edge costs and builds the budget.

    Args:
        runner (Runner): The search's runner (its config and logger).
        supernet (ISTASuperNet): The super-net under search.
        cfg (dict): ``params``, ``flops`` and/or ``latency_ms`` (bounds,
            inclusive), ``latency_table`` (the table that predicts the
            latency; see
            :func:`~mmista.engine.budget_latency.budget_latency_table`),
            ``policy`` (``'select'`` or ``'reject'``), ``network`` (the
            derived network: a classifier config or a config file whose
            ``model`` it is; defaults, in one-stage search, to the
            network the search exports; required in two-stage search) and
            ``input_size`` (height [and width] the multiply-adds are
            counted at; defaults to 224 for the ImageNet stem and 32
            otherwise, as ``tools/analysis_tools/complexity.py``).

    Returns:
        ResourceBudget: The budget, its costs measured.

    Raises:
        ValueError: On unknown keys, a missing network in two-stage search,
            a network that is not a derived classifier or a latency bound
            without a table.
        FileNotFoundError: If a ``network`` config file does not exist.
        LatencyTableError: A latency table that is missing, broken or
            measured for another network.
    """
    cfg = dict(cfg)
    unknown = sorted(set(cfg) - set(BUDGET_KEYS))
    if unknown:
        raise ValueError(f'unknown budget keys {unknown}; a budget takes '
                         f'{", ".join(BUDGET_KEYS)}')
    model_cfg = _network_cfg(runner, supernet, cfg.get('network'))
    size = cfg.get('input_size')
    shape = None if size is None else (
        [size] if isinstance(size, int) else list(size))
    start = time.perf_counter()
    edge_costs = measure_edge_costs(
        model_cfg,
        steps=supernet.architecture.steps,
        sparsity=supernet.architecture.sparsity,
        shape=shape)
    table_note = ''
    if cfg.get('latency_table') is not None:
        table = budget_latency_table(runner, model_cfg, cfg['latency_table'],
                                     shape, supernet.architecture.steps,
                                     supernet.architecture.sparsity)
        edge_costs = edge_costs.with_latency(table)
        for doubt in table.doubts():
            runner.logger.warning(f'Latency budget: {doubt}')
        table_note = (f'; latency predicted for {table.device.describe()} '
                      f'(table method {table.method})')
    budget = ResourceBudget(
        edge_costs,
        params=cfg.get('params'),
        flops=cfg.get('flops'),
        latency_ms=cfg.get('latency_ms'),
        policy=cfg.get('policy', 'select'))
    runner.logger.info(
        f'Resource budget ({budget.policy}): {budget.describe()} on '
        f'{edge_costs.network}; edge costs measured in '
        f'{time.perf_counter() - start:.1f} s; fixed part '
        f'{budget.describe(edge_costs.fixed)}{table_note}')
    return budget


def _network_cfg(runner, supernet, network: Optional[Union[str,
                                                           dict]]) -> dict:
    """The classifier config of the derived network the budget counts."""
    if network is None:
        if not supernet.derived_cfg.get('bn_append'):
            raise ValueError(
                'budget.network is required in two-stage search: the '
                'network the budget counts is the evaluation network, not '
                'the super-net; give its config file, e.g. '
                "network='../nets/ista_twostage_cifar10.py' (relative to "
                'this config) or a model dict')
        exported = exported_config(runner.cfg, exported_backbone_cfg(supernet))
        return exported.model.to_dict()
    if isinstance(network, str):
        return Config.fromfile(_find_config(runner, network)).model.to_dict()
    if isinstance(network, dict):
        network = copy.deepcopy(network)
        return network.to_dict() if hasattr(network, 'to_dict') else network
    raise TypeError(f'budget.network must be a config path or a model '
                    f'dict, got {type(network).__name__}')


def _find_config(runner, path: str) -> str:
    """A config path as given, or relative to the run's config file."""
    candidates = config_relative_candidates(runner, path)
    found = first_file(candidates)
    if found is not None:
        return found
    raise FileNotFoundError(
        f'budget.network config {path!r} not found (tried '
        f'{", ".join(map(repr, candidates))}); give a path relative to the '
        'working directory or to the search config')
