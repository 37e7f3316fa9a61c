# Copyright (c) mmista contributors. All rights reserved.
"""Classification head of DARTS-space networks, with the auxiliary head."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import ClsHead
from mmpretrain.structures import DataSample

from mmista.registry import MODELS


class AuxiliaryHead(nn.Module):
    """The DARTS auxiliary classifier on an intermediate feature map.

    ReLU, 5x5 average pool, Conv1x1 -> 128, BN, ReLU, Conv2x2 -> 768,
    [BN], ReLU, Linear. The CIFAR variant (8x8 input) pools with stride 3 and
    keeps the second BN; the ImageNet variant (14x14 input) pools with
    stride 2 and omits it, as in the published DARTS networks.

    Args:
        in_channels (int): Channels of the feature map.
        num_classes (int): Number of classes.
        variant (str): ``'cifar'`` or ``'imagenet'``.
    """

    def __init__(self, in_channels: int, num_classes: int, variant: str):
        super().__init__()
        if variant not in ('cifar', 'imagenet'):
            raise ValueError(
                f"auxiliary head variant must be 'cifar' or 'imagenet', got "
                f'{variant!r}')
        stride = 3 if variant == 'cifar' else 2
        layers = [
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=stride, padding=0, count_include_pad=False),
            nn.Conv2d(in_channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
        ]
        if variant == 'cifar':
            layers.append(nn.BatchNorm2d(768))
        layers.append(nn.ReLU(inplace=True))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns auxiliary logits."""
        x = self.features(x)
        # Pool whatever spatial extent is left (1x1 at the reference sizes).
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


@MODELS.register_module()
class DartsClsHead(ClsHead):
    """Global average pooling and a linear classifier, plus DARTS's
    auxiliary loss.

    The backbone returns feature maps; the last one is pooled and classified.
    When ``aux_weight > 0`` the first feature map (the output of cell
    ``2*layers//3``: set the backbone's ``with_aux_feature=True``) feeds the
    auxiliary head during training and its loss, scaled by ``aux_weight``,
    is added as ``loss_aux``. Prediction uses the main classifier only.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the last feature map.
        aux_in_channels (int, optional): Channels of the auxiliary feature
            map. Required when ``aux_weight > 0``.
        aux_weight (float): Weight of the auxiliary loss. Defaults to 0.
        aux_variant (str): ``'cifar'`` (8x8 input) or ``'imagenet'`` (14x14).
            Defaults to ``'cifar'``.
        init_cfg (dict, optional): Initialization config. Defaults to a
            normal init of the linear layers.
        **kwargs: ``loss``, ``topk`` and ``cal_acc`` of
            :class:`mmpretrain.models.heads.ClsHead`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 aux_in_channels: Optional[int] = None,
                 aux_weight: float = 0.,
                 aux_variant: str = 'cifar',
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be positive')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.aux_weight = aux_weight
        self.fc = nn.Linear(in_channels, num_classes)
        self.aux_head = None
        if aux_weight > 0:
            if aux_in_channels is None:
                raise ValueError(
                    'aux_weight > 0 needs aux_in_channels (channels of the '
                    'output of cell 2*layers//3)')
            self.aux_head = AuxiliaryHead(aux_in_channels, num_classes,
                                          aux_variant)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Global-average-pools the last feature map."""
        last = feats[-1]
        if last.dim() == 4:
            last = F.adaptive_avg_pool2d(last, 1).flatten(1)
        return last

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Returns the main logits."""
        return self.fc(self.pre_logits(feats))

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> dict:
        """Main classification loss plus the weighted auxiliary loss.

        Args:
            feats (tuple[Tensor]): Backbone feature maps; the first feeds the
                auxiliary head when it is enabled.
            data_samples (list[DataSample]): Annotations.

        Returns:
            dict[str, Tensor]: ``loss`` and, with the auxiliary head,
            ``loss_aux``.
        """
        losses = self._get_loss(self(feats), data_samples, **kwargs)
        if self.aux_head is not None:
            if len(feats) < 2:
                raise ValueError(
                    'DartsClsHead with aux_weight > 0 needs two feature maps '
                    'from the backbone: set model.backbone.'
                    'with_aux_feature=True (the output of cell '
                    '2*layers//3 first, then the last stage)')
            aux_losses = self._get_loss(
                self.aux_head(feats[0]), data_samples, **kwargs)
            losses['loss_aux'] = self.aux_weight * aux_losses['loss']
        return losses
