# Copyright (c) mmista contributors. All rights reserved.
"""The ISTA-NAS super-net: every candidate op, only the supported ones run."""
from typing import Dict, Iterator, List, Optional, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmista.architecture import CompressedArchitecture
from mmista.errors import ConfigError
from mmista.registry import MODELS
from mmista.sparse_coding import check_lam
from mmista.structures import CANDIDATE_OPS, CELL_TYPES, Genotype
from .super_cell_network import SuperCellNetwork


@MODELS.register_module()
class ISTASuperNet(SuperCellNetwork):
    """The ISTA-NAS super-net over the DARTS space.

    See docs/en/method/search_space.md and docs/en/method/sparse_coding.md.

    It holds every candidate op of every edge, the compressed variables
    ``b`` (parameters under ``architecture.compressed``) and the
    architecture state (dictionaries, recovered ``z``, supports, bias terms)
    as buffers that checkpoints keep. Its forward evaluates only the
    ``sparsity`` supported edges of each node, weighted by
    ``w = A_S^T b - bias``, so the loss reaches ``b``; where an op ends in
    a BatchNorm its weight is folded into that BatchNorm (see
    :func:`~mmista.models.utils.scaled_op.run_scaled_op`), so the search
    costs the time and memory of the network it searches. Call
    :meth:`recover` (the recovery hook does, every epoch) to solve the
    sparse-coding problems and move the supports.

    Args:
        channels (int): Initial channels ``C``. Defaults to 16.
        layers (int): Number of cells. Defaults to 8.
        stem (str): ``'cifar'`` or ``'imagenet'``. Defaults to ``'cifar'``.
        in_channels (int): Image channels. Defaults to 3.
        steps (int): Intermediate nodes per cell. Defaults to 4.
        proj_dim (int): Compressed dimension ``m``. Defaults to 7.
        sparsity (int): Edges ``s`` kept per node. Defaults to 2.
        lam (float): l1 weight of the recovery. Defaults to 1e-5.
        solver (str | dict): LASSO solver of the recovery. Defaults to
            ``'auto'`` (the exact native solver).
        arch_seed (int, optional): Seed of the dictionaries and initial
            ``b``. Defaults to None: the run's seed (``randomness.seed``),
            so runs with different seeds search from different
            dictionaries; the seed used is logged.
        affine (bool): Whether the cells' BatchNorms are affine (two-stage
            search: False). Defaults to False.
        bn_append (bool): Append a BatchNorm to parameter-free ops
            (one-stage search). Defaults to False.
        pool_bn (bool): Follow each pool by a non-affine BatchNorm, as the
            reference's two-stage super-net does (no effect with
            ``bn_append``, whose pools end in an affine one). The derived
            networks have no pool BatchNorm. Defaults to True.
        drop_path_prob (float): Drop-path probability. Defaults to 0.
        out_indices (Sequence[int]): Stages whose outputs are returned (0 =
            the stem, 1-3 = the groups of cells between reductions, as
            :class:`DerivedNet`'s). Defaults to ``(-1, )``.
        with_aux_feature (bool): Also return the output of cell
            ``2*layers//3`` first, for ``DartsClsHead``'s auxiliary head.
            Defaults to False.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 channels: int = 16,
                 layers: int = 8,
                 stem: str = 'cifar',
                 in_channels: int = 3,
                 steps: int = 4,
                 proj_dim: int = 7,
                 sparsity: int = 2,
                 lam: float = 1e-5,
                 solver='auto',
                 arch_seed: Optional[int] = None,
                 affine: bool = False,
                 bn_append: bool = False,
                 pool_bn: bool = True,
                 drop_path_prob: float = 0.,
                 out_indices: Sequence[int] = (-1, ),
                 with_aux_feature: bool = False,
                 init_cfg=None):
        super().__init__(
            channels,
            layers,
            stem,
            in_channels,
            steps,
            affine,
            bn_append,
            pool_bn,
            drop_path_prob,
            out_indices,
            with_aux_feature=with_aux_feature,
            init_cfg=init_cfg)
        try:
            self.lam = check_lam(lam)
        except (TypeError, ValueError) as error:
            raise ConfigError(
                f'model.backbone.lam: {error}; the paper uses 1e-5') from error
        self.solver = solver
        self.derived_cfg = dict(
            channels=channels,
            layers=layers,
            stem=stem,
            in_channels=in_channels,
            bn_append=bn_append)
        self.architecture = CompressedArchitecture(
            steps=steps,
            num_ops=len(CANDIDATE_OPS),
            proj_dim=proj_dim,
            sparsity=sparsity,
            seed=arch_seed)

    def prepare_forward(self) -> Dict[str, torch.Tensor]:
        """The support weights of both cell types, once per forward."""
        return {cell: self.architecture.weights(cell) for cell in CELL_TYPES}

    def edges(self, cell_type: str) -> List[List[int]]:
        """The supports of a cell type's nodes: only they run."""
        return self.architecture.supports(cell_type)

    def architecture_parameters(self) -> Iterator[nn.Parameter]:
        """The compressed vectors ``b`` (one parameter per node)."""
        return self.architecture.compressed.parameters()

    @torch.no_grad()
    def sync_edge_batchnorms(self) -> None:
        """Freezes the edge BatchNorms of searching nodes at gamma=1, beta=0.

        During one-stage search every op on a cell edge ends in an affine
        BatchNorm held at ``gamma = 1, beta = 0``, so the support weight
        alone scales each op (docs/en/method/onestage.md). As the
        reference code does, every BatchNorm inside an edge op is held,
        not only the last one.
        The BatchNorms of terminated nodes train, except, once the
        architecture is fixed, those of the ops outside the supports, which
        are out of the network (see :meth:`unsupported_parameters`).
        SyncBatchNorm layers are handled alike.

        Raises:
            ValueError: If the edge BatchNorms are not affine.
        """
        fixed = self.architecture.is_fixed
        for cell in self.cells:
            active = self.architecture.active_nodes(cell.cell_type)
            supports = self.architecture.supports(cell.cell_type)
            for node, edges in enumerate(cell.nodes):
                for edge, op in enumerate(edges):
                    trains = not active[node] and (not fixed
                                                   or edge in supports[node])
                    for bn in (m for m in op.modules()
                               if isinstance(m, _BatchNorm)):
                        if not bn.affine:
                            raise ValueError(
                                'frozen edge BatchNorms need affine '
                                'BatchNorms on the edges: one-stage search '
                                'uses ISTASuperNet(affine=True, '
                                'bn_append=True)')
                        if active[node]:
                            bn.weight.fill_(1.)
                            bn.bias.zero_()
                        bn.weight.requires_grad_(trains)
                        bn.bias.requires_grad_(trains)

    def unsupported_parameters(self) -> List[nn.Parameter]:
        """The parameters of the candidate ops outside the supports.

        They get no gradient while the supports stay as they are; once the
        architecture is fixed they never will, and the super-net computes
        exactly its derived network (see
        :func:`mmista.engine.train_derived_network_only`).

        Returns:
            list[Parameter]: Those parameters, in module order.
        """
        params = []
        for cell in self.cells:
            supports = self.architecture.supports(cell.cell_type)
            for node, edges in enumerate(cell.nodes):
                for edge, op in enumerate(edges):
                    if edge not in supports[node]:
                        params.extend(op.parameters())
        return params

    def recover(self, **kwargs):
        """Recovers ``z`` from ``b`` for every node and moves the supports.

        Args:
            **kwargs: ``nodes`` of
                :meth:`CompressedArchitecture.recover`.

        Returns:
            ArchitectureRecovery: The solution of every node.
        """
        return self.architecture.recover(
            lam=self.lam, solver=self.solver, **kwargs)

    def genotype(self) -> Genotype:
        """The architecture of the current supports."""
        return self.architecture.genotype()

    def derived_backbone_cfg(self, **overrides) -> dict:
        """Config of a :class:`DerivedNet` of the current genotype.

        Args:
            **overrides: Arguments that replace the super-net's (e.g. the
                evaluation ``channels`` and ``layers``).

        Returns:
            dict: A ``type='DerivedNet'`` backbone config.
        """
        cfg = dict(
            type='DerivedNet',
            genotype=self.genotype().to_dict(),
            **self.derived_cfg)
        cfg.update(overrides)
        return cfg
