# Copyright (c) mmista contributors. All rights reserved.
"""The sparse-coding view of the DARTS cell.

See docs/en/method/sparse_coding.md.

Intermediate node ``j`` of a cell has ``n_j = (2 + j) * |O|`` candidate
edges, one per (input, op) pair, flattened input-major: index ``k`` is op
``CANDIDATE_OPS[k % |O|]`` applied to input ``k // |O|``. A fixed random
dictionary ``A_j`` (``m x n_j``) compresses the architecture vector ``z_j``
into ``b_j = A_j z_j``; the search learns ``b_j`` and recovers ``z_j`` by
LASSO. This module holds the rest of that math:

- the seeded dictionaries and the initial compressed vectors,
- the support (the ``s`` largest ``|z_j|``),
- the weights the network uses on the support,
  ``w = A_S^T b - (A^T A - I)_{:,S}^T z_S`` on ``S`` and 0 elsewhere,
  which equals ``z_S + A_S^T (b - A_S z_S)`` on ``S`` (one ISTA step from
  ``z_S``); the second term is a constant "bias" per epoch, so gradients
  reach ``b`` through ``A_S^T b`` only.

How an index names an edge, and the genotype read from the supports, are
the search space's encoding: :mod:`mmista.structures.search_space`.
"""
from typing import Dict, List, Sequence

import numpy as np
import torch

from mmista.structures import (CELL_TYPES, NUM_OPS, check_positive_int,
                               num_candidates, support_indices)
from .arrays import ArrayLike, as_float64


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f'seed must be an int, got {type(seed).__name__}')
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    return int(seed)


def build_dictionaries(
        steps: int = 4,
        proj_dim: int = 7,
        num_ops: int = NUM_OPS,
        seed: int = 0,
        cell_types: Sequence[str] = CELL_TYPES,
        dtype: torch.dtype = torch.float64) -> Dict[str, List[torch.Tensor]]:
    """Draws the fixed random dictionaries ``A_j`` of every node.

    Entries are i.i.d. uniform on ``[0, 1)`` as in the reference code,
    drawn from ``numpy.random.default_rng([seed, 0])`` (PCG64, the same on
    every platform and rank) in the order: cell types as given, then nodes
    ``j = 0 .. steps - 1``, each an ``(proj_dim, n_j)`` block.

    Args:
        steps (int): Intermediate nodes per cell. Defaults to 4.
        proj_dim (int): Rows ``m`` of each dictionary (the compressed
            dimension). Defaults to 7.
        num_ops (int): Candidate operations per input. Defaults to 7.
        seed (int): The seed. Defaults to 0.
        cell_types (Sequence[str]): Cell types to draw for.
            Defaults to ``('normal', 'reduce')``.
        dtype (torch.dtype): dtype of the returned tensors.
            Defaults to ``torch.float64``.

    Returns:
        dict[str, list[torch.Tensor]]: Per cell type, the ``steps``
        dictionaries of shapes ``(proj_dim, (2 + j) * num_ops)``.
    """
    steps = check_positive_int(steps, 'steps')
    proj_dim = check_positive_int(proj_dim, 'proj_dim')
    rng = np.random.default_rng([_check_seed(seed), 0])
    return {
        cell: [
            torch.from_numpy(
                rng.random((proj_dim, num_candidates(j, num_ops)))).to(dtype)
            for j in range(steps)
        ]
        for cell in cell_types
    }


def init_compressed(
        steps: int = 4,
        proj_dim: int = 7,
        seed: int = 0,
        std: float = 1e-3,
        cell_types: Sequence[str] = CELL_TYPES,
        dtype: torch.dtype = torch.float32) -> Dict[str, torch.Tensor]:
    """Draws the initial compressed vectors ``b_j = std * N(0, 1)``.

    Drawn from ``numpy.random.default_rng([seed, 1])`` (independent of the
    dictionaries for the same seed), cell types in the given order.

    Args:
        steps (int): Intermediate nodes per cell. Defaults to 4.
        proj_dim (int): Dimension ``m`` of each ``b_j``. Defaults to 7.
        seed (int): The seed. Defaults to 0.
        std (float): Standard deviation. Defaults to 1e-3 (reference).
        cell_types (Sequence[str]): Cell types to draw for.
            Defaults to ``('normal', 'reduce')``.
        dtype (torch.dtype): dtype of the returned tensors.
            Defaults to ``torch.float32``.

    Returns:
        dict[str, torch.Tensor]: Per cell type, a ``(steps, proj_dim)``
        tensor whose row ``j`` is ``b_j``.
    """
    steps = check_positive_int(steps, 'steps')
    proj_dim = check_positive_int(proj_dim, 'proj_dim')
    if not np.isfinite(std) or std < 0:
        raise ValueError(f'std must be a finite number >= 0, got {std}')
    rng = np.random.default_rng([_check_seed(seed), 1])
    return {
        cell:
        torch.from_numpy(std * rng.standard_normal(
            (steps, proj_dim))).to(dtype)
        for cell in cell_types
    }


