# Copyright (c) mmista contributors. All rights reserved.
"""A resource budget on the architecture's recoveries: select, reject,
terminated nodes, and its config."""
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmista.analysis import measure_edge_costs
from mmista.architecture import CompressedArchitecture, ResourceBudget
from mmista.engine.budget_builder import build_resource_budget
from mmista.sparse_coding import BudgetInfeasibleError, select_support
from mmista.structures import CELL_TYPES
from ..utils import REPO_ROOT

DIGITS_NET = f'{REPO_ROOT}/configs/nets/ista_onestage_digits.py'


@pytest.fixture(scope='module')
def edge_costs():
    return measure_edge_costs(Config.fromfile(DIGITS_NET).model.to_dict())


def architecture_with_b(seed):
    """An architecture whose b is a random code's compression, so z has
    clear top-2 edges."""
    arch = CompressedArchitecture(seed=seed)
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for cell in CELL_TYPES:
            for j, A in enumerate(arch.dictionaries(cell)):
                z = torch.zeros(A.shape[1], dtype=torch.float64)
                z[torch.randperm(A.shape[1], generator=rng)[:3]] = torch.rand(
                    3, generator=rng, dtype=torch.float64) + .5
                arch.compressed[f'{cell}_{j}'].copy_(A @ z)
    return arch


def supports_of(arch):
    return {cell: arch.supports(cell) for cell in CELL_TYPES}


def unconstrained_cost(arch, edge_costs):
    """The cost of the recovery's own top-2 supports (on a copy)."""
    probe = CompressedArchitecture(seed=int(arch.dictionary_seed))
    probe.load_state_dict(arch.state_dict())
    probe.recover()
    return edge_costs.network_cost(supports_of(probe))


def test_select_keeps_the_network_within_the_budget(edge_costs):
    arch = architecture_with_b(0)
    free = unconstrained_cost(arch, edge_costs)
    limit = float(free[0] - 4000)
    budget = ResourceBudget(edge_costs, params=limit)
    result = arch.recover(budget=budget)
    decision = result.budget
    assert decision.proposed_cost.tolist() == free.tolist()
    assert edge_costs.network_cost(supports_of(arch))[0] <= limit
    assert decision.cost.tolist() == edge_costs.network_cost(
        supports_of(arch)).tolist()
    changed = [(c, j) for c in CELL_TYPES for j in decision.changed[c]]
    assert changed
    for cell in CELL_TYPES:
        for j in range(4):
            top = select_support(result.z[cell][j], 2).tolist()
            installed = arch.supports(cell)[j]
            assert (installed != top) == ((cell, j) in changed)
            # the installed bias belongs to the installed support
            A = arch.dictionaries(cell)[j]
            S = torch.tensor(installed)
            z_S = result.z[cell][j][S]
            expected = A[:, S].T @ (A[:, S] @ z_S) - z_S
            torch.testing.assert_close(
                getattr(arch, f'{cell}_bias')[j], expected)


def test_a_budget_that_fits_changes_nothing(edge_costs):
    free_arch, budget_arch = architecture_with_b(1), architecture_with_b(1)
    free_arch.recover()
    cost = edge_costs.network_cost(supports_of(free_arch))
    result = budget_arch.recover(
        budget=ResourceBudget(
            edge_costs, params=float(cost[0]), flops=float(cost[1])))
    assert supports_of(budget_arch) == supports_of(free_arch)
    assert not any(result.budget.changed.values())
    for cell in CELL_TYPES:
        assert torch.equal(
            getattr(budget_arch, f'{cell}_bias'),
            getattr(free_arch, f'{cell}_bias'))


