# Copyright (c) mmista contributors. All rights reserved.
"""An export serves dense prediction: its backbone, loaded through
``init_cfg=Pretrained(prefix='backbone.')`` with ``out_indices=(0, 1, 2,
3)``, feeds torchvision's FeaturePyramidNetwork and a per-pixel head; the
loss trains the backbone and falls, and frozen stages stay as loaded. The
export's genotype with the ImageNet stem gives the strides 4 to 32."""
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torchvision.ops import FeaturePyramidNetwork

from mmista.registry import MODELS

NUM_CLASSES = 3


class SegmentationHead(nn.Module):
    """A 1x1 convolution on the finest FPN level, upsampled to the image."""

    def __init__(self, in_channels, fpn_channels=16):
        super().__init__()
        self.fpn = FeaturePyramidNetwork(in_channels, fpn_channels)
        self.classifier = nn.Conv2d(fpn_channels, NUM_CLASSES, 1)

    def forward(self, feats, size):
        levels = self.fpn(
            OrderedDict((str(i), f) for i, f in enumerate(feats)))
        logits = self.classifier(levels['0'])
        return F.interpolate(
            logits, size=size, mode='bilinear', align_corners=False)


def synthetic_batch(size):
    """Images whose per-pixel class is the brightest of three channels."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(4, 3, size, size, generator=generator)
    return images, images.argmax(dim=1)


@pytest.mark.parametrize('stem, size, strides, lr', [
    ('cifar', 32, (1, 1, 2, 4), 0.5),
    ('imagenet', 64, (4, 8, 16, 32), 0.05),
])
def test_export_backbone_feeds_fpn_and_trains(tiny_export, stem, size,
                                              strides, lr):
    init_default_scope('mmista')
    backbone_cfg = Config.fromfile(tiny_export / 'config.py').model.backbone
    assert backbone_cfg.stem == 'cifar'
    backbone_cfg.update(
        out_indices=(0, 1, 2, 3), with_aux_feature=False, frozen_stages=1)
    if stem == 'cifar':
        backbone_cfg.init_cfg = dict(
            type='Pretrained',
            checkpoint=str(tiny_export / 'model.pth'),
            prefix='backbone.')
    else:  # the export's genotype; its stem's weights do not fit
        backbone_cfg.stem = 'imagenet'
    torch.manual_seed(0)
    backbone = MODELS.build(backbone_cfg)
    backbone.init_weights()
    if stem == 'cifar':
        exported = torch.load(tiny_export / 'model.pth')['state_dict']
        for name, value in backbone.state_dict().items():
            assert torch.equal(value, exported[f'backbone.{name}']), name

    head = SegmentationHead(list(backbone.out_channels))
    backbone.train()
    head.train()
    images, target = synthetic_batch(size)
    feats = backbone(images)
    assert tuple(size // f.shape[-1] for f in feats) == strides

    frozen = [backbone.stem, backbone.cells[0]]  # stage 0 and stage 1
    frozen_state = {
        name: value.clone()
        for name, value in backbone.state_dict().items()
        if name.startswith(('stem.', 'cells.0.'))
    }
    params = [p for p in backbone.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(
        params + list(head.parameters()), lr=lr, momentum=0.9)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        logits = head(backbone(images), images.shape[-2:])
        loss = F.cross_entropy(logits, target)
        loss.backward()
        if not losses:
            # The loss reaches the backbone: the last cell of every trained
            # stage (its output is an FPN input) and the stages' cells in
            # all (a cell's edges may leave an input unread).
            for stage in (2, 3):
                cell = backbone.cells[backbone.stage_last_cell(stage)]
                grads = [
                    p.grad for p in cell.parameters() if p.grad is not None
                ]
                assert grads and sum(g.abs().sum() for g in grads) > 0
            assert sum(p.grad.abs().sum() for p in params
                       if p.grad is not None) > 0
            for module in frozen:
                assert not module.training
                assert all(p.grad is None and not p.requires_grad
                           for p in module.parameters())
        nn.utils.clip_grad_norm_(params + list(head.parameters()), 1.)
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0], losses
    for name, value in backbone.state_dict().items():
        if name in frozen_state:
            assert torch.equal(value, frozen_state[name]), name