def select_support(z: ArrayLike, sparsity: int = 2) -> ArrayLike:
    """Indices of the ``sparsity`` largest ``|z|``, in increasing order.

    Ties are broken deterministically: among equal magnitudes the lower
    index wins (a stable sort of ``-|z|``).

    Args:
        z (np.ndarray | torch.Tensor): A code ``(n,)`` or a batch
            ``(B, n)``.
        sparsity (int): The number ``s`` of indices kept. Defaults to 2.

    Returns:
        np.ndarray | torch.Tensor: int64 indices ``(s,)`` or ``(B, s)``,
        sorted increasingly, of the type (and device) of ``z``.

    Raises:
        ValueError: If ``z`` is not 1-D or 2-D, has non-finite values, or
            ``sparsity`` is larger than ``n`` or smaller than 1.
    """
    sparsity = check_positive_int(sparsity, 'sparsity')
    if not isinstance(z, (np.ndarray, torch.Tensor)):
        raise TypeError(f'z must be a numpy array or a torch tensor, got '
                        f'{type(z).__name__}')
    if z.ndim not in (1, 2):
        raise ValueError(f'z must be 1-D (n,) or 2-D (B, n), got shape '
                         f'{tuple(z.shape)}')
    n = z.shape[-1]
    if sparsity > n:
        raise ValueError(f'sparsity (s={sparsity}) is larger than the number '
                         f'of candidates n={n}')
    if isinstance(z, torch.Tensor):
        if not bool(torch.isfinite(z).all()):
            raise ValueError('z must be finite')
        order = torch.sort(-z.detach().abs(), dim=-1, stable=True).indices
        return torch.sort(order[..., :sparsity], dim=-1).values
    z = np.asarray(z)
    if not np.isfinite(z).all():
        raise ValueError('z must be finite')
    order = np.argsort(-np.abs(z), axis=-1, kind='stable')
    return np.sort(order[..., :sparsity], axis=-1).astype(np.int64)


def support_mask(support: ArrayLike, n: int) -> torch.Tensor:
    """A 0/1 mask of length ``n`` that is 1 on the support.

    Args:
        support (np.ndarray | torch.Tensor | Sequence[int]): Indices.
        n (int): The number of candidates.

    Returns:
        torch.Tensor: float64 mask ``(n,)``.
    """
    n = check_positive_int(n, 'n')
    mask = torch.zeros(n, dtype=torch.float64)
    mask[torch.from_numpy(support_indices(support, n))] = 1.0
    return mask


def support_bias(A: ArrayLike, z: ArrayLike, support: ArrayLike) -> ArrayLike:
    """The constant term of the support weights.

    ``bias = (A^T A - I)_{:,S}^T z_S`` on ``S`` and 0 elsewhere, i.e.
    ``bias_k = sum_{i in S} (a_i^T a_k - delta_ik) z_i`` for ``k`` in ``S``.
    Computed in float64 from ``z`` restricted to ``S``.

    Args:
        A (np.ndarray | torch.Tensor): The dictionary ``(m, n)``.
        z (np.ndarray | torch.Tensor): The recovered code ``(n,)``; only its
            entries on ``S`` are used.
        support (np.ndarray | torch.Tensor | Sequence[int]): ``S``.

    Returns:
        np.ndarray | torch.Tensor: ``(n,)`` of the type, dtype (floating)
        and device of ``A``.

    Raises:
        ValueError: On shape mismatches or invalid support indices.
    """
    # numpy float64: on these tiny arrays torch's per-call overhead would
    # cost more than the arithmetic.
    A64 = as_float64(A, 'A')
    z64 = as_float64(z, 'z')
    if A64.ndim != 2:
        raise ValueError(f'A must be 2-D (m, n), got shape '
                         f'{tuple(A64.shape)}')
    n = A64.shape[1]
    if tuple(z64.shape) != (n, ):
        raise ValueError(f'z must have shape ({n},) to match A of shape '
                         f'{tuple(A64.shape)}, got {tuple(z64.shape)}')
    S = support_indices(support, n)
    A_S = A64[:, S]
    bias = np.zeros(n)
    bias[S] = A_S.T @ (A_S @ z64[S]) - z64[S]
    if isinstance(A, torch.Tensor):
        dtype = A.dtype if A.is_floating_point() else torch.float64
        return torch.from_numpy(bias).to(device=A.device, dtype=dtype)
    dtype = A.dtype if np.issubdtype(A.dtype, np.floating) else np.float64
    return bias.astype(dtype, copy=False)


