# Copyright (c) mmista contributors. All rights reserved.
"""The sparse-coding view of the DARTS cell (SPEC section 3).

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
  reach ``b`` through ``A_S^T b`` only,
- the genotype read directly from the supports.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from mmista.structures import CANDIDATE_OPS, CELL_TYPES, Genotype

ArrayLike = Union[np.ndarray, torch.Tensor]

#: The number of candidate operations ``|O|``.
NUM_OPS = len(CANDIDATE_OPS)


def _check_positive_int(value, name: str) -> int:
    if isinstance(value,
                  (bool, np.bool_)) or not isinstance(value,
                                                      (int, np.integer)):
        raise TypeError(f'{name} must be an int, got {type(value).__name__} '
                        f'{value!r}')
    if value < 1:
        raise ValueError(f'{name} must be >= 1, got {value}')
    return int(value)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f'seed must be an int, got {type(seed).__name__}')
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    return int(seed)


def num_candidates(node: int, num_ops: int = NUM_OPS) -> int:
    """Number of candidate edges ``n_j = (2 + j) * num_ops`` of node ``j``.

    Args:
        node (int): The intermediate node index ``j`` (0-based).
        num_ops (int): Candidate operations per input. Defaults to 7.

    Returns:
        int: ``(2 + node) * num_ops``.
    """
    if isinstance(node, bool) or not isinstance(node, (int, np.integer)):
        raise TypeError(f'node must be an int, got {type(node).__name__}')
    if node < 0:
        raise ValueError(f'node must be >= 0, got {node}')
    return (2 + int(node)) * _check_positive_int(num_ops, 'num_ops')


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
    steps = _check_positive_int(steps, 'steps')
    proj_dim = _check_positive_int(proj_dim, 'proj_dim')
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
    steps = _check_positive_int(steps, 'steps')
    proj_dim = _check_positive_int(proj_dim, 'proj_dim')
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
    sparsity = _check_positive_int(sparsity, 'sparsity')
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


def _index_array(support: ArrayLike,
                 n: int,
                 name: str = 'support') -> np.ndarray:
    """Validates a 1-D support against ``n`` and returns it as int64."""
    if isinstance(support, torch.Tensor):
        support = support.detach().cpu().numpy()
    support = np.asarray(support)
    if support.ndim != 1 or not (np.issubdtype(support.dtype, np.integer)
                                 or support.size == 0):
        raise ValueError(f'{name} must be a 1-D array of int indices, got '
                         f'shape {support.shape} and dtype {support.dtype}')
    if support.size and (support.min() < 0 or support.max() >= n):
        raise ValueError(f'{name} {support.tolist()} has indices outside '
                         f'[0, {n})')
    if len(np.unique(support)) != len(support):
        raise ValueError(f'{name} {support.tolist()} has repeated indices')
    return support.astype(np.int64)


def support_mask(support: ArrayLike, n: int) -> torch.Tensor:
    """A 0/1 mask of length ``n`` that is 1 on the support.

    Args:
        support (np.ndarray | torch.Tensor | Sequence[int]): Indices.
        n (int): The number of candidates.

    Returns:
        torch.Tensor: float64 mask ``(n,)``.
    """
    n = _check_positive_int(n, 'n')
    mask = torch.zeros(n, dtype=torch.float64)
    mask[torch.from_numpy(_index_array(support, n))] = 1.0
    return mask


def _as_numpy64(x: ArrayLike, name: str) -> np.ndarray:
    """A float64 numpy array (on the CPU) of an array or tensor."""
    if isinstance(x, torch.Tensor):
        return x.detach().to('cpu', torch.float64).numpy()
    if isinstance(x, np.ndarray):
        return np.asarray(x, dtype=np.float64)
    raise TypeError(f'{name} must be a numpy array or a torch tensor, got '
                    f'{type(x).__name__}')


def _as_tensor64(x: ArrayLike, name: str) -> torch.Tensor:
    """A float64 CPU tensor of an array or tensor."""
    return torch.from_numpy(_as_numpy64(x, name))


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
    A64 = _as_numpy64(A, 'A')
    z64 = _as_numpy64(z, 'z')
    if A64.ndim != 2:
        raise ValueError(f'A must be 2-D (m, n), got shape '
                         f'{tuple(A64.shape)}')
    n = A64.shape[1]
    if tuple(z64.shape) != (n, ):
        raise ValueError(f'z must have shape ({n},) to match A of shape '
                         f'{tuple(A64.shape)}, got {tuple(z64.shape)}')
    S = _index_array(support, n)
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
    mask = support_mask(support, n)
    if isinstance(b, torch.Tensor):
        dtype = b.dtype if b.is_floating_point() else torch.float64
        A_t = _as_tensor64(A, 'A').to(device=b.device, dtype=dtype)
        bias_t = _as_tensor64(bias, 'bias').to(device=b.device, dtype=dtype)
        mask = mask.to(device=b.device, dtype=dtype)
        return mask * (A_t.T @ b.to(dtype)) - bias_t
    A_np = _as_numpy64(A, 'A')
    bias_np = _as_numpy64(bias, 'bias')
    w = mask.numpy() * (A_np.T @ np.asarray(b, dtype=np.float64)) - bias_np
    dtype = b.dtype if np.issubdtype(b.dtype, np.floating) else np.float64
    return w.astype(dtype)


def decode_index(index: int, num_ops: int = NUM_OPS) -> Tuple[str, int]:
    """Maps a candidate index to its ``(op, input)`` pair.

    Args:
        index (int): ``k``, in input-major order.
        num_ops (int): Candidate operations per input; must equal
            ``len(CANDIDATE_OPS)`` to name the op. Defaults to 7.

    Returns:
        tuple[str, int]: ``(CANDIDATE_OPS[k % num_ops], k // num_ops)``.
    """
    if num_ops != NUM_OPS:
        raise ValueError(f'num_ops must be {NUM_OPS} (the candidate ops '
                         f'{", ".join(CANDIDATE_OPS)}) to name ops, got '
                         f'{num_ops}')
    index = int(index)
    if index < 0:
        raise ValueError(f'candidate index must be >= 0, got {index}')
    return CANDIDATE_OPS[index % num_ops], index // num_ops


def genotype_from_supports(supports: Mapping[str, Sequence[ArrayLike]],
                           num_ops: int = NUM_OPS,
                           concat: Optional[Sequence[int]] = None) -> Genotype:
    """Reads the genotype directly from the supports of every node.

    Index ``k`` of node ``j`` becomes the edge
    ``(CANDIDATE_OPS[k % num_ops], k // num_ops)``; the edges of a node are
    listed in increasing index order. No top-k projection is applied: every
    support index is one edge.

    Args:
        supports (Mapping[str, Sequence]): For ``'normal'`` and
            ``'reduce'``, one support per intermediate node (node ``j``'s
            indices must be below ``(2 + j) * num_ops``); all supports have
            the same size ``s``.
        num_ops (int): Candidate operations per input. Defaults to 7.
        concat (Sequence[int], optional): Nodes concatenated into the cell
            output. Defaults to all intermediate nodes, ``2 .. steps + 1``.

    Returns:
        Genotype: With ``edges_per_node = s``.

    Raises:
        ValueError: If a cell type is missing, the cells have different
            numbers of nodes, supports differ in size, or an index is out
            of range for its node.
    """
    missing = [cell for cell in CELL_TYPES if cell not in supports]
    if missing:
        raise ValueError(f'supports must have the keys {list(CELL_TYPES)}, '
                         f'missing {missing}')
    steps = {cell: len(supports[cell]) for cell in CELL_TYPES}
    if len(set(steps.values())) != 1 or 0 in steps.values():
        raise ValueError(f'every cell type needs the same (non-zero) number '
                         f'of node supports, got {steps}')
    edges: Dict[str, list] = {}
    sizes = set()
    for cell in CELL_TYPES:
        edges[cell] = []
        for j, support in enumerate(supports[cell]):
            n_j = num_candidates(j, num_ops)
            indices = np.sort(
                _index_array(support, n_j, f'{cell} node {j} support'))
            sizes.add(len(indices))
            edges[cell].extend(decode_index(k, num_ops) for k in indices)
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f'all supports must have the same non-zero size, '
                         f'got sizes {sorted(sizes)}')
    num_nodes = steps[CELL_TYPES[0]]
    concat = list(range(2, 2 + num_nodes)) if concat is None else list(concat)
    return Genotype(
        normal=edges['normal'],
        normal_concat=concat,
        reduce=edges['reduce'],
        reduce_concat=concat,
        edges_per_node=sizes.pop())
