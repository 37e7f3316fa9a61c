# Copyright (c) mmista contributors. All rights reserved.
"""Network stems of the DARTS search space.

See docs/en/method/search_space.md.

A stem turns the image into the two inputs ``(s0, s1)`` of the first cell.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn

from .norm_layers import build_norm


class CifarStem(nn.Module):
    """Conv3x3 (3 -> 3C) and BatchNorm; both cell inputs are its output.

    Args:
        channels (int): Initial channels ``C`` of the network.
        in_channels (int): Image channels. Defaults to 3.
        multiplier (int): Stem width as a multiple of ``C``. Defaults to 3.
        norm_cfg (dict, optional): Norm config. Defaults to None: BatchNorm.
    """

    #: Whether the first cell's ``s0`` is at twice ``s1``'s resolution.
    reduction_prev = False

    def __init__(self,
                 channels: int,
                 in_channels: int = 3,
                 multiplier: int = 3,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        out_channels = multiplier * channels
        self.conv = nn.Conv2d(
            in_channels, out_channels, 3, padding=1, bias=False)
        self.bn = build_norm(out_channels, norm_cfg=norm_cfg)
        self.out_channels = (out_channels, out_channels)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(s0, s1)``, both the stem output."""
        out = self.bn(self.conv(x))
        return out, out


class ImageNetStem(nn.Module):
    """Three stride-2 convolutions: 224 -> 56 (``s0``) -> 28 (``s1``).

    ``stem0`` = Conv3x3 s2 (3 -> C/2), BN, ReLU, Conv3x3 s2 (C/2 -> C), BN;
    ``stem1`` = ReLU, Conv3x3 s2 (C -> C), BN.

    Args:
        channels (int): Initial channels ``C`` of the network.
        in_channels (int): Image channels. Defaults to 3.
        norm_cfg (dict, optional): Norm config. Defaults to None: BatchNorm.
    """

    reduction_prev = True

    def __init__(self,
                 channels: int,
                 in_channels: int = 3,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        half = channels // 2
        self.stem0 = nn.Sequential(
            nn.Conv2d(in_channels, half, 3, stride=2, padding=1, bias=False),
            build_norm(half, norm_cfg=norm_cfg),
            nn.ReLU(inplace=True),
            nn.Conv2d(half, channels, 3, stride=2, padding=1, bias=False),
            build_norm(channels, norm_cfg=norm_cfg),
        )
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1, bias=False),
            build_norm(channels, norm_cfg=norm_cfg),
        )
        self.out_channels = (channels, channels)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(s0, s1)``: the outputs of ``stem0`` and ``stem1``."""
        s0 = self.stem0(x)
        return s0, self.stem1(s0)


STEMS = {'cifar': CifarStem, 'imagenet': ImageNetStem}


def build_stem(stem_type: str,
               channels: int,
               in_channels: int = 3,
               norm_cfg: Optional[dict] = None):
    """Builds a stem by name.

    Args:
        stem_type (str): ``'cifar'`` or ``'imagenet'``.
        channels (int): Initial channels ``C`` of the network.
        in_channels (int): Image channels.
        norm_cfg (dict, optional): Norm config. Defaults to None: BatchNorm.

    Returns:
        CifarStem | ImageNetStem: The stem.
    """
    if stem_type not in STEMS:
        raise KeyError(f'unknown stem {stem_type!r}; use one of '
                       f'{", ".join(STEMS)}')
    return STEMS[stem_type](
        channels, in_channels=in_channels, norm_cfg=norm_cfg)
