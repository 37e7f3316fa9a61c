# Copyright (c) mmista contributors. All rights reserved.
import json

import pytest

from mmista.structures import (CANDIDATE_OPS, PUBLISHED_GENOTYPES, Genotype,
                               GenotypeError, get_genotype)

DARTS_TEXT = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), "
    "('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
    "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
    "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
    "('max_pool_3x3', 1)], reduce_concat=range(2, 6))")


def test_candidate_ops_order():
    # The order indexes the sparse-coding vectors: it must never change.
    assert CANDIDATE_OPS == ('max_pool_3x3', 'avg_pool_3x3', 'skip_connect',
                             'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3',
                             'dil_conv_5x5')


def test_parse_darts_text():
    genotype = Genotype.parse(DARTS_TEXT)
    assert genotype == PUBLISHED_GENOTYPES['darts_v2']
    assert genotype.reduce_concat == [2, 3, 4, 5]
    assert genotype.steps == 4
    assert genotype.normal[7] == ('dil_conv_3x3', 2)


def test_parse_with_module_prefix_and_whitespace():
    text = '\n  genotypes.' + DARTS_TEXT.replace(', ', ',\n   ') + '\n'
    assert Genotype.parse(text) == PUBLISHED_GENOTYPES['darts_v2']


@pytest.mark.parametrize('name', sorted(PUBLISHED_GENOTYPES))
def test_json_and_text_round_trip(name, tmp_path):
    genotype = PUBLISHED_GENOTYPES[name]
    path = tmp_path / 'genotype.json'
    genotype.to_json(path)
    assert json.loads(path.read_text())['normal'][0] == list(
        genotype.normal[0])
    assert Genotype.from_json(path) == genotype
    assert Genotype.from_json(genotype.to_json()) == genotype
    assert Genotype.parse(str(genotype)) == genotype
    assert get_genotype(str(path)) == genotype
    assert get_genotype(genotype.to_dict()) == genotype


def test_published_ista_genotypes():
    two_stage = get_genotype('ista_twostage_cifar10')
    assert two_stage.normal[:2] == [('skip_connect', 0), ('dil_conv_3x3', 1)]
    one_stage = get_genotype('ista_onestage_cifar10')
    assert one_stage.reduce[-1] == ('dil_conv_5x5', 2)
    imagenet = get_genotype('ista_onestage_imagenet')
    assert imagenet.normal[-1] == ('dil_conv_5x5', 4)


@pytest.mark.parametrize(
    'text, message',
    [
        ("Genotype(normal=[('conv_9x9', 0)] * 8, reduce=[])", 'unsupported'),
        ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 2)], "
         "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)])",
         'not valid for intermediate node 0'),
        ("Genotype(normal=[('bogus_op', 0), ('sep_conv_3x3', 1)], "
         "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)])", 'unknown op'),
        ("Genotype(normal=[('sep_conv_3x3', 0)], "
         "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)])",
         'pairs per node, got 1 pairs'),
        ('Genotype(normal=[], ', 'cannot parse'),
        ("__import__('os').system('true')", 'expected Genotype'),
        ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], "
         "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], colour=3)",
         'unknown'),
    ])
def test_parse_errors(text, message):
    with pytest.raises(GenotypeError, match=message):
        Genotype.parse(text)


def test_unknown_name_and_missing_file(tmp_path):
    with pytest.raises(KeyError, match='unknown genotype'):
        get_genotype('not_a_genotype')
    with pytest.raises(FileNotFoundError, match='missing.json'):
        get_genotype(str(tmp_path / 'missing.json'))
    bad = tmp_path / 'bad.json'
    bad.write_text('{"normal": [')
    with pytest.raises(GenotypeError, match='not valid JSON'):
        get_genotype(str(bad))
