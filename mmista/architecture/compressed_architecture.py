# Copyright (c) mmista contributors. All rights reserved.
"""The searched architecture of an ISTA super-net, as module state.

The compressed vectors ``b_j`` are parameters (one per node, so a node can
stop learning on its own). Everything else, the dictionaries ``A_j``, the
recovered ``z_j``, the supports, the bias terms of the support weights, the
one-stage termination flags and the epoch the architecture was fixed at, is
kept in buffers: it travels with ``state_dict`` into checkpoints and is
broadcast like any buffer under DDP.
"""
import math
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.dist import broadcast, get_world_size
from mmengine.logging import print_log

from mmista.sparse_coding import (ArchitectureRecovery, build_dictionaries,
                                  init_compressed, recover_architecture,
                                  support_bias, weights_on_support)
from mmista.structures import (CELL_TYPES, Genotype, genotype_from_supports,
                               num_candidates)

if TYPE_CHECKING:
    from .resource_budget import ResourceBudget


class CompressedArchitecture(nn.Module):
    """Compressed variables and recovered supports of both cell types.

    Args:
        steps (int): Intermediate nodes per cell. Defaults to 4.
        num_ops (int): Candidate operations per input. Defaults to 7.
        proj_dim (int): Dimension ``m`` of each ``b_j``. Defaults to 7.
        sparsity (int): Edges ``s`` kept per node. Defaults to 2.
        seed (int, optional): Seed of the dictionaries and of the initial
            ``b``. Defaults to None: torch's initial seed, which mmengine's
            Runner sets to the run's ``randomness.seed`` before it builds
            the model, so runs with different seeds search from different
            dictionaries, as the reference's do. The seed used is logged and
            kept in the ``dictionary_seed`` buffer.
    """

    def __init__(self,
                 steps: int = 4,
                 num_ops: int = 7,
                 proj_dim: int = 7,
                 sparsity: int = 2,
                 seed: Optional[int] = None):
        super().__init__()
        self.steps = steps
        self.num_ops = num_ops
        self.sparsity = sparsity
        if seed is None:
            # a 64-bit seed may exceed int64; numpy takes either
            seed = torch.initial_seed() % 2**63
            origin = "the run's seed (torch.initial_seed())"
        elif isinstance(seed, int) and seed >= 2**63:
            raise ValueError(f'arch_seed must be below 2**63, got {seed}')
        else:
            origin = 'arch_seed'
        print_log(
            f'Architecture dictionaries A and initial b drawn with seed '
            f'{seed} ({origin})',
            logger='current')
        self.register_buffer('dictionary_seed',
                             torch.tensor(seed, dtype=torch.int64))
        width = num_candidates(steps - 1, num_ops)
        dictionaries = build_dictionaries(steps, proj_dim, num_ops, seed)
        compressed = init_compressed(steps, proj_dim, seed)
        self.compressed = nn.ParameterDict()
        for cell in CELL_TYPES:
            padded = torch.zeros(steps, proj_dim, width, dtype=torch.float64)
            for j, A in enumerate(dictionaries[cell]):
                padded[j, :, :A.shape[1]] = A
                self.compressed[f'{cell}_{j}'] = nn.Parameter(
                    compressed[cell][j].clone())
            self.register_buffer(f'{cell}_dictionaries', padded)
            self.register_buffer(
                f'{cell}_z', torch.zeros(steps, width, dtype=torch.float64))
            # Until the first recovery: the first s edges of every node.
            self.register_buffer(
                f'{cell}_support',
                torch.arange(sparsity).repeat(steps, 1).to(torch.int64))
            self.register_buffer(
                f'{cell}_bias',
                torch.zeros(steps, sparsity, dtype=torch.float64))
            # ||z_new - z_prev||_2 of the last recovery (inf: no previous).
            self.register_buffer(
                f'{cell}_z_shift',
                torch.full((steps, ), math.inf, dtype=torch.float64))
            # Epoch a node terminated at (one-stage search); -1: active.
            self.register_buffer(
                f'{cell}_terminated_epoch',
                torch.full((steps, ), -1, dtype=torch.int64))
        self.register_buffer('recovered', torch.tensor(False))
        # Epoch the whole architecture was fixed at; -1: still searching.
        self.register_buffer('fixed_epoch', torch.tensor(-1))
        self._support_cache: Dict[str, List[List[int]]] = {}
        self._fixed = False
        self._refresh_cache()
        self.register_load_state_dict_post_hook(
            lambda module, keys: module._refresh_cache())

    def _refresh_cache(self) -> None:
        """Copies the supports to Python lists, read by every forward pass
        without synchronising with the device, and whether the architecture
        is fixed (read by hooks every iteration), and lets only the ``b``
        of active nodes train."""
        self._support_cache = {
            cell: getattr(self, f'{cell}_support').tolist()
            for cell in CELL_TYPES
        }
        self._fixed = int(self.fixed_epoch) >= 0
        for cell in CELL_TYPES:
            for j, active in enumerate(self.active_nodes(cell)):
                self.compressed[f'{cell}_{j}'].requires_grad_(active)

    def terminated_epochs(self, cell: str) -> List[int]:
        """The epoch each node of a cell type terminated at (-1: still
        searching)."""
        return getattr(self, f'{cell}_terminated_epoch').tolist()

    def active_nodes(self, cell: str) -> List[bool]:
        """Whether each node of a cell type is still searching."""
        return [epoch < 0 for epoch in self.terminated_epochs(cell)]

    def z_shifts(self, cell: str) -> List[float]:
        """``||z_new - z_prev||_2`` per node at the last recovery that
        updated it (``inf`` before its second recovery)."""
        return getattr(self, f'{cell}_z_shift').tolist()

    def degenerate_nodes(self, cell: str) -> List[bool]:
        """Whether each node's recovered ``z`` has fewer than ``sparsity``
        non-zeros, so that part of its support is a tie broken by index,
        not a choice (before the first recovery: no node)."""
        if not bool(self.recovered):
            return [False] * self.steps
        z = getattr(self, f'{cell}_z')
        return ((z != 0).sum(dim=1) < self.sparsity).tolist()

    def zero_solution_lams(self, cell: str) -> List[float]:
        """Per node, ``max |A_j^T b_j|``: the LASSO solution is all zero
        for every ``lam`` at or above it."""
        b = self.compressed_vectors(cell).detach().to(torch.float64)
        return [
            float((A.T @ b[j].to(A.device)).abs().max())
            for j, A in enumerate(self.dictionaries(cell))
        ]

    def terminate(self, cell: str, node: int, epoch: int) -> None:
        """Fixes a node: its ``b`` stops training, its support and weights
        stay as they are.

        Args:
            cell (str): ``'normal'`` or ``'reduce'``.
            node (int): Intermediate node index.
            epoch (int): Epochs trained when it terminated.
        """
        getattr(self, f'{cell}_terminated_epoch')[node] = epoch
        self.compressed[f'{cell}_{node}'].requires_grad_(False)

    @property
    def all_terminated(self) -> bool:
        """Whether no node of any cell type is still searching."""
        return not any(
            any(self.active_nodes(cell)) for cell in CELL_TYPES)

    @property
    def is_fixed(self) -> bool:
        """Whether the architecture was fixed (one-stage evaluation phase);
        read without synchronising with the device."""
        return self._fixed

    def fix(self, epoch: int) -> None:
        """Records that the architecture is fixed from ``epoch`` on."""
        self.fixed_epoch.fill_(epoch)
        self._fixed = epoch >= 0

    @torch.no_grad()
    def broadcast(self, src: int = 0) -> None:
        """Makes every process hold process ``src``'s architecture state.

        The recovered ``z``, supports, bias terms, z shifts, termination
        epochs, the fixed epoch and ``b`` are copied from ``src`` (one
        rank decides, all receive); a no-op without distributed training.

        Args:
            src (int): The deciding rank. Defaults to 0.
        """
        if get_world_size() == 1:
            return
        for tensor in list(self.buffers()) + list(self.parameters()):
            broadcast(tensor.data, src=src)
        self._refresh_cache()

    def supports(self, cell: str) -> List[List[int]]:
        """The support (edge indices) of every node of a cell type."""
        return self._support_cache[cell]

    def dictionaries(self, cell: str) -> List[torch.Tensor]:
        """The unpadded dictionaries ``A_j`` of a cell type."""
        padded = getattr(self, f'{cell}_dictionaries')
        return [
            padded[j, :, :num_candidates(j, self.num_ops)]
            for j in range(self.steps)
        ]

    def compressed_vectors(self, cell: str) -> torch.Tensor:
        """The ``(steps, m)`` compressed vectors of a cell type."""
        return torch.stack(
            [self.compressed[f'{cell}_{j}'] for j in range(self.steps)])

    def weights(self, cell: str) -> torch.Tensor:
        """The support weights ``w = A_S^T b - bias`` of every node.

        Differentiable in ``b``; no host synchronisation.

        Args:
            cell (str): ``'normal'`` or ``'reduce'``.

        Returns:
            Tensor: ``(steps, s)``: entry ``[j, i]`` weighs edge
            ``supports(cell)[j][i]``.
        """
        b = self.compressed_vectors(cell)
        dictionaries = getattr(self, f'{cell}_dictionaries')
        support = getattr(self, f'{cell}_support')
        index = support.unsqueeze(1).expand(-1, dictionaries.shape[1], -1)
        return weights_on_support(
            dictionaries.gather(2, index), b, getattr(self, f'{cell}_bias'))

    @torch.no_grad()
    def recover(self,
                lam: float = 1e-5,
                solver='auto',
                nodes: Optional[Dict[str, List[bool]]] = None,
                budget: Optional['ResourceBudget'] = None
                ) -> ArchitectureRecovery:
        """Solves the LASSO of every node and installs the new supports.

        Args:
            lam (float): The l1 weight. Defaults to 1e-5.
            solver (str | dict): LASSO solver (see
                :func:`mmista.sparse_coding.solve_lasso`).
            nodes (dict[str, list[bool]], optional): Per cell type, which
                nodes take the new solution; the others keep their state.
                Defaults to the active (not terminated) nodes.
            budget (ResourceBudget, optional): Keeps the derived network
                within a budget: the supports of the updated nodes are then
                the budget's choice, or, when it rejects the recovery,
                nothing but the z shifts changes. Defaults to None.

        Returns:
            ArchitectureRecovery: The solution of every node (with the
            budget's supports and decision when there is a budget).
        """
        result = recover_architecture(
            {cell: self.dictionaries(cell)
             for cell in CELL_TYPES},
            {cell: self.compressed_vectors(cell)
             for cell in CELL_TYPES},
            lam=lam,
            sparsity=self.sparsity,
            solver=solver)
        if nodes is None:
            nodes = {cell: self.active_nodes(cell) for cell in CELL_TYPES}
        keys = ('z', 'support', 'bias', 'z_shift')
        if budget is not None:
            decision = budget.constrain(
                result, {cell: self.supports(cell)
                         for cell in CELL_TYPES},
                nodes,
                initial=not bool(self.recovered),
                sparsity=self.sparsity)
            result.budget = decision
            if decision.rejected:
                keys = ('z_shift', )
            for cell in CELL_TYPES:
                for j in decision.changed.get(cell, []):
                    support = torch.from_numpy(decision.supports[cell][j])
                    result.supports[cell][j] = support
                    result.biases[cell][j] = support_bias(
                        self.dictionaries(cell)[j].cpu(), result.z[cell][j],
                        support).to(torch.float64)
        for cell in CELL_TYPES:
            if any(nodes[cell]):
                self._install(cell, result, nodes[cell], keys)
        self.recovered.fill_(True)
        self._refresh_cache()
        return result

    def _install(self, cell: str, result: ArchitectureRecovery,
                 update: List[bool], keys: Sequence[str]) -> None:
        """Writes the solution of the ``update`` nodes of a cell type into
        the buffers named by ``keys`` (one copy per buffer); the z shifts
        only from the second recovery on."""
        z_buffer = getattr(self, f'{cell}_z')
        z_new = np.zeros(tuple(z_buffer.shape))
        support_new = np.zeros((self.steps, self.sparsity), dtype=np.int64)
        bias_new = np.zeros((self.steps, self.sparsity))
        for j in range(self.steps):
            z, support = result.z[cell][j], result.supports[cell][j]
            z_new[j, :z.numel()] = z.numpy()
            support_new[j] = support.numpy()
            bias_new[j] = result.biases[cell][j].numpy()[support_new[j]]
        new = {
            'z': z_new,
            'support': support_new,
            'bias': bias_new,
        }
        if bool(self.recovered):
            new['z_shift'] = np.linalg.norm(
                z_new - z_buffer.cpu().numpy(), axis=1)
        rows = torch.tensor(update, device=z_buffer.device)
        for name, values in new.items():
            if name not in keys:
                continue
            buffer = getattr(self, f'{cell}_{name}')
            values = torch.from_numpy(values).to(buffer)
            mask = rows.view(-1, *([1] * (buffer.dim() - 1)))
            buffer.copy_(torch.where(mask, values, buffer))

    def genotype(self) -> Genotype:
        """The architecture read from the current supports."""
        return genotype_from_supports(
            {cell: self.supports(cell)
             for cell in CELL_TYPES})
