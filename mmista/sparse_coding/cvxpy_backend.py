# Copyright (c) mmista contributors. All rights reserved.
"""LASSO through CVXPY, as in the ISTA-NAS reference code (CVXPY + MOSEK).

MOSEK is commercial: it solves only with a license file. By default this
backend uses MOSEK when the ``mosek`` package is importable and a license is
found (``$MOSEKLM_LICENSE_FILE`` or ``$HOME/mosek/mosek.lic``), and otherwise
falls back to the open-source CLARABEL solver, saying so (and why) in the log
at WARNING level. A MOSEK solve that fails with a license error also falls
back. One parametrised problem is compiled per shape and reused.
"""
import importlib.util
import logging
import os
import os.path as osp
import threading
from typing import Any, Dict, Optional, Tuple

import numpy as np
from mmengine.logging import print_log

from .solver_registry import register_lasso_solver

#: The open solver used when MOSEK cannot be.
DEFAULT_FALLBACK = 'CLARABEL'

_PROBLEMS: Dict[Tuple[int, int], Any] = {}
_PROBLEMS_LOCK = threading.Lock()


def find_mosek_license() -> Optional[str]:
    """Looks for a MOSEK license where MOSEK itself looks.

    Returns:
        str, optional: The license file (or license server, ``port@host``)
        found in ``$MOSEKLM_LICENSE_FILE`` (a list separated by
        ``os.pathsep``) or at ``$HOME/mosek/mosek.lic``; None if none.
    """
    for entry in os.environ.get('MOSEKLM_LICENSE_FILE', '').split(os.pathsep):
        entry = entry.strip()
        if entry and ('@' in entry or osp.isfile(entry)):
            return entry
    default = osp.join(osp.expanduser('~'), 'mosek', 'mosek.lic')
    return default if osp.isfile(default) else None


def mosek_status() -> Tuple[bool, str]:
    """Tells whether MOSEK can be used here, and why not.

    Returns:
        tuple[bool, str]: ``(usable, reason)``; ``reason`` names the license
        found, or explains what is missing.
    """
    if importlib.util.find_spec('mosek') is None:
        return False, ('the "mosek" package is not installed (pip install '
                       'mosek, plus a license file)')
    import cvxpy
    if 'MOSEK' not in cvxpy.installed_solvers():
        return False, 'cvxpy does not list MOSEK among its installed solvers'
    license_file = find_mosek_license()
    if license_file is None:
        searched = osp.join(osp.expanduser('~'), 'mosek', 'mosek.lic')
        return False, ('no MOSEK license found ($MOSEKLM_LICENSE_FILE is '
                       f'{os.environ.get("MOSEKLM_LICENSE_FILE")!r}, '
                       f'{searched} does not exist)')
    return True, f'license {license_file}'


def is_license_error(error: BaseException) -> bool:
    """Whether an exception raised by a solve is a MOSEK license failure.

    Args:
        error (BaseException): The exception raised by ``Problem.solve``.

    Returns:
        bool: True if its message (or its cause's) mentions a license.
    """
    while error is not None:
        text = str(error).lower()
        if 'licens' in text or 'licenc' in text:
            return True
        error = error.__cause__ or error.__context__
    return False


def _problem(m: int, n: int) -> Any:
    """Returns the cached parametrised LASSO problem of shape ``(m, n)``."""
    import cvxpy as cp
    with _PROBLEMS_LOCK:
        if (m, n) not in _PROBLEMS:
            A = cp.Parameter((m, n), name='A')
            b = cp.Parameter(m, name='b')
            lam = cp.Parameter(nonneg=True, name='lam')
            z = cp.Variable(n, name='z')
            objective = 0.5 * cp.sum_squares(A @ z - b) + lam * cp.norm1(z)
            _PROBLEMS[(m, n)] = (cp.Problem(cp.Minimize(objective)), A, b, lam,
                                 z)
        return _PROBLEMS[(m, n)]


