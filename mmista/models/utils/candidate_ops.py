# Copyright (c) mmista contributors. All rights reserved.
"""The candidate operations of the DARTS search space.

See docs/en/method/search_space.md and docs/en/method/batchnorms.md.

Every op maps ``C`` channels to ``C`` channels; ``stride=2`` halves the
spatial size (edges from a reduction cell's input nodes). Convolutions have
no bias. With ``bn_append=True`` (one-stage ISTA-NAS) the ops that do not end
in a BatchNorm (the two pools and the identity skip) get one appended, so
that every op ends in a BatchNorm. With ``pool_bn=True`` (two-stage
super-nets, as DARTS's ``MixedOp`` and the ISTA-NAS reference's two-stage
super-net) only the two pools get one, non-affine; the identity does not.
"""
from typing import Callable, Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from mmista.structures import CANDIDATE_OPS
from .norm_layers import NORM_TYPES, build_norm


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution and BatchNorm.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Convolution kernel size.
        stride (int): Convolution stride.
        padding (int): Convolution padding.
        affine (bool): Whether the BatchNorm has affine parameters.
        norm_cfg (dict, optional): Norm config (see
            :func:`~mmista.models.utils.norm_layers.build_norm`); None:
            BatchNorm.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int,
                 padding: int,
                 affine: bool = True,
                 norm_cfg: Optional[dict] = None):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                bias=False), build_norm(out_channels, affine, norm_cfg))


class DilConv(nn.Sequential):
    """ReLU, dilated depthwise convolution, pointwise convolution, BatchNorm.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Depthwise kernel size.
        stride (int): Depthwise stride.
        padding (int): Depthwise padding.
        dilation (int): Depthwise dilation.
        affine (bool): Whether the BatchNorm has affine parameters.
        norm_cfg (dict, optional): Norm config; None: BatchNorm.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int,
                 padding: int,
                 dilation: int,
                 affine: bool = True,
                 norm_cfg: Optional[dict] = None):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                in_channels,
                in_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                dilation=dilation,
                groups=in_channels,
                bias=False),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            build_norm(out_channels, affine, norm_cfg))


class SepConv(nn.Sequential):
    """Two stacked :class:`DilConv` blocks without dilation.

    The stride applies to the first block only.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Depthwise kernel size.
        stride (int): Stride of the first depthwise convolution.
        padding (int): Depthwise padding.
        affine (bool): Whether the BatchNorms have affine parameters.
        norm_cfg (dict, optional): Norm config; None: BatchNorm.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int,
                 padding: int,
                 affine: bool = True,
                 norm_cfg: Optional[dict] = None):
        first = DilConv(
            in_channels,
            in_channels,
            kernel_size,
            stride,
            padding,
            dilation=1,
            affine=affine,
            norm_cfg=norm_cfg)
        second = DilConv(
            in_channels,
            out_channels,
            kernel_size,
            1,
            padding,
            dilation=1,
            affine=affine,
            norm_cfg=norm_cfg)
        super().__init__(*first, *second)


class FactorizedReduce(nn.Module):
    """Halves the spatial size with two shifted 1x1 stride-2 convolutions.

    ReLU, then two 1x1 stride-2 convolutions (the second on the input shifted
    by one pixel) each giving half of the output channels, concatenated, and
    a BatchNorm. An odd spatial size is padded by one pixel on the bottom and
    right so that both halves agree.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels (must be even).
        affine (bool): Whether the BatchNorm has affine parameters.
        norm_cfg (dict, optional): Norm config; None: BatchNorm.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 affine: bool = True,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        if out_channels % 2:
            raise ValueError(
                f'FactorizedReduce needs even out_channels, got '
                f'{out_channels}')
        self.relu = nn.ReLU(inplace=False)
        half = out_channels // 2
        self.conv_1 = nn.Conv2d(in_channels, half, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(in_channels, half, 1, stride=2, bias=False)
        self.bn = build_norm(out_channels, affine, norm_cfg)

    def factorized(self, x: torch.Tensor) -> torch.Tensor:
        """Everything but the final BatchNorm."""
        x = self.relu(x)
        height, width = x.shape[-2:]
        if height % 2 or width % 2:
            x = F.pad(x, (0, width % 2, 0, height % 2))
        return torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])],
                         dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Forward computation."""
        return self.bn(self.factorized(x))


class WithBN(nn.Sequential):
    """A parameter-free op followed by a BatchNorm (one-stage nets, and the
    pools of two-stage super-nets), or the norm of ``norm_cfg``."""

    def __init__(self,
                 op: nn.Module,
                 channels: int,
                 affine: bool = True,
                 norm_cfg: Optional[dict] = None):
        super().__init__(op, build_norm(channels, affine, norm_cfg))


