# Copyright (c) mmista contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn

from mmista.models import DerivedNet, ISTASuperNet, absorb_supernet

pytestmark = pytest.mark.numerics


def trained_looking(net, seed=0):
    """Random BN statistics and affine parameters, and a moved ``b``, as
    after some training."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=generator))
                module.running_var.copy_(
                    torch.rand(n, generator=generator) + 0.5)
                if module.affine:
                    module.weight.copy_(
                        torch.rand(n, generator=generator) + 0.5)
                    module.bias.copy_(torch.randn(n, generator=generator))
        for param in net.architecture_parameters():
            param.add_(torch.randn(param.shape, generator=generator,
                                   dtype=param.dtype))
    net.recover()
    net.eval()
    return net


@pytest.mark.parametrize('stem, size', [('cifar', 16), ('imagenet', 64)])
def test_absorbed_derived_net_equals_supernet(stem, size):
    torch.manual_seed(0)
    supernet = trained_looking(
        ISTASuperNet(channels=4, layers=3, stem=stem, affine=True,
                     bn_append=True, out_indices=(0, 2, 3),
                     with_aux_feature=True))
    cfg, state = absorb_supernet(supernet)
    assert cfg['type'] == 'DerivedNet'
    assert cfg['genotype'] == supernet.genotype().to_dict()
    derived = DerivedNet(**{k: v for k, v in cfg.items() if k != 'type'})
    derived.load_state_dict(state, strict=True)
    derived.eval()

    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected = supernet(x)
        got = derived(x)
    assert len(got) == len(expected) == 4
    for a, b in zip(got, expected):
        scale = b.abs().max()
        assert (a - b).abs().max() <= 1e-5 * scale


def test_absorption_needs_affine_output_bns():
    supernet = ISTASuperNet(channels=4, layers=3)  # two-stage: no affine
    supernet.recover()
    with pytest.raises(ValueError, match='affine BatchNorm'):
        absorb_supernet(supernet)


def test_absorption_after_sync_bn_conversion():
    """With sync_bn='torch' the BatchNorms are SyncBatchNorm; absorption
    (and the edge freezing, which finds the same layers) still applies."""
    torch.manual_seed(0)
    supernet = trained_looking(
        ISTASuperNet(channels=4, layers=3, affine=True, bn_append=True))
    _, expected = absorb_supernet(supernet)
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(supernet)
    assert any(isinstance(m, nn.SyncBatchNorm) for m in converted.modules())
    _, state = absorb_supernet(converted)
    assert state.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(state[key], expected[key], msg=key)
