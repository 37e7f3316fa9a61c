# Copyright (c) mmista contributors. All rights reserved.
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmista.models import DartsClsHead, DerivedNet
from mmista.models.utils import (CifarStem, ImageNetStem, cell_layout,
                                 reduction_indices)
from mmista.registry import MODELS


def test_cifar_stem():
    stem = CifarStem(8)
    s0, s1 = stem(torch.randn(2, 3, 32, 32))
    assert s0.shape == (2, 24, 32, 32) and s0 is s1
    assert stem.out_channels == (24, 24)


def test_imagenet_stem_224_to_28():
    stem = ImageNetStem(16)
    s0, s1 = stem(torch.randn(1, 3, 224, 224))
    assert s0.shape == (1, 16, 56, 56)
    assert s1.shape == (1, 16, 28, 28)
    assert stem.reduction_prev


def test_cell_layout():
    assert reduction_indices(20) == (6, 13)
    assert reduction_indices(14) == (4, 9)
    specs = cell_layout(8, 16, (48, 48), False, concat_nodes=4)
    assert [s.reduction for s in specs] == [
        False, False, True, False, False, True, False, False
    ]
    assert [s.channels for s in specs] == [16, 16, 32, 32, 32, 64, 64, 64]
    assert specs[3].reduction_prev and not specs[4].reduction_prev
    assert specs[3].prev_prev_channels == 64 and specs[3].prev_channels == 128


@pytest.mark.parametrize('stem, size, final', [('cifar', 32, 8),
                                               ('imagenet', 224, 7)])
def test_derived_net_outputs(stem, size, final):
    net = DerivedNet(
        'ista_onestage_imagenet',
        channels=8,
        layers=5,
        stem=stem,
        bn_append=True,
        with_aux_feature=True)
    feats = net(torch.randn(2, 3, size, size))
    assert len(feats) == 2
    assert feats[-1].shape == (2, 4 * 32, final, final)
    assert feats[0].shape == (2, 4 * 32, final, final)
    assert net.out_channels == (128, 128)


def test_drop_path_only_in_training():
    torch.manual_seed(0)
    net = DerivedNet('darts_v2', channels=4, layers=3, drop_path_prob=0.5)
    x = torch.randn(4, 3, 16, 16)
    net.eval()
    first, second = net(x)[0], net(x)[0]
    assert torch.equal(first, second)  # exact: one computation, repeated
    net.train()
    assert not torch.allclose(net(x)[0], net(x)[0])


def test_bad_out_indices():
    with pytest.raises(ValueError, match='out of range'):
        DerivedNet('darts_v2', channels=4, layers=3, out_indices=(4, ))


def test_head_losses_with_aux_and_label_smoothing():
    torch.manual_seed(0)
    head = DartsClsHead(
        num_classes=5,
        in_channels=16,
        aux_in_channels=8,
        aux_weight=0.4,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1))
    feats = (torch.randn(3, 8, 8, 8), torch.randn(3, 16, 4, 4))
    samples = [DataSample().set_gt_label(i) for i in (0, 3, 4)]
    losses = head.loss(feats, samples)
    assert set(losses) == {'loss', 'loss_aux'}
    aux_logits = head.aux_head(feats[0])
    target = torch.tensor([0, 3, 4])
    expected = 0.4 * head.loss_module(aux_logits, target, avg_factor=3)
    assert torch.allclose(losses['loss_aux'], expected)
    predictions = head.predict(feats)
    assert predictions[0].pred_score.shape == (5, )
    with pytest.raises(ValueError, match='with_aux_feature=True'):
        head.loss(feats[1:], samples)


def test_imagenet_aux_head_omits_bn():
    head = DartsClsHead(10, 16, aux_in_channels=16, aux_weight=0.4,
                        aux_variant='imagenet')
    bns = [m for m in head.aux_head.features
           if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 1
    logits = head.aux_head(torch.randn(2, 16, 14, 14))
    assert logits.shape == (2, 10)


def test_builds_inside_mmpretrain_image_classifier_from_config():
    init_default_scope('mmista')
    cfg = Config.fromfile('configs/_base_/models/darts_cifar.py')
    cfg.model.backbone.update(channels=4, layers=5)
    cfg.model.head.update(in_channels=64, aux_in_channels=64)
    model = MODELS.build(cfg.model)
    inputs = torch.randn(2, 3, 32, 32)
    samples = [DataSample().set_gt_label(i) for i in (1, 2)]
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss', 'loss_aux'}
    sum(losses.values()).backward()
    assert model.backbone.stem.conv.weight.grad is not None
    assert model(inputs, mode='tensor').shape == (2, 10)


def test_plain_mmpretrain_neck_and_head():
    # An mmpretrain config names the backbone with the mmista scope.
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
    model = MMPRETRAIN_MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='mmista.DerivedNet',
                genotype='pc_darts',
                channels=4,
                layers=3),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead',
                num_classes=3,
                in_channels=64,
                loss=dict(type='CrossEntropyLoss'))))
    assert isinstance(model.backbone, DerivedNet)
    assert model(torch.randn(2, 3, 16, 16), mode='tensor').shape == (2, 3)
    init_default_scope('mmista')
