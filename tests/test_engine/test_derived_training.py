# Copyright (c) mmista contributors. All rights reserved.
"""After the phase switch the super-net trains its derived network only:
the ops outside the supports leave the optimizer, and the steps that follow
are those the full optimizer would have taken."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmista.engine.derived_training import (optimizer_sizes,
                                            restore_architecture,
                                            train_derived_network_only)
from mmista.registry import MODELS
from mmista.structures import CANDIDATE_OPS, CELL_TYPES
from ..utils import ONESTAGE_DIGITS

BATCH = 16


def build_search(seed=0):
    """A tiny one-stage search model of the digits config and its two
    optimizers (SGD with momentum, weight decay and clipping; Adam)."""
    init_default_scope('mmista')
    cfg = Config.fromfile(ONESTAGE_DIGITS)
    cfg.model.backbone.update(channels=4, layers=4, arch_seed=seed)
    cfg.model.head.update(in_channels=64, aux_in_channels=64)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def batches(count, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return [
        dict(
            inputs=list(torch.rand(BATCH, 3, 32, 32, generator=generator) *
                        255),
            data_samples=[
                DataSample().set_gt_label(int(label)) for label in
                torch.randint(0, 10, (BATCH, ), generator=generator)
            ]) for _ in range(count)
    ]


def set_supports(architecture, ops):
    """Every node's support: ``ops`` (candidate op indices) on input 0."""
    for cell in CELL_TYPES:
        support = getattr(architecture, f'{cell}_support')
        support[:] = torch.tensor(ops)
    architecture._refresh_cache()


def search_then_fix(model, optim_wrapper, search_steps=3):
    """Trains a few search steps on separable convolutions, moves the
    supports to dilated ones (so that ops now outside the supports carry
    momentum from their time inside), trains again, then terminates every
    node and fixes the architecture."""
    model.train()
    backbone = model.backbone
    architecture = backbone.architecture
    set_supports(architecture, [CANDIDATE_OPS.index('sep_conv_3x3'),
                                CANDIDATE_OPS.index('sep_conv_5x5')])
    backbone.sync_edge_batchnorms()
    for data in batches(search_steps, seed=2):
        model.train_step(data, optim_wrapper)
    set_supports(architecture, [CANDIDATE_OPS.index('max_pool_3x3'),
                                CANDIDATE_OPS.index('dil_conv_3x3')])
    for data in batches(search_steps, seed=3):
        model.train_step(data, optim_wrapper)
    for cell in CELL_TYPES:
        for node in range(len(architecture.supports(cell))):
            architecture.terminate(cell, node, 1)
    architecture.fix(1)
    backbone.sync_edge_batchnorms()
    backbone.drop_path_prob = 0.1


def test_later_steps_equal_the_full_optimizers():
    """The same evaluation steps from the same state, with and without the
    narrowing: the same network, to float tolerance."""
    model, optim_wrapper = build_search()
    search_then_fix(model, optim_wrapper)
    full_model, full_wrapper = copy.deepcopy((model, optim_wrapper))
    idle = model.backbone.unsupported_parameters()
    with_momentum = [p for p in idle if p in optim_wrapper['weights']
                     .optimizer.state]
    assert with_momentum, 'the test needs ops that left the supports'

    sizes = optimizer_sizes(optim_wrapper)
    removed = train_derived_network_only(model.backbone, optim_wrapper)
    assert removed == len(idle)
    assert optimizer_sizes(optim_wrapper)['tensors'] == \
        sizes['tensors'] - removed
    assert train_derived_network_only(model.backbone, optim_wrapper) == 0
    assert not any(p.requires_grad for p in idle)
    state = optim_wrapper['weights'].optimizer.state
    assert not any(p in state for p in idle)

    start = {name: p.detach().clone() for name, p in model.named_parameters()}
    for seed, data in enumerate(batches(4, seed=4)):
        for net, wrapper in ((model, optim_wrapper),
                             (full_model, full_wrapper)):
            torch.manual_seed(seed)  # the same drop-path masks
            net.train_step(copy.deepcopy(data), wrapper)

    narrowed = dict(model.named_parameters())
    changed = 0
    for name, value in full_model.named_parameters():
        torch.testing.assert_close(
            narrowed[name], value, rtol=1e-5, atol=1e-6, msg=name)
        changed += int(not torch.equal(value, start[name]))
    assert changed > 0.5 * len(start) - len(idle)
    for name, value in full_model.named_buffers():
        if value.is_floating_point():
            torch.testing.assert_close(
                dict(model.named_buffers())[name], value, rtol=1e-5,
                atol=1e-6, msg=name)


def test_narrowed_optimizer_state_resumes():
    """A narrowed optimizer's state loads into a fresh model narrowed from
    the same checkpoint (the resume path), and not into an unnarrowed
    one."""
    model, optim_wrapper = build_search()
    search_then_fix(model, optim_wrapper)
    train_derived_network_only(model.backbone, optim_wrapper)
    saved = optim_wrapper.state_dict()
    checkpoint = model.state_dict()

    fresh, fresh_wrapper = build_search(seed=5)
    restore_architecture(fresh.backbone, checkpoint)
    assert fresh.backbone.architecture.is_fixed
    assert fresh.backbone.genotype() == model.backbone.genotype()
    train_derived_network_only(fresh.backbone, fresh_wrapper)
    fresh_wrapper.load_state_dict(saved)
    fresh.load_state_dict(checkpoint)
    momentum = {
        name: fresh_wrapper['weights'].optimizer.state[p]['momentum_buffer']
        for name, p in fresh.named_parameters()
        if p in fresh_wrapper['weights'].optimizer.state
    }
    expected = {
        name: optim_wrapper['weights'].optimizer.state[p]['momentum_buffer']
        for name, p in model.named_parameters()
        if p in optim_wrapper['weights'].optimizer.state
    }
    assert momentum.keys() == expected.keys()
    for name, value in expected.items():
        assert torch.equal(momentum[name], value), name

    unnarrowed, unnarrowed_wrapper = build_search(seed=5)
    with pytest.raises(ValueError):
        unnarrowed_wrapper.load_state_dict(saved)


def test_refused_before_the_architecture_is_fixed():
    model, optim_wrapper = build_search()
    with pytest.raises(ValueError, match='fixed'):
        train_derived_network_only(model.backbone, optim_wrapper)
