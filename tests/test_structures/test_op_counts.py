# Copyright (c) mmista contributors. All rights reserved.
import pytest

from mmista.engine.hooks.genotype_files import op_count_scalars
from mmista.structures import (CANDIDATE_OPS, CELL_TYPES, OP_GROUPS,
                               PUBLISHED_GENOTYPES, Genotype, count_ops,
                               describe_op_counts, group_op_counts)

# 3 nodes x 2 edges per cell.
GENOTYPE = Genotype(
    normal=[('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0),
            ('max_pool_3x3', 2), ('sep_conv_3x3', 3), ('dil_conv_5x5', 0)],
    normal_concat=[2, 3, 4],
    reduce=[('max_pool_3x3', 0), ('avg_pool_3x3', 1), ('max_pool_3x3', 1),
            ('skip_connect', 2), ('max_pool_3x3', 0), ('skip_connect', 3)],
    reduce_concat=[2, 3, 4])


def test_every_candidate_op_is_in_one_group():
    grouped = [op for ops in OP_GROUPS.values() for op in ops]
    assert sorted(grouped) == sorted(CANDIDATE_OPS)


def test_counts_of_a_hand_built_genotype():
    counts = count_ops(GENOTYPE)
    assert counts == {
        'normal': {
            'max_pool_3x3': 1, 'avg_pool_3x3': 0, 'skip_connect': 2,
            'sep_conv_3x3': 2, 'sep_conv_5x5': 0, 'dil_conv_3x3': 0,
            'dil_conv_5x5': 1
        },
        'reduce': {
            'max_pool_3x3': 3, 'avg_pool_3x3': 1, 'skip_connect': 2,
            'sep_conv_3x3': 0, 'sep_conv_5x5': 0, 'dil_conv_3x3': 0,
            'dil_conv_5x5': 0
        },
    }
    assert list(counts['normal']) == list(CANDIDATE_OPS)
    assert group_op_counts(counts) == {
        'normal': {'skip': 2, 'pool': 1, 'sep_conv': 2, 'dil_conv': 1},
        'reduce': {'skip': 2, 'pool': 4, 'sep_conv': 0, 'dil_conv': 0},
    }


@pytest.mark.parametrize('name', sorted(PUBLISHED_GENOTYPES))
def test_counts_add_up_to_the_edges(name):
    genotype = PUBLISHED_GENOTYPES[name]
    counts = count_ops(genotype)
    groups = group_op_counts(counts)
    for cell in CELL_TYPES:
        edges = len(getattr(genotype, cell))
        assert sum(counts[cell].values()) == edges
        assert sum(groups[cell].values()) == edges


def test_darts_v2_reduction_cell_is_parameter_free():
    groups = group_op_counts(count_ops(PUBLISHED_GENOTYPES['darts_v2']))
    assert groups['reduce'] == dict(skip=3, pool=5, sep_conv=0, dil_conv=0)
    assert groups['normal'] == dict(skip=2, pool=0, sep_conv=5, dil_conv=1)


def test_log_line_and_scalars():
    counts = count_ops(GENOTYPE)
    assert describe_op_counts(counts) == (
        'normal skip 2 pool 1 sep_conv 2 dil_conv 1 (max_pool_3x3 1, '
        'skip_connect 2, sep_conv_3x3 2, dil_conv_5x5 1); '
        'reduce skip 2 pool 4 sep_conv 0 dil_conv 0 (max_pool_3x3 3, '
        'avg_pool_3x3 1, skip_connect 2)')
    scalars = op_count_scalars(counts)
    assert len(scalars) == 2 * (len(OP_GROUPS) + len(CANDIDATE_OPS))
    assert scalars['arch/ops_reduce_pool'] == 4
    assert scalars['arch/ops_reduce_avg_pool_3x3'] == 1
    assert scalars['arch/ops_normal_sep_conv_5x5'] == 0
    assert all(type(value) is int for value in scalars.values())
