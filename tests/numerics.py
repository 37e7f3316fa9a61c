# Copyright (c) mmista contributors. All rights reserved.
"""Tolerances for comparing floats that two code paths computed.

Two paths that compute the same quantity (a batch against one problem, a
padded against an unpadded dictionary, numpy against torch) order their
floating-point sums differently, and BLAS kernels (OpenBLAS picks them by
CPU, ``OPENBLAS_CORETYPE`` overrides it) order them differently again. Such
results agree to rounding, not bit for bit, so tests compare them with a
tolerance derived from the problem. Exact equality is kept for one
computation repeated on one path (determinism, resume, rank consistency).
"""
import numpy as np
import torch

FLOAT64_EPS = float(np.finfo(np.float64).eps)


def _as_numpy64(array) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    return np.asarray(array, dtype=np.float64)


def lasso_rounding_atol(A, z) -> float:
    """How far two float64 solutions of one LASSO may differ by rounding.

    On the solution's active set ``S`` the minimiser solves
    ``A_S^T A_S z_S = A_S^T b - lam * sign(z_S)``. Two paths solve this
    system (and walk the homotopy path to it) with differently rounded
    products. A relative error ``delta`` in the system moves ``z_S`` by at
    most ``cond(A_S^T A_S) * delta * ||z||_inf`` to first order, and the
    ``m``-term inner products give ``delta <= m * eps``.

    Args:
        A (array-like): The dictionary ``(m, n)``, numpy or torch.
        z (array-like): One of the solutions ``(n,)``.

    Returns:
        float: The absolute tolerance ``m * eps * cond(A_S^T A_S) *
        ||z||_inf`` (0 when ``z`` is zero: then both paths return exact
        zeros).
    """
    A, z = _as_numpy64(A), _as_numpy64(z)
    active = z != 0
    if not active.any():
        return 0.0
    gram_condition = np.linalg.cond(A[:, active])**2
    return A.shape[0] * FLOAT64_EPS * gram_condition * np.abs(z).max()


def assert_same_lasso_solution(z, z_ref, A) -> None:
    """Asserts two paths' solutions of one LASSO agree to rounding.

    Args:
        z (array-like): The solution of the path under test.
        z_ref (array-like): The reference path's solution.
        A (array-like): The problem's dictionary.
    """
    np.testing.assert_allclose(
        _as_numpy64(z),
        _as_numpy64(z_ref),
        rtol=0,
        atol=lasso_rounding_atol(A, z_ref))
