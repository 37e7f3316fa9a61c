# Copyright (c) mmista contributors. All rights reserved.
"""DerivedNet keeps mmpretrain's backbone contract, as ResNet does: stage
outputs and strides, frozen stages, norm_eval, norm_cfg, activation
checkpointing and layer-wise learning-rate decay."""

import pytest
import torch
import torch.nn as nn
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmpretrain.engine.optimizers import \
    LearningRateDecayOptimWrapperConstructor
from torch.nn.modules.batchnorm import _BatchNorm

from mmista.errors import ConfigError
from mmista.models import DerivedNet
from mmista.registry import MODELS

GENOTYPE = 'ista_onestage_imagenet'


def tiny_net(**kwargs) -> DerivedNet:
    """5 cells of C = 4 (reductions at 1 and 3: stages of 1, 2, 2 cells)."""
    kwargs.setdefault('channels', 4)
    kwargs.setdefault('layers', 5)
    return DerivedNet(GENOTYPE, bn_append=True, **kwargs)


@pytest.mark.parametrize('stem, size, strides', [
    ('cifar', 32, (1, 1, 2, 4)),
    ('imagenet', 64, (4, 8, 16, 32)),
])
def test_stage_outputs_and_strides(stem, size, strides):
    net = tiny_net(stem=stem, out_indices=(0, 1, 2, 3))
    feats = net(torch.randn(2, 3, size, size))
    assert len(feats) == 4
    assert tuple(size // f.shape[-1] for f in feats) == strides
    assert tuple(f.shape[1] for f in feats) == net.out_channels
    stem_channels = 12 if stem == 'cifar' else 4
    assert net.out_channels == (stem_channels, 16, 32, 64)
    # Negative indices count from the end; the default is the last cell.
    last = tiny_net(stem=stem).eval()
    last.load_state_dict(net.state_dict())
    net.eval()
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        assert torch.equal(last(x)[0], net(x)[3])
    assert tiny_net(stem=stem, out_indices=(-4, -2)).out_indices == (0, 2)


def test_aux_feature_comes_first():
    net = tiny_net(out_indices=(1, 3), with_aux_feature=True)
    feats = net(torch.randn(2, 3, 32, 32))
    # Cell 2 * 5 // 3 = 3 reduces to 16 px; the last stage is at 8 px too.
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 8, 8), (16, 32, 32),
                                                   (64, 8, 8)]
    assert net.out_channels == (64, 16, 64)


@pytest.mark.parametrize('old', [(13, 19), (3, 4), (-5, )])
def test_cell_indices_of_old_configs_are_refused(old):
    with pytest.raises(ConfigError) as error:
        tiny_net(out_indices=old)
    message = str(error.value)
    assert 'model.backbone.out_indices' in message
    assert 'now count stages' in message
    assert 'with_aux_feature=True' in message


def test_empty_stage_and_bad_frozen_stages_are_refused():
    # 2 cells: reductions at 0 and 1, stage 1 has no cell.
    with pytest.raises(ConfigError, match='stage 1 has no cells'):
        tiny_net(layers=2, out_indices=(1, 3))
    with pytest.raises(ConfigError, match='frozen_stages'):
        tiny_net(frozen_stages=4)


def test_frozen_stages_stay_frozen_across_train():
    net = tiny_net(frozen_stages=2)
    net.train()
    frozen = [net.stem, net.cells[0], net.cells[1], net.cells[2]]
    trained = [net.cells[3], net.cells[4]]
    assert all(not m.training for f in frozen for m in f.modules())
    assert all(m.training for t in trained for m in t.modules())
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net(torch.randn(4, 3, 16, 16))[0].square().mean().backward()
    for module in frozen:
        for param in module.parameters():
            assert not param.requires_grad and param.grad is None
    for name, value in net.state_dict().items():
        if name.startswith(('stem.', 'cells.0.', 'cells.1.', 'cells.2.')):
            assert torch.equal(value, before[name]), name  # BN stats too
    assert all(p.grad is not None for t in trained for p in t.parameters())


