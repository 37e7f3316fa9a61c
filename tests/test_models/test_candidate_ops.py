# Copyright (c) mmista contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn

from mmista.models.utils import (FactorizedReduce, WithBN, build_candidate_op,
                                 is_identity, output_bn)
from mmista.structures import CANDIDATE_OPS


@pytest.mark.parametrize('name', CANDIDATE_OPS)
@pytest.mark.parametrize('stride', [1, 2])
def test_op_shapes_and_strides(name, stride):
    op = build_candidate_op(name, 8, stride)
    x = torch.randn(2, 8, 12, 12)
    out = op(x)
    assert out.shape == (2, 8, 12 // stride, 12 // stride)


@pytest.mark.parametrize('size', [7, 9])
def test_reductions_agree_on_odd_sizes(size):
    # Every stride-2 op of a reduction cell must give the same output size.
    x = torch.randn(1, 4, size, size)
    shapes = {
        build_candidate_op(name, 4, 2)(x).shape
        for name in CANDIDATE_OPS
    }
    assert shapes == {(1, 4, (size + 1) // 2, (size + 1) // 2)}


def test_op_structure():
    sep = build_candidate_op('sep_conv_5x5', 6, 2)
    convs = [m for m in sep if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(5, 5), (1, 1)] * 2
    assert [c.stride for c in convs] == [(2, 2), (1, 1), (1, 1), (1, 1)]
    assert [c.groups for c in convs] == [6, 1, 6, 1]
    assert all(c.bias is None for c in convs)
    dil = build_candidate_op('dil_conv_5x5', 6, 1)
    assert dil[1].dilation == (2, 2) and dil[1].padding == (4, 4)
    avg = build_candidate_op('avg_pool_3x3', 6, 1)
    assert avg.count_include_pad is False
    assert is_identity(build_candidate_op('skip_connect', 6, 1))
    assert isinstance(build_candidate_op('skip_connect', 6, 2),
                      FactorizedReduce)


def test_factorized_reduce_shifts_second_half():
    op = FactorizedReduce(1, 2, affine=False).eval()
    with torch.no_grad():
        op.conv_1.weight.fill_(1.)
        op.conv_2.weight.fill_(1.)
    x = torch.arange(16.).reshape(1, 1, 4, 4)
    raw = torch.cat([op.conv_1(x), op.conv_2(x[:, :, 1:, 1:])], 1)
    assert raw[0, 0].tolist() == [[0., 2.], [8., 10.]]
    assert raw[0, 1].tolist() == [[5., 7.], [13., 15.]]


def test_bn_append_makes_every_op_end_in_bn():
    for name in CANDIDATE_OPS:
        for stride in (1, 2):
            plain = build_candidate_op(name, 4, stride)
            appended = build_candidate_op(name, 4, stride, bn_append=True)
            assert output_bn(appended) is not None
            # Only the parameter-free ops get an extra BN.
            assert isinstance(appended, WithBN) == (output_bn(plain) is None)
    assert not is_identity(build_candidate_op('skip_connect', 4, 1, True,
                                              True))


def test_affine_false():
    op = build_candidate_op('sep_conv_3x3', 4, 1, affine=False)
    assert all(not m.affine for m in op.modules()
               if isinstance(m, nn.BatchNorm2d))


def test_bad_op_arguments():
    with pytest.raises(KeyError, match='unknown op'):
        build_candidate_op('conv_7x7', 4, 1)
    with pytest.raises(ValueError, match='stride must be 1 or 2'):
        build_candidate_op('sep_conv_3x3', 4, 3)
    with pytest.raises(ValueError, match='even out_channels'):
        FactorizedReduce(4, 5)
