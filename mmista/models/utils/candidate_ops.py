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


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution and BatchNorm.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Convolution kernel size.
        stride (int): Convolution stride.
        padding (int): Convolution padding.
        affine (bool): Whether the BatchNorm has affine parameters.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int,
                 padding: int,
                 affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                bias=False),
            nn.BatchNorm2d(out_channels, affine=affine))


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
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int,
                 padding: int,
                 dilation: int,
                 affine: bool = True):
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
            nn.BatchNorm2d(out_channels, affine=affine))


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
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int,
                 padding: int,
                 affine: bool = True):
        first = DilConv(
            in_channels,
            in_channels,
            kernel_size,
            stride,
            padding,
            dilation=1,
            affine=affine)
        second = DilConv(
            in_channels,
            out_channels,
            kernel_size,
            1,
            padding,
            dilation=1,
            affine=affine)
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
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 affine: bool = True):
        super().__init__()
        if out_channels % 2:
            raise ValueError(
                f'FactorizedReduce needs even out_channels, got '
                f'{out_channels}')
        self.relu = nn.ReLU(inplace=False)
        half = out_channels // 2
        self.conv_1 = nn.Conv2d(in_channels, half, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(in_channels, half, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, affine=affine)

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
    pools of two-stage super-nets)."""

    def __init__(self, op: nn.Module, channels: int, affine: bool = True):
        super().__init__(op, nn.BatchNorm2d(channels, affine=affine))


OpFactory = Callable[[int, int, bool], nn.Module]

_OP_FACTORIES: Dict[str, OpFactory] = {
    'max_pool_3x3':
    lambda c, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    'avg_pool_3x3':
    lambda c, stride, affine: nn.AvgPool2d(
        3, stride=stride, padding=1, count_include_pad=False),
    'skip_connect':
    lambda c, stride, affine: nn.Identity()
    if stride == 1 else FactorizedReduce(c, c, affine=affine),
    'sep_conv_3x3':
    lambda c, stride, affine: SepConv(c, c, 3, stride, 1, affine=affine),
    'sep_conv_5x5':
    lambda c, stride, affine: SepConv(c, c, 5, stride, 2, affine=affine),
    'dil_conv_3x3':
    lambda c, stride, affine: DilConv(c, c, 3, stride, 2, 2, affine=affine),
    'dil_conv_5x5':
    lambda c, stride, affine: DilConv(c, c, 5, stride, 4, 2, affine=affine),
}
assert tuple(_OP_FACTORIES) == CANDIDATE_OPS


POOL_OPS = ('max_pool_3x3', 'avg_pool_3x3')


def build_candidate_op(name: str,
                       channels: int,
                       stride: int,
                       affine: bool = True,
                       bn_append: bool = False,
                       pool_bn: bool = False) -> nn.Module:
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

    Returns:
        nn.Module: The operation.
    """
    if name not in _OP_FACTORIES:
        raise KeyError(f'unknown op {name!r}; candidates are '
                       f'{", ".join(CANDIDATE_OPS)}')
    if stride not in (1, 2):
        raise ValueError(f'op stride must be 1 or 2, got {stride}')
    op = _OP_FACTORIES[name](channels, stride, affine)
    if bn_append and output_bn(op) is None:
        op = WithBN(op, channels, affine=affine)
    elif pool_bn and name in POOL_OPS:
        op = WithBN(op, channels, affine=False)
    return op


def output_bn(op: nn.Module) -> Optional[_BatchNorm]:
    """Returns the BatchNorm an op ends in, or None if it does not end in one.

    Args:
        op (nn.Module): A module built by :func:`build_candidate_op`.

    Returns:
        _BatchNorm | None: The op's final BatchNorm (a SyncBatchNorm after
        ``sync_bn`` conversion).
    """
    if isinstance(op, FactorizedReduce):
        return op.bn
    if isinstance(op, nn.Sequential) and isinstance(op[-1], _BatchNorm):
        return op[-1]
    return None


def is_identity(op: nn.Module) -> bool:
    """Whether an op is the plain identity (drop-path skips those)."""
    return isinstance(op, nn.Identity)