def test_norm_eval_freezes_batchnorm_statistics():
    net = tiny_net(norm_eval=True)
    net.train()
    bns = [m for m in net.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(bn.training for bn in bns)
    means = [bn.running_mean.clone() for bn in bns]
    net(torch.randn(4, 3, 16, 16))[0].sum().backward()
    assert all(torch.equal(bn.running_mean, m) for bn, m in zip(bns, means))
    assert net.stem.conv.weight.grad is not None


def test_default_batchnorm_keeps_state_dict_keys():
    keys = set(tiny_net(stem='imagenet').state_dict())
    assert {
        'stem.stem0.1.running_mean', 'stem.stem0.4.weight',
        'stem.stem1.2.num_batches_tracked',
        'cells.0.inputs.preprocess0.bn.weight',
        'cells.1.inputs.preprocess1.2.running_var'
    } <= keys
    assert keys == set(tiny_net(
        stem='imagenet', norm_cfg=dict(type='BN')).state_dict())
    cifar = tiny_net()
    assert isinstance(cifar.stem.bn, nn.BatchNorm2d)
    assert 'stem.bn.running_mean' in cifar.state_dict()


def test_group_norm_network_has_no_batchnorm():
    net = tiny_net(norm_cfg=dict(type='GN', num_groups=2), stem='imagenet')
    assert not any(isinstance(m, _BatchNorm) for m in net.modules())
    norms = [m for m in net.modules() if isinstance(m, nn.GroupNorm)]
    # One GroupNorm where the BatchNorm network has a BatchNorm (none is
    # appended after an op that ends in a GroupNorm).
    assert len(norms) == len([
        m for m in tiny_net(stem='imagenet').modules()
        if isinstance(m, _BatchNorm)
    ])
    net(torch.randn(2, 3, 64, 64))[0].sum().backward()
    assert norms[0].weight.grad is not None


def test_sync_batchnorm_builds_and_reverts_for_cpu():
    net = tiny_net(norm_cfg=dict(type='SyncBN'))
    syncs = [m for m in net.modules() if isinstance(m, nn.SyncBatchNorm)]
    assert len(syncs) == len(
        [m for m in tiny_net().modules() if isinstance(m, _BatchNorm)])
    plain = revert_sync_batchnorm(net)
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in plain.modules())
    assert plain(torch.randn(2, 3, 16, 16))[0].shape == (2, 64, 4, 4)


def _loss_and_grads(net, x, seed):
    torch.manual_seed(seed)
    loss = sum(f.square().mean() for f in net(x))
    loss.backward()
    return loss.detach(), {
        name: param.grad.clone()
        for name, param in net.named_parameters()
    }


@pytest.mark.parametrize('drop_path_prob', [0., 0.3])
def test_with_cp_gives_the_same_loss_and_gradients(drop_path_prob):
    torch.manual_seed(0)
    plain = tiny_net(out_indices=(0, 1, 2, 3), drop_path_prob=drop_path_prob)
    checkpointed = tiny_net(
        out_indices=(0, 1, 2, 3),
        drop_path_prob=drop_path_prob,
        with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(4, 3, 16, 16)
    loss, grads = _loss_and_grads(plain.train(), x, seed=1)
    cp_loss, cp_grads = _loss_and_grads(checkpointed.train(), x, seed=1)
    assert torch.allclose(loss, cp_loss, rtol=1e-6)
    for name, grad in grads.items():
        assert torch.allclose(grad, cp_grads[name], rtol=1e-4,
                              atol=1e-7), name
    # The recomputation runs the cells' BatchNorms a second time.
    bn = checkpointed.cells[0].inputs.preprocess1[2]
    assert int(bn.num_batches_tracked) == 2
    assert int(plain.cells[0].inputs.preprocess1[2].num_batches_tracked) == 1
    assert int(checkpointed.stem.bn.num_batches_tracked) == 1


def test_layer_decay_constructor_scales_by_depth():
    init_default_scope('mmista')
    model = MODELS.build(
        dict(
            type='mmpretrain.ImageClassifier',
            backbone=dict(
                type='DerivedNet',
                genotype=GENOTYPE,
                bn_append=True,
                channels=4,
                layers=5),
            neck=dict(type='mmpretrain.GlobalAveragePooling'),
            head=dict(
                type='mmpretrain.LinearClsHead',
                num_classes=3,
                in_channels=64)))
    constructor = LearningRateDecayOptimWrapperConstructor(
        dict(
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=1.0, weight_decay=1e-4)),
        paramwise_cfg=dict(layer_decay_rate=0.5))
    groups = constructor(model).optimizer.param_groups
    lr = {group['param_name']: group['lr'] for group in groups}
    assert len(lr) == len(list(model.parameters()))
    # 7 layer ids: stem 0, cells 1-5, head 6; lr = 0.5 ** (6 - id).
    assert lr['backbone.stem.conv.weight'] == 0.5**6
    assert lr['backbone.cells.0.inputs.preprocess0.1.weight'] == 0.5**5
    assert lr['backbone.cells.4.ops.0.1.weight'] == 0.5**1
    assert lr['head.fc.weight'] == lr['head.fc.bias'] == 1.0
