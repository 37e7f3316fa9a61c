# Copyright (c) mmista contributors. All rights reserved.
from .genotype import CANDIDATE_OPS, CELL_TYPES, Genotype, GenotypeError
from .published_genotypes import PUBLISHED_GENOTYPES, get_genotype

__all__ = [
    'CANDIDATE_OPS', 'CELL_TYPES', 'Genotype', 'GenotypeError',
    'PUBLISHED_GENOTYPES', 'get_genotype'
]
