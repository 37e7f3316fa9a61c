# Copyright (c) mmista contributors. All rights reserved.
"""One recovery step of ISTA-NAS: every node of both cell types at once."""
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import torch

from mmista.structures import CELL_TYPES, Genotype, genotype_from_supports
from .arrays import ArrayLike, as_float64
from .lasso import DEFAULT_LAMBDA, SolverCfg, solve_lasso
from .projection import select_support, support_bias


@dataclass
class ArchitectureRecovery:
    """The result of :func:`recover_architecture`.

    All tensors are float64 (int64 for supports) on the CPU, one per
    intermediate node, keyed by cell type.

    Attributes:
        z (dict[str, list[torch.Tensor]]): The LASSO solutions ``(n_j,)``
            (dense; the one-stage termination test compares these).
        supports (dict[str, list[torch.Tensor]]): The ``s`` largest
            ``|z_j|``, sorted increasingly.
        biases (dict[str, list[torch.Tensor]]): The constant terms
            ``(n_j,)`` of the support weights (see
            :func:`~mmista.sparse_coding.projection.support_bias`).
        budget (BudgetDecision, optional): What a resource budget decided
            (:class:`~mmista.architecture.ResourceBudget`); the supports and
            biases are then the budget's choice (for a rejected recovery,
            the rejected top-``s`` ones, which were not installed). None
            without a budget.
    """

    z: Dict[str, List[torch.Tensor]]
    supports: Dict[str, List[torch.Tensor]]
    biases: Dict[str, List[torch.Tensor]]
    budget: Optional[Any] = None

    @property
    def genotype(self) -> Genotype:
        """The architecture read from the supports."""
        return genotype_from_supports(self.supports)


def recover_architecture(dictionaries: Mapping[str, Sequence[ArrayLike]],
                         compressed: Mapping[str, Union[ArrayLike,
                                                        Sequence[ArrayLike]]],
                         lam: float = DEFAULT_LAMBDA,
                         sparsity: int = 2,
                         solver: SolverCfg = 'auto') -> ArchitectureRecovery:
    """Recovers ``z_j``, the supports, biases and genotype of every node.

    The LASSO problems of all nodes of both cell types are solved in one
    :func:`~mmista.sparse_coding.solve_lasso` call, in float64.

    Args:
        dictionaries (Mapping[str, Sequence]): Per cell type, the node
            dictionaries ``A_j`` (e.g. from
            :func:`~mmista.sparse_coding.projection.build_dictionaries`).
        compressed (Mapping[str, ...]): Per cell type, the compressed
            vectors: a ``(steps, m)`` tensor/array or a sequence of ``(m,)``.
            Detached and copied to the CPU; gradients are not tracked.
        lam (float): The l1 weight. Defaults to 1e-5.
        sparsity (int): Edges ``s`` kept per node. Defaults to 2.
        solver (str | dict): See :func:`~mmista.sparse_coding.solve_lasso`.
            Defaults to ``'auto'``.

    Returns:
        ArchitectureRecovery: z, supports, biases and genotype.

    Raises:
        ValueError: If a cell type is missing or the numbers of
            dictionaries and compressed vectors differ.
    """
    As, bs, owners = [], [], []
    for cell in CELL_TYPES:
        if cell not in dictionaries or cell not in compressed:
            raise ValueError(f'dictionaries and compressed need the keys '
                             f'{list(CELL_TYPES)}; {cell!r} is missing')
        cell_A, cell_b = list(dictionaries[cell]), compressed[cell]
        if len(cell_A) != len(cell_b):
            raise ValueError(f'{cell}: {len(cell_A)} dictionaries but '
                             f'{len(cell_b)} compressed vectors')
        for j, A in enumerate(cell_A):
            As.append(as_float64(A, f'{cell} A[{j}]'))
            bs.append(as_float64(cell_b[j], f'{cell} b[{j}]'))
            owners.append(cell)
    # numpy throughout: on these tiny problems torch's per-call overhead
    # would cost more than the arithmetic.
    zs = solve_lasso(As, bs, lam, solver=solver)
    z_of: Dict[str, List[torch.Tensor]] = {cell: [] for cell in CELL_TYPES}
    supports: Dict[str, List[torch.Tensor]] = {c: [] for c in CELL_TYPES}
    biases: Dict[str, List[torch.Tensor]] = {c: [] for c in CELL_TYPES}
    for cell, A, z in zip(owners, As, zs):
        support = select_support(z, sparsity)
        z_of[cell].append(torch.from_numpy(z))
        supports[cell].append(torch.from_numpy(support))
        biases[cell].append(torch.from_numpy(support_bias(A, z, support)))
    return ArchitectureRecovery(z=z_of, supports=supports, biases=biases)
