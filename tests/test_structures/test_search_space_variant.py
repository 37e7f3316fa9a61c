# Copyright (c) mmista contributors. All rights reserved.
"""genotype.json records the search-space variant beside the cells; files
without a record read as before."""
import json

import pytest

from mmista.models import DenseSuperNet, DerivedNet, ISTASuperNet
from mmista.structures import (SEARCH_SPACE_KEY, Genotype, GenotypeError,
                               SearchSpaceVariant, get_genotype,
                               read_search_space, train_dataset_type)

ONE_STAGE = SearchSpaceVariant(
    bn_append=True,
    pool_bn=True,
    stem='cifar',
    affine=True,
    supernet='ISTASuperNet',
    channels=8,
    layers=5,
    dataset='DigitsDataset')


@pytest.fixture
def genotype():
    return get_genotype('ista_onestage_cifar10')


def test_record_round_trips_and_leaves_the_genotype_alone(genotype, tmp_path):
    path = tmp_path / 'genotype.json'
    text = genotype.to_json(path, search_space=ONE_STAGE)
    data = json.loads(path.read_text())
    assert data[SEARCH_SPACE_KEY] == dict(
        bn_append=True,
        pool_bn=True,
        stem='cifar',
        in_channels=3,
        affine=True,
        supernet='ISTASuperNet',
        channels=8,
        layers=5,
        dataset='DigitsDataset')
    assert list(data)[:5] == [
        'normal', 'normal_concat', 'reduce', 'reduce_concat', 'edges_per_node'
    ]
    assert read_search_space(str(path)) == ONE_STAGE
    assert read_search_space(text) == ONE_STAGE
    assert read_search_space(data) == ONE_STAGE
    # the cells read as before, everywhere: equality and DerivedNet
    assert Genotype.from_json(path) == genotype
    assert get_genotype(str(path)) == genotype
    assert get_genotype(data) == genotype
    net = DerivedNet(genotype=str(path), channels=4, layers=3, bn_append=True)
    assert net.genotype == genotype
    # without a record the file is the old one, byte for byte
    assert genotype.to_json() == json.dumps(genotype.to_dict(), indent=2)


def test_what_has_no_record(genotype, tmp_path):
    old = tmp_path / 'old.json'
    genotype.to_json(old)
    assert SEARCH_SPACE_KEY not in json.loads(old.read_text())
    assert read_search_space(str(old)) is None
    # a published name carries its paper's variant (PUBLISHED_VARIANTS)
    assert read_search_space('ista_onestage_cifar10').bn_append is True
    assert read_search_space(str(genotype)) is None  # DARTS text
    assert read_search_space(genotype) is None
    assert get_genotype(str(old)) == genotype


@pytest.mark.parametrize('record, message', [
    (dict(pool_bn=True, stem='cifar'), 'search_space: missing bn_append'),
    (dict(bn_append='yes', pool_bn=True, stem='cifar'),
     "search_space.bn_append: expected bool, got str 'yes'"),
    (dict(bn_append=True, pool_bn=True, stem='tiny'),
     "search_space.stem: expected one of ('cifar', 'imagenet'), got 'tiny'"),
    (dict(bn_append=True, pool_bn=True, stem='cifar', in_channels=True),
     'search_space.in_channels: expected int, got bool True'),
    ([True], 'search_space: expected a mapping, got list'),
])
def test_a_bad_record_is_named(genotype, record, message):
    data = dict(genotype.to_dict(), search_space=record)
    with pytest.raises(
            GenotypeError,
            match='^' + message.replace('(', r'\(').replace(')', r'\)')):
        read_search_space(data)


def test_keys_of_a_later_version_are_ignored():
    record = dict(ONE_STAGE.to_dict(), recorded_by='a later mmista')
    assert SearchSpaceVariant.from_dict(record) == ONE_STAGE


def test_super_nets_describe_their_variant():
    one_stage = ISTASuperNet(channels=4, layers=3, affine=True, bn_append=True)
    assert one_stage.search_space_variant('DigitsDataset') == \
        SearchSpaceVariant(bn_append=True, pool_bn=True, stem='cifar',
                           affine=True, supernet='ISTASuperNet', channels=4,
                           layers=3, dataset='DigitsDataset')
    two_stage = ISTASuperNet(channels=4, layers=3)
    variant = two_stage.search_space_variant()
    assert (variant.bn_append, variant.pool_bn,
            variant.affine) == (False, True, False)
    dense = DenseSuperNet(channels=4, layers=3, stem='imagenet', pool_bn=False)
    assert dense.search_space_variant().network_keys == dict(
        bn_append=False, stem='imagenet', in_channels=3)
    assert dense.search_space_variant().supernet == 'DenseSuperNet'


def test_train_dataset_type_looks_inside_wrappers():
    cfg = dict(
        train_dataloader=dict(
            dataset=dict(
                type='KFoldDataset', dataset=dict(type='mmpretrain.CIFAR10'))))
    assert train_dataset_type(cfg) == 'CIFAR10'
    assert train_dataset_type(
        dict(train_dataloader=dict(dataset=dict(type='DigitsDataset')))) == \
        'DigitsDataset'
    assert train_dataset_type(dict()) is None