def test_reject_keeps_the_previous_architecture(edge_costs):
    arch = architecture_with_b(2)
    free = unconstrained_cost(arch, edge_costs)
    budget = ResourceBudget(
        edge_costs, params=float(free[0] - 4000), policy='reject')
    # The first recovery has nothing to keep: it selects.
    first = arch.recover(budget=budget)
    assert not first.budget.rejected and any(first.budget.changed.values())
    kept = supports_of(arch)
    z_before = {c: getattr(arch, f'{c}_z').clone() for c in CELL_TYPES}
    # b moves towards another code whose top-2 exceed the budget
    moved = architecture_with_b(2)
    with torch.no_grad():
        for name, b in moved.compressed.items():
            arch.compressed[name].copy_(b * 1.5)
    second = arch.recover(budget=budget)
    assert second.budget.rejected
    assert supports_of(arch) == kept
    for cell in CELL_TYPES:
        assert torch.equal(getattr(arch, f'{cell}_z'), z_before[cell])
        # the z shift is measured against the kept z, as the reference's
        # termination test does after a rejection
        shifts = torch.linalg.vector_norm(
            torch.stack([
                torch.nn.functional.pad(z, (0, 35 - z.numel()))
                for z in second.z[cell]
            ]) - z_before[cell],
            dim=1)
        torch.testing.assert_close(getattr(arch, f'{cell}_z_shift'), shifts)


def test_terminated_nodes_count_as_fixed_cost(edge_costs):
    arch = architecture_with_b(3)
    arch.recover()
    arch.terminate('normal', 0, epoch=1)
    arch.terminate('reduce', 2, epoch=1)
    frozen = {
        ('normal', 0): arch.supports('normal')[0],
        ('reduce', 2): arch.supports('reduce')[2]
    }
    free = edge_costs.network_cost(supports_of(arch))
    budget = ResourceBudget(edge_costs, flops=float(free[1]) * .8)
    try:
        result = arch.recover(budget=budget)
    except BudgetInfeasibleError as error:
        pytest.fail(f'a reachable budget was refused: {error}')
    for (cell, j), support in frozen.items():
        assert arch.supports(cell)[j] == support
        assert j not in result.budget.changed[cell]
    assert edge_costs.network_cost(supports_of(arch))[1] <= free[1] * .8


def test_unreachable_budget_names_the_cheapest_cost(edge_costs):
    arch = architecture_with_b(4)
    floor = int(edge_costs.fixed[0] + sum(
        np.sort(edge_costs.candidate_costs(c, j)[:, 0])[:2].sum()
        for c in CELL_TYPES for j in range(4)))
    budget = ResourceBudget(edge_costs, params=floor - 1)
    with pytest.raises(BudgetInfeasibleError, match=f'costs params {floor:,}'):
        arch.recover(budget=budget)


@pytest.mark.parametrize('kwargs, match', [
    (dict(), 'params, flops and/or latency_ms'),
    (dict(params=-1), 'positive number'),
    (dict(flops=float('inf')), 'positive number'),
    (dict(params=10, policy='drop'), 'policy'),
])
def test_bad_budget_is_refused(edge_costs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResourceBudget(edge_costs, **kwargs)


class _Runner:
    """What build_resource_budget reads from a runner."""

    def __init__(self, cfg):
        from mmengine.logging import MMLogger
        self.cfg = cfg
        self.logger = MMLogger.get_current_instance()


def test_budget_config_errors_are_actionable():
    from mmista.registry import MODELS
    twostage = Config.fromfile(f'{REPO_ROOT}/configs/ista/twostage_digits.py')
    supernet = MODELS.build(
        dict(twostage.model.backbone, channels=4, layers=3))
    runner = _Runner(twostage)
    with pytest.raises(ValueError, match='budget.network is required'):
        build_resource_budget(runner, supernet, dict(params=1e5))
    with pytest.raises(ValueError, match=r"unknown budget keys \['param'\]"):
        build_resource_budget(runner, supernet, dict(param=1e5))
    with pytest.raises(FileNotFoundError, match='nets/missing.py'):
        build_resource_budget(runner, supernet,
                              dict(params=1e5, network='../nets/missing.py'))
    # a path relative to the search config works
    budget = build_resource_budget(
        runner, supernet,
        dict(params=1e5, network='../nets/ista_twostage_digits.py'))
    assert budget.edge_costs.input_shape == (1, 3, 32, 32)
    assert 'channels=8, layers=5' in budget.edge_costs.network