def _solve_one(A: np.ndarray, b: np.ndarray, lam: float, solver: str,
               solve_kwargs: Dict[str, Any]) -> np.ndarray:
    """Solves one problem with one cvxpy solver."""
    problem, A_par, b_par, lam_par, z = _problem(*A.shape)
    with _PROBLEMS_LOCK:
        A_par.value = A
        b_par.value = b
        lam_par.value = lam
        problem.solve(solver=solver, **solve_kwargs)
        if problem.status not in ('optimal', 'optimal_inaccurate'):
            raise RuntimeError(f'cvxpy/{solver} returned status '
                               f'{problem.status!r} for a LASSO problem')
        return np.asarray(z.value, dtype=np.float64).reshape(-1)


def _choose_solver(solver: Optional[str], fallback: str) -> str:
    """Resolves the requested cvxpy solver, falling back from MOSEK."""
    import cvxpy
    if solver is not None and solver.upper() != 'MOSEK':
        name = solver.upper()
        if name not in cvxpy.installed_solvers():
            raise ValueError(
                f'cvxpy solver {solver!r} is not installed; installed: '
                f'{", ".join(cvxpy.installed_solvers())}')
        return name
    usable, reason = mosek_status()
    if usable:
        return 'MOSEK'
    asked = 'requested' if solver is not None else 'preferred'
    print_log(
        f'cvxpy LASSO backend: MOSEK was {asked} but cannot be used: '
        f'{reason}. Falling back to the open solver {fallback}.',
        logger='current',
        level=logging.WARNING)
    return fallback


@register_lasso_solver('cvxpy')
def cvxpy_backend(A: np.ndarray,
                  b: np.ndarray,
                  lam: float,
                  num_cols: np.ndarray,
                  solver: Optional[str] = None,
                  fallback: str = DEFAULT_FALLBACK,
                  **solve_kwargs) -> Tuple[np.ndarray, str]:
    """Solves each problem of the batch with CVXPY.

    Args:
        A (np.ndarray): float64 dictionaries ``(B, m, N)``, zero-padded.
        b (np.ndarray): float64 targets ``(B, m)``.
        lam (float): The l1 weight, > 0.
        num_cols (np.ndarray): ``(B,)`` columns of each problem.
        solver (str, optional): The cvxpy solver, e.g. ``'MOSEK'``,
            ``'CLARABEL'``, ``'SCS'``. None (default) prefers MOSEK and falls
            back to ``fallback`` when MOSEK is missing or unlicensed.
        fallback (str): The open solver used instead of MOSEK.
            Defaults to ``'CLARABEL'``.
        **solve_kwargs: Passed to ``cvxpy.Problem.solve`` (tolerances,
            ``verbose``, ...).

    Returns:
        tuple[np.ndarray, str]: The solutions ``(B, N)`` and a description
        naming the cvxpy solver that was used.

    Raises:
        ValueError: If ``solver`` or ``fallback`` is not installed.
        RuntimeError: If the solver does not report an optimal solution.
    """
    import cvxpy
    fallback = fallback.upper()
    if fallback not in cvxpy.installed_solvers():
        raise ValueError(f'fallback cvxpy solver {fallback!r} is not '
                         f'installed; installed: '
                         f'{", ".join(cvxpy.installed_solvers())}')
    chosen = _choose_solver(solver, fallback)
    z = np.zeros(A.shape[0:1] + A.shape[2:])
    for i in range(A.shape[0]):
        n = int(num_cols[i])
        try:
            z[i, :n] = _solve_one(A[i, :, :n], b[i], lam, chosen, solve_kwargs)
        except cvxpy.error.SolverError as error:
            if chosen != 'MOSEK' or not is_license_error(error):
                raise
            print_log(
                f'cvxpy LASSO backend: MOSEK failed with a license error '
                f'({error}). Falling back to the open solver {fallback}.',
                logger='current',
                level=logging.WARNING)
            chosen = fallback
            z[i, :n] = _solve_one(A[i, :, :n], b[i], lam, chosen, solve_kwargs)
    return z, f'cvxpy/{chosen}'
