# Copyright (c) mmista contributors. All rights reserved.
"""An edge op times its support weight, with the weight inside the BN.

A searching ISTA super-net computes ``w * op(x)`` on every supported edge.
When the op ends in a BatchNorm, ``w * BN(y)`` is the same BatchNorm with
``gamma' = w * gamma`` and ``beta' = w * beta`` (the absorption of
docs/en/method/absorption.md, applied at every forward). Computed that way
it costs one normalisation instead of a normalisation and a product, and
its backward needs nothing beyond what the BatchNorm saves anyway, whereas
the product would keep the BatchNorm's output alive for the gradient of
``w``: so a super-net in search keeps the memory of the network it
searches.
"""
import itertools
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from .candidate_ops import FactorizedReduce, output_bn


def folded_affine(bn: _BatchNorm, scale: torch.Tensor
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The affine parameters of ``scale * bn``: ``scale * gamma`` and
    ``scale * beta``.

    Args:
        bn (_BatchNorm): An affine BatchNorm.
        scale (Tensor): A 0-dim weight.

    Returns:
        tuple[Tensor, Tensor]: The scaled weight and bias.
    """
    scale = scale.to(bn.weight.dtype)
    return bn.weight * scale, bn.bias * scale


def scaled_batch_norm(bn: _BatchNorm, x: torch.Tensor,
                      scale: torch.Tensor) -> torch.Tensor:
    """``scale * bn(x)`` as one BatchNorm, updating ``bn``'s statistics.

    Follows ``torch.nn.BatchNorm2d``'s forward (momentum or cumulative
    average, tracked or batch statistics, train or eval) with the affine
    parameters multiplied by ``scale``.

    Args:
        bn (_BatchNorm): The BatchNorm (affine or not).
        x (Tensor): Its input ``(N, C, H, W)``.
        scale (Tensor): A 0-dim weight (differentiable).

    Returns:
        Tensor: ``scale * bn(x)``.
    """
    momentum = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats \
            and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        if bn.momentum is None:
            momentum = 1.0 / float(bn.num_batches_tracked)
    use_batch_stats = bn.training or (bn.running_mean is None
                                      and bn.running_var is None)
    keep_stats = not bn.training or bn.track_running_stats
    if bn.weight is not None:
        weight, bias = folded_affine(bn, scale)
    else:
        dtype = x.dtype if bn.running_mean is None else bn.running_mean.dtype
        weight = scale.to(dtype).expand(x.shape[1]).contiguous()
        bias = None
    return F.batch_norm(x, bn.running_mean if keep_stats else None,
                        bn.running_var if keep_stats else None, weight, bias,
                        use_batch_stats, momentum, bn.eps)


def run_scaled_op(op: nn.Module, x: torch.Tensor,
                  scale: torch.Tensor) -> torch.Tensor:
    """``scale * op(x)``, folded into the op's final BatchNorm if it has one.

    SyncBatchNorm layers (distributed ``sync_bn``) and ops without a final
    BatchNorm (the identity of two-stage nets, and pools built without
    ``pool_bn``) take the plain product.

    Args:
        op (nn.Module): A candidate op (see ``build_candidate_op``).
        x (Tensor): The op's input.
        scale (Tensor): A 0-dim weight (differentiable).

    Returns:
        Tensor: ``scale * op(x)``.
    """
    bn = output_bn(op)
    if bn is None or isinstance(bn, nn.SyncBatchNorm):
        return scale * op(x)
    if isinstance(op, FactorizedReduce):
        features = op.factorized(x)
    else:  # a Sequential ending in ``bn``
        features = x
        for layer in itertools.islice(op, len(op) - 1):
            features = layer(features)
    return scaled_batch_norm(bn, features, scale)
