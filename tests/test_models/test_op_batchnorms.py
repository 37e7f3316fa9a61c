# Copyright (c) mmista contributors. All rights reserved.
"""Which candidate ops end in which BatchNorm, in every network.

Two-stage super-nets follow each pool by ``BatchNorm2d(C, affine=False)``
as the reference's two-stage super-net and DARTS's ``MixedOp`` do
(``ista_nas/search/models/model_search.py``: ``if 'pool' in primitive: op =
nn.Sequential(op, nn.BatchNorm2d(C, affine=False))``); the identity skip
gets none. One-stage super-nets append an affine BatchNorm to the pools and
the identity; derived networks keep the plain pools.
"""
import pytest
import torch
import torch.nn as nn

from mmista.models import DenseSuperNet, DerivedNet, ISTASuperNet
from mmista.models.utils import POOL_OPS, FactorizedReduce, WithBN, output_bn
from mmista.structures import CANDIDATE_OPS, genotype_from_supports

pytestmark = pytest.mark.numerics

NUM_OPS = len(CANDIDATE_OPS)
POOL_TYPES = (nn.MaxPool2d, nn.AvgPool2d)


def edge_ops(net):
    """(op name, stride-2 edge, module) of every edge of a super-net."""
    for cell in net.cells:
        reduction = cell.cell_type == 'reduce'
        for edges in cell.nodes:
            for k, op in enumerate(edges):
                yield CANDIDATE_OPS[k % NUM_OPS], reduction and \
                    k // NUM_OPS < 2, op


@pytest.mark.parametrize('supernet', [ISTASuperNet, DenseSuperNet])
def test_two_stage_pools_end_in_a_non_affine_batchnorm(supernet):
    net = supernet(channels=4, layers=3)  # the two-stage defaults
    seen = set()
    for name, strided, op in edge_ops(net):
        seen.add(name)
        if name in POOL_OPS:
            assert isinstance(op, WithBN) and isinstance(op[0], POOL_TYPES)
            assert isinstance(op[1], nn.BatchNorm2d) and not op[1].affine
            assert op[1].num_features == op[1].running_mean.numel()
        elif name == 'skip_connect':
            assert isinstance(op, FactorizedReduce if strided else
                              nn.Identity)
        else:  # convolutions end in their own non-affine BatchNorm
            assert not output_bn(op).affine
    assert seen == set(CANDIDATE_OPS)


def test_pool_batchnorm_can_be_switched_off():
    net = ISTASuperNet(channels=4, layers=3, pool_bn=False)
    pools = [op for name, _, op in edge_ops(net) if name in POOL_OPS]
    assert pools and all(isinstance(op, POOL_TYPES) for op in pools)


def test_one_stage_and_derived_networks_keep_their_batchnorms():
    onestage = ISTASuperNet(channels=4, layers=3, affine=True, bn_append=True)
    for name, strided, op in edge_ops(onestage):
        bn = output_bn(op)
        assert bn.affine, name  # every op ends in one affine BatchNorm
        if name in POOL_OPS:
            assert len([m for m in op.modules()
                        if isinstance(m, nn.BatchNorm2d)]) == 1
    # every edge a pool: the derived network has no pool BatchNorm
    pools = [[0, NUM_OPS + 1]] * 4
    genotype = genotype_from_supports(dict(normal=pools, reduce=pools))
    derived = DerivedNet(genotype, channels=4, layers=3)
    ops = [op for cell in derived.cells for op in cell.ops]
    assert len(ops) == 3 * 8
    assert all(isinstance(op, POOL_TYPES) for op in ops)
    # on request (the benchmark's two-stage target), the super-net's ops
    sparse = DerivedNet(genotype, channels=4, layers=3, affine=False,
                        pool_bn=True)
    for op in (op for cell in sparse.cells for op in cell.ops):
        assert isinstance(op, WithBN) and not op[1].affine


def reference_pool_edge(pool, x, running_mean, running_var, training, eps):
    """``BatchNorm2d(C, affine=False)(pool(x))`` written out."""
    y = pool(x)
    if training:
        mean = y.mean(dim=(0, 2, 3))
        var = y.var(dim=(0, 2, 3), unbiased=False)
    else:
        mean, var = running_mean, running_var
    return (y - mean[:, None, None]) / torch.sqrt(var[:, None, None] + eps)


@pytest.mark.parametrize('training', [True, False])
def test_supported_pool_edges_compute_w_times_bn_of_the_pool(training):
    torch.manual_seed(0)
    net = ISTASuperNet(channels=4, layers=3)
    net.recover()
    arch = net.architecture
    # node 0 of the normal cells: max pool of input 0 and avg pool of
    # input 1 (edges 0 and 1 * 7 + 1)
    state = arch.state_dict()
    state['normal_support'][0] = torch.tensor([0, NUM_OPS + 1])
    arch.load_state_dict(state)
    assert arch.genotype().normal[:2] == [('max_pool_3x3', 0),
                                          ('avg_pool_3x3', 1)]
    cell = net.cells[0]
    assert cell.cell_type == 'normal'
    channels = cell.nodes[0][0][1].num_features
    edges = [cell.nodes[0][0], cell.nodes[0][NUM_OPS + 1]]
    with torch.no_grad():  # trained-looking running statistics
        for op in edges:
            op[1].running_mean.uniform_(-1., 1.)
            op[1].running_var.uniform_(0.5, 2.)
    before = [(op[1].running_mean.clone(), op[1].running_var.clone())
              for op in edges]
    net.train(training)
    s0 = torch.randn(4, 12, 8, 8)
    s1 = torch.randn(4, 12, 8, 8)
    weights = arch.weights('normal')
    out = cell(s0, s1, arch.supports('normal'), weights)

    states = [cell.inputs.preprocess0(s0), cell.inputs.preprocess1(s1)]
    expected = sum(
        weights[0, i] * reference_pool_edge(op[0], states[i], *before[i],
                                            training, op[1].eps)
        for i, op in enumerate(edges))
    scale = expected.abs().max()
    # folded BatchNorm against the written-out formula: rounding apart
    assert (out[:, :channels] - expected).abs().max() <= 1e-5 * scale
    for i, op in enumerate(edges):
        mean, var = before[i]
        if training:  # momentum 0.1 towards the batch statistics
            y = op[0](states[i]).detach()
            torch.testing.assert_close(
                op[1].running_mean, 0.9 * mean + 0.1 * y.mean(dim=(0, 2, 3)))
            torch.testing.assert_close(  # unbiased, as BatchNorm2d keeps it
                op[1].running_var, 0.9 * var + 0.1 * y.var(dim=(0, 2, 3)))
        else:  # exact: eval mode leaves the statistics untouched
            assert torch.equal(op[1].running_mean, mean)
            assert torch.equal(op[1].running_var, var)
    # the loss reaches b through the pools' weights
    grad, = torch.autograd.grad(out[:, :channels].sum(),
                                arch.compressed['normal_0'])
    assert grad.abs().max() > 0
