# Copyright (c) mmista contributors. All rights reserved.

import pytest
import torch

from mmista.architecture import CompressedArchitecture
from mmista.models import ISTASuperNet
from mmista.models.utils import cell_layout
from mmista.structures import CANDIDATE_OPS
from ..utils import logged_records

pytestmark = pytest.mark.numerics

NUM_OPS = len(CANDIDATE_OPS)


@pytest.fixture
def supernet():
    torch.manual_seed(0)
    net = ISTASuperNet(channels=4, layers=3, out_indices=(0, 1, 2))
    net.recover()
    net.eval()
    return net


def test_cell_equals_hand_built_computation(supernet):
    cell = supernet.cells[1]  # a reduction cell (layers // 3 == 1)
    assert cell.cell_type == 'reduce'
    spec = cell_layout(3, 4, supernet.stem.out_channels, False, 4)[1]
    s0 = torch.randn(2, spec.prev_prev_channels, 8, 8)
    s1 = torch.randn(2, spec.prev_channels, 8, 8)
    arch = supernet.architecture
    supports = arch.supports('reduce')
    weights = arch.weights('reduce')
    with torch.no_grad():
        out = cell(s0, s1, supports, weights)
        # By hand: each supported op on its input, times its weight from
        # w = z_S + A_S^T (b - A_S z_S), summed per node, nodes concatenated.
        states = [cell.inputs.preprocess0(s0), cell.inputs.preprocess1(s1)]
        A = arch.dictionaries('reduce')
        b = arch.compressed_vectors('reduce').double()
        for j in range(4):
            S = supports[j]
            z_S = arch.reduce_z[j, S]
            A_S = A[j][:, S]
            w = z_S + A_S.T @ (b[j] - A_S @ z_S)
            node = sum(w[i].float() * cell.nodes[j][k](states[k // NUM_OPS])
                       for i, k in enumerate(S))
            states.append(node)
        expected = torch.cat(states[2:], dim=1)
    assert out.shape == (2, 4 * spec.channels, 4, 4)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


def test_only_supported_ops_run(supernet):
    calls = {}
    for cell_index, cell in enumerate(supernet.cells):
        for j, edges in enumerate(cell.nodes):
            for k, op in enumerate(edges):
                # the op's first layer: a weighted op may run its layers
                # itself (BN-folded weight)
                next(op.children(), op).register_forward_hook(
                    lambda m, i, o, key=(cell_index, j, k): calls.update(
                        {key: calls.get(key, 0) + 1}))
    supernet(torch.randn(2, 3, 16, 16))
    expected = {(c, j, k)
                for c, cell in enumerate(supernet.cells)
                for j, support in enumerate(
                    supernet.architecture.supports(cell.cell_type))
                for k in support}
    assert set(calls) == expected
    assert all(count == 1 for count in calls.values())
    # 3 cells x 4 nodes x 2 edges out of 3 x 98 candidate edges.
    assert len(calls) == 24


def test_gradient_reaches_b_through_support_weights(supernet):
    arch = supernet.architecture
    b = arch.compressed['normal_2']
    weights = arch.weights('normal')
    grad, = torch.autograd.grad(weights[2].sum(), b)
    A_S = arch.dictionaries('normal')[2][:, arch.supports('normal')[2]]
    torch.testing.assert_close(grad.double(), A_S.sum(1))
    supernet.train()
    feats = supernet(torch.randn(2, 3, 16, 16))
    feats[-1].square().mean().backward()
    for cell in ('normal', 'reduce'):
        for j in range(4):
            assert arch.compressed[f'{cell}_{j}'].grad.abs().sum() > 0


def test_architecture_state_survives_state_dict():
    source = ISTASuperNet(channels=4, layers=3, arch_seed=1)
    with torch.no_grad():
        for param in source.architecture.compressed.values():
            param.normal_()
    source.recover()
    target = ISTASuperNet(channels=4, layers=3, arch_seed=2)
    assert target.genotype() != source.genotype()
    target.load_state_dict(source.state_dict())
    assert target.genotype() == source.genotype()
    assert bool(target.architecture.recovered)
    x = torch.randn(1, 3, 16, 16)
    source.eval()
    target.eval()
    torch.testing.assert_close(target(x)[-1], source(x)[-1])


def test_recover_only_selected_nodes():
    arch = CompressedArchitecture(seed=0)
    arch.recover()
    before = {cell: arch.supports(cell) for cell in ('normal', 'reduce')}
    with torch.no_grad():
        for param in arch.compressed.values():
            param.copy_(torch.randn_like(param))
    frozen = dict(normal=[True, False, True, True], reduce=[True] * 4)
    arch.recover(nodes=frozen)
    assert arch.supports('normal')[1] == before['normal'][1]
    assert arch.supports('normal') != before['normal']


def test_derived_backbone_cfg(supernet):
    cfg = supernet.derived_backbone_cfg(channels=36, layers=20)
    assert cfg['type'] == 'DerivedNet'
    assert cfg['channels'] == 36 and cfg['stem'] == 'cifar'
    assert cfg['genotype'] == supernet.genotype().to_dict()


def test_dictionaries_follow_the_seed_of_torch_unless_given(caplog):
    def drawn(torch_seed, **kwargs):
        torch.manual_seed(torch_seed)
        arch = CompressedArchitecture(**kwargs)
        return {
            key: value.clone()
            for key, value in arch.state_dict().items()
            if key.endswith('dictionaries') or key.startswith('compressed')
        }, int(arch.dictionary_seed)

    first, seed = drawn(3)
    again, _ = drawn(3)
    other, other_seed = drawn(4)
    assert (seed, other_seed) == (3, 4)
    assert first.keys() == other.keys() and len(first) == 2 + 2 * 4
    for key in first:
        assert torch.equal(first[key], again[key]), key  # exact: same draw
        assert not torch.equal(first[key], other[key]), key
    # an explicit seed wins over torch's
    given, given_seed = drawn(4, seed=3)
    assert given_seed == 3
    assert all(torch.equal(given[k], first[k]) for k in first)
    with pytest.raises(ValueError, match='below 2\\*\\*63'):
        CompressedArchitecture(seed=2**63)


def test_dictionary_seed_is_logged():
    from mmengine.logging import MMLogger
    logger = MMLogger.get_instance('test_dictionary_seed', log_level='INFO')
    with logged_records(logger) as records:
        torch.manual_seed(5)
        ISTASuperNet(channels=4, layers=3)
        ISTASuperNet(channels=4, layers=3, arch_seed=2)
    messages = [r.getMessage() for r in records]
    assert any('drawn with seed 5' in m and "the run's seed" in m
               for m in messages)
    assert any('drawn with seed 2 (arch_seed)' in m for m in messages)
