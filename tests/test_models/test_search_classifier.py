# Copyright (c) mmista contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmista.engine import SearchOptimWrapperConstructor
from mmista.registry import MODELS

pytestmark = pytest.mark.numerics

SGD = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.)
ADAM = dict(type='Adam', lr=1e-2, betas=(0.5, 0.999), weight_decay=0.)


def build_search_model(seed=0):
    """A 3-cell, C = 4 super-net classifier (64 output channels)."""
    init_default_scope('mmista')
    torch.manual_seed(seed)
    model = MODELS.build(
        dict(
            type='SearchClassifier',
            data_preprocessor=dict(
                type='ClsDataPreprocessor', num_classes=10),
            backbone=dict(type='ISTASuperNet', channels=4, layers=3),
            neck=None,
            head=dict(
                type='DartsClsHead',
                num_classes=10,
                in_channels=64,
                aux_weight=0.,
                loss=dict(type='CrossEntropyLoss'))))
    model.backbone.recover()
    return model


def build_wrappers(model, weights_optimizer=SGD, **weights_extra):
    return SearchOptimWrapperConstructor(
        dict(
            weights=dict(optimizer=weights_optimizer, **weights_extra),
            architecture=dict(optimizer=ADAM)))(model)


def make_batch(seed, size=4):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 256, (size, 3, 16, 16), generator=generator)
    labels = torch.randint(0, 10, (size, ), generator=generator)
    samples = [DataSample().set_gt_label(int(label)) for label in labels]
    return dict(inputs=list(inputs.float()), data_samples=samples)


def batch_loss(model, batch):
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    return sum(value for key, value in losses.items() if 'loss' in key)


def arch_params(model):
    return list(model.backbone.architecture_parameters())


def weight_params(model):
    arch_ids = {id(p) for p in arch_params(model)}
    return [p for p in model.parameters() if id(p) not in arch_ids]


def test_constructor_splits_parameters():
    model = build_search_model()
    wrappers = build_wrappers(model)
    assert isinstance(wrappers, OptimWrapperDict)
    assert set(wrappers.keys()) == {'weights', 'architecture'}
    arch_ids = {id(p) for p in arch_params(model)}
    in_arch = {
        id(p)
        for g in wrappers['architecture'].optimizer.param_groups
        for p in g['params']
    }
    in_weights = {
        id(p)
        for g in wrappers['weights'].optimizer.param_groups
        for p in g['params']
    }
    assert in_arch == arch_ids and len(arch_ids) == 8  # 2 cells x 4 nodes
    assert not in_arch & in_weights
    assert in_arch | in_weights == {id(p) for p in model.parameters()}
    assert isinstance(wrappers['architecture'].optimizer, torch.optim.Adam)


def test_constructor_paramwise_cfg_applies_to_weights_only():
    model = build_search_model()
    wrappers = build_wrappers(
        model,
        weights_optimizer=dict(SGD, weight_decay=1e-3),
        paramwise_cfg=dict(norm_decay_mult=0.))
    groups = wrappers['weights'].optimizer.param_groups
    arch_ids = {id(p) for p in arch_params(model)}
    assert not any(id(g['params'][0]) in arch_ids for g in groups)
    decays = {g['weight_decay'] for g in groups}
    assert decays == {0., 1e-3}


@pytest.mark.parametrize('cfg, message', [
    (dict(weights=dict(optimizer=SGD)), 'missing'),
    (dict(weights=dict(optimizer=SGD), architecture=dict(optimizer=ADAM),
          arch=dict(optimizer=ADAM)), 'unknown'),
    (dict(weights=dict(optimizer=SGD), architecture=dict()), 'no optimizer'),
])
def test_constructor_rejects_bad_configs(cfg, message):
    with pytest.raises(KeyError, match=message):
        SearchOptimWrapperConstructor(cfg)


def test_constructor_needs_a_searchable_model():
    with pytest.raises(TypeError, match='architecture_parameters'):
        build_wrappers(torch.nn.Linear(2, 2))


