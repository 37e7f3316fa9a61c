# Copyright (c) mmista contributors. All rights reserved.
"""Random genotypes of a search space, as a baseline for a search.

A random genotype has the structure of the searched ones: as many
intermediate nodes, the same concatenated nodes and, per node, the same
number of inputs (``edges_per_node``, the sparseness ``s``). Node ``j``
keeps ``s`` of its ``(2 + j) * |O|`` candidate edges, drawn uniformly
without replacement, which is the set of supports an ISTA-NAS search
chooses from (two edges of a node may share an input,
docs/en/method/search_space.md). Genotype ``k`` is drawn from its own
random stream, seeded by ``(seed, k)``: the same seed gives the same
genotypes whatever the count.

Optionally each genotype is drawn again until its parameter count lies
within a relative tolerance of one of the searched genotypes', so that a
difference in accuracy is not only a difference in size.
"""
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from mmista.errors import UserError
from mmista.structures import CELL_TYPES, Genotype, genotype_from_supports
from mmista.structures.search_space import num_candidates


def structure_of(genotypes: Sequence[Genotype]) -> Dict:
    """The structure every random genotype shares with the searched ones.

    Args:
        genotypes (Sequence[Genotype]): The searched genotypes.

    Returns:
        dict: ``steps``, ``edges_per_node``, ``normal_concat`` and
        ``reduce_concat``.

    Raises:
        UserError: No genotypes, or two with different structures.
    """
    if not genotypes:
        raise UserError('no searched genotype to take the structure of '
                        'random genotypes from')
    shapes = {(g.steps, g.edges_per_node, tuple(g.normal_concat),
               tuple(g.reduce_concat))
              for g in genotypes}
    if len(shapes) != 1:
        raise UserError(
            'the searched genotypes differ in nodes, inputs per node or '
            f'concatenated nodes ({sorted(shapes)}): random genotypes need '
            'one structure to match')
    steps, per_node, normal_concat, reduce_concat = shapes.pop()
    return dict(
        steps=steps,
        edges_per_node=per_node,
        normal_concat=list(normal_concat),
        reduce_concat=list(reduce_concat))


def sample_genotype(rng: np.random.Generator, steps: int,
                    edges_per_node: int, normal_concat: Sequence[int],
                    reduce_concat: Sequence[int]) -> Genotype:
    """One genotype drawn uniformly with ``edges_per_node`` edges a node.

    Args:
        rng (np.random.Generator): The random stream.
        steps (int): Intermediate nodes per cell.
        edges_per_node (int): Edges each node keeps.
        normal_concat (Sequence[int]): Nodes of the normal cell's output.
        reduce_concat (Sequence[int]): Nodes of the reduction cell's.

    Returns:
        Genotype: The genotype.
    """
    supports = {
        cell: [
            rng.choice(num_candidates(node), size=edges_per_node,
                       replace=False) for node in range(steps)
        ]
        for cell in CELL_TYPES
    }
    drawn = genotype_from_supports(supports)
    return Genotype(
        normal=drawn.normal,
        normal_concat=list(normal_concat),
        reduce=drawn.reduce,
        reduce_concat=list(reduce_concat),
        edges_per_node=edges_per_node)


def within_tolerance(params: int, targets: Sequence[int],
                     tolerance: float) -> bool:
    """Whether ``params`` lies within ``±tolerance`` (relative) of one of
    the ``targets``."""
    return any(abs(params - target) <= tolerance * target
               for target in targets)


def draw_random_genotypes(
        searched: Sequence[Genotype],
        ids: Sequence[int],
        seed: int,
        params_of: Optional[Callable[[Genotype], int]] = None,
        target_params: Sequence[int] = (),
        tolerance: Optional[float] = None,
        max_tries: int = 1000) -> List[Dict]:
    """Draws the random genotypes ``ids`` like the searched ones.

    Args:
        searched (Sequence[Genotype]): The searched genotypes (their
            structure, :func:`structure_of`).
        ids (Sequence[int]): Which genotypes to draw (``k`` seeds the
            stream of genotype ``k`` with ``(seed, k)``).
        seed (int): The seed of the draws.
        params_of (Callable[[Genotype], int], optional): The parameter
            count of a genotype's retrained network; needed with
            ``tolerance``.
        target_params (Sequence[int]): The searched genotypes' counts.
        tolerance (float, optional): Draw again until the count is within
            this relative distance of one of ``target_params`` (0.1:
            ±10%). Defaults to None (no matching).
        max_tries (int): Draws per genotype before giving up. Defaults to
            1000.

    Returns:
        list[dict]: Per id: ``id``, ``genotype`` (a dict), ``tries`` and,
        when matched, ``params``.

    Raises:
        UserError: No draw within ``max_tries`` matched.
    """
    structure = structure_of(searched)
    drawn = []
    for k in ids:
        rng = np.random.default_rng([seed, k])
        tries, sizes = 0, []
        while True:
            tries += 1
            genotype = sample_genotype(rng, **structure)
            if tolerance is None:
                drawn.append(dict(id=k, genotype=genotype.to_dict(),
                                  tries=tries))
                break
            params = int(params_of(genotype))
            sizes.append(params)
            if within_tolerance(params, target_params, tolerance):
                drawn.append(dict(id=k, genotype=genotype.to_dict(),
                                  tries=tries, params=params))
                break
            if tries >= max_tries:
                raise UserError(_no_match_message(k, tolerance,
                                                  target_params, sizes))
    return drawn


def _no_match_message(k: int, tolerance: float, targets: Sequence[int],
                      sizes: Sequence[int]) -> str:
    low, high = min(sizes), max(sizes)
    return (f'random genotype {k}: none of {len(sizes)} draws has a '
            f'parameter count within ±{tolerance:.0%} of a searched '
            f'genotype\'s ({", ".join(map(str, sorted(targets)))}); the '
            f'draws had {low} to {high}: widen --match-params or raise '
            '--match-tries')
