# Copyright (c) mmista contributors. All rights reserved.
"""One interface to every LASSO backend: :func:`solve_lasso`."""
import logging
import numbers
import time
from typing import Any, Dict, List, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.logging import print_log

from . import cvxpy_backend, homotopy  # noqa: F401 (register backends)
from .arrays import ArrayLike, as_float64
from .solver_registry import get_lasso_solver

SolverCfg = Union[str, Dict[str, Any]]

#: The l1 weight of ISTA-NAS (paper, supplement section 1.2).
DEFAULT_LAMBDA = 1e-5


def _is_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, torch.Tensor))


def _check_finite(x: np.ndarray, name: str) -> None:
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f'{name} must be finite, got {x[tuple(bad)]} at '
                         f'index {tuple(int(i) for i in bad)}')


def _like(reference: ArrayLike, other: ArrayLike) -> ArrayLike:
    """Picks the array whose type and dtype the result should follow."""
    for x in (reference, other):
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            return x
        if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
            return x
    return reference if isinstance(reference, torch.Tensor) else other


def _convert_out(z: np.ndarray, like: ArrayLike) -> ArrayLike:
    """Converts a float64 result to the type, dtype and device of ``like``."""
    if isinstance(like, torch.Tensor):
        dtype = like.dtype if like.is_floating_point() else torch.float64
        return torch.from_numpy(z).to(device=like.device, dtype=dtype)
    dtype = like.dtype if np.issubdtype(like.dtype, np.floating) \
        else np.float64
    return z.astype(dtype, copy=False)


def check_lam(lam: Any) -> float:
    """Checks the l1 weight of the LASSO and returns it as a float.

    Args:
        lam (Any): A positive finite real number (or a one-element tensor).

    Returns:
        float: ``lam``.

    Raises:
        TypeError: ``lam`` is not a real number (a string, a bool).
        ValueError: ``lam`` is not positive and finite.
    """
    if isinstance(lam, torch.Tensor):
        if lam.numel() != 1:
            raise ValueError(f'lam must be a scalar, got a tensor of shape '
                             f'{tuple(lam.shape)}')
        lam = lam.item()
    if isinstance(lam, (bool, np.bool_)) or not isinstance(lam, numbers.Real):
        raise TypeError(f'lam must be a real number, got '
                        f'{type(lam).__name__} {lam!r}')
    lam = float(lam)
    if not np.isfinite(lam) or lam <= 0:
        raise ValueError(f'lam must be a positive finite number, got {lam}')
    return lam


def _parse_solver(solver: SolverCfg) -> Tuple[str, Any, Dict[str, Any]]:
    if isinstance(solver, dict):
        options = dict(solver)
        if 'type' not in options:
            raise ValueError(f'solver dict must have a "type" key, got '
                             f'{solver!r}')
        name = options.pop('type')
    else:
        name, options = solver, {}
    canonical, backend = get_lasso_solver(name)
    return canonical, backend, options


def _normalise(
        A: Any, b: Any
) -> Tuple[List[np.ndarray], List[np.ndarray], str, List[ArrayLike]]:
    """Brings the accepted input layouts to lists of float64 problems.

    Returns the per-problem dictionaries and targets, the layout
    (``'single'``, ``'batch'`` or ``'list'``) and, per problem, the array
    whose type the result should follow.
    """
    if isinstance(A, (list, tuple)):
        if isinstance(b, (list, tuple)):
            b_items = list(b)
        elif _is_array(b) and b.ndim == 2:
            b_items = [b[i] for i in range(b.shape[0])]
        else:
            raise TypeError(
                'when A is a list of per-node dictionaries, b must be a list '
                'of the same length or a 2-D array/tensor of shape '
                f'(len(A), m), got {type(b).__name__} with shape '
                f'{tuple(getattr(b, "shape", ()))}')
        if len(b_items) != len(A):
            raise ValueError(f'A has {len(A)} dictionaries but b has '
                             f'{len(b_items)} targets')
        As, bs, likes = [], [], []
        for i, (Ai, bi) in enumerate(zip(A, b_items)):
            if not _is_array(Ai) or not _is_array(bi):
                raise TypeError(
                    f'A[{i}] and b[{i}] must be numpy arrays or torch '
                    f'tensors, got {type(Ai).__name__} and '
                    f'{type(bi).__name__}')
            if Ai.ndim != 2:
                raise ValueError(f'A[{i}] must be 2-D (m, n), got shape '
                                 f'{tuple(Ai.shape)}')
            if tuple(bi.shape) != (Ai.shape[0], ):
                raise ValueError(
                    f'b[{i}] must have shape ({Ai.shape[0]},) to match A[{i}] '
                    f'of shape {tuple(Ai.shape)}, got {tuple(bi.shape)}')
            As.append(as_float64(Ai, f'A[{i}]'))
            bs.append(as_float64(bi, f'b[{i}]'))
            likes.append(_like(bi, Ai))
        return As, bs, 'list', likes

    for name, x in (('A', A), ('b', b)):
        if not _is_array(x):
            raise TypeError(f'{name} must be a numpy array, a torch tensor '
                            f'or (A and b) lists of them, got '
                            f'{type(x).__name__}')
    if A.ndim == 2:
        if tuple(b.shape) != (A.shape[0], ):
            raise ValueError(f'b must have shape ({A.shape[0]},) to match A '
                             f'of shape {tuple(A.shape)}, got '
                             f'{tuple(b.shape)}')
        return ([as_float64(A, 'A')], [as_float64(b, 'b')], 'single',
                [_like(b, A)])
    if A.ndim == 3:
        if tuple(b.shape) != tuple(A.shape[:2]):
            raise ValueError(f'b must have shape {tuple(A.shape[:2])} to '
                             f'match A of shape {tuple(A.shape)}, got '
                             f'{tuple(b.shape)}')
        A64, b64 = as_float64(A, 'A'), as_float64(b, 'b')
        return list(A64), list(b64), 'batch', [_like(b, A)]
    raise ValueError(f'A must be 2-D (m, n), 3-D (B, m, n) or a list of 2-D '
                     f'arrays, got shape {tuple(A.shape)}')


