# Copyright (c) mmista contributors. All rights reserved.
"""The budget's edge costs agree with the complexity counter."""
import copy
import random

import pytest
from mmengine.config import Config

from mmista.analysis import (measure_edge_costs, model_complexity,
                             probe_genotypes)
from mmista.analysis.edge_costs import network_description
from mmista.structures import (CANDIDATE_OPS, CELL_TYPES, encode_edge,
                               genotype_from_supports)
from ..utils import REPO_ROOT

NETWORKS = {
    # CIFAR stem, BN-appended ops (one-stage export)
    'cifar_onestage': ('configs/nets/ista_onestage_digits.py', {}, None),
    # CIFAR stem, plain ops (two-stage evaluation network)
    'cifar_twostage': ('configs/nets/ista_twostage_digits.py', {}, None),
    # ImageNet stem at a small size
    'imagenet':
    ('configs/nets/ista_onestage_imagenet.py', dict(channels=8,
                                                    layers=5), [64]),
}


def network_cfg(name):
    path, backbone, shape = NETWORKS[name]
    cfg = Config.fromfile(f'{REPO_ROOT}/{path}')
    cfg.model.backbone.update(backbone)
    if 'imagenet' in name:
        cfg.model.head.in_channels = 128
        cfg.model.head.pop('aux_in_channels', None)
        cfg.model.head.aux_weight = 0.
    return cfg, shape


def random_supports(seed):
    rng = random.Random(seed)
    return {
        cell: [sorted(rng.sample(range((2 + j) * 7), 2)) for j in range(4)]
        for cell in CELL_TYPES
    }


def one_input_supports():
    """A normal cell that never reads its input 1: the previous cell's
    output feeds nothing after it, but it still runs and costs."""
    normal = [[encode_edge('sep_conv_3x3', 0),
               encode_edge('dil_conv_5x5', 0)]] + [[
                   encode_edge('sep_conv_5x5', 0),
                   encode_edge('max_pool_3x3', j + 1)
               ] for j in range(1, 4)]
    return {'normal': normal, 'reduce': random_supports(7)['reduce']}


@pytest.mark.parametrize('name', list(NETWORKS))
def test_costs_agree_with_the_counter(name):
    cfg, shape = network_cfg(name)
    costs = measure_edge_costs(cfg.model.to_dict(), shape=shape)
    cases = [random_supports(seed) for seed in range(4)]
    cases.append(one_input_supports())
    for supports in cases:
        derived = copy.deepcopy(cfg)
        derived.model.backbone.genotype = genotype_from_supports(
            supports).to_dict()
        measured = model_complexity(derived, shape)
        predicted = costs.network_cost(supports)
        assert predicted.tolist() == [measured['params'], measured['flops']]


def test_every_op_on_both_kinds_of_edge_is_probed():
    for steps, sparsity in ((4, 2), (2, 2), (3, 3), (1, 2)):
        probes = probe_genotypes(steps, sparsity)
        seen = set()
        for probe in probes:
            assert len(probe) == steps
            for node, edges in enumerate(probe):
                assert len(edges) == sparsity == len(set(edges))
                assert all(0 <= i < node + 2 for _, i in edges)
                seen.update((op, int(i >= 2)) for op, i in edges)
        expected = {(op, s)
                    for op in CANDIDATE_OPS
                    for s in (0, 1) if s == 0 or steps >= 2}
        assert seen >= expected
    assert len(probe_genotypes()) == 2


def test_a_supernet_is_refused():
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/ista/onestage_digits.py')
    with pytest.raises(ValueError, match='DerivedNet'):
        measure_edge_costs(cfg.model.to_dict())


ONESTAGE = 'DerivedNet(stem=cifar, channels=8, layers=5, bn_append) at 32x32'
#: Backbone settings that change the cost, not the default ones.
OTHER_SETTINGS = dict(
    in_channels=1,
    pool_bn=True,
    affine=False,
    norm_cfg=dict(type='GN', num_groups=2))
#: Settings of training only: the network measured is the same.
TRAINING_ONLY = dict(drop_path_prob=0.3, with_aux_feature=True, with_cp=True)


@pytest.mark.parametrize('name, backbone, shape, expected', [
    ('cifar_onestage', {}, None, ONESTAGE),
    ('cifar_twostage', {}, [16],
     'DerivedNet(stem=cifar, channels=8, layers=5) at 16x16'),
    ('cifar_twostage', OTHER_SETTINGS, (1, 1, 32, 32),
     'DerivedNet(stem=cifar, channels=8, layers=5, in_channels=1, '
     'pool_bn, affine=False, norm=GN) at 32x32'),
    ('cifar_onestage', TRAINING_ONLY, None, ONESTAGE),
])
def test_network_description_names_what_changes_the_cost(
        name, backbone, shape, expected):
    cfg, _ = network_cfg(name)
    cfg.model.backbone.update(backbone)
    assert network_description(cfg.model.to_dict(), shape) == expected
