# Copyright (c) mmista contributors. All rights reserved.
import pytest
import torch

from mmista.engine import SearchOptimWrapperConstructor
from mmista.models import DenseSuperNet
from mmista.structures import CANDIDATE_OPS
from .test_search_classifier import ADAM, SGD, build_search_model, make_batch

pytestmark = pytest.mark.numerics

NUM_OPS = len(CANDIDATE_OPS)


def tiny_dense():
    torch.manual_seed(0)
    net = DenseSuperNet(channels=4, layers=3)
    net.eval()
    return net


def test_every_op_runs_once():
    net = tiny_dense()
    calls = []
    for cell in net.cells:
        for edges in cell.nodes:
            for op in edges:
                # the op's first layer: a weighted op may run its layers
                # itself (BN-folded weight)
                next(op.children(), op).register_forward_hook(
                    lambda m, i, o: calls.append(m))
    out = net(torch.randn(2, 3, 16, 16))
    assert out[-1].shape == (2, 64, 4, 4)
    assert len(calls) == 3 * sum((2 + j) * NUM_OPS for j in range(4))
    assert len({id(m) for m in calls}) == len(calls)


def test_node_is_the_softmax_weighted_sum():
    net = tiny_dense()
    cell = net.cells[0]
    with torch.no_grad():
        for param in net.architecture_parameters():
            param.normal_()
        weights = net.prepare_forward()['normal']
        s0 = s1 = torch.randn(2, 12, 8, 8)
        out = cell(s0, s1, net.all_edges, weights)
        states = list(cell.inputs(s0, s1))
        for j in range(4):
            w = net.alphas[f'normal_{j}'].softmax(-1).reshape(-1)
            states.append(
                sum(w[k] * op(states[k // NUM_OPS])
                    for k, op in enumerate(cell.nodes[j])))
        expected = torch.cat(states[2:], dim=1)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


def test_genotype_keeps_the_strongest_pairs():
    net = tiny_dense()
    with torch.no_grad():
        for param in net.architecture_parameters():
            param.zero_()
        net.alphas['normal_3'][4, CANDIDATE_OPS.index('sep_conv_5x5')] = 5.
        net.alphas['normal_3'][1, CANDIDATE_OPS.index('max_pool_3x3')] = 4.
    genotype = net.genotype()
    assert genotype.normal[6:8] == [('max_pool_3x3', 1),
                                    ('sep_conv_5x5', 4)]
    assert len(genotype.reduce) == 8


def test_searches_with_the_search_classifier():
    """The dense baseline plugs into the same model, optimizers and
    two-stage step: alpha learns from the architecture batch."""
    model = build_search_model()
    torch.manual_seed(0)
    model.backbone = DenseSuperNet(channels=4, layers=3)
    wrappers = SearchOptimWrapperConstructor(
        dict(
            weights=dict(optimizer=SGD),
            architecture=dict(optimizer=ADAM)))(model)
    alphas = list(model.backbone.architecture_parameters())
    assert len(alphas) == 8
    before = [a.detach().clone() for a in alphas]
    log_vars = model.train_step(
        dict(arch=make_batch(1), weight=make_batch(2)), wrappers)
    assert 'arch_loss' in log_vars
    assert all(not torch.equal(a, b) for a, b in zip(alphas, before))