def _pad(
        As: Sequence[np.ndarray],
        bs: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stacks problems of different shapes into one zero-padded batch.

    Zero rows (with a zero target) and zero columns do not change the
    minimiser on the real columns, and a zero column stays zero.
    """
    m = max(A.shape[0] for A in As)
    n = max(A.shape[1] for A in As)
    num_cols = np.array([A.shape[1] for A in As], dtype=np.int64)
    if all(A.shape == (m, n) for A in As):
        return np.stack(As), np.stack(bs), num_cols
    A_pad = np.zeros((len(As), m, n))
    b_pad = np.zeros((len(As), m))
    for i, (A, b) in enumerate(zip(As, bs)):
        A_pad[i, :A.shape[0], :A.shape[1]] = A
        b_pad[i, :b.shape[0]] = b
    return A_pad, b_pad, num_cols


def solve_lasso(
        A: Union[ArrayLike, Sequence[ArrayLike]],
        b: Union[ArrayLike, Sequence[ArrayLike]],
        lam: float,
        solver: SolverCfg = 'auto') -> Union[ArrayLike, List[ArrayLike]]:
    """Solves ``z = argmin_z 1/2 ||A z - b||^2 + lam ||z||_1``.

    The problems are solved in float64 whatever the input dtype. Three
    layouts are accepted:

    - one problem: ``A`` of shape ``(m, n)``, ``b`` of shape ``(m,)``,
      returns ``z`` of shape ``(n,)``;
    - a batch: ``A`` of shape ``(B, m, n)``, ``b`` of shape ``(B, m)``,
      returns ``(B, n)``;
    - per-node lists (nodes may have different ``n``): ``A`` a list of
      ``(m_i, n_i)``, ``b`` a list of ``(m_i,)`` or a ``(len(A), m)``
      array/tensor; returns a list of ``(n_i,)``. All 8 nodes of a recovery
      go in one call.

    The result has the type of ``b`` (numpy array or torch tensor, on the
    same device and with the same floating dtype; detached), or that of
    ``A`` when ``b`` is not floating.

    Args:
        A (np.ndarray | torch.Tensor | list): The dictionaries.
        b (np.ndarray | torch.Tensor | list): The targets.
        lam (float): The l1 weight, a positive finite number (ISTA-NAS uses
            :data:`DEFAULT_LAMBDA`).
        solver (str | dict): A registered backend name, or a dict with its
            name under ``'type'`` and backend options, e.g.
            ``dict(type='cvxpy', solver='CLARABEL')``. ``'auto'`` and
            ``'native'`` select ``'homotopy'``, the exact license-free
            solver. Defaults to ``'auto'``.

    Returns:
        np.ndarray | torch.Tensor | list: The minimiser(s), see above.

    Raises:
        TypeError: If an input has an unsupported type or dtype.
        ValueError: If shapes do not match, an input is not finite, ``lam``
            is not positive, or the solver is unknown (the message lists the
            valid names).
    """
    lam = check_lam(lam)
    name, backend, options = _parse_solver(solver)
    As, bs, layout, likes = _normalise(A, b)
    for i, (Ai, bi) in enumerate(zip(As, bs)):
        where = f'[{i}]' if layout != 'single' else ''
        if min(Ai.shape) == 0:
            raise ValueError(f'A{where} must have at least one row and one '
                             f'column, got shape {Ai.shape}')
        _check_finite(Ai, f'A{where}')
        _check_finite(bi, f'b{where}')
    if not As:
        if layout == 'list':
            return []
        shape = (0, A.shape[2])
        return _convert_out(np.zeros(shape), likes[0])

    A_pad, b_pad, num_cols = _pad(As, bs)
    start = time.perf_counter()
    z, used = backend(A_pad, b_pad, lam, num_cols, **options)
    elapsed = time.perf_counter() - start
    cols = ([int(n)
             for n in num_cols] if layout == 'list' else int(A_pad.shape[2]))
    print_log(
        f'solve_lasso: {len(As)} problem(s), {A_pad.shape[1]} rows, '
        f'columns {cols}, solved by {name!r} [{used}] in '
        f'{elapsed * 1e3:.2f} ms',
        logger='current',
        level=logging.INFO)

    if layout == 'single':
        return _convert_out(z[0], likes[0])
    if layout == 'batch':
        return _convert_out(z, likes[0])
    return [
        _convert_out(np.ascontiguousarray(z[i, :n]), like)
        for i, (n, like) in enumerate(zip(num_cols, likes))
    ]
