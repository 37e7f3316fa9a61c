# Copyright (c) mmista contributors. All rights reserved.
"""Normalization layers of DARTS-space networks, built from a ``norm_cfg``.

BatchNorm is the default (``dict(type='BN')``); a derived network also takes
``SyncBN`` or ``GN`` (``dict(type='GN', num_groups=...)``), built by mmcv's
``build_norm_layer``.
"""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

#: The default normalization of every DARTS-space network.
DEFAULT_NORM_CFG = dict(type='BN')

#: Module types that count as a normalization layer.
NORM_TYPES = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)


def build_norm(channels: int,
               affine: bool = True,
               norm_cfg: Optional[dict] = None) -> nn.Module:
    """Builds one normalization layer.

    Args:
        channels (int): Channels normalized.
        affine (bool): Whether the layer has affine parameters.
            Defaults to True.
        norm_cfg (dict, optional): mmcv norm config (``type`` and the
            layer's arguments). Defaults to None: ``dict(type='BN')``.

    Returns:
        nn.Module: The layer (``nn.BatchNorm2d`` by default).
    """
    cfg = dict(DEFAULT_NORM_CFG if norm_cfg is None else norm_cfg)
    if not affine:
        cfg['affine'] = False
    return build_norm_layer(cfg, channels)[1]
