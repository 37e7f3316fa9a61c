# Copyright (c) mmista contributors. All rights reserved.
"""Published genotypes, transcribed from the papers' printed genotypes.

ISTA-NAS: Yang et al., NeurIPS 2020 (the authors' ``genotypes.py``).
DARTS-V2: Liu et al., ICLR 2019. PC-DARTS: Xu et al., ICLR 2020 (CIFAR-10).
"""
from typing import Dict

from .genotype import Genotype

_CONCAT = [2, 3, 4, 5]

ISTA_TWOSTAGE = Genotype(
    normal=[('skip_connect', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0),
            ('dil_conv_3x3', 2), ('dil_conv_3x3', 1), ('sep_conv_3x3', 0),
            ('sep_conv_3x3', 2), ('skip_connect', 0)],
    normal_concat=_CONCAT,
    reduce=[('avg_pool_3x3', 0), ('sep_conv_5x5', 1), ('dil_conv_5x5', 2),
            ('max_pool_3x3', 1), ('dil_conv_5x5', 3), ('sep_conv_3x3', 1),
            ('dil_conv_5x5', 4), ('sep_conv_5x5', 1)],
    reduce_concat=_CONCAT)

ISTA_ONESTAGE = Genotype(
    normal=[('skip_connect', 0), ('dil_conv_3x3', 1), ('sep_conv_3x3', 1),
            ('dil_conv_5x5', 2), ('avg_pool_3x3', 3), ('sep_conv_3x3', 1),
            ('sep_conv_5x5', 1), ('sep_conv_3x3', 2)],
    normal_concat=_CONCAT,
    reduce=[('avg_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 0),
            ('max_pool_3x3', 1), ('sep_conv_5x5', 1), ('avg_pool_3x3', 0),
            ('max_pool_3x3', 0), ('dil_conv_5x5', 2)],
    reduce_concat=_CONCAT)

ISTA_IMAGENET = Genotype(
    normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1),
            ('skip_connect', 2), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0),
            ('sep_conv_3x3', 1), ('dil_conv_5x5', 4)],
    normal_concat=_CONCAT,
    reduce=[('skip_connect', 0), ('sep_conv_3x3', 1), ('dil_conv_5x5', 2),
            ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('skip_connect', 2),
            ('sep_conv_3x3', 2), ('skip_connect', 3)],
    reduce_concat=_CONCAT)

DARTS_V2 = Genotype(
    normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0),
            ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0),
            ('skip_connect', 0), ('dil_conv_3x3', 2)],
    normal_concat=_CONCAT,
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2),
            ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2),
            ('skip_connect', 2), ('max_pool_3x3', 1)],
    reduce_concat=_CONCAT)

PC_DARTS = Genotype(
    normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0),
            ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1),
            ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)],
    normal_concat=_CONCAT,
    reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1),
            ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3),
            ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)],
    reduce_concat=_CONCAT)

#: Published genotypes by the names configs use.
PUBLISHED_GENOTYPES: Dict[str, Genotype] = {
    'ista_twostage_cifar10': ISTA_TWOSTAGE,
    'ista_onestage_cifar10': ISTA_ONESTAGE,
    'ista_onestage_imagenet': ISTA_IMAGENET,
    'darts_v2': DARTS_V2,
    'pc_darts': PC_DARTS,
}


def get_genotype(name_or_genotype) -> Genotype:
    """Resolves a genotype given by name, dict, JSON path/text or DARTS text.

    Args:
        name_or_genotype (str | dict | Genotype): A key of
            :data:`PUBLISHED_GENOTYPES`, a dict from :meth:`Genotype.to_dict`,
            a path to a ``genotype.json``, JSON text, or DARTS-style
            ``Genotype(...)`` text.

    Returns:
        Genotype: The resolved genotype.
    """
    if isinstance(name_or_genotype, Genotype):
        return name_or_genotype
    if isinstance(name_or_genotype, dict):
        return Genotype.from_dict(name_or_genotype)
    text = str(name_or_genotype).strip()
    if text in PUBLISHED_GENOTYPES:
        return PUBLISHED_GENOTYPES[text]
    if text.startswith('Genotype('):
        return Genotype.parse(text)
    if text.startswith('{') or text.endswith('.json'):
        return Genotype.from_json(text)
    raise KeyError(
        f'unknown genotype {text!r}: use one of '
        f'{", ".join(PUBLISHED_GENOTYPES)}, a genotype.json path, a dict, or '
        "DARTS-style 'Genotype(...)' text")
