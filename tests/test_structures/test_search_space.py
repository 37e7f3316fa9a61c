# Copyright (c) mmista contributors. All rights reserved.
"""The search space's encoding: candidate indices, edges and genotypes."""
import numpy as np
import pytest
import torch

from mmista.structures import (CANDIDATE_OPS, Genotype, decode_index,
                               encode_edge, genotype_from_supports,
                               num_candidates)


def test_num_candidates():
    assert [num_candidates(j) for j in range(4)] == [14, 21, 28, 35]
    with pytest.raises(ValueError, match='node must be >= 0'):
        num_candidates(-1)


def test_decode_index():
    assert decode_index(0) == ('max_pool_3x3', 0)
    assert decode_index(6) == ('dil_conv_5x5', 0)
    assert decode_index(7) == ('max_pool_3x3', 1)
    assert decode_index(34) == (CANDIDATE_OPS[34 % 7], 4)


def test_encode_edge_inverts_decode_index():
    assert [decode_index(encode_edge(*decode_index(k))) for k in range(35)
            ] == [decode_index(k) for k in range(35)]
    assert [encode_edge(*decode_index(k)) for k in range(35)] == list(
        range(35))
    with pytest.raises(ValueError, match="unknown op 'conv_7x7'"):
        encode_edge('conv_7x7', 0)


def test_genotype_from_supports():
    supports = dict(
        normal=[[10, 3],
                np.array([0, 20]),
                torch.tensor([27, 14]), [34, 7]],
        reduce=[[0, 1], [7, 8], [15, 22], [29, 28]])
    genotype = genotype_from_supports(supports)
    expected = Genotype(
        normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('max_pool_3x3', 0),
                ('dil_conv_5x5', 2), ('max_pool_3x3', 2), ('dil_conv_5x5', 3),
                ('max_pool_3x3', 1), ('dil_conv_5x5', 4)],
        normal_concat=[2, 3, 4, 5],
        reduce=[('max_pool_3x3', 0), ('avg_pool_3x3', 0), ('max_pool_3x3', 1),
                ('avg_pool_3x3', 1), ('avg_pool_3x3', 2), ('avg_pool_3x3', 3),
                ('max_pool_3x3', 4), ('avg_pool_3x3', 4)],
        reduce_concat=[2, 3, 4, 5])
    assert genotype == expected
    three = genotype_from_supports(
        dict(normal=[[0, 1, 2]] * 2, reduce=[[3, 4, 5]] * 2))
    assert three.edges_per_node == 3 and three.steps == 2


def test_genotype_from_supports_errors():
    good = [[0, 1], [0, 1], [0, 1], [0, 1]]
    with pytest.raises(ValueError, match=r'node 0 support .* \[0, 14\)'):
        genotype_from_supports(dict(normal=[[0, 14]] + good[1:], reduce=good))
    with pytest.raises(ValueError, match='same non-zero size'):
        genotype_from_supports(
            dict(normal=[[0, 1, 2]] + good[1:], reduce=good))
    with pytest.raises(ValueError, match="missing \\['reduce'\\]"):
        genotype_from_supports(dict(normal=good))
    with pytest.raises(ValueError, match='same \\(non-zero\\) number'):
        genotype_from_supports(dict(normal=good, reduce=good[:3]))