OpFactory = Callable[[int, int, bool, Optional[dict]], nn.Module]

_OP_FACTORIES: Dict[str, OpFactory] = {
    'max_pool_3x3':
    lambda c, stride, affine, norm: nn.MaxPool2d(3, stride=stride, padding=1),
    'avg_pool_3x3':
    lambda c, stride, affine, norm: nn.AvgPool2d(
        3, stride=stride, padding=1, count_include_pad=False),
    'skip_connect':
    lambda c, stride, affine, norm: nn.Identity() if stride == 1 else
    FactorizedReduce(c, c, affine=affine, norm_cfg=norm),
    'sep_conv_3x3':
    lambda c, stride, affine, norm: SepConv(
        c, c, 3, stride, 1, affine=affine, norm_cfg=norm),
    'sep_conv_5x5':
    lambda c, stride, affine, norm: SepConv(
        c, c, 5, stride, 2, affine=affine, norm_cfg=norm),
    'dil_conv_3x3':
    lambda c, stride, affine, norm: DilConv(
        c, c, 3, stride, 2, 2, affine=affine, norm_cfg=norm),
    'dil_conv_5x5':
    lambda c, stride, affine, norm: DilConv(
        c, c, 5, stride, 4, 2, affine=affine, norm_cfg=norm),
}
assert tuple(_OP_FACTORIES) == CANDIDATE_OPS


POOL_OPS = ('max_pool_3x3', 'avg_pool_3x3')


def build_candidate_op(name: str,
                       channels: int,
                       stride: int,
                       affine: bool = True,
                       bn_append: bool = False,
                       pool_bn: bool = False,
                       norm_cfg: Optional[dict] = None) -> nn.Module:
    """Builds one candidate operation.

    Args:
        name (str): One of :data:`mmista.structures.CANDIDATE_OPS`.
        channels (int): Input and output channels.
        stride (int): 1, or 2 on a reduction cell's input edges.
        affine (bool): Whether the op's BatchNorms have affine parameters.
        bn_append (bool): Append a BatchNorm to ops that do not end in one
            (pools and the identity skip), as one-stage ISTA-NAS does.
        pool_bn (bool): Follow the pools by a non-affine BatchNorm, as the
            two-stage super-nets of DARTS and ISTA-NAS do, so that pool
            outputs are normalised like every other op's. No effect with
            ``bn_append`` (the pools then end in a BatchNorm already).
        norm_cfg (dict, optional): Norm config of the op's normalization
            layers (those of ``bn_append`` and ``pool_bn`` included).
            Defaults to None: BatchNorm.

    Returns:
        nn.Module: The operation.
    """
    if name not in _OP_FACTORIES:
        raise KeyError(f'unknown op {name!r}; candidates are '
                       f'{", ".join(CANDIDATE_OPS)}')
    if stride not in (1, 2):
        raise ValueError(f'op stride must be 1 or 2, got {stride}')
    op = _OP_FACTORIES[name](channels, stride, affine, norm_cfg)
    if bn_append and output_norm(op) is None:
        op = WithBN(op, channels, affine=affine, norm_cfg=norm_cfg)
    elif pool_bn and name in POOL_OPS:
        op = WithBN(op, channels, affine=False, norm_cfg=norm_cfg)
    return op


def output_norm(op: nn.Module) -> Optional[nn.Module]:
    """Returns the normalization layer an op ends in, or None.

    Args:
        op (nn.Module): A module built by :func:`build_candidate_op`.

    Returns:
        nn.Module | None: The op's final BatchNorm, GroupNorm, ... layer.
    """
    if isinstance(op, FactorizedReduce):
        return op.bn
    if isinstance(op, nn.Sequential) and isinstance(op[-1], NORM_TYPES):
        return op[-1]
    return None


def output_bn(op: nn.Module) -> Optional[_BatchNorm]:
    """Returns the BatchNorm an op ends in, or None if it does not end in one.

    Args:
        op (nn.Module): A module built by :func:`build_candidate_op`.

    Returns:
        _BatchNorm | None: The op's final BatchNorm (a SyncBatchNorm after
        ``sync_bn`` conversion).
    """
    norm = output_norm(op)
    return norm if isinstance(norm, _BatchNorm) else None


def is_identity(op: nn.Module) -> bool:
    """Whether an op is the plain identity (drop-path skips those)."""
    return isinstance(op, nn.Identity)
