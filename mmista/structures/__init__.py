# Copyright (c) mmista contributors. All rights reserved.
from .genotype import (CANDIDATE_OPS, CELL_TYPES, Genotype, GenotypeError,
                       changed_nodes)
from .published_genotypes import PUBLISHED_GENOTYPES, get_genotype
from .search_space import (NUM_OPS, check_positive_int, decode_index,
                           encode_edge, genotype_from_supports, num_candidates,
                           support_indices)

__all__ = [
    'CANDIDATE_OPS', 'CELL_TYPES', 'Genotype', 'GenotypeError',
    'changed_nodes', 'PUBLISHED_GENOTYPES', 'get_genotype', 'NUM_OPS',
    'check_positive_int', 'decode_index', 'encode_edge',
    'genotype_from_supports', 'num_candidates', 'support_indices'
]
