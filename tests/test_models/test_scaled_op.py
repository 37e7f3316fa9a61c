# Copyright (c) mmista contributors. All rights reserved.
import copy

import pytest
import torch
import torch.nn as nn

from mmista.models.utils import (build_candidate_op, run_scaled_op,
                                 scaled_batch_norm)
from mmista.structures import CANDIDATE_OPS

pytestmark = pytest.mark.numerics


def saved_bytes(fn):
    """Bytes autograd saves for the backward of ``fn()``."""
    total = []

    def pack(tensor):
        total.append(tensor.numel() * tensor.element_size())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(total)


@pytest.mark.parametrize('affine', [True, False])
@pytest.mark.parametrize('momentum', [0.1, None])
@pytest.mark.parametrize('training', [True, False])
def test_scaled_batch_norm_is_scale_times_bn(affine, momentum, training):
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(6, affine=affine, momentum=momentum)
    with torch.no_grad():
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.)
        if affine:
            bn.weight.normal_()
            bn.bias.normal_()
    bn.train(training)
    reference = copy.deepcopy(bn)
    x = torch.randn(4, 6, 5, 5, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    scale = torch.tensor(0.37, requires_grad=True)
    scale_ref = scale.detach().clone().requires_grad_()
    for _ in range(2):  # the cumulative average needs two updates to show
        out = scaled_batch_norm(bn, x, scale)
        expected = scale_ref * reference(x_ref)
    torch.testing.assert_close(out, expected)
    grad_out = torch.randn_like(out)
    params = [x, scale] + list(bn.parameters())
    params_ref = [x_ref, scale_ref] + list(reference.parameters())
    grads = torch.autograd.grad(out, params, grad_out)
    grads_ref = torch.autograd.grad(expected, params_ref, grad_out)
    for grad, grad_ref in zip(grads, grads_ref):
        torch.testing.assert_close(grad, grad_ref, rtol=1e-5, atol=1e-6)
    for name, buffer in bn.named_buffers():
        torch.testing.assert_close(buffer, dict(
            reference.named_buffers())[name], msg=name)


@pytest.mark.parametrize('name', CANDIDATE_OPS)
@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('bn_append', [True, False])
def test_run_scaled_op_equals_the_product(name, stride, bn_append):
    torch.manual_seed(0)
    op = build_candidate_op(name, 8, stride, affine=True, bn_append=bn_append)
    reference = copy.deepcopy(op)
    x = torch.randn(2, 8, 9, 9)
    scale = torch.tensor(-0.8, requires_grad=True)
    out = run_scaled_op(op, x, scale)
    expected = scale * reference(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    grad, = torch.autograd.grad(out.square().sum(), scale)
    grad_ref, = torch.autograd.grad(expected.square().sum(), scale)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-4, atol=1e-6)
    for (key, buffer), ref in zip(op.state_dict().items(),
                                  reference.state_dict().values()):
        torch.testing.assert_close(buffer, ref, msg=key)


@pytest.mark.parametrize('name, options', [
    ('sep_conv_3x3', dict(bn_append=True)),
    # two-stage pools: their non-affine BatchNorm takes the fold too
    ('max_pool_3x3', dict(affine=False, pool_bn=True)),
    ('avg_pool_3x3', dict(affine=False, pool_bn=True)),
])
def test_folded_weight_saves_no_copy_of_the_output(name, options):
    """The product would keep the BatchNorm's output for the gradient of
    the weight; the folded form keeps what the op alone keeps."""
    torch.manual_seed(0)
    op = build_candidate_op(name, 16, 1, **options)
    x = torch.randn(4, 16, 16, 16, requires_grad=True)
    scale = torch.tensor(0.5, requires_grad=True)
    plain, alone = saved_bytes(lambda: op(x))
    _, folded = saved_bytes(lambda: run_scaled_op(op, x, scale))
    _, product = saved_bytes(lambda: scale * op(x))
    assert folded <= alone + 1024  # a few per-channel vectors at most
    assert product >= alone + plain.numel() * plain.element_size()


def test_sync_batchnorm_takes_the_product():
    torch.manual_seed(0)
    op = build_candidate_op('dil_conv_3x3', 8, 1)
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(op))
    sync.eval()  # SyncBatchNorm runs without a process group in eval
    op.eval()
    x = torch.randn(2, 8, 6, 6)
    scale = torch.tensor(1.5)
    torch.testing.assert_close(
        run_scaled_op(sync, x, scale), scale * op(x), rtol=1e-5, atol=1e-6)
