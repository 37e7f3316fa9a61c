# Copyright (c) mmista contributors. All rights reserved.
import json
import re

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


_GOOD = PUBLISHED_GENOTYPES['ista_onestage_cifar10'].to_dict()


def _first_edge(edge):
    return dict(normal=[edge] + _GOOD['normal'][1:])


@pytest.mark.parametrize('change, message', [
    (dict(edges_per_node=0), re.escape(
        'edges_per_node: expected an integer >= 1 (the inputs kept per '
        'intermediate node, usually 2), got int 0')),
    (dict(edges_per_node='2'), "edges_per_node: .* got str '2'"),
    (dict(edges_per_node=2.7), 'edges_per_node: .* got float 2.7'),
    (dict(edges_per_node=2.0), 'edges_per_node: .* got float 2.0'),
    (dict(edges_per_node=True), 'edges_per_node: .* got bool True'),
    (dict(edges_per_node=None), 'edges_per_node: .* got NoneType None'),
    (dict(normal=5), r'normal: expected a list of \[op, input\] pairs'),
    (dict(normal=None), r'normal: expected a list .* got NoneType None'),
    (dict(normal='sep_conv_3x3'), r'normal: expected a list .* got str'),
    (dict(normal={'sep_conv_3x3': 0}), r'normal: expected a list .* dict'),
    (dict(normal=[]), 'normal: expected 2 .* got 0 pairs'),
    (dict(reduce=7), r'reduce: expected a list of \[op, input\] pairs'),
    (dict(normal_concat=[]), r'normal_concat: empty; .* \[2, 3, 4, 5\]'),
    (dict(normal_concat=[0, 1]), r'normal_concat: \[0, 1\] concatenates '
     r'only the cell inputs \(0, 1\)'),
    (dict(reduce_concat=[1]), 'reduce_concat: .* only the cell inputs'),
    (dict(normal_concat=None), 'normal_concat: expected a list of node '
     'indices'),
    (dict(normal_concat='2345'), 'normal_concat: expected a list .* str'),
    (dict(normal_concat=[True, 2, 3, 4]), 'normal_concat: node bool True'),
    (dict(normal_concat=[2.0, 3, 4, 5]), 'normal_concat: node float 2.0'),
    (dict(normal_concat=[2, 3, 4, 6]), r'normal_concat: node int 6 does not '
     r'exist .* \(allowed: integers 0..5'),
    (dict(normal_concat=[2, 2, 3, 4]), 'normal_concat: .* lists a node twice'),
    (dict(normal_concat=[2, 3, 4]), 'normal_concat and reduce_concat must '
     'concatenate as many nodes'),
    (_first_edge(['sep_conv_3x3', True]), r'normal\[0\]: input bool True is '
     r'not valid for intermediate node 0 \(allowed: integers 0..1\)'),
    (_first_edge(['sep_conv_3x3', False]), r'normal\[0\]: input bool False'),
    (_first_edge(['sep_conv_3x3', 1.0]), r'normal\[0\]: input float 1.0'),
    (_first_edge(['sep_conv_3x3', None]), r'normal\[0\]: input NoneType'),
    (_first_edge(['sep_conv_3x3', '0']), r"normal\[0\]: input str '0'"),
    (_first_edge(['sep_conv_3x3', [0]]), r'normal\[0\]: input list \[0\]'),
    (_first_edge([['sep_conv_3x3', 0]]), r'normal\[0\]: expected an '
     r'\[op, input\] pair'),
    (_first_edge(['sep_conv_3x3', 0, 1]), r'normal\[0\]: expected an '
     r'\[op, input\] pair'),
    (_first_edge('ab'), r"normal\[0\]: expected an .* got str 'ab'"),
    (_first_edge(None), r'normal\[0\]: expected an .* NoneType'),
    (_first_edge([None, 0]), r'normal\[0\]: unknown op None; candidates'),
    (_first_edge([['sep_conv_3x3'], 0]), r'normal\[0\]: unknown op'),
])
@pytest.mark.parametrize('source', ['dict', 'json'])
def test_bad_fields_are_named(change, message, source):
    data = dict(_GOOD, **change)
    with pytest.raises(GenotypeError, match=message):
        if source == 'dict':
            Genotype.from_dict(data)
        else:
            Genotype.from_json(json.dumps(data))


def test_bad_genotype_files_and_text(tmp_path):
    binary = tmp_path / 'binary.json'
    binary.write_bytes(b'\xff\xfe{"normal"')
    with pytest.raises(GenotypeError, match='cannot read the genotype file'):
        Genotype.from_json(binary)
    with pytest.raises(GenotypeError, match='a genotype must be a mapping'):
        Genotype.from_dict([_GOOD])
    with pytest.raises(GenotypeError, match='range'):
        Genotype.parse("Genotype(normal=[('sep_conv_3x3', 0), "
                       "('sep_conv_3x3', 1)], reduce=[('sep_conv_3x3', 0), "
                       "('sep_conv_3x3', 1)], normal_concat=range(2.5))")
    with pytest.raises(GenotypeError, match='named keyword arguments'):
        Genotype.parse('Genotype(**fields)')
    # the stored values are plain ints, whatever integer type came in
    numpy = pytest.importorskip('numpy')
    genotype = Genotype.from_dict(
        dict(_GOOD, normal_concat=[numpy.int64(n) for n in range(2, 6)]))
    assert all(type(n) is int for n in genotype.normal_concat)
    assert json.loads(genotype.to_json())['normal_concat'] == [2, 3, 4, 5]
