# Copyright (c) mmista contributors. All rights reserved.
"""Objective value and optimality (KKT) check of the LASSO problem.

``z`` minimises ``f(z) = 1/2 ||A z - b||^2 + lam ||z||_1`` if and only if
the correlations ``g = A^T (b - A z)`` satisfy ``g_k = lam * sign(z_k)`` where
``z_k != 0`` and ``|g_k| <= lam`` where ``z_k == 0``. All functions take
float64 numpy arrays, one problem (``A`` of shape ``(m, n)``) or a batch
(``(B, m, n)``).
"""
import numpy as np

_EPS = np.finfo(np.float64).eps


def lasso_objective(A: np.ndarray, b: np.ndarray, z: np.ndarray,
                    lam: float) -> np.ndarray:
    """Evaluates ``1/2 ||A z - b||^2 + lam ||z||_1``.

    Args:
        A (np.ndarray): Dictionary, ``(m, n)`` or ``(B, m, n)``.
        b (np.ndarray): Target, ``(m,)`` or ``(B, m)``.
        z (np.ndarray): Code, ``(n,)`` or ``(B, n)``.
        lam (float): The l1 weight.

    Returns:
        np.ndarray: The objective, a scalar array or ``(B,)``.
    """
    A, b, z = (np.asarray(x, dtype=np.float64) for x in (A, b, z))
    residual = np.einsum('...mn,...n->...m', A, z) - b
    return (0.5 * np.einsum('...m,...m->...', residual, residual) +
            lam * np.abs(z).sum(-1))


def kkt_residual(A: np.ndarray, b: np.ndarray, z: np.ndarray,
                 lam: float) -> np.ndarray:
    """Largest violation of the LASSO optimality conditions.

    Args:
        A (np.ndarray): Dictionary, ``(m, n)`` or ``(B, m, n)``.
        b (np.ndarray): Target, ``(m,)`` or ``(B, m)``.
        z (np.ndarray): Candidate minimiser, ``(n,)`` or ``(B, n)``.
        lam (float): The l1 weight.

    Returns:
        np.ndarray: ``max_k |g_k - lam sign(z_k)|`` over the non-zeros and
        ``max_k (|g_k| - lam)_+`` over the zeros of ``z``, with
        ``g = A^T (b - A z)``; zero at an exact minimiser. Scalar array or
        ``(B,)``.
    """
    A, b, z = (np.asarray(x, dtype=np.float64) for x in (A, b, z))
    g = np.einsum('...mn,...m->...n', A,
                  b - np.einsum('...mn,...n->...m', A, z))
    on = z != 0
    violation = np.where(on, np.abs(g - lam * np.sign(z)),
                         np.maximum(np.abs(g) - lam, 0.0))
    return violation.max(-1)


def kkt_tolerance(A: np.ndarray,
                  b: np.ndarray,
                  z: np.ndarray,
                  lam: float,
                  rtol: float = 1e-6) -> np.ndarray:
    """A tolerance for :func:`kkt_residual` that accounts for rounding.

    The correlations ``g`` carry a float64 rounding error of roughly
    ``eps * |A|^T (|b| + |A| |z|)``; the tolerance is ``rtol * lam`` plus a
    generous multiple of that.

    Args:
        A (np.ndarray): Dictionary, ``(m, n)`` or ``(B, m, n)``.
        b (np.ndarray): Target, ``(m,)`` or ``(B, m)``.
        z (np.ndarray): Candidate minimiser, ``(n,)`` or ``(B, n)``.
        lam (float): The l1 weight.
        rtol (float): Allowed violation relative to ``lam``.
            Defaults to 1e-6.

    Returns:
        np.ndarray: The tolerance, a scalar array or ``(B,)``.
    """
    absA = np.abs(np.asarray(A, dtype=np.float64))
    scale = np.abs(np.asarray(b, dtype=np.float64)) + np.einsum(
        '...mn,...n->...m', absA, np.abs(np.asarray(z, dtype=np.float64)))
    noise = np.einsum('...mn,...m->...n', absA, scale).max(-1)
    return rtol * lam + 1e3 * _EPS * noise
