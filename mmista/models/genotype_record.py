# Copyright (c) mmista contributors. All rights reserved.
"""The genotype a checkpoint was saved from, and the check against it.

Two derived networks whose genotypes differ only by pool type
(``max_pool_3x3`` for ``avg_pool_3x3``) have the same parameter names and
shapes, so a checkpoint of one loads into the other without a word and
computes something else. Exports and training checkpoints therefore record
the genotype under ``meta['genotype']`` and loading compares it with the
model's; a checkpoint without one is not checked.
"""
from typing import Optional

import torch.nn as nn

from mmista.fileio.checkpoint_loading import CheckpointError
from mmista.structures import CELL_TYPES, Genotype, GenotypeError

#: ``checkpoint['meta']`` key holding :meth:`Genotype.to_dict`.
GENOTYPE_META = 'genotype'


def derived_genotype(model: nn.Module) -> Optional[Genotype]:
    """The genotype of the derived network in a model.

    Args:
        model (nn.Module): A model (possibly wrapped) or a backbone.

    Returns:
        Genotype | None: The genotype of its derived network (a module
        whose ``genotype`` attribute is a :class:`Genotype`, as
        :class:`DerivedNet`'s is), or None if it has none or several that
        differ (a search super-net's ``genotype`` is a method).
    """
    genotypes = []
    for module in model.modules():
        genotype = getattr(module, 'genotype', None)
        if isinstance(genotype, Genotype) and genotype not in genotypes:
            genotypes.append(genotype)
    return genotypes[0] if len(genotypes) == 1 else None


def record_genotype(model: nn.Module, meta: dict) -> dict:
    """Stores the model's genotype under ``meta['genotype']``, if it has one.

    Args:
        model (nn.Module): The model being saved.
        meta (dict): The checkpoint's ``meta`` (changed in place).

    Returns:
        dict: ``meta``.
    """
    genotype = derived_genotype(model)
    if genotype is not None:
        meta[GENOTYPE_META] = genotype.to_dict()
    return meta


def _differences(saved: Genotype, current: Genotype) -> str:
    """Where two genotypes differ, edge order included (the weights of a
    node's k-th edge go to the k-th edge)."""
    if (saved.steps, saved.edges_per_node) != (current.steps,
                                               current.edges_per_node):
        return 'they differ in size'
    per_node = current.edges_per_node
    parts = []
    for cell in CELL_TYPES:
        before, after = getattr(saved, cell), getattr(current, cell)
        nodes = [
            str(node) for node in range(current.steps)
            if before[node * per_node:(node + 1) * per_node] !=
            after[node * per_node:(node + 1) * per_node]
        ]
        if nodes:
            parts.append(f'{cell} node {", ".join(nodes)}')
        if getattr(saved, f'{cell}_concat') != getattr(
                current, f'{cell}_concat'):
            parts.append(f'{cell}_concat')
    return 'they differ at ' + '; '.join(parts)


def check_recorded_genotype(model: nn.Module, checkpoint: dict,
                            source: str) -> None:
    """Refuses a checkpoint saved from another genotype than the model's.

    Args:
        model (nn.Module): The model about to receive the weights.
        checkpoint (dict): The loaded checkpoint.
        source (str): Where it came from, for the message.

    Raises:
        CheckpointError: ``meta['genotype']`` is not a genotype, or differs
            from the model's.
    """
    meta = checkpoint.get('meta')
    recorded = meta.get(GENOTYPE_META) if isinstance(meta, dict) else None
    current = derived_genotype(model)
    if recorded is None or current is None:
        return
    try:
        saved = Genotype.from_dict(recorded)
    except (GenotypeError, TypeError, ValueError, KeyError) as error:
        raise CheckpointError(
            f'the checkpoint {source} records a genotype that is not valid '
            f'(meta.genotype: {error})') from None
    if saved == current:
        return
    raise CheckpointError(
        f'the checkpoint {source} was saved from the genotype {saved}, but '
        f'the model of this config has the genotype {current} '
        f'({_differences(saved, current)}); use the config it was trained '
        "with (for an export, its own config.py), or set "
        'model.backbone.genotype to its genotype')
