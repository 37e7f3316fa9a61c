# Copyright (c) mmista contributors. All rights reserved.
from .genotype import (CANDIDATE_OPS, CELL_TYPES, SEARCH_SPACE_KEY, Genotype,
                       GenotypeError, changed_nodes)
from .op_counts import (OP_GROUPS, OpCounts, count_ops, describe_op_counts,
                        group_op_counts)
from .published_genotypes import PUBLISHED_GENOTYPES, get_genotype
from .search_space import (NUM_OPS, check_positive_int, decode_index,
                           encode_edge, genotype_from_supports, num_candidates,
                           support_indices)
from .search_space_variant import (NETWORK_KEYS, PUBLISHED_VARIANTS,
                                   SearchSpaceVariant, read_search_space,
                                   train_dataset_type)

__all__ = [
    'CANDIDATE_OPS', 'CELL_TYPES', 'SEARCH_SPACE_KEY', 'Genotype',
    'GenotypeError', 'changed_nodes', 'OP_GROUPS', 'OpCounts', 'count_ops',
    'describe_op_counts', 'group_op_counts', 'PUBLISHED_GENOTYPES',
    'get_genotype',
    'PUBLISHED_VARIANTS',
    'NETWORK_KEYS', 'SearchSpaceVariant', 'read_search_space',
    'train_dataset_type', 'NUM_OPS',
    'check_positive_int', 'decode_index', 'encode_edge',
    'genotype_from_supports', 'num_candidates', 'support_indices'
]