def test_two_stage_step_isolates_gradients():
    """b learns from the architecture batch only, W from the weight batch
    only: the optimizer states after one step hold exactly those
    gradients."""
    model = build_search_model()
    reference = copy.deepcopy(model)
    wrappers = build_wrappers(model)
    arch_batch, weight_batch = make_batch(1), make_batch(2)
    b_before = [p.detach().clone() for p in arch_params(model)]

    log_vars = model.train_step(
        dict(arch=arch_batch, weight=weight_batch), wrappers)
    assert {'loss', 'arch_loss'} <= set(log_vars)

    # Expected gradient of b: the architecture batch, before any step.
    expected_b = torch.autograd.grad(
        batch_loss(reference, arch_batch), arch_params(reference))
    adam_state = wrappers['architecture'].optimizer.state
    for param, grad in zip(arch_params(model), expected_b):
        # Adam's first moment after one step: (1 - beta1) * grad.
        torch.testing.assert_close(
            adam_state[param]['exp_avg'], 0.5 * grad, rtol=1e-5, atol=1e-12)
    assert all(not torch.equal(p, q)
               for p, q in zip(arch_params(model), b_before))

    # Expected gradient of W: the weight batch, with the b of after the
    # architecture step (the second step trains the network it produced).
    with torch.no_grad():
        for ref, new in zip(arch_params(reference), arch_params(model)):
            ref.copy_(new)
    weight_loss = batch_loss(reference, weight_batch)
    ref_weights = weight_params(reference)
    expected_w = torch.autograd.grad(
        weight_loss, ref_weights, allow_unused=True)
    sgd_state = wrappers['weights'].optimizer.state
    checked = 0
    for param, grad in zip(weight_params(model), expected_w):
        if grad is None:  # an op outside the supports
            assert param not in sgd_state or \
                sgd_state[param].get('momentum_buffer') is None
            continue
        torch.testing.assert_close(
            sgd_state[param]['momentum_buffer'], grad, rtol=1e-4, atol=1e-7)
        checked += 1
    assert checked > 20
    # Nothing is left behind for the next step.
    assert all(p.grad is None for p in model.parameters())


def test_inactive_ops_get_no_gradient():
    model = build_search_model()
    wrappers = build_wrappers(model)
    grads = set()
    for name, param in model.named_parameters():
        param.register_post_accumulate_grad_hook(
            lambda p, name=name: grads.add(name))
    model.train_step(dict(arch=make_batch(1), weight=make_batch(2)), wrappers)
    supports = {
        cell: model.backbone.architecture.supports(cell)
        for cell in ('normal', 'reduce')
    }
    assert any('.nodes.' in name for name in grads)
    for name in grads:
        if '.nodes.' not in name:
            continue
        parts = name.split('.')  # backbone.cells.C.nodes.J.K...
        cell_index, j, k = int(parts[2]), int(parts[4]), int(parts[5])
        cell = model.backbone.cells[cell_index].cell_type
        assert k in supports[cell][j], name


def test_one_stage_step_trains_both_from_one_batch():
    model = build_search_model()
    reference = copy.deepcopy(model)
    wrappers = build_wrappers(model)
    batch = make_batch(3)
    model.train_step(batch, wrappers)
    loss = batch_loss(reference, batch)
    expected_b = torch.autograd.grad(loss, arch_params(reference))
    adam_state = wrappers['architecture'].optimizer.state
    for param, grad in zip(arch_params(model), expected_b):
        torch.testing.assert_close(
            adam_state[param]['exp_avg'], 0.5 * grad, rtol=1e-5, atol=1e-12)
    assert wrappers['weights'].optimizer.state  # SGD stepped too


def test_terminated_architecture_is_not_stepped():
    """When no architecture variable trains, two-stage search only trains
    the weights (no architecture forward at all)."""
    model = build_search_model()
    wrappers = build_wrappers(model)
    for param in arch_params(model):
        param.requires_grad_(False)
    log_vars = model.train_step(
        dict(arch=make_batch(1), weight=make_batch(2)), wrappers)
    assert 'arch_loss' not in log_vars
    assert not wrappers['architecture'].optimizer.state


def test_train_step_needs_the_two_wrappers():
    model = build_search_model()
    plain = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match='SearchOptimWrapperConstructor'):
        model.train_step(make_batch(1), plain)


@pytest.mark.parametrize('finite', [True, False])
def test_joint_step_unscales_the_lead_loss_scale(finite):
    """Mixed precision, one-stage: b's gradients come from the weights
    wrapper's scaled backward; they are unscaled with that scale before
    Adam steps, and the step is skipped when they overflowed."""
    from mmista.models.classifiers import SearchClassifier
    model = build_search_model()
    wrappers = build_wrappers(model)
    lead = wrappers['weights']
    lead.loss_scaler = torch.amp.GradScaler('cpu', init_scale=1024.)
    params = arch_params(model)
    true_grads = [torch.randn_like(p) for p in params]
    for param, grad in zip(params, true_grads):
        param.grad = grad * 1024.
    if not finite:
        params[0].grad[0] = float('inf')
    before = [p.detach().clone() for p in params]
    SearchClassifier._step_under(lead, wrappers['architecture'])
    state = wrappers['architecture'].optimizer.state
    if finite:
        for param, grad in zip(params, true_grads):
            torch.testing.assert_close(state[param]['exp_avg'], 0.5 * grad)
    else:
        assert not state
        # exact: a skipped step leaves the parameters untouched
        assert all(torch.equal(p, q) for p, q in zip(params, before))
    assert all(p.grad is None for p in params)
