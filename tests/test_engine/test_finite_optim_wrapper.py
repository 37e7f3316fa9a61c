# Copyright (c) mmista contributors. All rights reserved.
"""No optimizer steps on a NaN or infinite loss or gradient norm."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub

from mmista.engine import FiniteOptimWrapper
from mmista.finite import NonFiniteError
from ..test_models.test_search_classifier import (batch_loss,
                                                  build_search_model,
                                                  build_wrappers, make_batch)


def linear_wrapper(clip: bool):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    extra = dict(clip_grad=dict(max_norm=5.)) if clip else {}
    return model, FiniteOptimWrapper(optimizer=optimizer, **extra)


def state_of(model, wrapper):
    return copy.deepcopy((model.state_dict(), wrapper.state_dict()))


def assert_same_state(before, after):
    (weights, optim), (weights_after, optim_after) = before, after
    for key in weights:
        assert torch.equal(weights[key], weights_after[key]), key
    assert optim['state'] == optim_after['state'] == {}


@pytest.mark.parametrize('clip', [True, False])
def test_non_finite_loss_is_not_stepped_on(clip):
    model, wrapper = linear_wrapper(clip)
    before = state_of(model, wrapper)
    loss = model(torch.ones(1, 3)).sum() * float('nan')
    with pytest.raises(NonFiniteError, match='the loss is not finite before '
                       'the SGD optimizer stepped on it'):
        wrapper.update_params(loss)
    assert_same_state(before, state_of(model, wrapper))


@pytest.mark.parametrize('clip', [True, False])
def test_infinite_gradient_of_a_finite_loss_is_not_stepped_on(clip):
    model, wrapper = linear_wrapper(clip)
    with torch.no_grad():
        model.bias.zero_()
    before = state_of(model, wrapper)
    # sqrt at 0: the loss is 0, its gradient infinite
    loss = model.bias.sqrt().sum()
    assert torch.isfinite(loss)
    with pytest.raises(NonFiniteError, match='the gradient norm is inf'):
        wrapper.update_params(loss)
    assert_same_state(before, state_of(model, wrapper))


def test_finite_step_updates_and_logs_the_clipped_norm():
    model, wrapper = linear_wrapper(clip=True)
    weight = model.weight.detach().clone()
    loss = (model(torch.ones(1, 3)) * 100).sum()
    wrapper.update_params(loss)
    assert not torch.equal(weight, model.weight)
    logged = MessageHub.get_current_instance().get_scalar(
        'train/grad_norm').current()
    # weight (2x3) and bias (2) gradients of 100 each
    assert logged == pytest.approx(100 * 8**0.5, rel=1e-5)


def test_search_step_stops_before_either_optimizer_steps():
    model = build_search_model()
    wrappers = build_wrappers(model, clip_grad=dict(max_norm=5.))
    assert {type(w) for w in wrappers.values()} == {FiniteOptimWrapper}
    assert wrappers['architecture'].name == 'architecture'
    before = copy.deepcopy(model.state_dict())
    batch = make_batch(1)
    batch['inputs'][0][0, 0, 0] = float('nan')
    with pytest.raises(NonFiniteError, match='the loss is not finite'):
        model.train_step(batch, wrappers)
    for key, value in model.state_dict().items():
        if value.is_floating_point() and 'running' not in key:
            assert torch.equal(value, before[key]), key
    for wrapper in wrappers.values():
        assert wrapper.optimizer.state_dict()['state'] == {}
    # and a finite batch trains both afterwards
    loss = batch_loss(model, make_batch(2))
    assert torch.isfinite(loss)
    model.train_step(make_batch(2), wrappers)
    assert wrappers['weights'].optimizer.state_dict()['state']