def support_weights(A: ArrayLike, b: ArrayLike, support: ArrayLike,
                    bias: ArrayLike) -> ArrayLike:
    """The weights of the candidate edges: ``A_S^T b - bias`` on ``S``.

    Zero off the support. With ``bias`` from :func:`support_bias` this is
    ``z_S + A_S^T (b - A_S z_S)`` on ``S``. For torch inputs the result is
    differentiable in ``b`` (``dw_S / db = A_S^T``, ``dw / db = 0`` off
    ``S``); ``A`` and ``bias`` are treated as constants and cast to the
    dtype and device of ``b``. A module can precompute the mask and bias
    once per recovery and evaluate this every forward pass.

    Args:
        A (np.ndarray | torch.Tensor): The dictionary ``(m, n)``.
        b (np.ndarray | torch.Tensor): The compressed vector ``(m,)``.
        support (np.ndarray | torch.Tensor | Sequence[int]): ``S``.
        bias (np.ndarray | torch.Tensor): ``(n,)`` from
            :func:`support_bias`.

    Returns:
        np.ndarray | torch.Tensor: ``w`` of shape ``(n,)``, of the type,
        dtype and device of ``b``.

    Raises:
        ValueError: On shape mismatches or invalid support indices.
    """
    for name, x in (('A', A), ('b', b), ('bias', bias)):
        if not isinstance(x, (np.ndarray, torch.Tensor)):
            raise TypeError(f'{name} must be a numpy array or a torch '
                            f'tensor, got {type(x).__name__}')
    if A.ndim != 2:
        raise ValueError(f'A must be 2-D (m, n), got shape '
                         f'{tuple(A.shape)}')
    m, n = A.shape
    if tuple(b.shape) != (m, ):
        raise ValueError(f'b must have shape ({m},) to match A of shape '
                         f'{(m, n)}, got {tuple(b.shape)}')
    if tuple(bias.shape) != (n, ):
        raise ValueError(f'bias must have shape ({n},) to match A of shape '
                         f'{(m, n)}, got {tuple(bias.shape)}')
    S = torch.from_numpy(support_indices(support, n))
    b_t = b if isinstance(b, torch.Tensor) else torch.from_numpy(
        as_float64(b, 'b'))
    if not b_t.is_floating_point():
        b_t = b_t.double()
    A_t = torch.from_numpy(as_float64(A, 'A'))
    bias_t = torch.from_numpy(as_float64(bias, 'bias'))
    w_S = weights_on_support(A_t[:, S], b_t, bias_t[S])
    w = torch.zeros(n, dtype=w_S.dtype, device=w_S.device).index_put(
        (S.to(w_S.device), ), w_S)
    if isinstance(b, torch.Tensor):
        return w
    dtype = b.dtype if np.issubdtype(b.dtype, np.floating) else np.float64
    return w.numpy().astype(dtype)


def weights_on_support(A_S: torch.Tensor, b: torch.Tensor,
                       bias_S: torch.Tensor) -> torch.Tensor:
    """The support weights ``w_S = A_S^T b - bias_S``.

    The one implementation of the formula: :func:`support_weights` (one
    node, zero off the support) and
    :meth:`~mmista.architecture.CompressedArchitecture.weights` (every node
    of a cell at once, every forward pass) evaluate it. Differentiable in
    ``b``; ``A_S`` and ``bias_S`` are constants, cast to the dtype and
    device of ``b``.

    Args:
        A_S (torch.Tensor): The dictionary's support columns
            ``(..., m, s)``.
        b (torch.Tensor): The compressed vectors ``(..., m)``.
        bias_S (torch.Tensor): The bias on the support ``(..., s)`` (see
            :func:`support_bias`).

    Returns:
        torch.Tensor: ``(..., s)``, of the dtype and device of ``b``.
    """
    A_S = A_S.to(device=b.device, dtype=b.dtype)
    bias_S = bias_S.to(device=b.device, dtype=b.dtype)
    return torch.einsum('...ms,...m->...s', A_S, b) - bias_S
